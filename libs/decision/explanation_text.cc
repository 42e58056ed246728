#include "libs/decision/explanation_text.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace warden::decision {
namespace {

std::string ItemLabel(const model::v1::Item& item) {
  return absl::StrCat(item.type(), " '", item.name(), "' (", item.id(), ")");
}

// "the user" / "the service user", for advice.
absl::string_view SubjectNoun(const model::v1::AuthenticatedSubject& s) {
  return s.kind() == model::v1::SUBJECT_KIND_SERVICE_USER ? "the service user"
                                                          : "the user";
}

// The fragment of an inactive-subject reason for a token state.
absl::string_view TokenStateAdvice(model::v1::AuthFailure failure) {
  switch (failure) {
    case model::v1::AUTH_FAILURE_EXPIRED:
      return "expired from inactivity; regenerate it";
    case model::v1::AUTH_FAILURE_REVOKED:
      return "revoked; regenerate it";
    case model::v1::AUTH_FAILURE_OWNER_INACTIVE:
      return "ended because its owner was deactivated or removed";
    default:
      return "not active";
  }
}

// How a match reaches the subject, for the allow summary.
std::string PathPhrase(const model::v1::GrantMatch& match) {
  std::string phrase;
  switch (match.path()) {
    case model::v1::GRANT_PATH_DIRECT:
      phrase = "a grant to them directly";
      break;
    case model::v1::GRANT_PATH_GROUP:
      phrase = absl::StrCat("their group ", match.via_id());
      break;
    case model::v1::GRANT_PATH_SITE:
      phrase = absl::StrCat("their membership of site ", match.via_id());
      break;
    case model::v1::GRANT_PATH_ORGANIZATION:
      phrase = "a grant to their whole organization";
      break;
    default:
      phrase = "a grant";
      break;
  }
  if (match.rule()) {
    absl::StrAppend(&phrase, ", by a rule on every ",
                    match.grant().item_type());
  }
  if (match.cross_organization()) {
    absl::StrAppend(&phrase, ", shared by organization ",
                    match.grant().organization_id());
  }
  absl::StrAppend(&phrase, " (", match.grant().id(), ")");
  return phrase;
}

// The deny advice when no grant includes the subject.
std::string NoAccessSummary(const model::v1::AuthenticatedSubject& subject,
                            const model::v1::Item& item) {
  std::string advice;
  if (subject.kind() == model::v1::SUBJECT_KIND_SERVICE_USER) {
    advice = absl::StrCat("share the ", item.type(),
                          " with the service user or add it to a rule that "
                          "names the service user (groups, sites and "
                          "organization-wide grants never include service "
                          "users)");
  } else {
    advice = absl::StrCat("share the ", item.type(),
                          " with the user, a group or site they belong to or "
                          "their organization, or add it to a rule that "
                          "includes them");
  }
  if (item.organization_id() != subject.organization_id()) {
    absl::StrAppend(&advice, "; the ", item.type(), " belongs to organization ",
                    item.organization_id(), ", which must make that share");
  }
  return absl::StrCat(SubjectLabel(subject), " has no grant on ",
                      ItemLabel(item), "; ", advice, ".");
}

}  // namespace

std::string SubjectLabel(const model::v1::AuthenticatedSubject& subject) {
  absl::string_view kind =
      subject.kind() == model::v1::SUBJECT_KIND_SERVICE_USER ? "service user"
                                                             : "user";
  if (subject.display_name().empty()) {
    return absl::StrCat(kind, " ", subject.subject_id());
  }
  return absl::StrCat(kind, " '", subject.display_name(), "' (",
                      subject.subject_id(), ")");
}

std::string UserInactiveReason(const model::v1::AuthenticatedSubject& subject,
                               model::v1::UserStatus status) {
  switch (status) {
    case model::v1::USER_STATUS_ACTIVE:
      return "";
    case model::v1::USER_STATUS_DEACTIVATED:
      return absl::StrCat(SubjectLabel(subject),
                          " is deactivated; reactivate the user");
    case model::v1::USER_STATUS_REMOVED:
      return absl::StrCat(SubjectLabel(subject),
                          " was removed from the organization; add the "
                          "person again as a new user");
    default:
      return absl::StrCat(SubjectLabel(subject), " has no active status");
  }
}

std::string ServiceUserTokenReason(
    const model::v1::AuthenticatedSubject& subject,
    model::v1::AuthFailure failure) {
  if (failure == model::v1::AUTH_FAILURE_UNKNOWN) {
    return absl::StrCat(SubjectLabel(subject),
                        " has no token; create a new service-user token");
  }
  return absl::StrCat("the token of ", SubjectLabel(subject), " is ",
                      TokenStateAdvice(failure));
}

std::string PresentedTokenReason(absl::string_view token_id,
                                 model::v1::AuthFailure failure) {
  if (failure == model::v1::AUTH_FAILURE_UNKNOWN) {
    return "the presented token was deleted or regenerated; use its current "
           "secret";
  }
  return absl::StrCat("the presented token ", token_id, " is ",
                      TokenStateAdvice(failure));
}

std::string Summary(const model::v1::Explanation& explanation,
                    const SummaryFacts& facts) {
  const model::v1::AuthenticatedSubject& subject = explanation.subject();
  const std::string& permission = explanation.permission();
  const std::string who = SubjectLabel(subject);
  switch (explanation.reason()) {
    case model::v1::DECISION_REASON_SUBJECT_INACTIVE:
      return absl::StrCat(facts.inactive_reason, ".");
    case model::v1::DECISION_REASON_PERMISSION_MISSING:
      return absl::StrCat(
          who, " lacks ", permission,
          subject.permission_set_ids().empty()
              ? "; assign a permission set that holds it"
              : absl::StrCat(
                    "; add it to permission set ",
                    absl::StrJoin(subject.permission_set_ids(), " or "),
                    " or assign a set that holds it"),
          ".");
    case model::v1::DECISION_REASON_ITEM_NOT_FOUND:
      return absl::StrCat("No item ", facts.item_id,
                          " exists in any organization; check the item id.");
    default:
      break;
  }
  if (facts.item == nullptr) {
    // ALLOWED for an organization-level permission.
    return absl::StrCat(
        who, " has ", permission, " through permission set ",
        absl::StrJoin(explanation.permission_set_ids_with_permission(),
                      " and "),
        ".");
  }
  const model::v1::Item& item = *facts.item;
  switch (explanation.reason()) {
    case model::v1::DECISION_REASON_ITEM_TYPE_MISMATCH:
      return absl::StrCat(ItemLabel(item), " is a ", item.type(), ", but ",
                          permission, " acts on ", facts.permission_item_type,
                          " items; ask with a permission for ", item.type(),
                          " items.");
    case model::v1::DECISION_REASON_NO_ACCESS:
      return NoAccessSummary(subject, item);
    case model::v1::DECISION_REASON_ACCESS_LEVEL_TOO_LOW:
      return absl::StrCat(
          who, " has ", LevelName(explanation.granted_level()), " access to ",
          ItemLabel(item), " but ", permission, " needs ",
          LevelName(explanation.required_level()),
          "; raise the level of a grant that includes ", SubjectNoun(subject),
          ", or share the ", item.type(), " with ", SubjectNoun(subject),
          " at that level.");
    default:
      break;
  }
  std::string how = explanation.grants().empty()
                        ? std::string("a grant")
                        : PathPhrase(explanation.grants(0));
  return absl::StrCat(who, " may use ", permission, " on ", ItemLabel(item),
                      ": ", LevelName(explanation.granted_level()),
                      " access through ", how, ".");
}

absl::string_view LevelName(model::v1::AccessLevel level) {
  switch (level) {
    case model::v1::ACCESS_LEVEL_VIEW:
      return "view";
    case model::v1::ACCESS_LEVEL_EDIT:
      return "edit";
    case model::v1::ACCESS_LEVEL_MANAGE:
      return "manage";
    default:
      return "no";
  }
}

model::v1::Explanation ExplainAuthFailure(
    model::v1::AuthFailure failure, const model::v1::Permission& permission) {
  model::v1::Explanation explanation;
  explanation.set_allowed(false);
  explanation.set_reason(model::v1::DECISION_REASON_SUBJECT_INACTIVE);
  explanation.set_permission(permission.name());
  explanation.set_required_level(permission.required_level());
  std::string advice;
  switch (failure) {
    case model::v1::AUTH_FAILURE_MALFORMED:
      advice = "is not a well-formed token; check that it was copied whole";
      break;
    case model::v1::AUTH_FAILURE_REVOKED:
      advice = "was revoked; regenerate it";
      break;
    case model::v1::AUTH_FAILURE_EXPIRED:
      advice = "expired from inactivity; regenerate it";
      break;
    case model::v1::AUTH_FAILURE_OWNER_INACTIVE:
      advice =
          "belongs to a user who was deactivated or removed; it never "
          "works again, create a new token for an active user";
      break;
    default:
      advice =
          "is unknown (never issued, regenerated since or deleted); use "
          "the token's current secret";
      break;
  }
  explanation.set_summary(absl::StrCat("The token ", advice, "."));
  return explanation;
}

}  // namespace warden::decision
