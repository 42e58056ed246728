#include "libs/failpoint/failpoint.h"

#include <signal.h>
#include <unistd.h>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace warden::failpoint {
namespace {

class FailpointTest : public ::testing::Test {
 protected:
  void TearDown() override { DisarmAll(); }
};

// Unarmed points do nothing, and an empty spec arms nothing.
TEST_F(FailpointTest, UnarmedPointsAreInert) {
  ASSERT_TRUE(Configure("").ok());
  EXPECT_EQ(Evaluate("store.before_log"), Action::kNone);
  EXPECT_TRUE(Hit("store.after_commit").ok());
  EXPECT_EQ(HitsForTest("store.before_log"), 0);
}

// "error" fires from the n-th hit on and names the point.
TEST_F(FailpointTest, ErrorFiresFromTheNthHit) {
  ASSERT_TRUE(Configure("store.before_log=error@3").ok());
  EXPECT_TRUE(Hit("store.before_log").ok());
  EXPECT_TRUE(Hit("store.before_log").ok());
  absl::Status third = Hit("store.before_log");
  EXPECT_EQ(third.code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(third.message(), "store.before_log"))
      << third;
  EXPECT_FALSE(Hit("store.before_log").ok());
  EXPECT_EQ(HitsForTest("store.before_log"), 4);
  // Other points stay unarmed.
  EXPECT_EQ(Evaluate("store.after_commit"), Action::kNone);
}

// Several entries, whitespace and "off"; a new spec replaces the old one.
TEST_F(FailpointTest, ConfigureReplacesEverything) {
  ASSERT_TRUE(Configure(" store.after_commit=crash@5 , "
                        "store.before_log=error,store.before_publish=off")
                  .ok());
  EXPECT_EQ(Evaluate("store.before_log"), Action::kError);
  EXPECT_EQ(Evaluate("store.before_publish"), Action::kNone);
  ASSERT_TRUE(Configure("store.before_publish=crash").ok());
  EXPECT_EQ(Evaluate("store.before_log"), Action::kNone);
  EXPECT_EQ(Evaluate("store.before_publish"), Action::kCrash);
}

// Typos and impossible actions are refused with what to fix, and leave the
// previous configuration armed.
TEST_F(FailpointTest, BadSpecsAreRefused) {
  ASSERT_TRUE(Configure("store.before_log=error").ok());
  struct Case {
    const char* spec;
    const char* message;
  };
  for (const Case& c : {
           Case{"store.before_lgo=crash", "does not exist"},
           Case{"store.before_log=explode", "expected <point>="},
           Case{"store.before_log", "expected <point>="},
           Case{"store.before_log=crash@0", "positive integer"},
           Case{"store.before_log=crash@x", "positive integer"},
           Case{"store.before_publish=error", "cannot fail"},
       }) {
    SCOPED_TRACE(c.spec);
    absl::Status status = Configure(c.spec);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(status.message(), c.message)) << status;
  }
  EXPECT_EQ(Evaluate("store.before_log"), Action::kError);
}

// "crash" kills the process with SIGKILL, like kill -9.
TEST_F(FailpointTest, CrashIsSigkill) {
  EXPECT_EXIT(
      {
        if (!Configure("store.after_commit=crash").ok()) _exit(3);
        (void)Hit("store.after_commit");
        _exit(0);
      },
      ::testing::KilledBySignal(SIGKILL), "store.after_commit: crashing");
}

}  // namespace
}  // namespace warden::failpoint
