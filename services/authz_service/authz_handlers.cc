#include "services/authz_service/authz_handlers.h"

#include <optional>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "libs/server/status_mapping.h"
#include "libs/tokens/token_rules.h"

namespace warden::authz_service {
namespace {

using index::Principal;
using index::ReplicaView;

// A call without a deadline still waits no longer than this for its
// min_revision.
constexpr absl::Duration kMaxRevisionWait = absl::Seconds(30);
constexpr int kMaxBatchChecks = 1000;

// The subject a SubjectRef names. A token that does not authenticate, even
// one that is not well formed, gives an inactive principal carrying the
// failure, as TokenService's AccessService answers (see the proto).
absl::StatusOr<Principal> Resolve(const ReplicaView& view,
                                  const authz::v1::SubjectRef& ref,
                                  absl::Time now,
                                  const index::LocalUseLookup& local_use) {
  switch (ref.subject_case()) {
    case authz::v1::SubjectRef::kToken: {
      if (ref.token().empty()) {
        return absl::InvalidArgumentError("subject.token is empty");
      }
      return view.ResolveToken(ref.token(), now, local_use);
    }
    case authz::v1::SubjectRef::kSubjectId:
      return view.ResolveSubjectId(ref.subject_id(), now, local_use);
    case authz::v1::SubjectRef::SUBJECT_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError(
      "subject must name either a token or a subject_id");
}

std::optional<model::v1::AuthFailure> FailureOf(const Principal& principal) {
  return principal.active ? std::nullopt : principal.failure;
}

}  // namespace

absl::Status CheckFresh(const Lag& lag, bool loaded,
                        absl::Duration max_staleness, absl::Time now) {
  if (!loaded || !lag.last_message.has_value()) {
    return absl::UnavailableError(
        "the replica has not loaded its first snapshot from TokenService");
  }
  absl::Duration silent = now - *lag.last_message;
  if (silent > max_staleness) {
    return absl::UnavailableError(absl::StrCat(
        "the replica is stale: no message from TokenService for ",
        absl::FormatDuration(silent), " (limit ",
        absl::FormatDuration(max_staleness), "), at revision ",
        lag.applied_revision));
  }
  return absl::OkStatus();
}

AuthzHandlers::AuthzHandlers(HandlerDeps deps) : deps_(std::move(deps)) {
  if (deps_.metrics == nullptr) return;
  for (int value = 0; value < model::v1::DecisionReason_ARRAYSIZE; ++value) {
    if (!model::v1::DecisionReason_IsValid(value)) continue;
    auto reason = static_cast<model::v1::DecisionReason>(value);
    // DECISION_REASON_NO_ACCESS -> "no_access".
    std::string name = absl::AsciiStrToLower(absl::StripPrefix(
        model::v1::DecisionReason_Name(reason), "DECISION_REASON_"));
    decisions_[value] = &deps_.metrics->GetCounter(
        "warden_authz_decisions_total",
        "Authorization decisions (Check, BatchCheck items, Authorize), by "
        "outcome and the reason for it.",
        {{"outcome",
          reason == model::v1::DECISION_REASON_ALLOWED ? "allow" : "deny"},
         {"reason", name}});
  }
}

void AuthzHandlers::CountDecision(model::v1::DecisionReason reason) const {
  if (reason < 0 || reason >= model::v1::DecisionReason_ARRAYSIZE) return;
  if (metrics::Counter* counter = decisions_[reason]) counter->Increment();
}

index::LocalUseLookup AuthzHandlers::LocalUses() const {
  UsageReporter* usage = deps_.usage;
  return [usage](absl::string_view token_id) {
    return usage->LocalUseOf(token_id);
  };
}

grpc::ServerUnaryReactor* AuthzHandlers::Serve(
    grpc::CallbackServerContext* context, int64_t min_revision,
    bool any_staleness, Answer answer) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (min_revision < 0) {
    reactor->Finish(server::ToGrpcStatus(
        absl::InvalidArgumentError("min_revision must not be negative")));
    return reactor;
  }
  absl::Time deadline = absl::Now() + kMaxRevisionWait;
  if (context->deadline() != std::chrono::system_clock::time_point::max()) {
    deadline = std::min(deadline, absl::FromChrono(context->deadline()));
  }
  auto run = [this, context, reactor, min_revision, any_staleness,
              answer = std::move(answer)](bool reached) {
    auto view = deps_.index->Current();
    if (!reached) {
      reactor->Finish(server::ToGrpcStatus(absl::UnavailableError(absl::StrCat(
          "the replica is at revision ", view->revision(),
          " and did not reach min_revision ", min_revision,
          " before the deadline; retry"))));
      return;
    }
    if (!any_staleness) {
      auto fresh = CheckFresh(deps_.lag(), view->loaded(),
                              deps_.max_staleness, deps_.clock->Now());
      if (!fresh.ok()) {
        reactor->Finish(server::ToGrpcStatus(fresh));
        return;
      }
    }
    reactor->Finish(server::ToGrpcStatus(answer(*view), context));
  };
  deps_.waiters->Wait(min_revision, deadline, std::move(run));
  return reactor;
}

grpc::ServerUnaryReactor* AuthzHandlers::Authenticate(
    grpc::CallbackServerContext* context,
    const authz::v1::AuthenticateRequest* request,
    authz::v1::AuthenticateResponse* response) {
  return Serve(context, request->min_revision(), false,
               [=, this](const ReplicaView& view) -> absl::Status {
    if (request->token().empty()) {
      return absl::InvalidArgumentError("token is required");
    }
    absl::Time now = deps_.clock->Now();
    Principal principal = view.ResolveToken(request->token(), now, LocalUses());
    if (!principal.active) {
      return tokens::AuthFailureStatus(*principal.failure);
    }
    deps_.usage->Record(principal.subject.organization_id(),
                        principal.token_id(), principal.token_generation, now);
    *response->mutable_subject() = principal.subject.ToProto();
    response->set_revision(view.revision());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AuthzHandlers::Check(
    grpc::CallbackServerContext* context,
    const authz::v1::CheckRequest* request,
    authz::v1::CheckResponse* response) {
  return Serve(context, request->min_revision(), false,
               [=, this](const ReplicaView& view) -> absl::Status {
    auto principal =
        Resolve(view, request->subject(), deps_.clock->Now(), LocalUses());
    if (!principal.ok()) return principal.status();
    auto decision =
        view.Check(*principal, request->permission(), request->item_id());
    if (!decision.ok()) return decision.status();
    CountDecision(decision->reason);
    response->set_allowed(decision->allowed);
    response->set_reason(decision->reason);
    if (auto failure = FailureOf(*principal)) {
      response->set_auth_failure(*failure);
    }
    response->set_revision(view.revision());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AuthzHandlers::BatchCheck(
    grpc::CallbackServerContext* context,
    const authz::v1::BatchCheckRequest* request,
    authz::v1::BatchCheckResponse* response) {
  return Serve(context, request->min_revision(), false,
               [=, this](const ReplicaView& view) -> absl::Status {
    const int count = request->checks_size();
    if (count == 0 || count > kMaxBatchChecks) {
      return absl::InvalidArgumentError(absl::StrCat(
          "checks must hold between 1 and ", kMaxBatchChecks,
          " checks; split larger batches"));
    }
    absl::flat_hash_set<std::string> ids;
    for (const auto& check : request->checks()) {
      if (!ids.insert(check.correlation_id()).second) {
        return absl::InvalidArgumentError(absl::StrCat(
            "correlation id '", check.correlation_id(),
            "' appears more than once; make each unique"));
      }
    }
    absl::Time now = deps_.clock->Now();
    auto local = LocalUses();
    // Batches usually ask about one subject many times.
    absl::flat_hash_map<std::string, absl::StatusOr<Principal>> resolved;
    for (const auto& check : request->checks()) {
      auto* result = response->add_results();
      result->set_correlation_id(check.correlation_id());
      std::string key = check.subject().SerializeAsString();
      auto it = resolved.find(key);
      if (it == resolved.end()) {
        it = resolved.emplace(key, Resolve(view, check.subject(), now, local))
                 .first;
      }
      absl::Status status = it->second.status();
      if (status.ok()) {
        auto decision =
            view.Check(*it->second, check.permission(), check.item_id());
        if (decision.ok()) {
          CountDecision(decision->reason);
          result->set_allowed(decision->allowed);
          result->set_reason(decision->reason);
          if (auto failure = FailureOf(*it->second)) {
            result->set_auth_failure(*failure);
          }
          continue;
        }
        status = decision.status();
      }
      result->set_error_code(static_cast<int>(status.code()));
      result->set_error_message(std::string(status.message()));
    }
    response->set_revision(view.revision());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AuthzHandlers::Authorize(
    grpc::CallbackServerContext* context,
    const authz::v1::AuthorizeRequest* request,
    authz::v1::AuthorizeResponse* response) {
  return Serve(context, request->min_revision(), false,
               [=, this](const ReplicaView& view) -> absl::Status {
    if (request->token().empty()) {
      return absl::InvalidArgumentError("token is required");
    }
    absl::Time now = deps_.clock->Now();
    Principal principal = view.ResolveToken(request->token(), now, LocalUses());
    if (!principal.active) {
      return tokens::AuthFailureStatus(*principal.failure);
    }
    auto decision =
        view.Check(principal, request->permission(), request->item_id());
    if (!decision.ok()) return decision.status();
    CountDecision(decision->reason);
    // The token authenticated, so it was used, whatever the decision.
    deps_.usage->Record(principal.subject.organization_id(),
                        principal.token_id(), principal.token_generation, now);
    response->set_allowed(decision->allowed);
    response->set_reason(decision->reason);
    auto* actor = response->mutable_actor();
    actor->set_kind(principal.subject.kind());
    actor->set_id(principal.subject.subject_id());
    actor->set_display_name(principal.subject.display_name());
    *response->mutable_subject() = principal.subject.ToProto();
    response->set_revision(view.revision());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AuthzHandlers::ListAccessible(
    grpc::CallbackServerContext* context,
    const authz::v1::ListAccessibleRequest* request,
    authz::v1::ListAccessibleResponse* response) {
  return Serve(context, request->min_revision(), false,
               [=, this](const ReplicaView& view) -> absl::Status {
    auto principal =
        Resolve(view, request->subject(), deps_.clock->Now(), LocalUses());
    if (!principal.ok()) return principal.status();
    if (auto failure = FailureOf(*principal);
        failure.has_value() && request->subject().has_token()) {
      return tokens::AuthFailureStatus(*failure);
    }
    auto page = view.ListAccessible(*principal, request->item_type(),
                                    request->permission(),
                                    request->page_size(),
                                    request->page_token());
    if (!page.ok()) return page.status();
    for (auto& id : page->item_ids) response->add_item_ids(std::move(id));
    response->set_next_page_token(std::move(page->next_page_token));
    response->set_revision(view.revision());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AuthzHandlers::Explain(
    grpc::CallbackServerContext* context,
    const authz::v1::ExplainRequest* request,
    authz::v1::ExplainResponse* response) {
  return Serve(context, request->min_revision(), false,
               [=, this](const ReplicaView& view) -> absl::Status {
    auto principal =
        Resolve(view, request->subject(), deps_.clock->Now(), LocalUses());
    if (!principal.ok()) return principal.status();
    auto explanation =
        view.Explain(*principal, request->permission(), request->item_id());
    if (!explanation.ok()) return explanation.status();
    if (auto failure = FailureOf(*principal)) {
      response->set_auth_failure(*failure);
    }
    *response->mutable_explanation() = std::move(*explanation);
    response->set_revision(view.revision());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AuthzHandlers::GetReplicaStatus(
    grpc::CallbackServerContext* context,
    const authz::v1::GetReplicaStatusRequest* request,
    authz::v1::GetReplicaStatusResponse* response) {
  return Serve(context, request->min_revision(), true,
               [=, this](const ReplicaView& view) -> absl::Status {
    Lag lag = deps_.lag();
    absl::Time now = deps_.clock->Now();
    response->set_revision(view.revision());
    response->set_committed_revision(lag.committed_revision);
    response->set_seconds_since_last_message(
        lag.last_message.has_value()
            ? absl::ToDoubleSeconds(now - *lag.last_message)
            : -1);
    response->set_stale(
        !CheckFresh(lag, view.loaded(), deps_.max_staleness, now).ok());
    if (request->include_digest()) response->set_digest(view.Digest());
    return absl::OkStatus();
  });
}

}  // namespace warden::authz_service
