#ifndef WARDEN_LIBS_DECISION_EXPLANATION_TEXT_H_
#define WARDEN_LIBS_DECISION_EXPLANATION_TEXT_H_

// Explanation wording that TokenService's reference decision (libs/access)
// and AuthzService's replica (libs/index) must produce identically, kept in
// one place so the two cannot drift. Pure functions over protos.
//
// Both also fill GrantMatch.via_id by one rule (see model.proto): for a
// site grant, the site the user has a SiteMember record for (the granted
// site or the nearest one above it), for a group grant the group id,
// otherwise empty. Each walks the site tree over its own storage.

#include <string>

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

// "user 'Ann' (usr_...)" or "service user 'ci' (svc_...)"; without the
// quoted name when the subject has none.
std::string SubjectLabel(const model::v1::AuthenticatedSubject& subject);

// Why an existing user with `status` is not active, as a sentence fragment
// naming what to change; empty for USER_STATUS_ACTIVE.
std::string UserInactiveReason(const model::v1::AuthenticatedSubject& subject,
                               model::v1::UserStatus status);

// Why a service user whose own token did not pass is not active: `failure`
// is REVOKED, EXPIRED or OWNER_INACTIVE for a token in that state, UNKNOWN
// when the service user has no token record.
std::string ServiceUserTokenReason(
    const model::v1::AuthenticatedSubject& subject,
    model::v1::AuthFailure failure);

// Why a subject acting through presented token `token_id` is not active
// because of that token: REVOKED, EXPIRED or OWNER_INACTIVE for a token in
// that state; UNKNOWN when it was deleted or regenerated since.
std::string PresentedTokenReason(absl::string_view token_id,
                                 model::v1::AuthFailure failure);

// What a summary needs beyond the explanation itself.
struct SummaryFacts {
  // The item asked about when it exists; null for organization-level
  // permissions and unknown items.
  const model::v1::Item* item = nullptr;
  // The item id asked about.
  absl::string_view item_id;
  // The item type the permission acts on; empty at organization level.
  absl::string_view permission_item_type;
  // For SUBJECT_INACTIVE: the fragment from one of the *Reason functions
  // above (or the reference's missing-subject fragment).
  absl::string_view inactive_reason;
};

// The one-sentence Explanation.summary both deciders give: on deny, what an
// admin should change; on allow, the path that granted access. Reads
// `explanation`'s reason, subject, permission, required and granted level,
// permission_set_ids_with_permission and grants (the first grant is the
// one named on allow), which must already be filled in.
std::string Summary(const model::v1::Explanation& explanation,
                    const SummaryFacts& facts);


}  // namespace warden::decision

#endif  // WARDEN_LIBS_DECISION_EXPLANATION_TEXT_H_
