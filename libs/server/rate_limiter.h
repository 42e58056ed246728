#ifndef WARDEN_LIBS_SERVER_RATE_LIMITER_H_
#define WARDEN_LIBS_SERVER_RATE_LIMITER_H_

// Keeps one caller from starving the others: a token bucket per key (a
// caller's subject id for management calls), and a penalty box for peers
// that keep presenting bad credentials.

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/clock/clock.h"

namespace warden::server {

// Token buckets by key. Thread-safe.
class RateLimiter {
 public:
  // Each key may make `per_second` calls per second on average, in bursts of
  // up to `burst`. `clock` is not owned.
  RateLimiter(double per_second, double burst, const Clock* clock);

  // True if `key` may make a call now (and counts the call).
  bool Allow(const std::string& key);

 private:
  struct Bucket {
    double tokens;
    absl::Time refilled_at;
  };

  const double per_second_;
  const double burst_;
  const Clock* clock_;
  absl::Mutex mutex_;
  absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mutex_);
};

// Counts authentication failures by peer address and says how long to hold
// back the next answer to that peer: nothing for the first few failures,
// then doubling up to a cap. A success does not reset the count, since a
// scanner may hold one valid token; the count decays after a quiet window.
// Thread-safe.
class FailureThrottle {
 public:
  FailureThrottle(int free_failures, absl::Duration first_delay,
                  absl::Duration max_delay, absl::Duration forget_after,
                  const Clock* clock);

  // Records a failure from `peer` and returns the delay to apply before
  // answering it.
  absl::Duration RecordFailure(const std::string& peer);

 private:
  struct Record {
    int failures = 0;
    absl::Time last_failure;
  };

  const int free_failures_;
  const absl::Duration first_delay_;
  const absl::Duration max_delay_;
  const absl::Duration forget_after_;
  const Clock* clock_;
  absl::Mutex mutex_;
  absl::flat_hash_map<std::string, Record> records_ ABSL_GUARDED_BY(mutex_);
};

// The address part of a gRPC peer string ("ipv4:10.0.0.1:5555" ->
// "ipv4:10.0.0.1"), so one client's many connections share a record.
std::string PeerAddress(const std::string& peer);

}  // namespace warden::server

#endif  // WARDEN_LIBS_SERVER_RATE_LIMITER_H_
