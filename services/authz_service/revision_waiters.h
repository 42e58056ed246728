#ifndef WARDEN_SERVICES_AUTHZ_SERVICE_REVISION_WAITERS_H_
#define WARDEN_SERVICES_AUTHZ_SERVICE_REVISION_WAITERS_H_

// Calls that asked for a min_revision the replica has not reached yet. They
// wait here, holding no gRPC thread: each is a callback run (on this
// object's thread) once the revision is applied or its deadline passes.

#include <cstdint>
#include <functional>
#include <map>
#include <thread>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace warden::authz_service {

// Thread-safe.
class RevisionWaiters {
 public:
  // `reached` is called with true when the revision is applied, false when
  // the deadline passes first or on Stop.
  using Callback = std::function<void(bool reached)>;

  explicit RevisionWaiters(int64_t applied = 0);
  ~RevisionWaiters();

  // Runs `callback(true)` right away, on the caller's thread, when
  // `revision` is already applied; otherwise queues it.
  void Wait(int64_t revision, absl::Time deadline, Callback callback);

  // The replica has applied `revision`.
  void Notify(int64_t revision);

  // Fails every queued call and joins the thread. Idempotent.
  void Stop();

 private:
  struct Waiter {
    int64_t revision;
    absl::Time deadline;
    Callback callback;
  };
  void Run();

  std::thread thread_;
  absl::Mutex mutex_;
  int64_t applied_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  uint64_t next_id_ ABSL_GUARDED_BY(mutex_) = 0;
  std::map<uint64_t, Waiter> waiters_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace warden::authz_service

#endif  // WARDEN_SERVICES_AUTHZ_SERVICE_REVISION_WAITERS_H_
