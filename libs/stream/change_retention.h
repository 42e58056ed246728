#ifndef WARDEN_LIBS_STREAM_CHANGE_RETENTION_H_
#define WARDEN_LIBS_STREAM_CHANGE_RETENTION_H_

// How long the store keeps its change log. Followers that reconnect resume
// from it; one that needs a compacted revision takes a new snapshot.

#include <cstdint>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/clock/clock.h"
#include "libs/store/store.h"

namespace warden::stream {

struct ChangeRetentionOptions {
  // A change record is dropped once this many newer revisions exist...
  int64_t max_revisions = 1000000;
  // ...or once it committed longer ago than this, by the store's clock,
  // whichever comes first. The latest change record is always kept.
  absl::Duration max_age = absl::Hours(168);
  // How often the background thread compacts; zero starts no thread (tests
  // call RunOnce).
  absl::Duration interval = absl::Minutes(1);
};

// Compacts the store's change log by count and age, on a background thread.
// Thread-safe.
class ChangeRetention {
 public:
  // `store` and `clock` are not owned and must outlive this object.
  ChangeRetention(store::Store* store, const Clock* clock,
                  const ChangeRetentionOptions& options);
  // Stops the thread, waiting for a pass in progress.
  ~ChangeRetention();

  ChangeRetention(const ChangeRetention&) = delete;
  ChangeRetention& operator=(const ChangeRetention&) = delete;

  // One compaction pass. Returns the oldest retained revision afterwards, or
  // the store's error.
  absl::StatusOr<int64_t> RunOnce();

 private:
  // The first revision the age limit keeps.
  absl::StatusOr<int64_t> FirstYoungEnough(int64_t committed);
  void Loop();

  store::Store* const store_;
  const Clock* const clock_;
  const ChangeRetentionOptions options_;

  absl::Mutex pass_mutex_;  // one pass at a time
  absl::Mutex mutex_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_;
};

}  // namespace warden::stream

#endif  // WARDEN_LIBS_STREAM_CHANGE_RETENTION_H_
