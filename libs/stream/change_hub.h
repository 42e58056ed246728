#ifndef WARDEN_LIBS_STREAM_CHANGE_HUB_H_
#define WARDEN_LIBS_STREAM_CHANGE_HUB_H_

// Live delivery of committed changes to followers (the Watch side of the
// change stream). The hub listens to the store's commits and keeps the most
// recent change records in a bounded ring, so followers that keep up are
// served from memory and woken the moment a write commits; a follower whose
// position is older than the ring reads the store's change log instead.

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/store/store.h"
#include "warden/model/v1/model.pb.h"

namespace warden::stream {

struct ChangeHubOptions {
  // The ring keeps at most this many of the latest change records...
  int64_t ring_max_records = 10000;
  // ...and at most about this many bytes of them (encoded size). The newest
  // record is kept even when it alone is larger.
  int64_t ring_max_bytes = int64_t{64} << 20;
  // A follower more than this many revisions behind the latest commit is cut
  // off (OUT_OF_RANGE): catching up through the change log would take longer
  // than a new snapshot, and its server-side buffers would keep growing.
  int64_t max_follower_lag = 100000;
  // Change records read from the store per read when a follower is below
  // the ring.
  int store_batch_records = 1000;
};

// How much one Read may return. At least one record is returned whenever
// one is available, even if it alone is larger than max_bytes: a change
// record is never split.
struct ReadLimits {
  int max_records = 512;
  int64_t max_bytes = int64_t{1} << 20;
};

// What one Read returns.
struct ChangeBatch {
  // Whole change records with consecutive revisions, starting right after
  // the position read from. Shared with the ring; never modified.
  std::vector<std::shared_ptr<const model::v1::ChangeRecord>> changes;
  // The latest revision the hub knows to be committed, at least the last
  // revision in `changes`.
  int64_t committed_revision = 0;
};

// Thread-safe: one hub serves every follower; each follower calls Read from
// its own thread with its own position.
//
// The store's commit listener only appends to the ring and wakes waiters; it
// never waits for a follower, so no follower can slow writers down. Followers
// never wait for each other either: each copies out pointers to the records
// it needs under a short lock, and a follower that stops reading only stops
// advancing its own position.
class ChangeHub {
 public:
  // Registers with `store` for commits. `store` is not owned and must outlive
  // the hub.
  ChangeHub(store::Store* store, const ChangeHubOptions& options);

  // Unregisters from the store.
  // REQUIRES: no Read or CheckStart is running (call Shutdown and let the
  // followers return first).
  ~ChangeHub();

  ChangeHub(const ChangeHub&) = delete;
  ChangeHub& operator=(const ChangeHub&) = delete;

  // Checks that a follower may start after `after`, before anything is sent
  // to it. INVALID_ARGUMENT when negative; OUT_OF_RANGE when `after` is
  // above every committed revision even after waiting up to `grace` (a
  // snapshot's revision can be visible a moment before its commit is
  // announced), which means the follower's state came from another store.
  // Compaction below `after` is reported by Read.
  absl::Status CheckStart(int64_t after, absl::Duration grace);

  // Returns the change records above `after` (a follower's position: the
  // last revision it received), in order, within `limits`. When there are
  // none, waits up to `wait` for a commit and returns an empty batch if none
  // came (the follower is current up to batch.committed_revision).
  //
  // Errors, all final for the follower:
  //  - OUT_OF_RANGE when `after` is more than max_follower_lag revisions
  //    behind, or when the records it needs are neither in the ring nor
  //    retained by the store; the message tells it to take a new snapshot.
  //  - UNAVAILABLE once Shutdown was called.
  //  - what the store's ReadChanges returns otherwise (DATA_LOSS, ...).
  absl::Status Read(int64_t after, const ReadLimits& limits,
                    absl::Duration wait, ChangeBatch* out);

  // Wakes every waiting Read; from now on Read and CheckStart answer
  // UNAVAILABLE. Idempotent.
  void Shutdown();

  // The latest revision the hub has seen committed.
  int64_t latest_revision() const;

  // For tests and metrics.
  struct Stats {
    // Records and encoded bytes in the ring, and its first revision (0 when
    // empty).
    int64_t ring_records = 0;
    int64_t ring_bytes = 0;
    int64_t ring_first_revision = 0;
    // Reads served from the ring and from the store's change log.
    int64_t ring_reads = 0;
    int64_t store_reads = 0;
  };
  Stats stats() const;

 private:
  struct Entry {
    std::shared_ptr<const model::v1::ChangeRecord> record;
    int64_t bytes = 0;
  };

  // The commit listener.
  void OnCommit(const std::vector<model::v1::ChangeRecord>& records);
  void EvictLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  absl::Status ReadStore(int64_t after, const ReadLimits& limits,
                         ChangeBatch* out);

  store::Store* const store_;
  const ChangeHubOptions options_;
  int listener_id_ = 0;

  mutable absl::Mutex mutex_;
  absl::CondVar committed_;  // signalled on every commit and on Shutdown
  // Consecutive revisions ending at latest_ (possibly empty).
  std::deque<Entry> ring_ ABSL_GUARDED_BY(mutex_);
  int64_t ring_bytes_ ABSL_GUARDED_BY(mutex_) = 0;
  int64_t latest_ ABSL_GUARDED_BY(mutex_) = 0;
  bool shut_down_ ABSL_GUARDED_BY(mutex_) = false;
  int64_t ring_reads_ ABSL_GUARDED_BY(mutex_) = 0;
  int64_t store_reads_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace warden::stream

#endif  // WARDEN_LIBS_STREAM_CHANGE_HUB_H_
