#ifndef WARDEN_SERVICES_TOKEN_SERVICE_CALLER_AUTH_H_
#define WARDEN_SERVICES_TOKEN_SERVICE_CALLER_AUTH_H_

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/clock/clock.h"
#include "grpcpp/grpcpp.h"
#include "libs/server/status_mapping.h"
#include "libs/tokens/token_registry.h"

namespace warden::token_service {

// How hard one caller may push TokenService.
struct CallerLimits {
  // Calls per second per authenticated caller, on average and in a burst;
  // beyond them calls get RESOURCE_EXHAUSTED.
  double calls_per_second = 100;
  double burst = 200;
  // Bad credentials a peer may present before its answers are held back,
  // first by `first_delay`, doubling per failure up to `max_delay`; the
  // count is forgotten after `forget_after` without failures.
  int free_failures = 10;
  absl::Duration first_delay = absl::Milliseconds(50);
  absl::Duration max_delay = absl::Seconds(2);
  absl::Duration forget_after = absl::Minutes(5);
};

// Installs the limits AuthenticateCaller applies, replacing earlier ones.
// `clock` is not owned and must outlive every later call. Thread-safe.
void SetCallerLimits(const CallerLimits& limits, const Clock* clock);

// Whether RequireReplicationPeer demands a verified client certificate (set
// when TokenService has a client CA: mutual TLS for sidecars). Thread-safe.
void SetReplicationNeedsClientCertificate(bool needed);

// For the change stream and usage reports: UNAUTHENTICATED unless the call
// carries a client certificate from the configured CA, when one is needed.
absl::Status RequireReplicationPeer(const grpc::ServerContextBase& context);

// Authenticates the caller of a management RPC from its bearer token and
// applies the caller limits. UNAUTHENTICATED (with the failure reason) when
// the credential is missing or does not authenticate, after a delay when the
// peer keeps failing; RESOURCE_EXHAUSTED when the caller is over its rate.
absl::StatusOr<tokens::Caller> AuthenticateCaller(
    const tokens::TokenRegistry& registry,
    const grpc::ServerContextBase& context);

// Authenticates the caller, then runs `body` (absl::Status(const Caller&))
// with it and converts the outcome; the shape of every management RPC.
template <typename Body>
grpc::Status WithCaller(const tokens::TokenRegistry& registry,
                        grpc::ServerContext* context, Body body) {
  auto caller = AuthenticateCaller(registry, *context);
  if (!caller.ok()) return server::ToGrpcStatus(caller.status(), context);
  return server::ToGrpcStatus(body(*caller), context);
}

}  // namespace warden::token_service

#endif  // WARDEN_SERVICES_TOKEN_SERVICE_CALLER_AUTH_H_
