// wardenctl check|explain: the reference access decision through
// TokenService's AccessService.

#include <iostream>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tools/wardenctl/output.h"
#include "tools/wardenctl/session.h"
#include "warden/access/v1/access_service.grpc.pb.h"
#include "warden/model/v1/model.pb.h"
#include "warden/token/v1/token_service.grpc.pb.h"

namespace warden::wardenctl {
namespace {

using access::v1::AccessService;

struct AccessFlags {
  std::string token;
  std::string subject;
  std::string organization;
  std::string permission;
  std::string item;
};

// Builds the question; on a usage problem prints it and returns false.
// A subject id's organization defaults to the caller's, which is the only
// one AccessService answers for, learned by authenticating the caller's own
// credential.
bool BuildQuestion(Session& session, const AccessFlags& flags,
                   access::v1::AccessQuestion* question, int* exit_code) {
  if (flags.token.empty() == flags.subject.empty()) {
    std::cerr << "error: pass exactly one of --token SECRET or --subject ID\n";
    *exit_code = kExitUsage;
    return false;
  }
  question->set_permission(flags.permission);
  question->set_item_id(flags.item);
  if (!flags.token.empty()) {
    question->set_token(flags.token);
    return true;
  }

  auto* subject = question->mutable_subject();
  subject->set_id(flags.subject);
  if (absl::StartsWith(flags.subject, "usr_")) {
    subject->set_kind(model::v1::SUBJECT_KIND_USER);
  } else if (absl::StartsWith(flags.subject, "svc_")) {
    subject->set_kind(model::v1::SUBJECT_KIND_SERVICE_USER);
  } else {
    std::cerr << "error: --subject takes a user id (usr_...) or a service "
                 "user id (svc_...)\n";
    *exit_code = kExitUsage;
    return false;
  }
  if (!flags.organization.empty()) {
    subject->set_organization_id(flags.organization);
    return true;
  }
  auto credential = session.Credential();
  if (!credential.ok()) {
    std::cerr << "error: " << credential.status().message() << "\n";
    *exit_code = kExitUsage;
    return false;
  }
  auto tokens = token::v1::TokenService::NewStub(session.channel());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::milliseconds(static_cast<int64_t>(
                           session.options().timeout_seconds * 1000)));
  token::v1::AuthenticateRequest request;
  request.set_token(*credential);
  token::v1::AuthenticateResponse caller;
  grpc::Status status = tokens->Authenticate(&context, request, &caller);
  if (!status.ok()) {
    *exit_code = session.Fail(status, &context);
    return false;
  }
  subject->set_organization_id(caller.subject().organization_id());
  return true;
}

std::string Reason(model::v1::DecisionReason reason) {
  return EnumLabel(model::v1::DecisionReason_descriptor(), reason);
}

int Check(Session& session, const AccessFlags& flags) {
  access::v1::CheckRequest request;
  int exit_code = kExitOk;
  if (!BuildQuestion(session, flags, request.mutable_question(), &exit_code)) {
    return exit_code;
  }
  auto stub = AccessService::NewStub(session.channel());
  access::v1::CheckResponse response;
  return session.Unary(
      [&](grpc::ClientContext* context) {
        return stub->Check(context, request, &response);
      },
      response,
      [&] {
        std::string verdict = response.allowed()
                                  ? "allowed"
                                  : "denied: " + Reason(response.reason());
        if (response.auth_failure() != model::v1::AUTH_FAILURE_UNSPECIFIED) {
          absl::StrAppend(&verdict, " (token ",
                          EnumLabel(model::v1::AuthFailure_descriptor(),
                                    response.auth_failure()),
                          ")");
        }
        std::cout << verdict << " at revision " << response.revision() << "\n";
      });
}

void PrintExplanation(const access::v1::ExplainResponse& response) {
  const auto& e = response.explanation();
  const auto& subject = e.subject();
  std::string who = subject.subject_id().empty()
                        ? "-"
                        : absl::StrCat(subject.display_name(), " (",
                                       subject.subject_id(), ")");
  std::string verdict =
      e.allowed() ? "allowed" : "denied: " + Reason(e.reason());
  if (response.auth_failure() != model::v1::AUTH_FAILURE_UNSPECIFIED) {
    absl::StrAppend(
        &verdict, " (token ",
        EnumLabel(model::v1::AuthFailure_descriptor(), response.auth_failure()),
        ")");
  }
  PrintFields({
      {"verdict", verdict},
      {"subject", who},
      {"permission", e.permission()},
      {"permission granted", e.permission_granted() ? "yes" : "no"},
      {"via permission sets",
       JoinOrDash({e.permission_set_ids_with_permission().begin(),
                   e.permission_set_ids_with_permission().end()})},
      {"required level",
       EnumLabel(model::v1::AccessLevel_descriptor(), e.required_level())},
      {"granted level",
       EnumLabel(model::v1::AccessLevel_descriptor(), e.granted_level())},
      {"revision", absl::StrCat(response.revision())},
      {"summary", e.summary()},
  });
  if (e.grants_size() == 0) return;
  std::cout << "\n";
  Table table({"grant", "level", "path", "via", "rule", "cross-org"});
  for (const auto& match : e.grants()) {
    table.AddRow(
        {match.grant().id(),
         EnumLabel(model::v1::AccessLevel_descriptor(), match.grant().level()),
         EnumLabel(model::v1::GrantPath_descriptor(), match.path()),
         match.via_id().empty() ? "-" : match.via_id(),
         match.rule() ? "yes" : "no",
         match.cross_organization() ? "yes" : "no"});
  }
  table.Print();
}

int Explain(Session& session, const AccessFlags& flags) {
  access::v1::ExplainRequest request;
  int exit_code = kExitOk;
  if (!BuildQuestion(session, flags, request.mutable_question(), &exit_code)) {
    return exit_code;
  }
  auto stub = AccessService::NewStub(session.channel());
  access::v1::ExplainResponse response;
  return session.Unary(
      [&](grpc::ClientContext* context) {
        return stub->Explain(context, request, &response);
      },
      response, [&] { PrintExplanation(response); });
}

CLI::App* AddQuestionCommand(CLI::App& app, const std::string& name,
                             const std::string& description,
                             std::shared_ptr<AccessFlags> flags,
                             int (*run)(Session&, const AccessFlags&),
                             Action* action) {
  auto* command = app.add_subcommand(name, description);
  command->add_option("--token", flags->token,
                      "The token asked about (its secret); never printed");
  command->add_option("--subject", flags->subject,
                      "Or the subject asked about: usr_... or svc_...");
  command->add_option("--organization", flags->organization,
                      "The subject's organization (default: the caller's)");
  command
      ->add_option("--permission", flags->permission,
                   "Permission name, for example templates.edit")
      ->required();
  command->add_option("--item", flags->item, "Item id, for an item permission");
  command->callback([=] {
    *action = [=](Session& session) { return run(session, *flags); };
  });
  return command;
}

}  // namespace

void AddAccessCommands(CLI::App& app, Action* action) {
  auto flags = std::make_shared<AccessFlags>();
  AddQuestionCommand(app, "check",
                     "Whether a token or subject may use a permission (on "
                     "an item). Exits 0 whether allowed or denied; read the "
                     "verdict (\"allowed\" in --json)",
                     flags, &Check, action);
  AddQuestionCommand(app, "explain",
                     "Why a token or subject may or may not use a permission "
                     "(on an item): permission sets, grants and what to "
                     "change",
                     flags, &Explain, action);
}

}  // namespace warden::wardenctl
