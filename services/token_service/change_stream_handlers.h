#ifndef WARDEN_SERVICES_TOKEN_SERVICE_CHANGE_STREAM_HANDLERS_H_
#define WARDEN_SERVICES_TOKEN_SERVICE_CHANGE_STREAM_HANDLERS_H_

#include <atomic>
#include <cstdint>

#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/clock/clock.h"
#include "libs/store/store.h"
#include "libs/stream/change_hub.h"
#include "libs/tokens/token_registry.h"
#include "warden/changes/v1/change_stream_service.grpc.pb.h"

namespace warden::token_service {

struct ChangeStreamOptions {
  // An idle Watch sends a progress message this often.
  absl::Duration progress_interval = absl::Seconds(1);
  // How much one Watch message carries at most (whole records always).
  stream::ReadLimits watch_limits;
  // How long Watch waits for a revision above the announced ones before
  // calling the follower ahead of this TokenService.
  absl::Duration ahead_grace = absl::Seconds(1);
};

// The gRPC face of the change stream: Snapshot reads one consistent store
// view and streams every record; Watch streams changes from the ChangeHub.
// Both need a bearer token with "platform.replication".
//
// Uses the synchronous API: each open stream holds one server thread, which
// blocks in Write while the follower's flow-control window is full. That
// stalls only this follower; the hub, writers and other followers go on
// without it, and once it reads again it is cut off if it fell more than
// the hub's max_follower_lag behind. The sync server adds threads as calls
// need them, so many followers can watch at once.
//
// Thread-safe.
class ChangeStreamHandlers final
    : public changes::v1::ChangeStreamService::Service {
 public:
  // None of the pointers is owned; all must outlive the handlers.
  ChangeStreamHandlers(const tokens::TokenRegistry* registry,
                       const store::Store* store, stream::ChangeHub* hub,
                       const Clock* clock, const ChangeStreamOptions& options);

  grpc::Status Snapshot(
      grpc::ServerContext* context,
      const changes::v1::SnapshotRequest* request,
      grpc::ServerWriter<changes::v1::SnapshotResponse>* writer) override;
  grpc::Status Watch(
      grpc::ServerContext* context, const changes::v1::WatchRequest* request,
      grpc::ServerWriter<changes::v1::WatchResponse>* writer) override;

  // Makes every open and future stream end with UNAVAILABLE promptly, so
  // the server's graceful stop need not wait for followers. Call before
  // stopping the server. Idempotent.
  void Shutdown();

  // Open Watch streams, and how far the furthest behind has been sent
  // relative to the latest revision the hub has seen. Per-follower lag
  // would be a metric label per connection; the maximum is what alerts on.
  struct FollowerStats {
    int64_t followers = 0;
    int64_t max_lag_revisions = 0;
  };
  FollowerStats follower_stats() const;

 private:
  // UNAUTHENTICATED or PERMISSION_DENIED unless the caller may replicate.
  absl::Status Authorize(const grpc::ServerContext& context) const;

  const tokens::TokenRegistry* const registry_;
  const store::Store* const store_;
  stream::ChangeHub* const hub_;
  const Clock* const clock_;
  const ChangeStreamOptions options_;
  std::atomic<bool> shutting_down_{false};
  // Each open Watch's position (the last revision sent), owned by the
  // Watch call, registered while it runs.
  mutable absl::Mutex followers_mutex_;
  absl::flat_hash_set<const std::atomic<int64_t>*> followers_
      ABSL_GUARDED_BY(followers_mutex_);
};

}  // namespace warden::token_service

#endif  // WARDEN_SERVICES_TOKEN_SERVICE_CHANGE_STREAM_HANDLERS_H_
