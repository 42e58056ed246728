#ifndef WARDEN_SERVICES_TOKEN_SERVICE_CALLER_AUTH_H_
#define WARDEN_SERVICES_TOKEN_SERVICE_CALLER_AUTH_H_

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "libs/server/status_mapping.h"
#include "libs/tokens/token_registry.h"

namespace warden::token_service {

// Authenticates the caller of a management RPC from its bearer token.
// UNAUTHENTICATED (with the failure reason) when the credential is missing
// or does not authenticate.
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
