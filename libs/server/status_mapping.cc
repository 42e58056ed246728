#include "libs/server/status_mapping.h"

#include <string>

#include "libs/tokens/token_rules.h"

namespace warden::server {

grpc::Status ToGrpcStatus(const absl::Status& status,
                          grpc::ServerContextBase* context) {
  if (status.ok()) return grpc::Status::OK;
  if (context != nullptr) {
    if (auto failure = tokens::AuthFailureOf(status)) {
      context->AddTrailingMetadata(
          kAuthFailureMetadata, std::string(tokens::AuthFailureName(*failure)));
    }
  }
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

absl::StatusOr<std::string> BearerToken(
    const grpc::ServerContextBase& context) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) {
    return absl::UnauthenticatedError(
        "missing credentials: send metadata 'authorization: Bearer <token>'");
  }
  absl::string_view value(it->second.data(), it->second.size());
  constexpr absl::string_view kScheme = "Bearer ";
  if (value.size() <= kScheme.size() ||
      value.substr(0, kScheme.size()) != kScheme) {
    return absl::UnauthenticatedError(
        "the authorization metadata must be 'Bearer <token>'");
  }
  return std::string(value.substr(kScheme.size()));
}

}  // namespace warden::server
