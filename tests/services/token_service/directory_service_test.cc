// DirectoryService through gRPC against the real TokenService app.
#include <functional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "libs/ids/ids.h"
#include "libs/store/records.h"
#include "tests/services/token_service/test_server.h"
#include "warden/directory/v1/directory_service.grpc.pb.h"
#include "warden/token/v1/token_service.grpc.pb.h"

namespace warden {
namespace {

namespace dv1 = directory::v1;
namespace tv1 = token::v1;
using directory::v1::DirectoryService;

// Whether `text` contains `part`, with the text in the failure message.
::testing::AssertionResult Contains(const std::string& text,
                                    const std::string& part) {
  if (text.find(part) != std::string::npos) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "'" << text << "' does not contain '" << part << "'";
}

class DirectoryServiceTest : public ::testing::Test {
 protected:
  DirectoryServiceTest()
      : dir_(DirectoryService::NewStub(server_.channel())),
        tokens_(tv1::TokenService::NewStub(server_.channel())) {}

  // Runs one unary call of the directory as `token`.
  template <typename Request, typename Response>
  grpc::Status Call(grpc::Status (DirectoryService::Stub::*rpc)(
                        grpc::ClientContext*, const Request&, Response*),
                    const Request& request, Response* response,
                    const std::string& token) {
    auto context = server_.Context(token);
    return ((*dir_).*rpc)(context.get(), request, response);
  }
  template <typename Request, typename Response>
  grpc::Status Admin(grpc::Status (DirectoryService::Stub::*rpc)(
                         grpc::ClientContext*, const Request&, Response*),
                     const Request& request, Response* response) {
    return Call(rpc, request, response, server_.admin_token());
  }

  int64_t Revision() { return server_.app().store().committed_revision(); }

  std::string CreatePermissionSet(const std::string& name,
                                  const std::vector<std::string>& permissions,
                                  const std::string& token) {
    dv1::CreatePermissionSetRequest request;
    request.set_name(name);
    for (const auto& p : permissions) request.add_permissions(p);
    dv1::CreatePermissionSetResponse response;
    auto status = Call(&DirectoryService::Stub::CreatePermissionSet, request,
                       &response, token);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.permission_set().id();
  }

  // A service-user token of the caller's organization holding exactly
  // `permissions`.
  std::string ServiceToken(const std::string& name,
                           const std::vector<std::string>& permissions,
                           const std::string& token) {
    std::string set = CreatePermissionSet(name + " set", permissions, token);
    tv1::CreateServiceUserTokenRequest request;
    request.set_name(name);
    request.add_permission_set_ids(set);
    tv1::CreateServiceUserTokenResponse response;
    auto context = server_.Context(token);
    auto status =
        tokens_->CreateServiceUserToken(context.get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    service_user_id_ = response.service_user().id();
    return response.secret();
  }

  dv1::CreateOrganizationResponse CreateOrganization(const std::string& name) {
    dv1::CreateOrganizationRequest request;
    request.set_name(name);
    request.set_admin_email("admin@" + name + ".example");
    request.set_admin_display_name(name + " admin");
    dv1::CreateOrganizationResponse response;
    auto status =
        Admin(&DirectoryService::Stub::CreateOrganization, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  std::string AdminSetId(const std::string& token) {
    dv1::ListPermissionSetsResponse response;
    auto status = Call(&DirectoryService::Stub::ListPermissionSets,
                       dv1::ListPermissionSetsRequest(), &response, token);
    EXPECT_TRUE(status.ok()) << status.error_message();
    for (const auto& set : response.permission_sets()) {
      if (set.name() == "Administrator") return set.id();
    }
    ADD_FAILURE() << "no Administrator set";
    return "";
  }

  dv1::CreateUserResponse CreateUser(const std::string& email,
                                     const std::string& token) {
    dv1::CreateUserRequest request;
    request.set_email(email);
    request.set_display_name("User " + email);
    request.set_permission_set_id(AdminSetId(token));
    dv1::CreateUserResponse response;
    auto status =
        Call(&DirectoryService::Stub::CreateUser, request, &response, token);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  std::string CreateGroup(const std::string& name, const std::string& token) {
    dv1::CreateGroupRequest request;
    request.set_name(name);
    dv1::CreateGroupResponse response;
    auto status =
        Call(&DirectoryService::Stub::CreateGroup, request, &response, token);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.group().id();
  }

  std::string CreateSite(const std::string& name, const std::string& parent) {
    dv1::CreateSiteRequest request;
    request.set_name(name);
    request.set_parent_site_id(parent);
    dv1::CreateSiteResponse response;
    auto status =
        Admin(&DirectoryService::Stub::CreateSite, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.site().id();
  }

  std::string CreateItem(const std::string& name, const std::string& site) {
    dv1::CreateItemRequest request;
    request.set_type("template");
    request.set_name(name);
    request.set_site_id(site);
    dv1::CreateItemResponse response;
    auto status =
        Admin(&DirectoryService::Stub::CreateItem, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.item().id();
  }

  grpc::Status Grant(const std::string& item_id,
                     const model::v1::Grantee& grantee,
                     dv1::CreateGrantResponse* response) {
    dv1::CreateGrantRequest request;
    request.set_item_id(item_id);
    *request.mutable_grantee() = grantee;
    request.set_level(model::v1::ACCESS_LEVEL_VIEW);
    return Admin(&DirectoryService::Stub::CreateGrant, request, response);
  }

  std::string AuthFailure(const std::string& secret) {
    tv1::AuthenticateRequest request;
    request.set_token(secret);
    tv1::AuthenticateResponse response;
    grpc::ClientContext context;
    auto status = tokens_->Authenticate(&context, request, &response);
    if (status.ok()) return "ok";
    auto it = context.GetServerTrailingMetadata().find("warden-auth-failure");
    return it == context.GetServerTrailingMetadata().end()
               ? status.error_message()
               : std::string(it->second.data(), it->second.size());
  }

  // Every index key in the store that mentions `id`.
  std::vector<std::string> IndexKeysMentioning(const std::string& id) {
    std::vector<std::string> found;
    auto view = server_.app().store().Read();
    auto status = view->Scan(store::Table::kIndex, "", "", [&](auto key, auto) {
      if (std::string(key).find(id) != std::string::npos) {
        found.emplace_back(key);
      }
      return true;
    });
    EXPECT_TRUE(status.ok());
    return found;
  }

  // How many records of `table` have a key mentioning `id`.
  int RecordsMentioning(store::Table table, const std::string& id) {
    int count = 0;
    auto view = server_.app().store().Read();
    auto status = view->Scan(table, "", "", [&](auto key, auto) {
      if (std::string(key).find(id) != std::string::npos) ++count;
      return true;
    });
    EXPECT_TRUE(status.ok());
    return count;
  }

  testing::TestTokenService server_;
  std::unique_ptr<DirectoryService::Stub> dir_;
  std::unique_ptr<tv1::TokenService::Stub> tokens_;
  std::string service_user_id_;
};

// Without a credential every RPC is UNAUTHENTICATED, never PERMISSION_DENIED.
TEST_F(DirectoryServiceTest, MissingTokenIsUnauthenticated) {
  dv1::GetOrganizationResponse org;
  EXPECT_EQ(Call(&DirectoryService::Stub::GetOrganization,
                 dv1::GetOrganizationRequest(), &org, "")
                .error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  dv1::CreateGroupRequest group;
  group.set_name("x");
  dv1::CreateGroupResponse created;
  int64_t before = Revision();
  EXPECT_EQ(
      Call(&DirectoryService::Stub::CreateGroup, group, &created, "wdn_garbage")
          .error_code(),
      grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Revision(), before);
}

// SCIM-style provisioning needs both platform.users and platform.groups;
// holding one does not allow the other, and a denied call writes nothing.
TEST_F(DirectoryServiceTest, EachAreaNeedsItsPermission) {
  std::string users_only =
      ServiceToken("users only", {"platform.users"}, server_.admin_token());
  std::string groups_only =
      ServiceToken("groups only", {"platform.groups"}, server_.admin_token());
  std::string admin_set = AdminSetId(server_.admin_token());

  dv1::CreateUserRequest user;
  user.set_email("scim@example.com");
  user.set_display_name("Scim");
  user.set_permission_set_id(admin_set);
  dv1::CreateUserResponse user_response;
  dv1::CreateGroupRequest group;
  group.set_name("Provisioned");
  dv1::CreateGroupResponse group_response;

  int64_t before = Revision();
  auto denied = Call(&DirectoryService::Stub::CreateGroup, group,
                     &group_response, users_only);
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(Contains(denied.error_message(), "platform.groups"));
  EXPECT_EQ(Call(&DirectoryService::Stub::CreateUser, user, &user_response,
                 groups_only)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Revision(), before);

  EXPECT_TRUE(Call(&DirectoryService::Stub::CreateUser, user, &user_response,
                   users_only)
                  .ok());
  EXPECT_TRUE(Call(&DirectoryService::Stub::CreateGroup, group, &group_response,
                   groups_only)
                  .ok());

  // Other areas are closed to both.
  dv1::ListActivityResponse activity;
  EXPECT_EQ(Call(&DirectoryService::Stub::ListActivity,
                 dv1::ListActivityRequest(), &activity, users_only)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  dv1::CreateItemRequest item;
  item.set_type("template");
  item.set_name("T");
  dv1::CreateItemResponse item_response;
  EXPECT_EQ(Call(&DirectoryService::Stub::CreateItem, item, &item_response,
                 groups_only)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  dv1::CreatePermissionSetRequest set;
  set.set_name("S");
  dv1::CreatePermissionSetResponse set_response;
  EXPECT_EQ(Call(&DirectoryService::Stub::CreatePermissionSet, set,
                 &set_response, users_only)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // Any caller reads its own organization and the catalog.
  dv1::GetPermissionCatalogResponse catalog;
  EXPECT_TRUE(Call(&DirectoryService::Stub::GetPermissionCatalog,
                   dv1::GetPermissionCatalogRequest(), &catalog, users_only)
                  .ok());
  EXPECT_GT(catalog.catalog().permissions_size(), 0);
}

// Deactivation ends the user's tokens for good; reactivation does not bring
// them back.
TEST_F(DirectoryServiceTest, DeactivationEndsUserTokensForGood) {
  auto org = CreateOrganization("acme");
  const std::string& admin_b = org.admin_token_secret();
  ASSERT_EQ(AuthFailure(admin_b), "ok");
  std::string operator_token =
      ServiceToken("hr sync", {"platform.users"}, admin_b);

  dv1::DeactivateUserRequest deactivate;
  deactivate.set_user_id(org.admin().id());
  dv1::DeactivateUserResponse deactivated;
  ASSERT_TRUE(Call(&DirectoryService::Stub::DeactivateUser, deactivate,
                   &deactivated, operator_token)
                  .ok());
  EXPECT_EQ(deactivated.user().status(), model::v1::USER_STATUS_DEACTIVATED);
  EXPECT_EQ(deactivated.revision(), Revision());
  EXPECT_EQ(AuthFailure(admin_b), "owner_inactive");

  // Deactivating twice is refused and writes nothing.
  int64_t before = Revision();
  EXPECT_EQ(Call(&DirectoryService::Stub::DeactivateUser, deactivate,
                 &deactivated, operator_token)
                .error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Revision(), before);

  dv1::ReactivateUserRequest reactivate;
  reactivate.set_user_id(org.admin().id());
  dv1::ReactivateUserResponse reactivated;
  ASSERT_TRUE(Call(&DirectoryService::Stub::ReactivateUser, reactivate,
                   &reactivated, operator_token)
                  .ok());
  EXPECT_EQ(reactivated.user().status(), model::v1::USER_STATUS_ACTIVE);
  EXPECT_EQ(AuthFailure(admin_b), "owner_inactive");

  // Removal is final.
  dv1::RemoveUserRequest remove;
  remove.set_user_id(org.admin().id());
  dv1::RemoveUserResponse removed;
  ASSERT_TRUE(Call(&DirectoryService::Stub::RemoveUser, remove, &removed,
                   operator_token)
                  .ok());
  EXPECT_EQ(Call(&DirectoryService::Stub::ReactivateUser, reactivate,
                 &reactivated, operator_token)
                .error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

// A caller cannot deactivate itself, which would lock the account out.
TEST_F(DirectoryServiceTest, CannotDeactivateSelf) {
  auto org = CreateOrganization("selfie");
  dv1::DeactivateUserRequest request;
  request.set_user_id(org.admin().id());
  dv1::DeactivateUserResponse response;
  EXPECT_EQ(Call(&DirectoryService::Stub::DeactivateUser, request, &response,
                 org.admin_token_secret())
                .error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(AuthFailure(org.admin_token_secret()), "ok");
}

// An admin of organization B can neither read nor change A's records.
TEST_F(DirectoryServiceTest, OrganizationsAreIsolated) {
  std::string group = CreateGroup("Inspectors", server_.admin_token());
  auto user_a = CreateUser("a@example.com", server_.admin_token());
  std::string item = CreateItem("Checklist", "");
  auto org_b = CreateOrganization("beta");
  const std::string& admin_b = org_b.admin_token_secret();
  int64_t before = Revision();

  dv1::GetGroupRequest get_group;
  get_group.set_group_id(group);
  dv1::GetGroupResponse got_group;
  EXPECT_EQ(
      Call(&DirectoryService::Stub::GetGroup, get_group, &got_group, admin_b)
          .error_code(),
      grpc::StatusCode::NOT_FOUND);
  dv1::DeleteGroupRequest delete_group;
  delete_group.set_group_id(group);
  dv1::DeleteGroupResponse deleted_group;
  EXPECT_EQ(Call(&DirectoryService::Stub::DeleteGroup, delete_group,
                 &deleted_group, admin_b)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  dv1::GetUserRequest get_user;
  get_user.set_user_id(user_a.user().id());
  dv1::GetUserResponse got_user;
  EXPECT_EQ(Call(&DirectoryService::Stub::GetUser, get_user, &got_user, admin_b)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  dv1::DeactivateUserRequest deactivate;
  deactivate.set_user_id(user_a.user().id());
  dv1::DeactivateUserResponse deactivated;
  EXPECT_EQ(Call(&DirectoryService::Stub::DeactivateUser, deactivate,
                 &deactivated, admin_b)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  dv1::DeleteItemRequest delete_item;
  delete_item.set_item_id(item);
  dv1::DeleteItemResponse deleted_item;
  EXPECT_EQ(Call(&DirectoryService::Stub::DeleteItem, delete_item,
                 &deleted_item, admin_b)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  // B's own group cannot take A's user as a member.
  std::string group_b = CreateGroup("B team", admin_b);
  before = Revision();
  dv1::AddGroupMemberRequest add;
  add.set_group_id(group_b);
  add.set_user_id(user_a.user().id());
  dv1::AddGroupMemberResponse added;
  EXPECT_EQ(Call(&DirectoryService::Stub::AddGroupMember, add, &added, admin_b)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  // B's lists hold only B's records.
  dv1::ListUsersResponse users;
  ASSERT_TRUE(Call(&DirectoryService::Stub::ListUsers, dv1::ListUsersRequest(),
                   &users, admin_b)
                  .ok());
  ASSERT_EQ(users.users_size(), 1);
  EXPECT_EQ(users.users(0).id(), org_b.admin().id());
  EXPECT_EQ(Revision(), before);
}

// Content can be shared with a user of another organization; the grantee
// must exist there, and removing that user removes the share.
TEST_F(DirectoryServiceTest, CrossOrganizationGrants) {
  auto org_b = CreateOrganization("partner");
  std::string item = CreateItem("Shared template", "");
  auto partner = CreateUser("p@partner.example", org_b.admin_token_secret());

  model::v1::Grantee grantee;
  grantee.set_user_id(partner.user().id());
  dv1::CreateGrantResponse granted;
  // Without naming B, the user is looked up in A and is not found.
  EXPECT_EQ(Grant(item, grantee, &granted).error_code(),
            grpc::StatusCode::NOT_FOUND);
  grantee.set_grantee_organization_id(org_b.organization().id());
  ASSERT_TRUE(Grant(item, grantee, &granted).ok());
  EXPECT_EQ(granted.grant().grantee().grantee_organization_id(),
            org_b.organization().id());
  // The same grantee twice is refused.
  EXPECT_EQ(Grant(item, grantee, &granted).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);

  dv1::RemoveUserRequest remove;
  remove.set_user_id(partner.user().id());
  dv1::RemoveUserResponse removed;
  ASSERT_TRUE(Call(&DirectoryService::Stub::RemoveUser, remove, &removed,
                   org_b.admin_token_secret())
                  .ok());
  dv1::GetGrantRequest get;
  get.set_grant_id(granted.grant().id());
  dv1::GetGrantResponse got;
  EXPECT_EQ(Admin(&DirectoryService::Stub::GetGrant, get, &got).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(IndexKeysMentioning(granted.grant().id()).empty());
}

// Deleting a group, site, user or item leaves nothing that refers to it.
TEST_F(DirectoryServiceTest, DeletesLeaveNoDanglingReferences) {
  auto user = CreateUser("member@example.com", server_.admin_token());
  const std::string user_id = user.user().id();
  std::string group = CreateGroup("Crew", server_.admin_token());
  std::string site = CreateSite("Plant", "");
  std::string item = CreateItem("At plant", site);

  dv1::AddGroupMemberRequest add_group;
  add_group.set_group_id(group);
  add_group.set_user_id(user_id);
  dv1::AddGroupMemberResponse group_member;
  ASSERT_TRUE(
      Admin(&DirectoryService::Stub::AddGroupMember, add_group, &group_member)
          .ok());
  dv1::AddSiteMemberRequest add_site;
  add_site.set_site_id(site);
  add_site.set_user_id(user_id);
  dv1::AddSiteMemberResponse site_member;
  ASSERT_TRUE(
      Admin(&DirectoryService::Stub::AddSiteMember, add_site, &site_member)
          .ok());
  model::v1::Grantee to_group, to_site, to_user;
  to_group.set_group_id(group);
  to_site.set_site_id(site);
  to_user.set_user_id(user_id);
  dv1::CreateGrantResponse g1, g2, g3;
  ASSERT_TRUE(Grant(item, to_group, &g1).ok());
  ASSERT_TRUE(Grant(item, to_site, &g2).ok());
  ASSERT_TRUE(Grant(item, to_user, &g3).ok());

  // The group: memberships and grants go with it.
  dv1::DeleteGroupRequest delete_group;
  delete_group.set_group_id(group);
  dv1::DeleteGroupResponse deleted_group;
  ASSERT_TRUE(
      Admin(&DirectoryService::Stub::DeleteGroup, delete_group, &deleted_group)
          .ok());
  EXPECT_TRUE(IndexKeysMentioning(group).empty());
  EXPECT_EQ(RecordsMentioning(store::Table::kGroupMembers, group), 0);
  EXPECT_EQ(RecordsMentioning(store::Table::kGrants, g1.grant().id()), 0);
  // Deleting it again: NOT_FOUND.
  EXPECT_EQ(
      Admin(&DirectoryService::Stub::DeleteGroup, delete_group, &deleted_group)
          .error_code(),
      grpc::StatusCode::NOT_FOUND);

  // The site: a child blocks it; then members, grants and items' site go.
  std::string child = CreateSite("Line 1", site);
  dv1::DeleteSiteRequest delete_site;
  delete_site.set_site_id(site);
  dv1::DeleteSiteResponse deleted_site;
  int64_t before = Revision();
  EXPECT_EQ(
      Admin(&DirectoryService::Stub::DeleteSite, delete_site, &deleted_site)
          .error_code(),
      grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Revision(), before);
  dv1::DeleteSiteRequest delete_child;
  delete_child.set_site_id(child);
  ASSERT_TRUE(
      Admin(&DirectoryService::Stub::DeleteSite, delete_child, &deleted_site)
          .ok());
  ASSERT_TRUE(
      Admin(&DirectoryService::Stub::DeleteSite, delete_site, &deleted_site)
          .ok());
  EXPECT_TRUE(IndexKeysMentioning(site).empty());
  EXPECT_EQ(RecordsMentioning(store::Table::kSiteMembers, site), 0);
  dv1::GetItemRequest get_item;
  get_item.set_item_id(item);
  dv1::GetItemResponse got_item;
  ASSERT_TRUE(
      Admin(&DirectoryService::Stub::GetItem, get_item, &got_item).ok());
  EXPECT_EQ(got_item.item().site_id(), "");

  // The user: its grant goes on removal.
  dv1::RemoveUserRequest remove;
  remove.set_user_id(user_id);
  dv1::RemoveUserResponse removed;
  ASSERT_TRUE(
      Admin(&DirectoryService::Stub::RemoveUser, remove, &removed).ok());
  EXPECT_EQ(removed.user().permission_set_id(), "");
  EXPECT_EQ(RecordsMentioning(store::Table::kGrants, g3.grant().id()), 0);
  for (const auto& key : IndexKeysMentioning(user_id)) {
    // Only the user's own e-mail lookup and its ended tokens remain.
    EXPECT_TRUE(key.rfind("usr_email/", 0) == 0) << key;
  }

  // The item: no grant on it is left.
  model::v1::Grantee everyone;
  dv1::GetOrganizationResponse org;
  ASSERT_TRUE(Admin(&DirectoryService::Stub::GetOrganization,
                    dv1::GetOrganizationRequest(), &org)
                  .ok());
  everyone.set_organization_id(org.organization().id());
  dv1::CreateGrantResponse g4;
  ASSERT_TRUE(Grant(item, everyone, &g4).ok());
  ASSERT_EQ(RecordsMentioning(store::Table::kGrants, g4.grant().id()), 1);
  dv1::DeleteItemRequest delete_item;
  delete_item.set_item_id(item);
  dv1::DeleteItemResponse deleted_item;
  ASSERT_TRUE(
      Admin(&DirectoryService::Stub::DeleteItem, delete_item, &deleted_item)
          .ok());
  EXPECT_TRUE(IndexKeysMentioning(item).empty());
  EXPECT_EQ(RecordsMentioning(store::Table::kGrants, ""), 0);
}

// Service users never join groups, and the error says so.
TEST_F(DirectoryServiceTest, ServiceUsersCannotJoinGroups) {
  ServiceToken("bot", {"platform.users"}, server_.admin_token());
  std::string group = CreateGroup("Humans", server_.admin_token());
  dv1::AddGroupMemberRequest add;
  add.set_group_id(group);
  add.set_user_id(service_user_id_);
  dv1::AddGroupMemberResponse added;
  int64_t before = Revision();
  auto status = Admin(&DirectoryService::Stub::AddGroupMember, add, &added);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(Contains(status.error_message(),
                       "service users cannot be members of groups"));
  EXPECT_EQ(Revision(), before);
}

// Moving a site below its own descendant is refused, naming the cycle.
TEST_F(DirectoryServiceTest, SiteCyclesAreRefused) {
  std::string a = CreateSite("A", "");
  std::string b = CreateSite("B", a);
  std::string c = CreateSite("C", b);
  dv1::UpdateSiteRequest move;
  move.set_site_id(a);
  move.set_parent_site_id(c);
  move.mutable_update_mask()->add_paths("parent_site_id");
  dv1::UpdateSiteResponse moved;
  int64_t before = Revision();
  auto status = Admin(&DirectoryService::Stub::UpdateSite, move, &moved);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(Contains(status.error_message(), a + " -> " + b + " -> " + c));
  EXPECT_EQ(Revision(), before);

  // Sibling names are unique, case-insensitively; cousins may share them.
  dv1::CreateSiteRequest twin;
  twin.set_name("c");
  twin.set_parent_site_id(b);
  dv1::CreateSiteResponse created;
  EXPECT_EQ(
      Admin(&DirectoryService::Stub::CreateSite, twin, &created).error_code(),
      grpc::StatusCode::ALREADY_EXISTS);
  twin.set_parent_site_id(a);
  EXPECT_TRUE(Admin(&DirectoryService::Stub::CreateSite, twin, &created).ok());
}

// A repeated create with the same request_id returns the first record and
// writes nothing; duplicate names are ALREADY_EXISTS.
TEST_F(DirectoryServiceTest, CreatesAreIdempotent) {
  dv1::CreateGroupRequest request;
  request.set_name("Auditors");
  request.set_request_id("req-1");
  dv1::CreateGroupResponse first, second;
  ASSERT_TRUE(
      Admin(&DirectoryService::Stub::CreateGroup, request, &first).ok());
  int64_t after_first = Revision();
  EXPECT_EQ(first.revision(), after_first);
  ASSERT_TRUE(
      Admin(&DirectoryService::Stub::CreateGroup, request, &second).ok());
  EXPECT_EQ(second.group().id(), first.group().id());
  EXPECT_EQ(Revision(), after_first);

  request.set_request_id("req-2");
  request.set_name("AUDITORS");
  EXPECT_EQ(Admin(&DirectoryService::Stub::CreateGroup, request, &second)
                .error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  // The same key for another kind of record is refused.
  dv1::CreateSiteRequest site;
  site.set_name("Depot");
  site.set_request_id("req-1");
  dv1::CreateSiteResponse site_response;
  EXPECT_EQ(Admin(&DirectoryService::Stub::CreateSite, site, &site_response)
                .error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(Revision(), after_first);
}

// Permission sets: unknown permissions are refused; a set in use cannot go.
TEST_F(DirectoryServiceTest, PermissionSetRules) {
  dv1::CreatePermissionSetRequest bad;
  bad.set_name("Bad");
  bad.add_permissions("templates.fly");
  dv1::CreatePermissionSetResponse response;
  int64_t before = Revision();
  auto status =
      Admin(&DirectoryService::Stub::CreatePermissionSet, bad, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(Contains(status.error_message(), "templates.fly"));
  EXPECT_EQ(Revision(), before);

  std::string set = CreatePermissionSet(
      "Viewers", {"templates.view", "inspections.view", "templates.view"},
      server_.admin_token());
  dv1::GetPermissionSetRequest get;
  get.set_permission_set_id(set);
  dv1::GetPermissionSetResponse got;
  ASSERT_TRUE(Admin(&DirectoryService::Stub::GetPermissionSet, get, &got).ok());
  EXPECT_EQ(got.permission_set().permissions_size(), 2);
  EXPECT_EQ(got.permission_set().permissions(0), "inspections.view");

  dv1::CreateUserRequest user;
  user.set_email("viewer@example.com");
  user.set_display_name("Viewer");
  user.set_permission_set_id(set);
  dv1::CreateUserResponse created;
  ASSERT_TRUE(Admin(&DirectoryService::Stub::CreateUser, user, &created).ok());
  dv1::DeletePermissionSetRequest remove;
  remove.set_permission_set_id(set);
  dv1::DeletePermissionSetResponse removed;
  before = Revision();
  EXPECT_EQ(
      Admin(&DirectoryService::Stub::DeletePermissionSet, remove, &removed)
          .error_code(),
      grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Revision(), before);

  dv1::UpdateUserRequest move;
  move.set_user_id(created.user().id());
  move.set_permission_set_id(AdminSetId(server_.admin_token()));
  move.mutable_update_mask()->add_paths("permission_set_id");
  dv1::UpdateUserResponse moved;
  ASSERT_TRUE(Admin(&DirectoryService::Stub::UpdateUser, move, &moved).ok());
  EXPECT_TRUE(
      Admin(&DirectoryService::Stub::DeletePermissionSet, remove, &removed)
          .ok());
  EXPECT_EQ(removed.revision(), Revision());
}

// Bad input is INVALID_ARGUMENT and writes nothing.
TEST_F(DirectoryServiceTest, BadInputWritesNothing) {
  int64_t before = Revision();
  dv1::CreateUserRequest user;
  user.set_email("not-an-email");
  user.set_display_name("X");
  user.set_permission_set_id(AdminSetId(server_.admin_token()));
  dv1::CreateUserResponse created;
  EXPECT_EQ(
      Admin(&DirectoryService::Stub::CreateUser, user, &created).error_code(),
      grpc::StatusCode::INVALID_ARGUMENT);
  dv1::GetGroupRequest get;
  get.set_group_id("grp_../../x");
  dv1::GetGroupResponse got;
  EXPECT_EQ(Admin(&DirectoryService::Stub::GetGroup, get, &got).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  dv1::UpdateGroupRequest update;
  update.set_group_id(CreateGroup("G", server_.admin_token()));
  update.set_name("H");
  update.mutable_update_mask()->add_paths("members");
  dv1::UpdateGroupResponse updated;
  before = Revision();
  EXPECT_EQ(Admin(&DirectoryService::Stub::UpdateGroup, update, &updated)
                .error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  dv1::CreateItemRequest item;
  item.set_type("spaceship");
  item.set_name("X");
  dv1::CreateItemResponse item_response;
  EXPECT_EQ(Admin(&DirectoryService::Stub::CreateItem, item, &item_response)
                .error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  dv1::CreateGrantRequest grant;
  grant.set_item_type("template");
  grant.mutable_grantee()->set_group_id(update.group_id());
  dv1::CreateGrantResponse granted;
  EXPECT_EQ(
      Admin(&DirectoryService::Stub::CreateGrant, grant, &granted).error_code(),
      grpc::StatusCode::INVALID_ARGUMENT);  // no level
  dv1::ListUsersRequest list;
  list.set_page_size(-1);
  dv1::ListUsersResponse users;
  EXPECT_EQ(
      Admin(&DirectoryService::Stub::ListUsers, list, &users).error_code(),
      grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Revision(), before);
}

// Seats count active users only; lists page; the log is newest first.
TEST_F(DirectoryServiceTest, SeatsPagingAndActivity) {
  ServiceToken("integration", {"platform.users"}, server_.admin_token());
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(CreateUser("u" + std::to_string(i) + "@example.com",
                             server_.admin_token())
                      .user()
                      .id());
  }
  dv1::DeactivateUserRequest deactivate;
  deactivate.set_user_id(ids[0]);
  dv1::DeactivateUserResponse deactivated;
  ASSERT_TRUE(
      Admin(&DirectoryService::Stub::DeactivateUser, deactivate, &deactivated)
          .ok());

  dv1::GetOrganizationResponse org;
  ASSERT_TRUE(Admin(&DirectoryService::Stub::GetOrganization,
                    dv1::GetOrganizationRequest(), &org)
                  .ok());
  EXPECT_EQ(org.seat_count(), 5);  // the bootstrap admin and 4 active

  std::vector<std::string> listed;
  dv1::ListUsersRequest list;
  list.set_page_size(2);
  do {
    dv1::ListUsersResponse page;
    ASSERT_TRUE(Admin(&DirectoryService::Stub::ListUsers, list, &page).ok());
    EXPECT_LE(page.users_size(), 2);
    for (const auto& user : page.users()) listed.push_back(user.id());
    list.set_page_token(page.next_page_token());
  } while (!list.page_token().empty());
  EXPECT_EQ(listed.size(), 6u);

  dv1::ListActivityRequest activity;
  activity.set_page_size(3);
  dv1::ListActivityResponse entries;
  ASSERT_TRUE(
      Admin(&DirectoryService::Stub::ListActivity, activity, &entries).ok());
  ASSERT_EQ(entries.entries_size(), 3);
  EXPECT_EQ(entries.entries(0).action(), "user.deactivate");
  EXPECT_EQ(entries.entries(0).target_id(), ids[0]);
  EXPECT_EQ(entries.entries(0).actor().kind(), model::v1::SUBJECT_KIND_USER);
  EXPECT_EQ(entries.entries(0).revision(), deactivated.revision());
  EXPECT_EQ(entries.entries(1).action(), "user.create");
  EXPECT_GT(entries.entries(0).revision(), entries.entries(1).revision());
  EXPECT_FALSE(entries.next_page_token().empty());
}

// The id of the only record in `records`; a marker when there is not one.
template <typename Records>
std::string OnlyId(const Records& records) {
  return records.size() == 1 ? records.Get(0).id() : "not one record";
}

// One RPC in the table below: how to call it well, and how to call it with
// one bad input.
struct RpcCase {
  std::string name;
  // Whether a successful call commits a write.
  bool write = false;
  // Calls the RPC with the good request as the given token; on success,
  // checks what it answered.
  std::function<grpc::Status(const std::string& token)> good;
  // Calls it with the bad request as the given token.
  std::function<grpc::Status(const std::string& token)> bad;
  grpc::StatusCode bad_code = grpc::StatusCode::INVALID_ARGUMENT;
};

class DirectoryRpcTableTest : public DirectoryServiceTest {
 protected:
  template <typename Request, typename Response>
  RpcCase Case(std::string name, bool write,
               grpc::Status (DirectoryService::Stub::*rpc)(
                   grpc::ClientContext*, const Request&, Response*),
               Request good, Request bad, grpc::StatusCode bad_code,
               std::function<void(const Response&)> check = nullptr) {
    auto call = [this, rpc](const Request& request, const std::string& token,
                            Response* response) {
      return Call(rpc, request, response, token);
    };
    return RpcCase{
        std::move(name), write,
        [call, good, check](const std::string& token) {
          Response response;
          grpc::Status status = call(good, token, &response);
          if (status.ok() && check) check(response);
          return status;
        },
        [call, bad](const std::string& token) {
          Response response;
          return call(bad, token, &response);
        },
        bad_code};
  }
};

// Every RPC the tests above do not reach: success, UNAUTHENTICATED without
// a token, PERMISSION_DENIED for a token without the area's permission (the
// bootstrap sidecar token holds only platform.replication), and one bad
// input. Rejected writes commit nothing; good ones commit a revision. The
// order matters: lists run before the removals that empty them.
TEST_F(DirectoryRpcTableTest, RemainingRpcsAuthorizeAndValidate) {
  const std::string admin = server_.admin_token();
  const std::string user_id =
      CreateUser("member@example.com", admin).user().id();
  const std::string group_id = CreateGroup("Inspectors", admin);
  const std::string site_id = CreateSite("Plant", "");
  const std::string item_id = CreateItem("Checklist", site_id);
  const std::string set_id =
      CreatePermissionSet("Viewers", {"templates.view"}, admin);
  dv1::AddGroupMemberRequest group_add;
  group_add.set_group_id(group_id);
  group_add.set_user_id(user_id);
  dv1::AddGroupMemberResponse group_added;
  ASSERT_TRUE(
      Admin(&DirectoryService::Stub::AddGroupMember, group_add, &group_added)
          .ok());
  dv1::AddSiteMemberRequest site_add;
  site_add.set_site_id(site_id);
  site_add.set_user_id(user_id);
  dv1::AddSiteMemberResponse site_added;
  ASSERT_TRUE(
      Admin(&DirectoryService::Stub::AddSiteMember, site_add, &site_added)
          .ok());
  model::v1::Grantee to_group;
  to_group.set_group_id(group_id);
  dv1::CreateGrantResponse granted;
  ASSERT_TRUE(Grant(item_id, to_group, &granted).ok());
  const std::string grant_id = granted.grant().id();
  const auto kInvalid = grpc::StatusCode::INVALID_ARGUMENT;
  const auto kNotFound = grpc::StatusCode::NOT_FOUND;
  const std::string kBadPageToken = "not a page token";
  using Stub = DirectoryService::Stub;

  std::vector<RpcCase> cases;
  {
    dv1::GetSiteRequest good, bad;
    good.set_site_id(site_id);
    bad.set_site_id(std::string(ids::NewId(ids::kSite)));
    cases.push_back(Case<dv1::GetSiteRequest, dv1::GetSiteResponse>(
        "GetSite", false, &Stub::GetSite, good, bad, kNotFound,
        [&](const auto& r) { EXPECT_EQ(r.site().name(), "Plant"); }));
  }
  {
    dv1::ListSitesRequest good, bad;
    bad.set_page_token(kBadPageToken);
    cases.push_back(Case<dv1::ListSitesRequest, dv1::ListSitesResponse>(
        "ListSites", false, &Stub::ListSites, good, bad, kInvalid,
        [&](const auto& r) { EXPECT_EQ(OnlyId(r.sites()), site_id); }));
  }
  {
    dv1::ListSiteMembersRequest good, bad;
    good.set_site_id(site_id);
    bad.set_site_id("site_malformed");
    cases.push_back(
        Case<dv1::ListSiteMembersRequest, dv1::ListSiteMembersResponse>(
            "ListSiteMembers", false, &Stub::ListSiteMembers, good, bad,
            kInvalid, [&](const auto& r) {
              ASSERT_EQ(r.members_size(), 1);
              EXPECT_EQ(r.members(0).user_id(), user_id);
            }));
  }
  {
    dv1::ListGroupsRequest good, bad;
    bad.set_page_size(-1);
    cases.push_back(Case<dv1::ListGroupsRequest, dv1::ListGroupsResponse>(
        "ListGroups", false, &Stub::ListGroups, good, bad, kInvalid,
        [&](const auto& r) { EXPECT_EQ(OnlyId(r.groups()), group_id); }));
  }
  {
    dv1::ListGroupMembersRequest good, bad;
    good.set_group_id(group_id);
    bad.set_group_id("grp_malformed");
    cases.push_back(
        Case<dv1::ListGroupMembersRequest, dv1::ListGroupMembersResponse>(
            "ListGroupMembers", false, &Stub::ListGroupMembers, good, bad,
            kInvalid, [&](const auto& r) {
              ASSERT_EQ(r.members_size(), 1);
              EXPECT_EQ(r.members(0).user_id(), user_id);
            }));
  }
  {
    dv1::ListItemsRequest good, bad;
    good.set_type("template");
    bad.set_type("template");
    bad.set_page_token(kBadPageToken);
    cases.push_back(Case<dv1::ListItemsRequest, dv1::ListItemsResponse>(
        "ListItems", false, &Stub::ListItems, good, bad, kInvalid,
        [&](const auto& r) { EXPECT_EQ(OnlyId(r.items()), item_id); }));
  }
  {
    dv1::ListGrantsRequest good, bad;
    good.set_item_id(item_id);
    bad.set_item_id("item_malformed");
    cases.push_back(Case<dv1::ListGrantsRequest, dv1::ListGrantsResponse>(
        "ListGrants", false, &Stub::ListGrants, good, bad, kInvalid,
        [&](const auto& r) { EXPECT_EQ(OnlyId(r.grants()), grant_id); }));
  }
  {
    dv1::UpdateItemRequest good, bad;
    good.set_item_id(item_id);
    good.set_name("Checklist v2");
    good.mutable_update_mask()->add_paths("name");
    bad = good;
    bad.set_item_id(std::string(ids::NewId(ids::kItem)));
    cases.push_back(Case<dv1::UpdateItemRequest, dv1::UpdateItemResponse>(
        "UpdateItem", true, &Stub::UpdateItem, good, bad, kNotFound,
        [&](const auto& r) { EXPECT_EQ(r.item().name(), "Checklist v2"); }));
  }
  {
    dv1::UpdatePermissionSetRequest good, bad;
    good.set_permission_set_id(set_id);
    good.set_name("Readers");
    good.mutable_update_mask()->add_paths("name");
    bad = good;
    bad.set_name("");
    cases.push_back(
        Case<dv1::UpdatePermissionSetRequest,
             dv1::UpdatePermissionSetResponse>(
            "UpdatePermissionSet", true, &Stub::UpdatePermissionSet, good, bad,
            kInvalid, [&](const auto& r) {
              EXPECT_EQ(r.permission_set().name(), "Readers");
              // A name change keeps the permissions.
              ASSERT_EQ(r.permission_set().permissions_size(), 1);
              EXPECT_EQ(r.permission_set().permissions(0), "templates.view");
            }));
  }
  {
    dv1::RemoveGroupMemberRequest good, bad;
    good.set_group_id(group_id);
    good.set_user_id(user_id);
    bad = good;
    bad.set_user_id("usr_malformed");
    cases.push_back(
        Case<dv1::RemoveGroupMemberRequest, dv1::RemoveGroupMemberResponse>(
            "RemoveGroupMember", true, &Stub::RemoveGroupMember, good, bad,
            kInvalid));
  }
  {
    dv1::RemoveSiteMemberRequest good, bad;
    good.set_site_id(site_id);
    good.set_user_id(user_id);
    bad = good;
    bad.set_site_id("site_malformed");
    cases.push_back(
        Case<dv1::RemoveSiteMemberRequest, dv1::RemoveSiteMemberResponse>(
            "RemoveSiteMember", true, &Stub::RemoveSiteMember, good, bad,
            kInvalid));
  }
  {
    dv1::DeleteGrantRequest good, bad;
    good.set_grant_id(grant_id);
    bad.set_grant_id(std::string(ids::NewId(ids::kGrant)));
    cases.push_back(Case<dv1::DeleteGrantRequest, dv1::DeleteGrantResponse>(
        "DeleteGrant", true, &Stub::DeleteGrant, good, bad, kNotFound));
  }

  for (const RpcCase& c : cases) {
    SCOPED_TRACE(c.name);
    const int64_t before = Revision();
    EXPECT_EQ(c.good("").error_code(), grpc::StatusCode::UNAUTHENTICATED);
    grpc::Status denied = c.good(server_.sidecar_token());
    EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED)
        << denied.error_message();
    EXPECT_TRUE(Contains(denied.error_message(), "platform."));
    grpc::Status bad = c.bad(admin);
    EXPECT_EQ(bad.error_code(), c.bad_code) << bad.error_message();
    EXPECT_FALSE(bad.error_message().empty());
    EXPECT_EQ(Revision(), before) << "a rejected call wrote";
    grpc::Status good = c.good(admin);
    EXPECT_TRUE(good.ok()) << good.error_message();
    if (c.write) {
      EXPECT_GT(Revision(), before);
    } else {
      EXPECT_EQ(Revision(), before);
    }
  }
  // The removals and the delete took effect.
  dv1::ListGroupMembersRequest members;
  members.set_group_id(group_id);
  dv1::ListGroupMembersResponse listed;
  ASSERT_TRUE(
      Admin(&DirectoryService::Stub::ListGroupMembers, members, &listed).ok());
  EXPECT_EQ(listed.members_size(), 0);
  dv1::GetGrantRequest get;
  get.set_grant_id(grant_id);
  dv1::GetGrantResponse got;
  EXPECT_EQ(Admin(&DirectoryService::Stub::GetGrant, get, &got).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace warden
