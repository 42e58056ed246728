#ifndef WARDEN_SERVICES_AUTHZ_SERVICE_AUTHZ_HANDLERS_H_
#define WARDEN_SERVICES_AUTHZ_SERVICE_AUTHZ_HANDLERS_H_

// The AuthzService RPCs on the gRPC callback API. Every answer comes from
// the in-memory replica without blocking; a call with a min_revision the
// replica has not reached waits in RevisionWaiters, not on a gRPC thread.
//
// No bearer credential is checked: the sidecar listens on localhost and only
// the microservice beside it can call it (see the service comment in
// authz_service.proto).

#include <array>
#include <functional>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "libs/clock/clock.h"
#include "libs/index/replica_index.h"
#include "libs/metrics/metrics.h"
#include "services/authz_service/change_follower.h"
#include "services/authz_service/revision_waiters.h"
#include "services/authz_service/usage_reporter.h"
#include "warden/authz/v1/authz_service.grpc.pb.h"

namespace warden::authz_service {

// What the handlers read. Nothing is owned; everything must outlive them.
struct HandlerDeps {
  index::ReplicaIndex* index = nullptr;
  UsageReporter* usage = nullptr;
  RevisionWaiters* waiters = nullptr;
  // Decides token expiry and how long TokenService has been silent.
  const Clock* clock = nullptr;
  // The replica's lag, for staleness.
  std::function<Lag()> lag;
  // Longer than this without a message from TokenService fails decisions.
  absl::Duration max_staleness = absl::Seconds(30);
  // Where decisions are counted by outcome and reason; none when null.
  metrics::Registry* metrics = nullptr;
};

// UNAVAILABLE when decisions must be refused: no snapshot yet, or no message
// from TokenService for longer than max_staleness.
absl::Status CheckFresh(const Lag& lag, bool loaded,
                        absl::Duration max_staleness, absl::Time now);

// Thread-safe.
class AuthzHandlers final : public authz::v1::AuthzService::CallbackService {
 public:
  explicit AuthzHandlers(HandlerDeps deps);

  grpc::ServerUnaryReactor* Authenticate(
      grpc::CallbackServerContext* context,
      const authz::v1::AuthenticateRequest* request,
      authz::v1::AuthenticateResponse* response) override;
  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const authz::v1::CheckRequest* request,
                                  authz::v1::CheckResponse* response) override;
  grpc::ServerUnaryReactor* BatchCheck(
      grpc::CallbackServerContext* context,
      const authz::v1::BatchCheckRequest* request,
      authz::v1::BatchCheckResponse* response) override;
  grpc::ServerUnaryReactor* Authorize(
      grpc::CallbackServerContext* context,
      const authz::v1::AuthorizeRequest* request,
      authz::v1::AuthorizeResponse* response) override;
  grpc::ServerUnaryReactor* ListAccessible(
      grpc::CallbackServerContext* context,
      const authz::v1::ListAccessibleRequest* request,
      authz::v1::ListAccessibleResponse* response) override;
  grpc::ServerUnaryReactor* Explain(
      grpc::CallbackServerContext* context,
      const authz::v1::ExplainRequest* request,
      authz::v1::ExplainResponse* response) override;
  grpc::ServerUnaryReactor* GetReplicaStatus(
      grpc::CallbackServerContext* context,
      const authz::v1::GetReplicaStatusRequest* request,
      authz::v1::GetReplicaStatusResponse* response) override;

 private:
  using Answer = std::function<absl::Status(const index::ReplicaView&)>;
  // Waits for min_revision, refuses a stale replica unless `any_staleness`,
  // runs `answer` on the current view and finishes the call with its status.
  grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* context,
                                  int64_t min_revision, bool any_staleness,
                                  Answer answer);
  index::LocalUseLookup LocalUses() const;
  // Counts one decision of Check, BatchCheck or Authorize.
  void CountDecision(model::v1::DecisionReason reason) const;

  HandlerDeps deps_;
  // One counter per DecisionReason value, looked up once: decisions are the
  // hot path, where a registry lookup per call would take its lock and
  // build label strings. All null without deps_.metrics.
  std::array<metrics::Counter*, model::v1::DecisionReason_ARRAYSIZE>
      decisions_{};
};

}  // namespace warden::authz_service

#endif  // WARDEN_SERVICES_AUTHZ_SERVICE_AUTHZ_HANDLERS_H_
