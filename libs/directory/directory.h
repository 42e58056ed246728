#ifndef WARDEN_LIBS_DIRECTORY_DIRECTORY_H_
#define WARDEN_LIBS_DIRECTORY_DIRECTORY_H_

// The directory of an organization: users, permission sets, groups, sites,
// items and grants, with their rules, on top of the store. Speaks records and
// absl::Status; knows nothing of gRPC.
//
// Rules every operation keeps:
//  - The caller's organization scopes everything: each id is looked up as
//    "<caller org>/<id>", so another organization's records are NOT_FOUND.
//  - Each write is one Store::Write: the record, everything that must change
//    with it (memberships, grants, ended tokens) and one activity-log entry
//    commit together or not at all, so nothing ever refers to a deleted
//    record. A rejected request writes nothing.
//  - Creates take an optional request id. A repeat by the same caller
//    within 24 hours returns the record the first request created, and
//    ALREADY_EXISTS if that record has since been deleted or the id was used
//    for another kind of create.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/store/store.h"
#include "libs/tokens/token_registry.h"
#include "warden/model/v1/model.pb.h"

namespace warden::directory {

using tokens::Caller;

// A record as a write left it, and the revision the write committed at (the
// current revision when an idempotent repeat wrote nothing).
template <typename T>
struct Written {
  T record;
  int64_t revision = 0;
};

// One page of a listing.
template <typename T>
struct Page {
  std::vector<T> records;
  // Empty on the last page.
  std::string next_page_token;
};

// The caller's organization as GetOrganization shows it.
struct OrganizationSummary {
  model::v1::Organization organization;
  // Active users. Service users never take a seat.
  int seat_count = 0;
};

// Which fields an update changes; unset means unchanged.
struct UserEdit {
  std::optional<std::string> display_name;
  std::optional<std::string> email;
  std::optional<std::string> permission_set_id;
};
struct PermissionSetEdit {
  std::optional<std::string> name;
  std::optional<std::vector<std::string>> permissions;
};
struct SiteEdit {
  std::optional<std::string> name;
  // An empty string makes the site a root site.
  std::optional<std::string> parent_site_id;
};
struct ItemEdit {
  std::optional<std::string> name;
  // An empty string takes the item off any site.
  std::optional<std::string> site_id;
};

// What a new grant covers; exactly one is set.
struct GrantTarget {
  std::string item_id;
  std::string item_type;
};

// Thread-safe: every method may be called from any thread. Reads use one
// consistent view; writes serialize in the store, so checks made inside a
// write (uniqueness, existence, cycles) hold when it commits.
//
// Permissions: users need platform.users; groups, sites and their members
// need platform.groups; permission sets need platform.permission_sets; items
// and grants need platform.content; the activity log needs
// platform.activity_log; any caller may read its own organization and the
// catalog. PERMISSION_DENIED names the missing permission.
class Directory {
 public:
  // `store` and `registry` are not owned and must outlive the directory.
  Directory(store::Store* store, tokens::TokenRegistry* registry);

  // Organizations. CreateOrganization needs platform.organizations and
  // builds the new organization's Administrator set from the stored catalog.
  absl::StatusOr<tokens::NewOrganization> CreateOrganization(
      const Caller& caller, const std::string& name,
      const std::string& admin_email, const std::string& admin_display_name);
  absl::StatusOr<OrganizationSummary> GetOrganization(const Caller& caller);
  absl::StatusOr<model::v1::PermissionCatalog> GetPermissionCatalog(
      const Caller& caller);

  // Users. Deactivate and remove end every token of the user in the same
  // write; remove also deletes the user's memberships and every grant to the
  // user (in any organization) and is final. A caller cannot deactivate or
  // remove itself. FAILED_PRECONDITION for a transition the user's status
  // does not allow.
  absl::StatusOr<Written<model::v1::User>> CreateUser(
      const Caller& caller, const std::string& email,
      const std::string& display_name, const std::string& permission_set_id,
      const std::string& request_id);
  absl::StatusOr<model::v1::User> GetUser(const Caller& caller,
                                          const std::string& user_id);
  absl::StatusOr<Page<model::v1::User>> ListUsers(const Caller& caller,
                                                  int page_size,
                                                  const std::string& page_token,
                                                  bool include_removed);
  absl::StatusOr<Written<model::v1::User>> UpdateUser(
      const Caller& caller, const std::string& user_id, const UserEdit& edit);
  absl::StatusOr<Written<model::v1::User>> DeactivateUser(
      const Caller& caller, const std::string& user_id);
  absl::StatusOr<Written<model::v1::User>> ReactivateUser(
      const Caller& caller, const std::string& user_id);
  absl::StatusOr<Written<model::v1::User>> RemoveUser(
      const Caller& caller, const std::string& user_id);

  // Permission sets. Permissions must be in the stored catalog; they are
  // stored sorted and unique. Delete is FAILED_PRECONDITION while a user
  // (not removed) or a service user uses the set.
  absl::StatusOr<Written<model::v1::PermissionSet>> CreatePermissionSet(
      const Caller& caller, const std::string& name,
      const std::vector<std::string>& permissions,
      const std::string& request_id);
  absl::StatusOr<model::v1::PermissionSet> GetPermissionSet(
      const Caller& caller, const std::string& permission_set_id);
  absl::StatusOr<Page<model::v1::PermissionSet>> ListPermissionSets(
      const Caller& caller, int page_size, const std::string& page_token);
  absl::StatusOr<Written<model::v1::PermissionSet>> UpdatePermissionSet(
      const Caller& caller, const std::string& permission_set_id,
      const PermissionSetEdit& edit);
  absl::StatusOr<int64_t> DeletePermissionSet(
      const Caller& caller, const std::string& permission_set_id);

  // Groups. Members are users only. Delete removes the memberships and every
  // grant to the group.
  absl::StatusOr<Written<model::v1::Group>> CreateGroup(
      const Caller& caller, const std::string& name,
      const std::string& request_id);
  absl::StatusOr<model::v1::Group> GetGroup(const Caller& caller,
                                            const std::string& group_id);
  absl::StatusOr<Page<model::v1::Group>> ListGroups(
      const Caller& caller, int page_size, const std::string& page_token);
  absl::StatusOr<Written<model::v1::Group>> UpdateGroup(
      const Caller& caller, const std::string& group_id,
      const std::string& name);
  absl::StatusOr<int64_t> DeleteGroup(const Caller& caller,
                                      const std::string& group_id);
  absl::StatusOr<Written<model::v1::GroupMember>> AddGroupMember(
      const Caller& caller, const std::string& group_id,
      const std::string& user_id);
  absl::StatusOr<int64_t> RemoveGroupMember(const Caller& caller,
                                            const std::string& group_id,
                                            const std::string& user_id);
  absl::StatusOr<Page<model::v1::GroupMember>> ListGroupMembers(
      const Caller& caller, const std::string& group_id, int page_size,
      const std::string& page_token);

  // Sites: a forest. Names are unique among siblings; a move that would
  // make a cycle is FAILED_PRECONDITION naming it. Delete is
  // FAILED_PRECONDITION while the site has children, and removes the
  // memberships, every grant to the site and the site of items at it.
  absl::StatusOr<Written<model::v1::Site>> CreateSite(
      const Caller& caller, const std::string& name,
      const std::string& parent_site_id, const std::string& request_id);
  absl::StatusOr<model::v1::Site> GetSite(const Caller& caller,
                                          const std::string& site_id);
  absl::StatusOr<Page<model::v1::Site>> ListSites(
      const Caller& caller, int page_size, const std::string& page_token);
  absl::StatusOr<Written<model::v1::Site>> UpdateSite(
      const Caller& caller, const std::string& site_id, const SiteEdit& edit);
  absl::StatusOr<int64_t> DeleteSite(const Caller& caller,
                                     const std::string& site_id);
  absl::StatusOr<Written<model::v1::SiteMember>> AddSiteMember(
      const Caller& caller, const std::string& site_id,
      const std::string& user_id);
  absl::StatusOr<int64_t> RemoveSiteMember(const Caller& caller,
                                           const std::string& site_id,
                                           const std::string& user_id);
  absl::StatusOr<Page<model::v1::SiteMember>> ListSiteMembers(
      const Caller& caller, const std::string& site_id, int page_size,
      const std::string& page_token);

  // Items. The type must be one of the catalog's item types. Delete removes
  // every grant on the item.
  absl::StatusOr<Written<model::v1::Item>> CreateItem(
      const Caller& caller, const std::string& type, const std::string& name,
      const std::string& site_id, const std::string& request_id);
  absl::StatusOr<model::v1::Item> GetItem(const Caller& caller,
                                          const std::string& item_id);
  absl::StatusOr<Page<model::v1::Item>> ListItems(
      const Caller& caller, const std::string& type, int page_size,
      const std::string& page_token);
  absl::StatusOr<Written<model::v1::Item>> UpdateItem(
      const Caller& caller, const std::string& item_id, const ItemEdit& edit);
  absl::StatusOr<int64_t> DeleteItem(const Caller& caller,
                                     const std::string& item_id);

  // Grants on the caller's items or item types. The grantee must exist in
  // its organization, which may be another one (cross-organization sharing);
  // an empty grantee_organization_id means the caller's and is stored filled
  // in. ALREADY_EXISTS when a grant with the same target and grantee exists.
  absl::StatusOr<Written<model::v1::Grant>> CreateGrant(
      const Caller& caller, const GrantTarget& target,
      const model::v1::Grantee& grantee, model::v1::AccessLevel level,
      const std::string& request_id);
  absl::StatusOr<model::v1::Grant> GetGrant(const Caller& caller,
                                            const std::string& grant_id);
  absl::StatusOr<Page<model::v1::Grant>> ListGrants(
      const Caller& caller, const GrantTarget& target, int page_size,
      const std::string& page_token);
  absl::StatusOr<int64_t> DeleteGrant(const Caller& caller,
                                      const std::string& grant_id);

  // The caller's organization's activity log, newest first.
  absl::StatusOr<Page<model::v1::ActivityEntry>> ListActivity(
      const Caller& caller, int page_size, const std::string& page_token);

 private:
  store::Store* store_;
  tokens::TokenRegistry* registry_;
};

}  // namespace warden::directory

#endif  // WARDEN_LIBS_DIRECTORY_DIRECTORY_H_
