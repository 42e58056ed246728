#include "services/token_service/caller_auth.h"

#include "libs/server/status_mapping.h"

namespace warden::token_service {

absl::StatusOr<tokens::Caller> AuthenticateCaller(
    const tokens::TokenRegistry& registry,
    const grpc::ServerContextBase& context) {
  auto bearer = server::BearerToken(context);
  if (!bearer.ok()) return bearer.status();
  return registry.Authenticate(*bearer);
}

}  // namespace warden::token_service
