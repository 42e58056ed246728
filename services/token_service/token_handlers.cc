#include "services/token_service/token_handlers.h"

#include <set>

#include "libs/server/status_mapping.h"
#include "libs/tokens/token_rules.h"
#include "services/token_service/caller_auth.h"

namespace warden::token_service {
namespace {

using server::ToGrpcStatus;

void ToView(const tokens::TokenDetails& details, token::v1::TokenView* view) {
  *view->mutable_token() = details.token;
  view->set_expired(details.expired);
  *view->mutable_expires_at() = tokens::ToProto(details.expires_at);
  view->set_subject_display_name(details.subject_display_name);
  for (const auto& id : details.permission_set_ids) {
    view->add_permission_set_ids(id);
  }
}

// Fills a list response (ListServiceUserTokens or ListUserTokens) from a page.
template <typename Response>
absl::Status ToPage(const absl::StatusOr<tokens::TokenPage>& page,
                    Response* response) {
  if (!page.ok()) return page.status();
  for (const auto& details : page->tokens) {
    ToView(details, response->add_tokens());
  }
  response->set_next_page_token(page->next_page_token);
  return absl::OkStatus();
}

}  // namespace

TokenHandlers::TokenHandlers(tokens::TokenRegistry* registry)
    : registry_(registry) {}

grpc::Status TokenHandlers::CreateServiceUserToken(
    grpc::ServerContext* context,
    const token::v1::CreateServiceUserTokenRequest* request,
    token::v1::CreateServiceUserTokenResponse* response) {
  return WithCaller(*registry_, context, [&](const tokens::Caller& caller) {
    std::vector<std::string> sets(request->permission_set_ids().begin(),
                                  request->permission_set_ids().end());
    auto issued = registry_->CreateServiceUserToken(
        caller, request->name(), request->inactivity_days(), sets,
        request->request_id());
    if (!issued.ok()) return issued.status();
    ToView(issued->details, response->mutable_token());
    *response->mutable_service_user() = *issued->service_user;
    response->set_secret(std::move(issued->secret));
    response->set_revision(issued->revision);
    return absl::OkStatus();
  });
}

grpc::Status TokenHandlers::CreateUserToken(
    grpc::ServerContext* context,
    const token::v1::CreateUserTokenRequest* request,
    token::v1::CreateUserTokenResponse* response) {
  return WithCaller(*registry_, context, [&](const tokens::Caller& caller) {
    auto issued = registry_->CreateUserToken(caller, request->name(),
                                             request->inactivity_days(),
                                             request->request_id());
    if (!issued.ok()) return issued.status();
    ToView(issued->details, response->mutable_token());
    response->set_secret(std::move(issued->secret));
    response->set_revision(issued->revision);
    return absl::OkStatus();
  });
}

grpc::Status TokenHandlers::GetToken(grpc::ServerContext* context,
                                     const token::v1::GetTokenRequest* request,
                                     token::v1::GetTokenResponse* response) {
  return WithCaller(*registry_, context, [&](const tokens::Caller& caller) {
    auto details = registry_->GetToken(caller, request->token_id());
    if (!details.ok()) return details.status();
    ToView(*details, response->mutable_token());
    return absl::OkStatus();
  });
}

grpc::Status TokenHandlers::ListServiceUserTokens(
    grpc::ServerContext* context,
    const token::v1::ListServiceUserTokensRequest* request,
    token::v1::ListServiceUserTokensResponse* response) {
  return WithCaller(*registry_, context, [&](const tokens::Caller& caller) {
    auto page = registry_->ListServiceUserTokens(caller, request->page_size(),
                                                 request->page_token());
    return ToPage(page, response);
  });
}

grpc::Status TokenHandlers::ListUserTokens(
    grpc::ServerContext* context,
    const token::v1::ListUserTokensRequest* request,
    token::v1::ListUserTokensResponse* response) {
  return WithCaller(*registry_, context, [&](const tokens::Caller& caller) {
    auto page = registry_->ListUserTokens(caller, request->page_size(),
                                          request->page_token());
    return ToPage(page, response);
  });
}

grpc::Status TokenHandlers::UpdateServiceUserToken(
    grpc::ServerContext* context,
    const token::v1::UpdateServiceUserTokenRequest* request,
    token::v1::UpdateServiceUserTokenResponse* response) {
  return WithCaller(*registry_, context, [&](const tokens::Caller& caller)
                                            -> absl::Status {
    tokens::ServiceUserTokenEdit edit;
    std::set<std::string> seen;
    for (const auto& path : request->update_mask().paths()) {
      if (!seen.insert(path).second) continue;
      if (path == "name") {
        edit.name = request->name();
      } else if (path == "inactivity_days") {
        edit.inactivity_days = request->inactivity_days();
      } else if (path == "permission_set_ids") {
        edit.permission_set_ids.emplace(request->permission_set_ids().begin(),
                                        request->permission_set_ids().end());
      } else {
        return absl::InvalidArgumentError(
            "update_mask may name only name, inactivity_days and "
            "permission_set_ids");
      }
    }
    auto change =
        registry_->UpdateServiceUserToken(caller, request->token_id(), edit);
    if (!change.ok()) return change.status();
    ToView(change->details, response->mutable_token());
    response->set_revision(change->revision);
    return absl::OkStatus();
  });
}

grpc::Status TokenHandlers::RevokeToken(
    grpc::ServerContext* context, const token::v1::RevokeTokenRequest* request,
    token::v1::RevokeTokenResponse* response) {
  return WithCaller(*registry_, context, [&](const tokens::Caller& caller) {
    auto change = registry_->RevokeToken(caller, request->token_id());
    if (!change.ok()) return change.status();
    ToView(change->details, response->mutable_token());
    response->set_revision(change->revision);
    return absl::OkStatus();
  });
}

grpc::Status TokenHandlers::RegenerateToken(
    grpc::ServerContext* context,
    const token::v1::RegenerateTokenRequest* request,
    token::v1::RegenerateTokenResponse* response) {
  return WithCaller(*registry_, context, [&](const tokens::Caller& caller) {
    auto issued = registry_->RegenerateToken(caller, request->token_id());
    if (!issued.ok()) return issued.status();
    ToView(issued->details, response->mutable_token());
    response->set_secret(std::move(issued->secret));
    response->set_revision(issued->revision);
    return absl::OkStatus();
  });
}

grpc::Status TokenHandlers::DeleteToken(
    grpc::ServerContext* context, const token::v1::DeleteTokenRequest* request,
    token::v1::DeleteTokenResponse* response) {
  return WithCaller(*registry_, context, [&](const tokens::Caller& caller) {
    auto revision = registry_->DeleteToken(caller, request->token_id());
    if (!revision.ok()) return revision.status();
    response->set_revision(*revision);
    return absl::OkStatus();
  });
}

grpc::Status TokenHandlers::Authenticate(
    grpc::ServerContext* context,
    const token::v1::AuthenticateRequest* request,
    token::v1::AuthenticateResponse* response) {
  if (request->token().empty()) {
    return ToGrpcStatus(absl::InvalidArgumentError("token is required"));
  }
  int64_t revision = 0;
  auto subject = registry_->Authenticate(request->token(), &revision);
  if (!subject.ok()) return ToGrpcStatus(subject.status(), context);
  *response->mutable_subject() = *std::move(subject);
  response->set_revision(revision);
  return grpc::Status::OK;
}

grpc::Status TokenHandlers::ReportTokenUsage(
    grpc::ServerContext* context,
    const token::v1::ReportTokenUsageRequest* request,
    token::v1::ReportTokenUsageResponse* response) {
  auto peer = RequireReplicationPeer(*context);
  if (!peer.ok()) return server::ToGrpcStatus(peer, context);
  return WithCaller(*registry_, context, [&](const tokens::Caller& caller) {
    std::vector<tokens::TokenRegistry::Usage> usages;
    usages.reserve(request->usages_size());
    for (const auto& usage : request->usages()) {
      usages.push_back({usage.organization_id(), usage.token_id(),
                        usage.generation(), tokens::FromProto(usage.used_at())});
    }
    auto result = registry_->ReportUsage(caller, usages);
    if (!result.ok()) return result.status();
    response->set_applied(result->first);
    response->set_revision(result->second);
    return absl::OkStatus();
  });
}

}  // namespace warden::token_service
