#include "libs/server/rate_limiter.h"

#include "gtest/gtest.h"

namespace warden::server {
namespace {

// A caller gets its burst at once, then its rate; callers do not share.
TEST(RateLimiterTest, BurstThenRate) {
  FakeClock clock(absl::FromUnixSeconds(1000));
  RateLimiter limiter(/*per_second=*/2, /*burst=*/3, &clock);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Allow("a")) << i;
  EXPECT_FALSE(limiter.Allow("a"));
  EXPECT_TRUE(limiter.Allow("b"));
  clock.Advance(absl::Milliseconds(500));
  EXPECT_TRUE(limiter.Allow("a"));
  EXPECT_FALSE(limiter.Allow("a"));
  // Idle time refills up to the burst, never beyond.
  clock.Advance(absl::Hours(1));
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Allow("a")) << i;
  EXPECT_FALSE(limiter.Allow("a"));
}

// The first failures are free; then delays double up to the cap, and the
// count is forgotten after a quiet window.
TEST(FailureThrottleTest, DelaysGrowThenReset) {
  FakeClock clock(absl::FromUnixSeconds(1000));
  FailureThrottle throttle(2, absl::Milliseconds(100), absl::Milliseconds(350),
                           absl::Minutes(1), &clock);
  EXPECT_EQ(throttle.RecordFailure("p"), absl::ZeroDuration());
  EXPECT_EQ(throttle.RecordFailure("p"), absl::ZeroDuration());
  EXPECT_EQ(throttle.RecordFailure("p"), absl::Milliseconds(100));
  EXPECT_EQ(throttle.RecordFailure("p"), absl::Milliseconds(200));
  EXPECT_EQ(throttle.RecordFailure("p"), absl::Milliseconds(350));
  EXPECT_EQ(throttle.RecordFailure("other"), absl::ZeroDuration());
  clock.Advance(absl::Minutes(2));
  EXPECT_EQ(throttle.RecordFailure("p"), absl::ZeroDuration());
}

TEST(PeerAddressTest, DropsThePort) {
  EXPECT_EQ(PeerAddress("ipv4:127.0.0.1:5555"), "ipv4:127.0.0.1");
  EXPECT_EQ(PeerAddress("ipv6:[::1]:5555"), "ipv6:[::1]");
  EXPECT_EQ(PeerAddress("unix:/tmp/socket"), "unix:/tmp/socket");
}

}  // namespace
}  // namespace warden::server
