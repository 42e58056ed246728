#ifndef WARDEN_LIBS_CLOCK_CLOCK_H_
#define WARDEN_LIBS_CLOCK_CLOCK_H_

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace warden {

// The source of "now" for everything that depends on wall-clock time (token
// expiry, commit times, activity logs), so tests can move time.
// Implementations are safe to use from several threads.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

// The real wall clock.
class SystemClock : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

// A clock that stands still until a test moves it.
class FakeClock : public Clock {
 public:
  explicit FakeClock(absl::Time start) : now_(start) {}

  absl::Time Now() const override {
    absl::MutexLock lock(&mutex_);
    return now_;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mutex_);
    now_ += d;
  }
  void Set(absl::Time t) {
    absl::MutexLock lock(&mutex_);
    now_ = t;
  }

 private:
  mutable absl::Mutex mutex_;
  absl::Time now_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace warden

#endif  // WARDEN_LIBS_CLOCK_CLOCK_H_
