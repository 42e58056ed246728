#ifndef WARDEN_LIBS_SERVER_STATUS_MAPPING_H_
#define WARDEN_LIBS_SERVER_STATUS_MAPPING_H_

// The one place where domain errors become gRPC statuses. absl and gRPC
// share status codes, so the mapping keeps the code and message; an
// authentication failure's reason also goes out as trailing metadata
// "warden-auth-failure" so callers can show it to the token's owner.

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"

namespace warden::server {

inline constexpr char kAuthFailureMetadata[] = "warden-auth-failure";

// Converts `status`; when `context` is given, adds the trailing metadata
// described above.
grpc::Status ToGrpcStatus(const absl::Status& status,
                          grpc::ServerContextBase* context = nullptr);

// The bearer token of a call's "authorization: Bearer <token>" metadata, or
// UNAUTHENTICATED saying what is missing.
absl::StatusOr<std::string> BearerToken(const grpc::ServerContextBase& context);

}  // namespace warden::server

#endif  // WARDEN_LIBS_SERVER_STATUS_MAPPING_H_
