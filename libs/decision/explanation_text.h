#ifndef WARDEN_LIBS_DECISION_EXPLANATION_TEXT_H_
#define WARDEN_LIBS_DECISION_EXPLANATION_TEXT_H_

// Explanation wording that TokenService's reference decision (libs/access)
// and AuthzService's replica (libs/index) must produce identically, kept in
// one place so the two cannot drift. Pure functions over protos.

#include "absl/strings/string_view.h"
#include "warden/model/v1/model.pb.h"

namespace warden::decision {

// "view", "edit", "manage"; "no" for an unspecified level.
absl::string_view LevelName(model::v1::AccessLevel level);

// The explanation for a presented token that did not authenticate at all
// (unknown, revoked, expired, owner inactive, malformed): a deny with
// SUBJECT_INACTIVE, the permission and its required level, no subject, and
// a one-sentence summary saying what to do about `failure`.
model::v1::Explanation ExplainAuthFailure(
    model::v1::AuthFailure failure, const model::v1::Permission& permission);

}  // namespace warden::decision

#endif  // WARDEN_LIBS_DECISION_EXPLANATION_TEXT_H_
