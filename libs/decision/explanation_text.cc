#include "libs/decision/explanation_text.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace warden::decision {

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
