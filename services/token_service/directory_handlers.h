#ifndef WARDEN_SERVICES_TOKEN_SERVICE_DIRECTORY_HANDLERS_H_
#define WARDEN_SERVICES_TOKEN_SERVICE_DIRECTORY_HANDLERS_H_

#include "libs/directory/directory.h"
#include "libs/tokens/token_registry.h"
#include "warden/directory/v1/directory_service.grpc.pb.h"

namespace warden::token_service {

// The gRPC face of the directory: authenticates the caller, converts the
// request (field masks into edits), calls the directory and converts the
// answer. Synchronous, because writes block until their group is synced.
// Thread-safe.
class DirectoryHandlers final
    : public directory::v1::DirectoryService::Service {
 public:
  // Neither is owned; both must outlive the handlers.
  DirectoryHandlers(directory::Directory* directory,
                    tokens::TokenRegistry* registry);

  grpc::Status CreateOrganization(
      grpc::ServerContext* context,
      const directory::v1::CreateOrganizationRequest* request,
      directory::v1::CreateOrganizationResponse* response) override;
  grpc::Status GetOrganization(
      grpc::ServerContext* context,
      const directory::v1::GetOrganizationRequest* request,
      directory::v1::GetOrganizationResponse* response) override;
  grpc::Status GetPermissionCatalog(
      grpc::ServerContext* context,
      const directory::v1::GetPermissionCatalogRequest* request,
      directory::v1::GetPermissionCatalogResponse* response) override;
  grpc::Status CreateUser(grpc::ServerContext* context,
                          const directory::v1::CreateUserRequest* request,
                          directory::v1::CreateUserResponse* response) override;
  grpc::Status GetUser(grpc::ServerContext* context,
                       const directory::v1::GetUserRequest* request,
                       directory::v1::GetUserResponse* response) override;
  grpc::Status ListUsers(grpc::ServerContext* context,
                         const directory::v1::ListUsersRequest* request,
                         directory::v1::ListUsersResponse* response) override;
  grpc::Status UpdateUser(grpc::ServerContext* context,
                          const directory::v1::UpdateUserRequest* request,
                          directory::v1::UpdateUserResponse* response) override;
  grpc::Status DeactivateUser(
      grpc::ServerContext* context,
      const directory::v1::DeactivateUserRequest* request,
      directory::v1::DeactivateUserResponse* response) override;
  grpc::Status ReactivateUser(
      grpc::ServerContext* context,
      const directory::v1::ReactivateUserRequest* request,
      directory::v1::ReactivateUserResponse* response) override;
  grpc::Status RemoveUser(grpc::ServerContext* context,
                          const directory::v1::RemoveUserRequest* request,
                          directory::v1::RemoveUserResponse* response) override;
  grpc::Status CreatePermissionSet(
      grpc::ServerContext* context,
      const directory::v1::CreatePermissionSetRequest* request,
      directory::v1::CreatePermissionSetResponse* response) override;
  grpc::Status GetPermissionSet(
      grpc::ServerContext* context,
      const directory::v1::GetPermissionSetRequest* request,
      directory::v1::GetPermissionSetResponse* response) override;
  grpc::Status ListPermissionSets(
      grpc::ServerContext* context,
      const directory::v1::ListPermissionSetsRequest* request,
      directory::v1::ListPermissionSetsResponse* response) override;
  grpc::Status UpdatePermissionSet(
      grpc::ServerContext* context,
      const directory::v1::UpdatePermissionSetRequest* request,
      directory::v1::UpdatePermissionSetResponse* response) override;
  grpc::Status DeletePermissionSet(
      grpc::ServerContext* context,
      const directory::v1::DeletePermissionSetRequest* request,
      directory::v1::DeletePermissionSetResponse* response) override;
  grpc::Status CreateGroup(
      grpc::ServerContext* context,
      const directory::v1::CreateGroupRequest* request,
      directory::v1::CreateGroupResponse* response) override;
  grpc::Status GetGroup(grpc::ServerContext* context,
                        const directory::v1::GetGroupRequest* request,
                        directory::v1::GetGroupResponse* response) override;
  grpc::Status ListGroups(grpc::ServerContext* context,
                          const directory::v1::ListGroupsRequest* request,
                          directory::v1::ListGroupsResponse* response) override;
  grpc::Status UpdateGroup(
      grpc::ServerContext* context,
      const directory::v1::UpdateGroupRequest* request,
      directory::v1::UpdateGroupResponse* response) override;
  grpc::Status DeleteGroup(
      grpc::ServerContext* context,
      const directory::v1::DeleteGroupRequest* request,
      directory::v1::DeleteGroupResponse* response) override;
  grpc::Status AddGroupMember(
      grpc::ServerContext* context,
      const directory::v1::AddGroupMemberRequest* request,
      directory::v1::AddGroupMemberResponse* response) override;
  grpc::Status RemoveGroupMember(
      grpc::ServerContext* context,
      const directory::v1::RemoveGroupMemberRequest* request,
      directory::v1::RemoveGroupMemberResponse* response) override;
  grpc::Status ListGroupMembers(
      grpc::ServerContext* context,
      const directory::v1::ListGroupMembersRequest* request,
      directory::v1::ListGroupMembersResponse* response) override;
  grpc::Status CreateSite(grpc::ServerContext* context,
                          const directory::v1::CreateSiteRequest* request,
                          directory::v1::CreateSiteResponse* response) override;
  grpc::Status GetSite(grpc::ServerContext* context,
                       const directory::v1::GetSiteRequest* request,
                       directory::v1::GetSiteResponse* response) override;
  grpc::Status ListSites(grpc::ServerContext* context,
                         const directory::v1::ListSitesRequest* request,
                         directory::v1::ListSitesResponse* response) override;
  grpc::Status UpdateSite(grpc::ServerContext* context,
                          const directory::v1::UpdateSiteRequest* request,
                          directory::v1::UpdateSiteResponse* response) override;
  grpc::Status DeleteSite(grpc::ServerContext* context,
                          const directory::v1::DeleteSiteRequest* request,
                          directory::v1::DeleteSiteResponse* response) override;
  grpc::Status AddSiteMember(
      grpc::ServerContext* context,
      const directory::v1::AddSiteMemberRequest* request,
      directory::v1::AddSiteMemberResponse* response) override;
  grpc::Status RemoveSiteMember(
      grpc::ServerContext* context,
      const directory::v1::RemoveSiteMemberRequest* request,
      directory::v1::RemoveSiteMemberResponse* response) override;
  grpc::Status ListSiteMembers(
      grpc::ServerContext* context,
      const directory::v1::ListSiteMembersRequest* request,
      directory::v1::ListSiteMembersResponse* response) override;
  grpc::Status CreateItem(grpc::ServerContext* context,
                          const directory::v1::CreateItemRequest* request,
                          directory::v1::CreateItemResponse* response) override;
  grpc::Status GetItem(grpc::ServerContext* context,
                       const directory::v1::GetItemRequest* request,
                       directory::v1::GetItemResponse* response) override;
  grpc::Status ListItems(grpc::ServerContext* context,
                         const directory::v1::ListItemsRequest* request,
                         directory::v1::ListItemsResponse* response) override;
  grpc::Status UpdateItem(grpc::ServerContext* context,
                          const directory::v1::UpdateItemRequest* request,
                          directory::v1::UpdateItemResponse* response) override;
  grpc::Status DeleteItem(grpc::ServerContext* context,
                          const directory::v1::DeleteItemRequest* request,
                          directory::v1::DeleteItemResponse* response) override;
  grpc::Status CreateGrant(
      grpc::ServerContext* context,
      const directory::v1::CreateGrantRequest* request,
      directory::v1::CreateGrantResponse* response) override;
  grpc::Status GetGrant(grpc::ServerContext* context,
                        const directory::v1::GetGrantRequest* request,
                        directory::v1::GetGrantResponse* response) override;
  grpc::Status ListGrants(grpc::ServerContext* context,
                          const directory::v1::ListGrantsRequest* request,
                          directory::v1::ListGrantsResponse* response) override;
  grpc::Status DeleteGrant(
      grpc::ServerContext* context,
      const directory::v1::DeleteGrantRequest* request,
      directory::v1::DeleteGrantResponse* response) override;
  grpc::Status ListActivity(
      grpc::ServerContext* context,
      const directory::v1::ListActivityRequest* request,
      directory::v1::ListActivityResponse* response) override;

 private:
  directory::Directory* directory_;
  tokens::TokenRegistry* registry_;
};

}  // namespace warden::token_service

#endif  // WARDEN_SERVICES_TOKEN_SERVICE_DIRECTORY_HANDLERS_H_
