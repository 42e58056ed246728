#ifndef WARDEN_SERVICES_TOKEN_SERVICE_TOKEN_HANDLERS_H_
#define WARDEN_SERVICES_TOKEN_SERVICE_TOKEN_HANDLERS_H_

#include "libs/tokens/token_registry.h"
#include "warden/token/v1/token_service.grpc.pb.h"

namespace warden::token_service {

// The gRPC face of TokenRegistry: authenticates the caller, converts the
// request, calls the registry and converts the answer. Uses the synchronous
// API because writes block until their group is synced to disk.
// Thread-safe.
class TokenHandlers final : public token::v1::TokenService::Service {
 public:
  // `registry` is not owned and must outlive the handlers.
  explicit TokenHandlers(tokens::TokenRegistry* registry);

  grpc::Status CreateServiceUserToken(
      grpc::ServerContext* context,
      const token::v1::CreateServiceUserTokenRequest* request,
      token::v1::CreateServiceUserTokenResponse* response) override;
  grpc::Status CreateUserToken(
      grpc::ServerContext* context,
      const token::v1::CreateUserTokenRequest* request,
      token::v1::CreateUserTokenResponse* response) override;
  grpc::Status GetToken(grpc::ServerContext* context,
                        const token::v1::GetTokenRequest* request,
                        token::v1::GetTokenResponse* response) override;
  grpc::Status ListServiceUserTokens(
      grpc::ServerContext* context,
      const token::v1::ListServiceUserTokensRequest* request,
      token::v1::ListServiceUserTokensResponse* response) override;
  grpc::Status ListUserTokens(
      grpc::ServerContext* context,
      const token::v1::ListUserTokensRequest* request,
      token::v1::ListUserTokensResponse* response) override;
  grpc::Status UpdateServiceUserToken(
      grpc::ServerContext* context,
      const token::v1::UpdateServiceUserTokenRequest* request,
      token::v1::UpdateServiceUserTokenResponse* response) override;
  grpc::Status RevokeToken(grpc::ServerContext* context,
                           const token::v1::RevokeTokenRequest* request,
                           token::v1::RevokeTokenResponse* response) override;
  grpc::Status RegenerateToken(
      grpc::ServerContext* context,
      const token::v1::RegenerateTokenRequest* request,
      token::v1::RegenerateTokenResponse* response) override;
  grpc::Status DeleteToken(grpc::ServerContext* context,
                           const token::v1::DeleteTokenRequest* request,
                           token::v1::DeleteTokenResponse* response) override;
  grpc::Status Authenticate(
      grpc::ServerContext* context,
      const token::v1::AuthenticateRequest* request,
      token::v1::AuthenticateResponse* response) override;
  grpc::Status ReportTokenUsage(
      grpc::ServerContext* context,
      const token::v1::ReportTokenUsageRequest* request,
      token::v1::ReportTokenUsageResponse* response) override;

 private:
  tokens::TokenRegistry* registry_;
};

}  // namespace warden::token_service

#endif  // WARDEN_SERVICES_TOKEN_SERVICE_TOKEN_HANDLERS_H_
