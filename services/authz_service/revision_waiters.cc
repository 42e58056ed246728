#include "services/authz_service/revision_waiters.h"

#include <vector>

namespace warden::authz_service {

RevisionWaiters::RevisionWaiters(int64_t applied) : applied_(applied) {
  thread_ = std::thread([this] { Run(); });
}

RevisionWaiters::~RevisionWaiters() { Stop(); }

void RevisionWaiters::Wait(int64_t revision, absl::Time deadline,
                           Callback callback) {
  {
    absl::MutexLock lock(&mutex_);
    if (revision > applied_ && !stopping_ && deadline > absl::Now()) {
      waiters_.emplace(next_id_++,
                       Waiter{revision, deadline, std::move(callback)});
      return;
    }
  }
  bool reached;
  {
    absl::MutexLock lock(&mutex_);
    reached = revision <= applied_;
  }
  callback(reached);
}

void RevisionWaiters::Notify(int64_t revision) {
  absl::MutexLock lock(&mutex_);
  if (revision > applied_) applied_ = revision;
}

void RevisionWaiters::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void RevisionWaiters::Run() {
  while (true) {
    std::vector<std::pair<Callback, bool>> ready;
    bool stop;
    {
      absl::MutexLock lock(&mutex_);
      // Wake on a new revision, on stop, or at the earliest deadline.
      int64_t seen = applied_;
      absl::Time wake = absl::Now() + absl::Seconds(1);
      for (const auto& [id, waiter] : waiters_) {
        wake = std::min(wake, waiter.deadline);
      }
      auto changed = [&]() ABSL_SHARED_LOCKS_REQUIRED(mutex_) {
        return stopping_ || applied_ != seen;
      };
      mutex_.AwaitWithDeadline(absl::Condition(&changed), wake);
      stop = stopping_;
      absl::Time now = absl::Now();
      for (auto it = waiters_.begin(); it != waiters_.end();) {
        bool reached = it->second.revision <= applied_;
        if (reached || stop || it->second.deadline <= now) {
          ready.emplace_back(std::move(it->second.callback), reached);
          it = waiters_.erase(it);
        } else {
          ++it;
        }
      }
    }
    // Outside the lock: the callbacks answer their calls.
    for (auto& [callback, reached] : ready) callback(reached);
    if (stop) return;
  }
}

}  // namespace warden::authz_service
