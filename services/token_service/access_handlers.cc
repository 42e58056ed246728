#include "services/token_service/access_handlers.h"

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "libs/catalog/catalog.h"
#include "libs/secrets/token_secret.h"
#include "libs/server/status_mapping.h"
#include "libs/tokens/token_rules.h"
#include "services/token_service/caller_auth.h"

namespace warden::token_service {
namespace {

using server::ToGrpcStatus;

// The subject a question is about, once the caller may ask it: a subject to
// decide for, or a presented token that did not authenticate at all.
struct AskedSubject {
  std::optional<access::SubjectRef> subject;
  model::v1::AuthFailure failure = model::v1::AUTH_FAILURE_UNSPECIFIED;
};

// Callers may ask about themselves; asking about anyone else needs
// platform.access_review, and never reaches beyond their organization.
absl::Status MayAskAbout(const tokens::Caller& caller,
                         const std::string& organization_id,
                         model::v1::SubjectKind kind,
                         const std::string& subject_id) {
  if (organization_id != caller.organization_id()) {
    return absl::PermissionDeniedError(
        "callers may only ask about subjects of their own organization");
  }
  if (kind == caller.kind() && subject_id == caller.subject_id()) {
    return absl::OkStatus();
  }
  return tokens::RequirePermission(caller, catalog::kAccessReview,
                                   "ask about another subject's access");
}

absl::StatusOr<AskedSubject> ResolveAsked(
    const tokens::TokenRegistry& registry, const tokens::Caller& caller,
    const access::v1::AccessQuestion& question) {
  AskedSubject asked;
  switch (question.subject_selector_case()) {
    case access::v1::AccessQuestion::kSubject: {
      access::SubjectRef ref;
      ref.organization_id = question.subject().organization_id();
      ref.kind = question.subject().kind();
      ref.subject_id = question.subject().id();
      auto valid = access::ValidateSubjectRef("question.subject", ref);
      if (!valid.ok()) return valid;
      auto allowed =
          MayAskAbout(caller, ref.organization_id, ref.kind, ref.subject_id);
      if (!allowed.ok()) return allowed;
      asked.subject = std::move(ref);
      return asked;
    }
    case access::v1::AccessQuestion::kToken: {
      if (question.token().empty()) {
        return absl::InvalidArgumentError(
            "question.token is empty; pass the token secret to ask about");
      }
      auto subject = registry.Authenticate(question.token());
      if (!subject.ok()) {
        std::optional<model::v1::AuthFailure> failure =
            tokens::AuthFailureOf(subject.status());
        if (!failure.has_value()) return subject.status();
        // Whose token it is cannot be known, so only a reviewer may learn
        // why it fails (which anyone holding it learns by presenting it).
        auto allowed = tokens::RequirePermission(
            caller, catalog::kAccessReview,
            "ask about a token that does not authenticate");
        if (!allowed.ok()) return allowed;
        asked.failure = *failure;
        return asked;
      }
      auto allowed = MayAskAbout(caller, subject->organization_id(),
                                 subject->kind(), subject->subject_id());
      if (!allowed.ok()) return allowed;
      auto parsed = secrets::Parse(std::string_view(question.token()));
      if (!parsed.ok()) return parsed.status();
      access::SubjectRef ref;
      ref.organization_id = subject->organization_id();
      ref.kind = subject->kind();
      ref.subject_id = subject->subject_id();
      ref.token_id = subject->token_id();
      ref.token_digest = parsed->digest;
      asked.subject = std::move(ref);
      return asked;
    }
    case access::v1::AccessQuestion::SUBJECT_SELECTOR_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError(
      "question must name its subject: set question.token or "
      "question.subject");
}

}  // namespace

AccessHandlers::AccessHandlers(store::Store* store,
                               tokens::TokenRegistry* registry,
                               const Clock* clock)
    : store_(store), registry_(registry), decider_(clock) {}

// The steps both RPCs share: authenticate the caller, resolve whom the
// question is about, and read one view. `decide` answers for a subject;
// `failed` answers for a presented token that did not authenticate.
template <typename Response, typename Decide, typename Failed>
grpc::Status AccessHandlers::Answer(grpc::ServerContext* context,
                                    const access::v1::AccessQuestion& question,
                                    Response* response, Decide decide,
                                    Failed failed) {
  auto caller = AuthenticateCaller(*registry_, *context);
  if (!caller.ok()) return ToGrpcStatus(caller.status(), context);
  auto asked = ResolveAsked(*registry_, *caller, question);
  if (!asked.ok()) return ToGrpcStatus(asked.status());

  auto view = store_->Read();
  response->set_revision(view->revision());
  if (!asked->subject.has_value()) {
    auto permission = access::ResolvePermission(*view, question.permission(),
                                                question.item_id());
    if (!permission.ok()) return ToGrpcStatus(permission.status());
    response->set_auth_failure(asked->failure);
    failed(access::ExplainAuthFailure(asked->failure, *permission));
    return grpc::Status::OK;
  }
  return ToGrpcStatus(decide(*view, *asked->subject));
}

grpc::Status AccessHandlers::Check(grpc::ServerContext* context,
                                   const access::v1::CheckRequest* request,
                                   access::v1::CheckResponse* response) {
  const access::v1::AccessQuestion& question = request->question();
  return Answer(
      context, question, response,
      [&](store::ReadView& view, const access::SubjectRef& subject) {
        auto decision = decider_.Check(view, subject, question.permission(),
                                       question.item_id());
        if (!decision.ok()) return decision.status();
        response->set_allowed(decision->allowed);
        response->set_reason(decision->reason);
        return absl::OkStatus();
      },
      [&](const model::v1::Explanation& explanation) {
        response->set_allowed(explanation.allowed());
        response->set_reason(explanation.reason());
      });
}

grpc::Status AccessHandlers::Explain(grpc::ServerContext* context,
                                     const access::v1::ExplainRequest* request,
                                     access::v1::ExplainResponse* response) {
  const access::v1::AccessQuestion& question = request->question();
  return Answer(
      context, question, response,
      [&](store::ReadView& view, const access::SubjectRef& subject) {
        auto explanation = decider_.Explain(
            view, subject, question.permission(), question.item_id());
        if (!explanation.ok()) return explanation.status();
        *response->mutable_explanation() = *std::move(explanation);
        return absl::OkStatus();
      },
      [&](model::v1::Explanation explanation) {
        *response->mutable_explanation() = std::move(explanation);
      });
}

}  // namespace warden::token_service
