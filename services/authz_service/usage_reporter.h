#ifndef WARDEN_SERVICES_AUTHZ_SERVICE_USAGE_REPORTER_H_
#define WARDEN_SERVICES_AUTHZ_SERVICE_USAGE_REPORTER_H_

// Token uses seen by this sidecar, coalesced to the latest use per token and
// generation and reported to TokenService.ReportTokenUsage in batches every
// flush interval and at shutdown. The uses are also kept locally so expiry
// is decided from the later of the replicated and the local last use: a
// token in use never expires here just because a report is in flight.
// A local use is dropped once the replica shows it (the replicated
// last_used_at has caught up, or the token was regenerated or deleted), so
// the local map holds only uses TokenService has not yet acknowledged
// through the change stream.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "libs/index/replica_index.h"
#include "libs/metrics/metrics.h"
#include "warden/token/v1/token_service.grpc.pb.h"

namespace warden::authz_service {

// Thread-safe. Runs one flushing thread between Start and Stop.
class UsageReporter {
 public:
  // `index`, when not null, is pruned against after every flush; not owned,
  // must outlive the reporter.
  UsageReporter(std::shared_ptr<grpc::Channel> channel, std::string credential,
                absl::Duration flush_interval,
                const index::ReplicaIndex* index = nullptr);
  ~UsageReporter();

  // Notes that the token's `generation` authenticated at `used_at`.
  void Record(const std::string& organization_id, const std::string& token_id,
              int64_t generation, absl::Time used_at);

  // The latest local use of a token, if any.
  std::optional<index::LocalUse> LocalUseOf(absl::string_view token_id) const;

  // Sends every pending use now. Uses that could not be sent stay pending.
  absl::Status Flush();

  // Forgets the local uses `view` already reflects: the token's replicated
  // last use is at least as late, or the token is gone or has another
  // generation. Uses still pending a report are kept.
  void Prune(const index::ReplicaView& view);

  // How many tokens have a local use kept, for tests and status.
  size_t local_use_count() const;

  // Counts report batches sent and failed and token uses reported in
  // `registry` (not owned, must outlive the reporter). Call before Start.
  void ExportMetrics(metrics::Registry& registry);

  void Start();
  // Stops the thread and makes a last flush. Idempotent.
  void Stop();

 private:
  struct Use {
    std::string organization_id;
    int64_t generation = 0;
    absl::Time used_at;
  };
  static void Merge(absl::flat_hash_map<std::string, Use>& into,
                    const std::string& token_id, const Use& use);

  std::unique_ptr<token::v1::TokenService::Stub> stub_;
  const std::string credential_;
  const absl::Duration flush_interval_;
  const index::ReplicaIndex* const index_;
  std::thread thread_;
  absl::Mutex flush_mutex_;  // one flush at a time
  // Null until ExportMetrics.
  metrics::Counter* batches_sent_ = nullptr;
  metrics::Counter* batches_failed_ = nullptr;
  metrics::Counter* uses_reported_ = nullptr;

  mutable absl::Mutex mutex_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  // token id -> latest use not yet reported.
  absl::flat_hash_map<std::string, Use> pending_ ABSL_GUARDED_BY(mutex_);
  // token id -> latest use seen by this process that the replica may not
  // show yet; pruned by Prune.
  absl::flat_hash_map<std::string, Use> seen_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace warden::authz_service

#endif  // WARDEN_SERVICES_AUTHZ_SERVICE_USAGE_REPORTER_H_
