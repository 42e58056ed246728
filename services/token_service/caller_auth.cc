#include "services/token_service/caller_auth.h"

#include "libs/server/call_observer.h"
#include "libs/server/status_mapping.h"

namespace warden::token_service {

absl::StatusOr<tokens::Caller> AuthenticateCaller(
    const tokens::TokenRegistry& registry,
    const grpc::ServerContextBase& context) {
  auto bearer = server::BearerToken(context);
  if (!bearer.ok()) return bearer.status();
  auto caller = registry.Authenticate(*bearer);
  if (caller.ok()) {
    server::NoteCaller(&context, caller->organization_id(),
                       caller->subject_id(), caller->token_id());
  }
  return caller;
}

}  // namespace warden::token_service
