// wardenctl tokens ...: the token lifecycle through TokenService.

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tools/wardenctl/output.h"
#include "tools/wardenctl/session.h"
#include "warden/model/v1/model.pb.h"
#include "warden/token/v1/token_service.grpc.pb.h"

namespace warden::wardenctl {
namespace {

using token::v1::TokenService;
using token::v1::TokenView;

// Flag values of every tokens subcommand; one run parses one subcommand.
struct TokenFlags {
  std::string id;
  std::string name;
  int inactivity_days = 0;
  std::vector<std::string> permission_sets;
  std::string request_id;
  bool user_tokens = false;
  int limit = 0;
};

std::string StateLabel(const TokenView& view) {
  if (view.expired()) return "expired";
  return EnumLabel(model::v1::TokenState_descriptor(), view.token().state());
}

void PrintTokenTable(const google::protobuf::RepeatedPtrField<TokenView>& all) {
  Table table({"id", "name", "kind", "state", "subject", "window", "last used",
               "expires"});
  for (const auto& view : all) {
    const auto& token = view.token();
    table.AddRow({token.id(), token.name(),
                  EnumLabel(model::v1::TokenKind_descriptor(), token.kind()),
                  StateLabel(view), view.subject_display_name(),
                  absl::StrCat(token.inactivity_days(), "d"),
                  FormatTime(token.last_used_at(), token.has_last_used_at()),
                  FormatTime(view.expires_at(), view.has_expires_at())});
  }
  table.Print();
}

void PrintToken(const TokenView& view) {
  const auto& token = view.token();
  PrintFields({
      {"id", token.id()},
      {"name", token.name()},
      {"kind", EnumLabel(model::v1::TokenKind_descriptor(), token.kind())},
      {"state", StateLabel(view)},
      {"subject", absl::StrCat(view.subject_display_name(), " (",
                               token.subject_id(), ")")},
      {"organization", token.organization_id()},
      {"permission sets", JoinOrDash({view.permission_set_ids().begin(),
                                      view.permission_set_ids().end()})},
      {"inactivity days", absl::StrCat(token.inactivity_days())},
      {"created", FormatTime(token.created_at(), token.has_created_at())},
      {"secret issued",
       FormatTime(token.secret_issued_at(), token.has_secret_issued_at())},
      {"last used", FormatTime(token.last_used_at(), token.has_last_used_at())},
      {"revoked", FormatTime(token.revoked_at(), token.has_revoked_at())},
      {"expires", FormatTime(view.expires_at(), view.has_expires_at())},
      {"generation", absl::StrCat(token.generation())},
  });
}

// A new secret goes to stdout once (in the JSON too); the warning goes to
// stderr so that it never mixes into a script's capture.
void ShowSecretOnce(Session& session, const std::string& secret) {
  if (!session.json()) std::cout << "secret: " << secret << "\n";
  Notice(
      "warning: store the secret now; it will not be shown again (a lost "
      "secret can only be replaced: revoke, then regenerate).");
}

int CreateService(Session& session, const TokenFlags& flags) {
  auto stub = TokenService::NewStub(session.channel());
  token::v1::CreateServiceUserTokenRequest request;
  request.set_name(flags.name);
  request.set_inactivity_days(flags.inactivity_days);
  for (const auto& id : flags.permission_sets) {
    request.add_permission_set_ids(id);
  }
  request.set_request_id(flags.request_id);
  token::v1::CreateServiceUserTokenResponse response;
  int code = session.Unary(
      [&](grpc::ClientContext* context) {
        return stub->CreateServiceUserToken(context, request, &response);
      },
      response,
      [&] {
        PrintToken(response.token());
        std::cout << "service user: " << response.service_user().id() << "\n";
      });
  if (code == kExitOk) ShowSecretOnce(session, response.secret());
  return code;
}

int CreateUser(Session& session, const TokenFlags& flags) {
  auto stub = TokenService::NewStub(session.channel());
  token::v1::CreateUserTokenRequest request;
  request.set_name(flags.name);
  request.set_inactivity_days(flags.inactivity_days);
  request.set_request_id(flags.request_id);
  token::v1::CreateUserTokenResponse response;
  int code = session.Unary(
      [&](grpc::ClientContext* context) {
        return stub->CreateUserToken(context, request, &response);
      },
      response, [&] { PrintToken(response.token()); });
  if (code == kExitOk) ShowSecretOnce(session, response.secret());
  return code;
}

// Every page of ListServiceUserTokens or ListUserTokens, then one table.
template <typename Request, typename Response>
int ListPages(Session& session,
              grpc::Status (TokenService::Stub::*method)(grpc::ClientContext*,
                                                         const Request&,
                                                         Response*),
              int limit) {
  auto stub = TokenService::NewStub(session.channel());
  Response all;
  int code = ListAll<Response>(
      session,
      [&](grpc::ClientContext* context, const std::string& page_token,
          Response* page) {
        Request request;
        request.set_page_size(500);
        request.set_page_token(page_token);
        return (stub.get()->*method)(context, request, page);
      },
      [](const Response& r) { return r.tokens_size(); }, limit, &all);
  if (code != kExitOk) return code;
  session.json() ? PrintJson(all) : PrintTokenTable(all.tokens());
  return kExitOk;
}

int List(Session& session, const TokenFlags& flags) {
  if (flags.user_tokens) {
    return ListPages(session, &TokenService::Stub::ListUserTokens, flags.limit);
  }
  return ListPages(session, &TokenService::Stub::ListServiceUserTokens,
                   flags.limit);
}

int Get(Session& session, const TokenFlags& flags) {
  auto stub = TokenService::NewStub(session.channel());
  token::v1::GetTokenRequest request;
  request.set_token_id(flags.id);
  token::v1::GetTokenResponse response;
  return session.Unary(
      [&](grpc::ClientContext* context) {
        return stub->GetToken(context, request, &response);
      },
      response, [&] { PrintToken(response.token()); });
}

int Edit(Session& session, const TokenFlags& flags, bool name_given,
         bool days_given, bool sets_given) {
  token::v1::UpdateServiceUserTokenRequest request;
  request.set_token_id(flags.id);
  if (name_given) {
    request.set_name(flags.name);
    request.mutable_update_mask()->add_paths("name");
  }
  if (days_given) {
    request.set_inactivity_days(flags.inactivity_days);
    request.mutable_update_mask()->add_paths("inactivity_days");
  }
  if (sets_given) {
    for (const auto& id : flags.permission_sets) {
      request.add_permission_set_ids(id);
    }
    request.mutable_update_mask()->add_paths("permission_set_ids");
  }
  if (request.update_mask().paths().empty()) {
    std::cerr << "error: nothing to change: pass --name, --inactivity-days "
                 "or --permission-set\n";
    return kExitUsage;
  }
  auto stub = TokenService::NewStub(session.channel());
  token::v1::UpdateServiceUserTokenResponse response;
  return session.Unary(
      [&](grpc::ClientContext* context) {
        return stub->UpdateServiceUserToken(context, request, &response);
      },
      response, [&] { PrintToken(response.token()); });
}

int Revoke(Session& session, const TokenFlags& flags) {
  auto stub = TokenService::NewStub(session.channel());
  token::v1::RevokeTokenRequest request;
  request.set_token_id(flags.id);
  token::v1::RevokeTokenResponse response;
  return session.Unary(
      [&](grpc::ClientContext* context) {
        return stub->RevokeToken(context, request, &response);
      },
      response,
      [&] {
        std::cout << "revoked " << flags.id << " at revision "
                  << response.revision() << "\n";
      });
}

int Regenerate(Session& session, const TokenFlags& flags) {
  auto stub = TokenService::NewStub(session.channel());
  token::v1::RegenerateTokenRequest request;
  request.set_token_id(flags.id);
  token::v1::RegenerateTokenResponse response;
  int code = session.Unary(
      [&](grpc::ClientContext* context) {
        return stub->RegenerateToken(context, request, &response);
      },
      response, [&] { PrintToken(response.token()); });
  if (code == kExitOk) ShowSecretOnce(session, response.secret());
  return code;
}

int Delete(Session& session, const TokenFlags& flags) {
  auto stub = TokenService::NewStub(session.channel());
  token::v1::DeleteTokenRequest request;
  request.set_token_id(flags.id);
  token::v1::DeleteTokenResponse response;
  return session.Unary(
      [&](grpc::ClientContext* context) {
        return stub->DeleteToken(context, request, &response);
      },
      response,
      [&] {
        std::cout << "deleted " << flags.id << " at revision "
                  << response.revision() << "\n";
      });
}

// Registers `name` taking one positional token id and running `run`.
void AddByIdCommand(CLI::App* tokens, const std::string& name,
                    const std::string& description,
                    std::shared_ptr<TokenFlags> flags,
                    int (*run)(Session&, const TokenFlags&), Action* action) {
  auto* command = tokens->add_subcommand(name, description);
  command->add_option("id", flags->id, "Token id, tok_...")->required();
  command->callback([=] {
    *action = [=](Session& session) { return run(session, *flags); };
  });
}

}  // namespace

void AddTokenCommands(CLI::App& app, Action* action) {
  auto flags = std::make_shared<TokenFlags>();
  auto* tokens = app.add_subcommand(
      "tokens", "Create, list, edit, revoke, regenerate and delete tokens");
  tokens->require_subcommand(1);

  auto* create_service = tokens->add_subcommand(
      "create-service",
      "Create a service user and its token (needs platform.api_tokens)");
  create_service
      ->add_option("--name", flags->name,
                   "What the token is for; also the service "
                   "user's name in activity logs")
      ->required();
  create_service->add_option("--inactivity-days", flags->inactivity_days,
                             "31, 45, 60 or 180 (default 45)");
  create_service->add_option("--permission-set", flags->permission_sets,
                             "Permission set id, repeatable; none means "
                             "every permission set of the organization");
  create_service->add_option("--request-id", flags->request_id,
                             "Idempotency key for safe retries");
  create_service->callback([=] {
    *action = [=](Session& session) { return CreateService(session, *flags); };
  });

  auto* create_user = tokens->add_subcommand(
      "create-user", "Create a user token acting as the calling user");
  create_user->add_option("--name", flags->name, "What the token is for")
      ->required();
  create_user->add_option("--inactivity-days", flags->inactivity_days,
                          "31, 45, 60 or 180 (default 45)");
  create_user->add_option("--request-id", flags->request_id,
                          "Idempotency key for safe retries");
  create_user->callback([=] {
    *action = [=](Session& session) { return CreateUser(session, *flags); };
  });

  auto* list = tokens->add_subcommand(
      "list",
      "List the organization's service-user tokens, or with --user "
      "the caller's own user tokens");
  list->add_flag("--user", flags->user_tokens, "List your own user tokens");
  list->add_option("--limit", flags->limit,
                   "Stop after this many (default: every page)");
  list->callback([=] {
    *action = [=](Session& session) { return List(session, *flags); };
  });

  AddByIdCommand(tokens, "get", "Show one token", flags, &Get, action);

  auto* edit = tokens->add_subcommand(
      "edit", "Change a service-user token's name, window or permission sets");
  edit->add_option("id", flags->id, "Token id, tok_...")->required();
  auto* name = edit->add_option("--name", flags->name, "New name");
  auto* days = edit->add_option("--inactivity-days", flags->inactivity_days,
                                "New window: 31, 45, 60 or 180");
  auto* sets = edit->add_option("--permission-set", flags->permission_sets,
                                "Permission set id, repeatable; replaces "
                                "the token's sets");
  edit->callback([=] {
    bool name_given = name->count() > 0;
    bool days_given = days->count() > 0;
    bool sets_given = sets->count() > 0;
    *action = [=](Session& session) {
      return Edit(session, *flags, name_given, days_given, sets_given);
    };
  });

  AddByIdCommand(tokens, "revoke", "Revoke a token: it stops working at once",
                 flags, &Revoke, action);
  AddByIdCommand(tokens, "regenerate",
                 "Give a revoked token a new secret and make it active", flags,
                 &Regenerate, action);
  AddByIdCommand(tokens, "delete", "Delete a revoked token for good", flags,
                 &Delete, action);
}

}  // namespace warden::wardenctl
