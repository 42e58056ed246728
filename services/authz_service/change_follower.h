#ifndef WARDEN_SERVICES_AUTHZ_SERVICE_CHANGE_FOLLOWER_H_
#define WARDEN_SERVICES_AUTHZ_SERVICE_CHANGE_FOLLOWER_H_

// Keeps the replica index current: a snapshot from TokenService's change
// stream, then every change after it. On a broken stream it reconnects with
// exponential backoff and jitter and resumes after the last applied
// revision; when TokenService no longer has that history (OUT_OF_RANGE), or
// the stream skips a revision, it takes a new snapshot.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "libs/clock/clock.h"
#include "libs/index/replica_index.h"
#include "libs/metrics/metrics.h"
#include "warden/changes/v1/change_stream_service.grpc.pb.h"

namespace warden::authz_service {

struct FollowerOptions {
  // The service-user token with platform.replication.
  std::string credential;
  // The name TokenService's logs show for this follower.
  std::string follower_name = "authz_service";
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(10);
  int snapshot_chunk_size = 1000;
  // Where snapshot loads and reconnects are counted; none when null. Not
  // owned, must outlive the follower.
  metrics::Registry* metrics = nullptr;
};

// How far behind TokenService the replica is.
struct Lag {
  int64_t applied_revision = 0;
  int64_t committed_revision = 0;
  // When the last message from TokenService arrived, by the follower's
  // injected clock (so tests can move staleness); nullopt if none yet.
  std::optional<absl::Time> last_message;
  // Snapshots loaded since start: more than one means the follower had to
  // resynchronize (history compacted, or cut off for lagging).
  int64_t snapshots_loaded = 0;
};

// Thread-safe. Runs one background thread between Start and Stop.
class ChangeFollower {
 public:
  // `index` and `clock` are not owned and must outlive the follower.
  // `clock` timestamps messages for staleness. `on_applied` is called on the
  // follower thread after each published revision.
  ChangeFollower(FollowerOptions options,
                 std::shared_ptr<grpc::Channel> channel,
                 index::ReplicaIndex* index, const Clock* clock,
                 std::function<void(int64_t)> on_applied);
  ~ChangeFollower();

  void Start();
  // Cancels the stream in flight and joins the thread. Idempotent.
  void Stop();

  Lag lag() const;

 private:
  void Run();
  // Each returns when its stream ends; OUT_OF_RANGE or FAILED_PRECONDITION
  // mean a new snapshot is needed.
  absl::Status TakeSnapshot(bool& progressed);
  absl::Status Watch(bool& progressed);
  // Registers the call so Stop can cancel it; false when stopping.
  bool BeginCall(grpc::ClientContext* context);
  void EndCall();
  void NoteMessage(int64_t committed_revision);

  const FollowerOptions options_;
  std::unique_ptr<changes::v1::ChangeStreamService::Stub> stub_;
  index::ReplicaIndex* index_;
  const Clock* clock_;
  std::function<void(int64_t)> on_applied_;
  // Null without options_.metrics.
  metrics::Counter* snapshots_counter_ = nullptr;
  metrics::Counter* reconnects_counter_ = nullptr;
  std::thread thread_;

  mutable absl::Mutex mutex_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  grpc::ClientContext* active_call_ ABSL_GUARDED_BY(mutex_) = nullptr;
  Lag lag_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace warden::authz_service

#endif  // WARDEN_SERVICES_AUTHZ_SERVICE_CHANGE_FOLLOWER_H_
