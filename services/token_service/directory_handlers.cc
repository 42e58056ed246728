#include "services/token_service/directory_handlers.h"

#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/server/status_mapping.h"
#include "services/token_service/caller_auth.h"

namespace warden::token_service {
namespace {

namespace v1 = directory::v1;
using directory::Page;
using directory::Written;
using server::ToGrpcStatus;

// Moves a write's record and revision into a response.
template <typename T, typename Response>
absl::Status SetWritten(absl::StatusOr<Written<T>> written, T* record,
                        Response* response) {
  if (!written.ok()) return written.status();
  *record = std::move(written->record);
  response->set_revision(written->revision);
  return absl::OkStatus();
}

template <typename Response>
absl::Status SetRevision(absl::StatusOr<int64_t> revision, Response* response) {
  if (!revision.ok()) return revision.status();
  response->set_revision(*revision);
  return absl::OkStatus();
}

template <typename T>
absl::Status SetRecord(absl::StatusOr<T> record, T* out) {
  if (!record.ok()) return record.status();
  *out = *std::move(record);
  return absl::OkStatus();
}

template <typename T, typename Repeated, typename Response>
absl::Status SetPage(absl::StatusOr<Page<T>> page, Repeated* records,
                     Response* response) {
  if (!page.ok()) return page.status();
  for (auto& record : page->records) *records->Add() = std::move(record);
  response->set_next_page_token(page->next_page_token);
  return absl::OkStatus();
}

// The distinct paths of an update mask, each checked against `allowed`.
absl::StatusOr<std::set<std::string>> MaskPaths(
    const google::protobuf::FieldMask& mask,
    const std::set<std::string>& allowed) {
  std::set<std::string> paths;
  for (const auto& path : mask.paths()) {
    if (!allowed.contains(path)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "update_mask may name only ", absl::StrJoin(allowed, ", ")));
    }
    paths.insert(path);
  }
  if (paths.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("update_mask must name at least one of ",
                     absl::StrJoin(allowed, ", ")));
  }
  return paths;
}

}  // namespace

DirectoryHandlers::DirectoryHandlers(directory::Directory* directory,
                                     tokens::TokenRegistry* registry)
    : directory_(directory), registry_(registry) {}

grpc::Status DirectoryHandlers::CreateOrganization(
    grpc::ServerContext* context, const v1::CreateOrganizationRequest* request,
    v1::CreateOrganizationResponse* response) {
  return WithCaller(
      *registry_, context, [&](const tokens::Caller& caller) -> absl::Status {
        auto created = directory_->CreateOrganization(
            caller, request->name(), request->admin_email(),
            request->admin_display_name());
        if (!created.ok()) return created.status();
        *response->mutable_organization() = created->organization;
        *response->mutable_admin_permission_set() =
            created->admin_permission_set;
        *response->mutable_admin() = created->admin;
        response->set_admin_token_id(created->admin_token.details.token.id());
        response->set_admin_token_secret(
            std::move(created->admin_token.secret));
        response->set_revision(created->revision);
        return absl::OkStatus();
      });
}

grpc::Status DirectoryHandlers::GetOrganization(
    grpc::ServerContext* context, const v1::GetOrganizationRequest*,
    v1::GetOrganizationResponse* response) {
  return WithCaller(*registry_, context,
                    [&](const tokens::Caller& caller) -> absl::Status {
                      auto summary = directory_->GetOrganization(caller);
                      if (!summary.ok()) return summary.status();
                      *response->mutable_organization() = summary->organization;
                      response->set_seat_count(summary->seat_count);
                      return absl::OkStatus();
                    });
}

grpc::Status DirectoryHandlers::GetPermissionCatalog(
    grpc::ServerContext* context, const v1::GetPermissionCatalogRequest*,
    v1::GetPermissionCatalogResponse* response) {
  return WithCaller(*registry_, context, [&](const tokens::Caller& caller) {
    return SetRecord(directory_->GetPermissionCatalog(caller),
                     response->mutable_catalog());
  });
}

grpc::Status DirectoryHandlers::CreateUser(grpc::ServerContext* context,
                                           const v1::CreateUserRequest* request,
                                           v1::CreateUserResponse* response) {
  return WithCaller(*registry_, context, [&](const tokens::Caller& caller) {
    return SetWritten(directory_->CreateUser(
                          caller, request->email(), request->display_name(),
                          request->permission_set_id(), request->request_id()),
                      response->mutable_user(), response);
  });
}

grpc::Status DirectoryHandlers::GetUser(grpc::ServerContext* context,
                                        const v1::GetUserRequest* request,
                                        v1::GetUserResponse* response) {
  return WithCaller(*registry_, context, [&](const tokens::Caller& caller) {
    return SetRecord(directory_->GetUser(caller, request->user_id()),
                     response->mutable_user());
  });
}

grpc::Status DirectoryHandlers::ListUsers(grpc::ServerContext* context,
                                          const v1::ListUsersRequest* request,
                                          v1::ListUsersResponse* response) {
  return WithCaller(*registry_, context, [&](const tokens::Caller& caller) {
    return SetPage(directory_->ListUsers(caller, request->page_size(),
                                         request->page_token(),
                                         request->include_removed()),
                   response->mutable_users(), response);
  });
}

grpc::Status DirectoryHandlers::UpdateUser(grpc::ServerContext* context,
                                           const v1::UpdateUserRequest* request,
                                           v1::UpdateUserResponse* response) {
  return WithCaller(
      *registry_, context, [&](const tokens::Caller& caller) -> absl::Status {
        auto paths = MaskPaths(request->update_mask(),
                               {"display_name", "email", "permission_set_id"});
        if (!paths.ok()) return paths.status();
        directory::UserEdit edit;
        if (paths->contains("display_name")) {
          edit.display_name = request->display_name();
        }
        if (paths->contains("email")) edit.email = request->email();
        if (paths->contains("permission_set_id")) {
          edit.permission_set_id = request->permission_set_id();
        }
        return SetWritten(
            directory_->UpdateUser(caller, request->user_id(), edit),
            response->mutable_user(), response);
      });
}

grpc::Status DirectoryHandlers::DeactivateUser(
    grpc::ServerContext* context, const v1::DeactivateUserRequest* request,
    v1::DeactivateUserResponse* response) {
  return WithCaller(*registry_, context, [&](const tokens::Caller& caller) {
    return SetWritten(directory_->DeactivateUser(caller, request->user_id()),
                      response->mutable_user(), response);
  });
}

grpc::Status DirectoryHandlers::ReactivateUser(
    grpc::ServerContext* context, const v1::ReactivateUserRequest* request,
    v1::ReactivateUserResponse* response) {
  return WithCaller(*registry_, context, [&](const tokens::Caller& caller) {
    return SetWritten(directory_->ReactivateUser(caller, request->user_id()),
                      response->mutable_user(), response);
  });
}

grpc::Status DirectoryHandlers::RemoveUser(grpc::ServerContext* context,
                                           const v1::RemoveUserRequest* request,
                                           v1::RemoveUserResponse* response) {
  return WithCaller(*registry_, context, [&](const tokens::Caller& caller) {
    return SetWritten(directory_->RemoveUser(caller, request->user_id()),
                      response->mutable_user(), response);
  });
}

grpc::Status DirectoryHandlers::CreatePermissionSet(
    grpc::ServerContext* context, const v1::CreatePermissionSetRequest* request,
    v1::CreatePermissionSetResponse* response) {
  return WithCaller(*registry_, context, [&](const tokens::Caller& caller) {
    std::vector<std::string> permissions(request->permissions().begin(),
                                         request->permissions().end());
    return SetWritten(
        directory_->CreatePermissionSet(caller, request->name(), permissions,
                                        request->request_id()),
        response->mutable_permission_set(), response);
  });
}

grpc::Status DirectoryHandlers::GetPermissionSet(
    grpc::ServerContext* context, const v1::GetPermissionSetRequest* request,
    v1::GetPermissionSetResponse* response) {
  return WithCaller(*registry_, context, [&](const tokens::Caller& caller) {
    return SetRecord(
        directory_->GetPermissionSet(caller, request->permission_set_id()),
        response->mutable_permission_set());
  });
}

grpc::Status DirectoryHandlers::ListPermissionSets(
    grpc::ServerContext* context, const v1::ListPermissionSetsRequest* request,
    v1::ListPermissionSetsResponse* response) {
  return WithCaller(*registry_, context, [&](const tokens::Caller& caller) {
    return SetPage(directory_->ListPermissionSets(caller, request->page_size(),
                                                  request->page_token()),
                   response->mutable_permission_sets(), response);
  });
}

grpc::Status DirectoryHandlers::UpdatePermissionSet(
    grpc::ServerContext* context, const v1::UpdatePermissionSetRequest* request,
    v1::UpdatePermissionSetResponse* response) {
  return WithCaller(
      *registry_, context, [&](const tokens::Caller& caller) -> absl::Status {
        auto paths = MaskPaths(request->update_mask(), {"name", "permissions"});
        if (!paths.ok()) return paths.status();
        directory::PermissionSetEdit edit;
        if (paths->contains("name")) edit.name = request->name();
        if (paths->contains("permissions")) {
          edit.permissions.emplace(request->permissions().begin(),
                                   request->permissions().end());
        }
        return SetWritten(directory_->UpdatePermissionSet(
                              caller, request->permission_set_id(), edit),
                          response->mutable_permission_set(), response);
      });
}

grpc::Status DirectoryHandlers::DeletePermissionSet(
    grpc::ServerContext* context, const v1::DeletePermissionSetRequest* request,
    v1::DeletePermissionSetResponse* response) {
  return WithCaller(*registry_, context, [&](const tokens::Caller& caller) {
    return SetRevision(
        directory_->DeletePermissionSet(caller, request->permission_set_id()),
        response);
  });
}

grpc::Status DirectoryHandlers::CreateGroup(
    grpc::ServerContext* context, const v1::CreateGroupRequest* request,
    v1::CreateGroupResponse* response) {
  return WithCaller(*registry_, context, [&](const tokens::Caller& caller) {
    return SetWritten(
        directory_->CreateGroup(caller, request->name(), request->request_id()),
        response->mutable_group(), response);
  });
}

grpc::Status DirectoryHandlers::GetGroup(grpc::ServerContext* context,
                                         const v1::GetGroupRequest* request,
                                         v1::GetGroupResponse* response) {
  return WithCaller(*registry_, context, [&](const tokens::Caller& caller) {
    return SetRecord(directory_->GetGroup(caller, request->group_id()),
                     response->mutable_group());
  });
}

grpc::Status DirectoryHandlers::ListGroups(grpc::ServerContext* context,
                                           const v1::ListGroupsRequest* request,
                                           v1::ListGroupsResponse* response) {
  return WithCaller(*registry_, context, [&](const tokens::Caller& caller) {
    return SetPage(directory_->ListGroups(caller, request->page_size(),
                                          request->page_token()),
                   response->mutable_groups(), response);
  });
}

grpc::Status DirectoryHandlers::UpdateGroup(
    grpc::ServerContext* context, const v1::UpdateGroupRequest* request,
    v1::UpdateGroupResponse* response) {
  return WithCaller(
      *registry_, context, [&](const tokens::Caller& caller) -> absl::Status {
        auto paths = MaskPaths(request->update_mask(), {"name"});
        if (!paths.ok()) return paths.status();
        return SetWritten(directory_->UpdateGroup(caller, request->group_id(),
                                                  request->name()),
                          response->mutable_group(), response);
      });
}

grpc::Status DirectoryHandlers::DeleteGroup(
    grpc::ServerContext* context, const v1::DeleteGroupRequest* request,
    v1::DeleteGroupResponse* response) {
  return WithCaller(*registry_, context, [&](const tokens::Caller& caller) {
    return SetRevision(directory_->DeleteGroup(caller, request->group_id()),
                       response);
  });
}

grpc::Status DirectoryHandlers::AddGroupMember(
    grpc::ServerContext* context, const v1::AddGroupMemberRequest* request,
    v1::AddGroupMemberResponse* response) {
  return WithCaller(*registry_, context, [&](const tokens::Caller& caller) {
    return SetWritten(directory_->AddGroupMember(caller, request->group_id(),
                                                 request->user_id()),
                      response->mutable_member(), response);
  });
}

grpc::Status DirectoryHandlers::RemoveGroupMember(
    grpc::ServerContext* context, const v1::RemoveGroupMemberRequest* request,
    v1::RemoveGroupMemberResponse* response) {
  return WithCaller(*registry_, context, [&](const tokens::Caller& caller) {
    return SetRevision(directory_->RemoveGroupMember(
                           caller, request->group_id(), request->user_id()),
                       response);
  });
}

grpc::Status DirectoryHandlers::ListGroupMembers(
    grpc::ServerContext* context, const v1::ListGroupMembersRequest* request,
    v1::ListGroupMembersResponse* response) {
  return WithCaller(*registry_, context, [&](const tokens::Caller& caller) {
    return SetPage(directory_->ListGroupMembers(caller, request->group_id(),
                                                request->page_size(),
                                                request->page_token()),
                   response->mutable_members(), response);
  });
}

grpc::Status DirectoryHandlers::CreateSite(grpc::ServerContext* context,
                                           const v1::CreateSiteRequest* request,
                                           v1::CreateSiteResponse* response) {
  return WithCaller(*registry_, context, [&](const tokens::Caller& caller) {
    return SetWritten(directory_->CreateSite(caller, request->name(),
                                             request->parent_site_id(),
                                             request->request_id()),
                      response->mutable_site(), response);
  });
}

grpc::Status DirectoryHandlers::GetSite(grpc::ServerContext* context,
                                        const v1::GetSiteRequest* request,
                                        v1::GetSiteResponse* response) {
  return WithCaller(*registry_, context, [&](const tokens::Caller& caller) {
    return SetRecord(directory_->GetSite(caller, request->site_id()),
                     response->mutable_site());
  });
}

grpc::Status DirectoryHandlers::ListSites(grpc::ServerContext* context,
                                          const v1::ListSitesRequest* request,
                                          v1::ListSitesResponse* response) {
  return WithCaller(*registry_, context, [&](const tokens::Caller& caller) {
    return SetPage(directory_->ListSites(caller, request->page_size(),
                                         request->page_token()),
                   response->mutable_sites(), response);
  });
}

grpc::Status DirectoryHandlers::UpdateSite(grpc::ServerContext* context,
                                           const v1::UpdateSiteRequest* request,
                                           v1::UpdateSiteResponse* response) {
  return WithCaller(
      *registry_, context, [&](const tokens::Caller& caller) -> absl::Status {
        auto paths =
            MaskPaths(request->update_mask(), {"name", "parent_site_id"});
        if (!paths.ok()) return paths.status();
        directory::SiteEdit edit;
        if (paths->contains("name")) edit.name = request->name();
        if (paths->contains("parent_site_id")) {
          edit.parent_site_id = request->parent_site_id();
        }
        return SetWritten(
            directory_->UpdateSite(caller, request->site_id(), edit),
            response->mutable_site(), response);
      });
}

grpc::Status DirectoryHandlers::DeleteSite(grpc::ServerContext* context,
                                           const v1::DeleteSiteRequest* request,
                                           v1::DeleteSiteResponse* response) {
  return WithCaller(*registry_, context, [&](const tokens::Caller& caller) {
    return SetRevision(directory_->DeleteSite(caller, request->site_id()),
                       response);
  });
}

grpc::Status DirectoryHandlers::AddSiteMember(
    grpc::ServerContext* context, const v1::AddSiteMemberRequest* request,
    v1::AddSiteMemberResponse* response) {
  return WithCaller(*registry_, context, [&](const tokens::Caller& caller) {
    return SetWritten(directory_->AddSiteMember(caller, request->site_id(),
                                                request->user_id()),
                      response->mutable_member(), response);
  });
}

grpc::Status DirectoryHandlers::RemoveSiteMember(
    grpc::ServerContext* context, const v1::RemoveSiteMemberRequest* request,
    v1::RemoveSiteMemberResponse* response) {
  return WithCaller(*registry_, context, [&](const tokens::Caller& caller) {
    return SetRevision(directory_->RemoveSiteMember(caller, request->site_id(),
                                                    request->user_id()),
                       response);
  });
}

grpc::Status DirectoryHandlers::ListSiteMembers(
    grpc::ServerContext* context, const v1::ListSiteMembersRequest* request,
    v1::ListSiteMembersResponse* response) {
  return WithCaller(*registry_, context, [&](const tokens::Caller& caller) {
    return SetPage(directory_->ListSiteMembers(caller, request->site_id(),
                                               request->page_size(),
                                               request->page_token()),
                   response->mutable_members(), response);
  });
}

grpc::Status DirectoryHandlers::CreateItem(grpc::ServerContext* context,
                                           const v1::CreateItemRequest* request,
                                           v1::CreateItemResponse* response) {
  return WithCaller(*registry_, context, [&](const tokens::Caller& caller) {
    return SetWritten(
        directory_->CreateItem(caller, request->type(), request->name(),
                               request->site_id(), request->request_id()),
        response->mutable_item(), response);
  });
}

grpc::Status DirectoryHandlers::GetItem(grpc::ServerContext* context,
                                        const v1::GetItemRequest* request,
                                        v1::GetItemResponse* response) {
  return WithCaller(*registry_, context, [&](const tokens::Caller& caller) {
    return SetRecord(directory_->GetItem(caller, request->item_id()),
                     response->mutable_item());
  });
}

grpc::Status DirectoryHandlers::ListItems(grpc::ServerContext* context,
                                          const v1::ListItemsRequest* request,
                                          v1::ListItemsResponse* response) {
  return WithCaller(*registry_, context, [&](const tokens::Caller& caller) {
    return SetPage(
        directory_->ListItems(caller, request->type(), request->page_size(),
                              request->page_token()),
        response->mutable_items(), response);
  });
}

grpc::Status DirectoryHandlers::UpdateItem(grpc::ServerContext* context,
                                           const v1::UpdateItemRequest* request,
                                           v1::UpdateItemResponse* response) {
  return WithCaller(
      *registry_, context, [&](const tokens::Caller& caller) -> absl::Status {
        auto paths = MaskPaths(request->update_mask(), {"name", "site_id"});
        if (!paths.ok()) return paths.status();
        directory::ItemEdit edit;
        if (paths->contains("name")) edit.name = request->name();
        if (paths->contains("site_id")) edit.site_id = request->site_id();
        return SetWritten(
            directory_->UpdateItem(caller, request->item_id(), edit),
            response->mutable_item(), response);
      });
}

grpc::Status DirectoryHandlers::DeleteItem(grpc::ServerContext* context,
                                           const v1::DeleteItemRequest* request,
                                           v1::DeleteItemResponse* response) {
  return WithCaller(*registry_, context, [&](const tokens::Caller& caller) {
    return SetRevision(directory_->DeleteItem(caller, request->item_id()),
                       response);
  });
}

grpc::Status DirectoryHandlers::CreateGrant(
    grpc::ServerContext* context, const v1::CreateGrantRequest* request,
    v1::CreateGrantResponse* response) {
  return WithCaller(*registry_, context, [&](const tokens::Caller& caller) {
    directory::GrantTarget target{request->item_id(), request->item_type()};
    return SetWritten(
        directory_->CreateGrant(caller, target, request->grantee(),
                                request->level(), request->request_id()),
        response->mutable_grant(), response);
  });
}

grpc::Status DirectoryHandlers::GetGrant(grpc::ServerContext* context,
                                         const v1::GetGrantRequest* request,
                                         v1::GetGrantResponse* response) {
  return WithCaller(*registry_, context, [&](const tokens::Caller& caller) {
    return SetRecord(directory_->GetGrant(caller, request->grant_id()),
                     response->mutable_grant());
  });
}

grpc::Status DirectoryHandlers::ListGrants(grpc::ServerContext* context,
                                           const v1::ListGrantsRequest* request,
                                           v1::ListGrantsResponse* response) {
  return WithCaller(*registry_, context, [&](const tokens::Caller& caller) {
    directory::GrantTarget target{request->item_id(), request->item_type()};
    return SetPage(directory_->ListGrants(caller, target, request->page_size(),
                                          request->page_token()),
                   response->mutable_grants(), response);
  });
}

grpc::Status DirectoryHandlers::DeleteGrant(
    grpc::ServerContext* context, const v1::DeleteGrantRequest* request,
    v1::DeleteGrantResponse* response) {
  return WithCaller(*registry_, context, [&](const tokens::Caller& caller) {
    return SetRevision(directory_->DeleteGrant(caller, request->grant_id()),
                       response);
  });
}

grpc::Status DirectoryHandlers::ListActivity(
    grpc::ServerContext* context, const v1::ListActivityRequest* request,
    v1::ListActivityResponse* response) {
  return WithCaller(*registry_, context, [&](const tokens::Caller& caller) {
    return SetPage(directory_->ListActivity(caller, request->page_size(),
                                            request->page_token()),
                   response->mutable_entries(), response);
  });
}

}  // namespace warden::token_service
