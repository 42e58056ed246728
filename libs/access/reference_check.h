#ifndef WARDEN_LIBS_ACCESS_REFERENCE_CHECK_H_
#define WARDEN_LIBS_ACCESS_REFERENCE_CHECK_H_

// The reference authorization decision: may a subject use a permission, on
// an item when the permission is an item permission. It reads every record
// it needs straight from one store read view, with no cache and no index of
// its own, so it is slow but plainly follows the rules below. TokenService
// answers AccessService with it, and AuthzService's fast answers are tested
// against it.
//
// allowed(subject, permission, item) holds exactly when, in this order (a
// deny names the first step that fails, as model.v1.DecisionReason):
//  1. SUBJECT_INACTIVE: the subject is active. A user exists in its
//     organization with USER_STATUS_ACTIVE. A service user exists and its
//     token exists, is TOKEN_STATE_ACTIVE and has not expired. A subject
//     acting through a presented token (SubjectRef::token_id) also needs that
//     token to still be active with the presented secret.
//  2. PERMISSION_MISSING: the union of the subject's permission sets holds
//     the permission. Organization-level permissions stop here: allowed.
//  3. ITEM_NOT_FOUND: the item exists (in any organization).
//  4. ITEM_TYPE_MISMATCH: the item is of the permission's item type.
//  5. NO_ACCESS: at least one grant includes the subject. The grants on an
//     item are the item grants naming it and the rules naming its type in
//     the item's organization. A grant includes the subject when its grantee,
//     taken in the grantee's organization (grantee_organization_id, or the
//     grant's own organization when empty), is
//       - the subject itself (user_id or service_user_id): path DIRECT;
//       - an existing group of the user's organization with a GroupMember
//         record for the user: path GROUP;
//       - an existing site S of the user's organization such that the user
//         has a SiteMember record for S or for a site above S (walking
//         parent_site_id through existing sites): path SITE. Membership of a
//         site is membership of every site below it;
//       - organization_id equal to the user's organization: ORGANIZATION.
//     Service users are reached only by DIRECT grants. A grantee in another
//     organization than the item's (cross-organization sharing) reaches
//     only the subjects it names; nothing else of that organization.
//  6. ACCESS_LEVEL_TOO_LOW: the highest level of the including grants is at
//     least the permission's required level (VIEW < EDIT < MANAGE).
//
// Request errors are not decisions: an unknown permission name, a
// malformed id, or an item id with an organization-level permission give
// INVALID_ARGUMENT; a store without a catalog gives FAILED_PRECONDITION.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "libs/clock/clock.h"
#include "libs/store/store.h"
#include "warden/model/v1/model.pb.h"

namespace warden::access {

// Who a question is about.
struct SubjectRef {
  // The subject's organization.
  std::string organization_id;
  // USER or SERVICE_USER.
  model::v1::SubjectKind kind = model::v1::SUBJECT_KIND_UNSPECIFIED;
  // "usr_..." or "svc_...".
  std::string subject_id;
  // Set when the subject acts through a presented token that
  // TokenRegistry::Authenticate accepted (possibly at an earlier revision):
  // the token's id and the SHA-256 digest of the presented secret. The
  // decision then also requires that token, in the view it reads, to be
  // active with that digest, so the whole answer holds at one revision.
  std::string token_id;
  std::string token_digest;
};

// INVALID_ARGUMENT naming `field` unless the organization id, kind and
// subject id are present and well-formed.
absl::Status ValidateSubjectRef(absl::string_view field, const SubjectRef& ref);

// A verdict and its reason: ALLOWED, or the first failing step.
struct Decision {
  bool allowed = false;
  model::v1::DecisionReason reason = model::v1::DECISION_REASON_UNSPECIFIED;
};

// What resolving a subject in a view found.
struct ResolvedSubject {
  // Whether step 1 passes.
  bool active = false;
  // As much as is known: ids and kind always; display name, permission sets
  // and permissions when the subject record exists. token_id is the
  // presented token's, or a service user's own token.
  model::v1::AuthenticatedSubject subject;
  // The subject's permission sets that exist, in subject order.
  std::vector<model::v1::PermissionSet> permission_sets;
  // When inactive: what an admin should know and change, as a sentence
  // fragment, e.g. "user 'Ann' (usr_...) is deactivated; reactivate them".
  std::string inactive_reason;
};

// Resolves `ref` (which must pass ValidateSubjectRef) in `view` at `now`.
// Errors only when the store fails.
absl::StatusOr<ResolvedSubject> ResolveSubject(store::ReadView& view,
                                               const SubjectRef& ref,
                                               absl::Time now);

// The permission named `name` from the catalog stored in `view`, checked
// against `item_id`: an item permission needs a well-formed item id, an
// organization-level one needs it empty. INVALID_ARGUMENT saying what to fix;
// FAILED_PRECONDITION when no catalog is stored.
absl::StatusOr<model::v1::Permission> ResolvePermission(
    store::ReadView& view, absl::string_view name, absl::string_view item_id);

// The explanation for a presented token that did not authenticate at all
// (unknown, revoked, expired, owner inactive, malformed): a deny with
// SUBJECT_INACTIVE and a summary naming `failure`.
model::v1::Explanation ExplainAuthFailure(
    model::v1::AuthFailure failure, const model::v1::Permission& permission);

// One page of ListAccessible.
struct AccessiblePage {
  // Items the subject may use the permission on, by ascending item id.
  std::vector<model::v1::Item> items;
  // Pass to the next call for the next page; empty after the last page.
  std::string next_page_token;
};

// The reference decider. Stateless apart from the clock; thread-safe, but
// each call must get its own read view (views are single-threaded).
class ReferenceDecider {
 public:
  // `clock` decides token expiry. Not owned; must outlive the decider.
  explicit ReferenceDecider(const Clock* clock);

  // The decision for `subject` using `permission` (on `item_id` for item
  // permissions; empty otherwise) at the view's revision. Errors: see the
  // file comment and ValidateSubjectRef.
  absl::StatusOr<Decision> Check(store::ReadView& view,
                                 const SubjectRef& subject,
                                 absl::string_view permission,
                                 absl::string_view item_id) const;

  // The same decision with its reasons: the subject, the permission sets
  // holding the permission, every grant including the subject on the item
  // (highest level first, then by grant id) and a one-sentence summary. Its
  // allowed and reason always equal Check's for the same arguments and view.
  absl::StatusOr<model::v1::Explanation> Explain(
      store::ReadView& view, const SubjectRef& subject,
      absl::string_view permission, absl::string_view item_id) const;

  // The items of the permission's type, in any organization, that Check
  // allows `subject` to use `permission` on, by ascending item id, at most
  // `page_size` (1 to 1000) per page. An inactive subject or one without
  // the permission gets no items. INVALID_ARGUMENT for an
  // organization-level permission, a bad page size or a page token made for
  // another question.
  absl::StatusOr<AccessiblePage> ListAccessible(
      store::ReadView& view, const SubjectRef& subject,
      absl::string_view permission, int page_size,
      absl::string_view page_token) const;

 private:
  const Clock* clock_;
};

}  // namespace warden::access

#endif  // WARDEN_LIBS_ACCESS_REFERENCE_CHECK_H_
