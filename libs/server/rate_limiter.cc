#include "libs/server/rate_limiter.h"

#include <algorithm>

namespace warden::server {
namespace {

// Bounds the tables so a flood of distinct keys cannot grow memory without
// limit: past this size, entries idle for long are dropped.
constexpr size_t kMaxEntries = 100000;

}  // namespace

RateLimiter::RateLimiter(double per_second, double burst, const Clock* clock)
    : per_second_(per_second), burst_(burst), clock_(clock) {}

bool RateLimiter::Allow(const std::string& key) {
  absl::Time now = clock_->Now();
  absl::MutexLock lock(&mutex_);
  if (buckets_.size() > kMaxEntries) {
    absl::erase_if(buckets_, [&](const auto& entry) {
      return now - entry.second.refilled_at > absl::Minutes(10);
    });
  }
  auto [it, inserted] = buckets_.try_emplace(key, Bucket{burst_, now});
  Bucket& bucket = it->second;
  if (!inserted) {
    double earned = absl::ToDoubleSeconds(now - bucket.refilled_at) *
                    per_second_;
    bucket.tokens = std::min(burst_, bucket.tokens + std::max(0.0, earned));
    bucket.refilled_at = now;
  }
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

FailureThrottle::FailureThrottle(int free_failures, absl::Duration first_delay,
                                 absl::Duration max_delay,
                                 absl::Duration forget_after,
                                 const Clock* clock)
    : free_failures_(free_failures),
      first_delay_(first_delay),
      max_delay_(max_delay),
      forget_after_(forget_after),
      clock_(clock) {}

absl::Duration FailureThrottle::RecordFailure(const std::string& peer) {
  absl::Time now = clock_->Now();
  absl::MutexLock lock(&mutex_);
  if (records_.size() > kMaxEntries) {
    absl::erase_if(records_, [&](const auto& entry) {
      return now - entry.second.last_failure > forget_after_;
    });
  }
  Record& record = records_[peer];
  if (now - record.last_failure > forget_after_) record.failures = 0;
  record.last_failure = now;
  ++record.failures;
  int over = record.failures - free_failures_;
  if (over <= 0) return absl::ZeroDuration();
  absl::Duration delay = first_delay_;
  for (int i = 1; i < over && delay < max_delay_; ++i) delay *= 2;
  return std::min(delay, max_delay_);
}

std::string PeerAddress(const std::string& peer) {
  size_t colon = peer.rfind(':');
  size_t scheme = peer.find(':');
  if (colon == std::string::npos || colon == scheme) return peer;
  return peer.substr(0, colon);
}

}  // namespace warden::server
