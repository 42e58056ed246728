// wardenctl users|groups|sites|permission-sets|items|grants|activity ...:
// the access model of the caller's organization through DirectoryService.

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "tools/wardenctl/output.h"
#include "tools/wardenctl/session.h"
#include "warden/directory/v1/directory_service.grpc.pb.h"
#include "warden/model/v1/model.pb.h"

namespace warden::wardenctl {
namespace {

namespace dir = ::warden::directory::v1;
using dir::DirectoryService;
using Stub = DirectoryService::Stub;

// Flag values of every directory subcommand; one run parses one subcommand.
struct DirectoryFlags {
  std::string id;
  std::string user_id;
  std::string name;
  std::string email;
  std::string display_name;
  std::string permission_set;
  std::vector<std::string> permissions;
  std::string parent;
  bool root = false;
  std::string type;
  std::string site;
  std::string request_id;
  bool include_removed = false;
  int limit = 0;
  // Grants.
  std::string item;
  std::string item_type;
  std::string grantee_user;
  std::string grantee_service_user;
  std::string grantee_group;
  std::string grantee_site;
  std::string grantee_organization;
  std::string grantee_organization_id;
  std::string level;
};

// One unary DirectoryService call; `print` shows the response to a person.
template <typename Request, typename Response, typename Print>
int Call(Session& session,
         grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                      Response*),
         const Request& request, Print print) {
  auto stub = DirectoryService::NewStub(session.channel());
  Response response;
  return session.Unary(
      [&](grpc::ClientContext* context) {
        return (stub.get()->*method)(context, request, &response);
      },
      response, [&] { print(response); });
}

// Every page of a DirectoryService list call, then one table or JSON.
template <typename Request, typename Response, typename Count, typename Print>
int List(Session& session,
         grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                      Response*),
         Request request, int limit, Count count, Print print) {
  auto stub = DirectoryService::NewStub(session.channel());
  Response all;
  int code = ListAll<Response>(
      session,
      [&](grpc::ClientContext* context, const std::string& page_token,
          Response* page) {
        request.set_page_size(limit > 0 && limit < 500 ? limit : 500);
        request.set_page_token(page_token);
        return (stub.get()->*method)(context, request, page);
      },
      count, limit, &all);
  if (code != kExitOk) return code;
  session.json() ? PrintJson(all) : print(all);
  return kExitOk;
}

// "deleted grp_... at revision 7" for calls that answer only a revision.
auto Done(const std::string& verb, const std::string& what) {
  return [verb, what](const auto& response) {
    std::cout << verb << " " << what << " at revision " << response.revision()
              << "\n";
  };
}

template <typename Records>
void PrintUsers(const Records& users) {
  Table table(
      {"id", "email", "display name", "status", "permission set", "created"});
  for (const model::v1::User& user : users) {
    table.AddRow({user.id(), user.email(), user.display_name(),
                  EnumLabel(model::v1::UserStatus_descriptor(), user.status()),
                  user.permission_set_id(),
                  FormatTime(user.created_at(), user.has_created_at())});
  }
  table.Print();
}

template <typename Records>
void PrintPermissionSets(const Records& sets) {
  Table table({"id", "name", "permissions"});
  for (const model::v1::PermissionSet& set : sets) {
    table.AddRow(
        {set.id(), set.name(),
         JoinOrDash({set.permissions().begin(), set.permissions().end()})});
  }
  table.Print();
}

template <typename Records>
void PrintGroups(const Records& groups) {
  Table table({"id", "name"});
  for (const model::v1::Group& group : groups) {
    table.AddRow({group.id(), group.name()});
  }
  table.Print();
}

template <typename Records>
void PrintSites(const Records& sites) {
  Table table({"id", "name", "parent"});
  for (const model::v1::Site& site : sites) {
    table.AddRow({site.id(), site.name(),
                  site.parent_site_id().empty() ? "-" : site.parent_site_id()});
  }
  table.Print();
}

template <typename Records>
void PrintItems(const Records& items) {
  Table table({"id", "type", "name", "site"});
  for (const model::v1::Item& item : items) {
    table.AddRow({item.id(), item.type(), item.name(),
                  item.site_id().empty() ? "-" : item.site_id()});
  }
  table.Print();
}

std::string GranteeLabel(const model::v1::Grantee& grantee) {
  std::string label;
  switch (grantee.grantee_case()) {
    case model::v1::Grantee::kUserId:
      label = "user " + grantee.user_id();
      break;
    case model::v1::Grantee::kServiceUserId:
      label = "service user " + grantee.service_user_id();
      break;
    case model::v1::Grantee::kGroupId:
      label = "group " + grantee.group_id();
      break;
    case model::v1::Grantee::kSiteId:
      label = "site " + grantee.site_id();
      break;
    case model::v1::Grantee::kOrganizationId:
      label = "organization " + grantee.organization_id();
      break;
    default:
      label = "-";
  }
  if (!grantee.grantee_organization_id().empty()) {
    absl::StrAppend(&label, " of ", grantee.grantee_organization_id());
  }
  return label;
}

template <typename Records>
void PrintGrants(const Records& grants) {
  Table table({"id", "target", "grantee", "level"});
  for (const model::v1::Grant& grant : grants) {
    std::string target = grant.has_item_id()
                             ? grant.item_id()
                             : "every " + grant.item_type() + " (rule)";
    table.AddRow(
        {grant.id(), target, GranteeLabel(grant.grantee()),
         EnumLabel(model::v1::AccessLevel_descriptor(), grant.level())});
  }
  table.Print();
}

template <typename Records>
void PrintActivity(const Records& entries) {
  Table table({"revision", "time", "actor", "action", "target", "name"});
  for (const model::v1::ActivityEntry& entry : entries) {
    std::string actor = entry.actor().display_name().empty()
                            ? "system"
                            : entry.actor().display_name();
    table.AddRow({absl::StrCat(entry.revision()),
                  FormatTime(entry.time(), entry.has_time()), actor,
                  entry.action(),
                  absl::StrCat(entry.target_kind(), " ", entry.target_id()),
                  entry.target_name().empty() ? "-" : entry.target_name()});
  }
  table.Print();
}

template <typename Member>
void PrintMembers(const Member& member, const std::string& of) {
  std::cout << "added " << member.user_id() << " to " << of << "\n";
}

// Registers a subcommand whose callback stores `run` as the action.
CLI::App* Command(CLI::App* group, const std::string& name,
                  const std::string& description, Action* action, Action run) {
  auto* command = group->add_subcommand(name, description);
  command->callback([action, run] { *action = run; });
  return command;
}

CLI::App* Group(CLI::App& app, const std::string& name,
                const std::string& description) {
  auto* group = app.add_subcommand(name, description);
  group->require_subcommand(1);
  return group;
}

void AddUserCommands(CLI::App& app, Action* action,
                     std::shared_ptr<DirectoryFlags> f) {
  auto* users = Group(app, "users", "Users of the organization");

  auto* create =
      Command(users, "create", "Add an active user", action, [f](Session& s) {
        dir::CreateUserRequest request;
        request.set_email(f->email);
        request.set_display_name(f->display_name);
        request.set_permission_set_id(f->permission_set);
        request.set_request_id(f->request_id);
        return Call(s, &Stub::CreateUser, request, [](const auto& r) {
          PrintUsers(std::vector<model::v1::User>{r.user()});
        });
      });
  create->add_option("--email", f->email, "E-mail, unique in the org")
      ->required();
  create
      ->add_option("--display-name", f->display_name,
                   "Name shown in activity logs")
      ->required();
  create
      ->add_option("--permission-set", f->permission_set,
                   "Permission set id, pset_...")
      ->required();
  create->add_option("--request-id", f->request_id, "Idempotency key");

  auto* list = Command(users, "list", "List users", action, [f](Session& s) {
    dir::ListUsersRequest request;
    request.set_include_removed(f->include_removed);
    return List(
        s, &Stub::ListUsers, request, f->limit,
        [](const auto& r) { return r.users_size(); },
        [](const auto& r) { PrintUsers(r.users()); });
  });
  list->add_flag("--include-removed", f->include_removed,
                 "Also list removed users");
  list->add_option("--limit", f->limit, "Stop after this many");

  auto* get = Command(users, "get", "Show one user", action, [f](Session& s) {
    dir::GetUserRequest request;
    request.set_user_id(f->id);
    return Call(s, &Stub::GetUser, request, [](const auto& r) {
      PrintUsers(std::vector<model::v1::User>{r.user()});
    });
  });
  get->add_option("id", f->id, "User id, usr_...")->required();

  auto* update = users->add_subcommand(
      "update", "Change a user's e-mail, display name or permission set");
  update->add_option("id", f->id, "User id, usr_...")->required();
  auto* email = update->add_option("--email", f->email, "New e-mail");
  auto* name =
      update->add_option("--display-name", f->display_name, "New name");
  auto* set = update->add_option("--permission-set", f->permission_set,
                                 "New permission set id");
  update->callback([=] {
    *action = [=](Session& s) {
      dir::UpdateUserRequest request;
      request.set_user_id(f->id);
      auto* mask = request.mutable_update_mask();
      if (email->count() > 0) {
        request.set_email(f->email);
        mask->add_paths("email");
      }
      if (name->count() > 0) {
        request.set_display_name(f->display_name);
        mask->add_paths("display_name");
      }
      if (set->count() > 0) {
        request.set_permission_set_id(f->permission_set);
        mask->add_paths("permission_set_id");
      }
      if (mask->paths().empty()) {
        std::cerr << "error: nothing to change: pass --email, "
                     "--display-name or --permission-set\n";
        return static_cast<int>(kExitUsage);
      }
      return Call(s, &Stub::UpdateUser, request, [](const auto& r) {
        PrintUsers(std::vector<model::v1::User>{r.user()});
      });
    };
  });

  auto* deactivate =
      Command(users, "deactivate",
              "Suspend a user; every token of the user ends for good", action,
              [f](Session& s) {
                dir::DeactivateUserRequest request;
                request.set_user_id(f->id);
                return Call(s, &Stub::DeactivateUser, request,
                            Done("deactivated", f->id));
              });
  deactivate->add_option("id", f->id, "User id, usr_...")->required();

  auto* reactivate =
      Command(users, "reactivate",
              "Make a deactivated user active again (ended tokens stay ended)",
              action, [f](Session& s) {
                dir::ReactivateUserRequest request;
                request.set_user_id(f->id);
                return Call(s, &Stub::ReactivateUser, request,
                            Done("reactivated", f->id));
              });
  reactivate->add_option("id", f->id, "User id, usr_...")->required();

  auto* remove = Command(
      users, "remove",
      "Remove a user for good: tokens, memberships and grants go", action,
      [f](Session& s) {
        dir::RemoveUserRequest request;
        request.set_user_id(f->id);
        return Call(s, &Stub::RemoveUser, request, Done("removed", f->id));
      });
  remove->add_option("id", f->id, "User id, usr_...")->required();
}

void AddGroupCommands(CLI::App& app, Action* action,
                      std::shared_ptr<DirectoryFlags> f) {
  auto* groups = Group(app, "groups", "Groups of users");

  auto* create =
      Command(groups, "create", "Create a group", action, [f](Session& s) {
        dir::CreateGroupRequest request;
        request.set_name(f->name);
        request.set_request_id(f->request_id);
        return Call(s, &Stub::CreateGroup, request, [](const auto& r) {
          PrintGroups(std::vector<model::v1::Group>{r.group()});
        });
      });
  create->add_option("--name", f->name, "Group name")->required();
  create->add_option("--request-id", f->request_id, "Idempotency key");

  auto* list = Command(groups, "list", "List groups", action, [f](Session& s) {
    return List(
        s, &Stub::ListGroups, dir::ListGroupsRequest(), f->limit,
        [](const auto& r) { return r.groups_size(); },
        [](const auto& r) { PrintGroups(r.groups()); });
  });
  list->add_option("--limit", f->limit, "Stop after this many");

  auto* remove = Command(
      groups, "delete", "Delete a group with its memberships and grants",
      action, [f](Session& s) {
        dir::DeleteGroupRequest request;
        request.set_group_id(f->id);
        return Call(s, &Stub::DeleteGroup, request, Done("deleted", f->id));
      });
  remove->add_option("id", f->id, "Group id, grp_...")->required();

  auto* add = Command(
      groups, "add-member", "Add a user to a group", action, [f](Session& s) {
        dir::AddGroupMemberRequest request;
        request.set_group_id(f->id);
        request.set_user_id(f->user_id);
        return Call(s, &Stub::AddGroupMember, request,
                    [f](const auto& r) { PrintMembers(r.member(), f->id); });
      });
  add->add_option("group", f->id, "Group id")->required();
  add->add_option("user", f->user_id, "User id")->required();

  auto* drop =
      Command(groups, "remove-member", "Remove a user from a group", action,
              [f](Session& s) {
                dir::RemoveGroupMemberRequest request;
                request.set_group_id(f->id);
                request.set_user_id(f->user_id);
                return Call(s, &Stub::RemoveGroupMember, request,
                            Done("removed " + f->user_id + " from", f->id));
              });
  drop->add_option("group", f->id, "Group id")->required();
  drop->add_option("user", f->user_id, "User id")->required();

  auto* members = Command(groups, "members", "List a group's members", action,
                          [f](Session& s) {
                            dir::ListGroupMembersRequest request;
                            request.set_group_id(f->id);
                            return List(
                                s, &Stub::ListGroupMembers, request, f->limit,
                                [](const auto& r) { return r.members_size(); },
                                [](const auto& r) {
                                  Table table({"user"});
                                  for (const auto& m : r.members())
                                    table.AddRow({m.user_id()});
                                  table.Print();
                                });
                          });
  members->add_option("group", f->id, "Group id")->required();
}

void AddSiteCommands(CLI::App& app, Action* action,
                     std::shared_ptr<DirectoryFlags> f) {
  auto* sites = Group(app, "sites", "Sites: a tree of places users belong to");

  auto* create =
      Command(sites, "create", "Create a site", action, [f](Session& s) {
        dir::CreateSiteRequest request;
        request.set_name(f->name);
        request.set_parent_site_id(f->parent);
        request.set_request_id(f->request_id);
        return Call(s, &Stub::CreateSite, request, [](const auto& r) {
          PrintSites(std::vector<model::v1::Site>{r.site()});
        });
      });
  create->add_option("--name", f->name, "Site name")->required();
  create->add_option("--parent", f->parent, "Parent site id; none for a root");
  create->add_option("--request-id", f->request_id, "Idempotency key");

  auto* list = Command(sites, "list", "List sites", action, [f](Session& s) {
    return List(
        s, &Stub::ListSites, dir::ListSitesRequest(), f->limit,
        [](const auto& r) { return r.sites_size(); },
        [](const auto& r) { PrintSites(r.sites()); });
  });
  list->add_option("--limit", f->limit, "Stop after this many");

  auto* move = Command(
      sites, "move",
      "Move a site below another, or to the "
      "root",
      action, [f](Session& s) {
        if (f->root == !f->parent.empty()) {
          std::cerr << "error: pass exactly one of --parent SITE or --root\n";
          return static_cast<int>(kExitUsage);
        }
        dir::UpdateSiteRequest request;
        request.set_site_id(f->id);
        request.set_parent_site_id(f->parent);
        request.mutable_update_mask()->add_paths("parent_site_id");
        return Call(s, &Stub::UpdateSite, request, [](const auto& r) {
          PrintSites(std::vector<model::v1::Site>{r.site()});
        });
      });
  move->add_option("id", f->id, "Site id, site_...")->required();
  move->add_option("--parent", f->parent, "New parent site id");
  move->add_flag("--root", f->root, "Make it a root site");

  auto* remove = Command(
      sites, "delete",
      "Delete a site without child sites, with its memberships and grants",
      action, [f](Session& s) {
        dir::DeleteSiteRequest request;
        request.set_site_id(f->id);
        return Call(s, &Stub::DeleteSite, request, Done("deleted", f->id));
      });
  remove->add_option("id", f->id, "Site id, site_...")->required();

  auto* add = Command(
      sites, "add-member", "Add a user to a site", action, [f](Session& s) {
        dir::AddSiteMemberRequest request;
        request.set_site_id(f->id);
        request.set_user_id(f->user_id);
        return Call(s, &Stub::AddSiteMember, request,
                    [f](const auto& r) { PrintMembers(r.member(), f->id); });
      });
  add->add_option("site", f->id, "Site id")->required();
  add->add_option("user", f->user_id, "User id")->required();

  auto* drop =
      Command(sites, "remove-member", "Remove a user from a site", action,
              [f](Session& s) {
                dir::RemoveSiteMemberRequest request;
                request.set_site_id(f->id);
                request.set_user_id(f->user_id);
                return Call(s, &Stub::RemoveSiteMember, request,
                            Done("removed " + f->user_id + " from", f->id));
              });
  drop->add_option("site", f->id, "Site id")->required();
  drop->add_option("user", f->user_id, "User id")->required();
}

void AddPermissionSetCommands(CLI::App& app, Action* action,
                              std::shared_ptr<DirectoryFlags> f) {
  auto* sets = Group(app, "permission-sets",
                     "Permission sets: which actions a subject may perform");

  auto* create = Command(
      sets, "create", "Create a permission set", action, [f](Session& s) {
        dir::CreatePermissionSetRequest request;
        request.set_name(f->name);
        for (const auto& p : f->permissions) request.add_permissions(p);
        request.set_request_id(f->request_id);
        return Call(s, &Stub::CreatePermissionSet, request, [](const auto& r) {
          PrintPermissionSets(
              std::vector<model::v1::PermissionSet>{r.permission_set()});
        });
      });
  create->add_option("--name", f->name, "Name, unique in the org")->required();
  create->add_option("--permission", f->permissions,
                     "Permission from the catalog, repeatable");
  create->add_option("--request-id", f->request_id, "Idempotency key");

  auto* list =
      Command(sets, "list", "List permission sets", action, [f](Session& s) {
        return List(
            s, &Stub::ListPermissionSets, dir::ListPermissionSetsRequest(),
            f->limit, [](const auto& r) { return r.permission_sets_size(); },
            [](const auto& r) { PrintPermissionSets(r.permission_sets()); });
      });
  list->add_option("--limit", f->limit, "Stop after this many");

  auto* update = sets->add_subcommand(
      "update", "Rename a permission set or replace its permissions");
  update->add_option("id", f->id, "Permission set id, pset_...")->required();
  auto* name = update->add_option("--name", f->name, "New name");
  auto* permissions = update->add_option(
      "--permission", f->permissions,
      "Permission, repeatable; replaces the set's permissions");
  update->callback([=] {
    *action = [=](Session& s) {
      dir::UpdatePermissionSetRequest request;
      request.set_permission_set_id(f->id);
      if (name->count() > 0) {
        request.set_name(f->name);
        request.mutable_update_mask()->add_paths("name");
      }
      if (permissions->count() > 0) {
        for (const auto& p : f->permissions) request.add_permissions(p);
        request.mutable_update_mask()->add_paths("permissions");
      }
      if (request.update_mask().paths().empty()) {
        std::cerr << "error: nothing to change: pass --name or "
                     "--permission\n";
        return static_cast<int>(kExitUsage);
      }
      return Call(s, &Stub::UpdatePermissionSet, request, [](const auto& r) {
        PrintPermissionSets(
            std::vector<model::v1::PermissionSet>{r.permission_set()});
      });
    };
  });

  auto* remove = Command(sets, "delete", "Delete a permission set no one uses",
                         action, [f](Session& s) {
                           dir::DeletePermissionSetRequest request;
                           request.set_permission_set_id(f->id);
                           return Call(s, &Stub::DeletePermissionSet, request,
                                       Done("deleted", f->id));
                         });
  remove->add_option("id", f->id, "Permission set id, pset_...")->required();
}

void AddItemCommands(CLI::App& app, Action* action,
                     std::shared_ptr<DirectoryFlags> f) {
  auto* items = Group(app, "items", "Items: templates, inspections, assets...");

  auto* create =
      Command(items, "create", "Register an item", action, [f](Session& s) {
        dir::CreateItemRequest request;
        request.set_type(f->type);
        request.set_name(f->name);
        request.set_site_id(f->site);
        request.set_request_id(f->request_id);
        return Call(s, &Stub::CreateItem, request, [](const auto& r) {
          PrintItems(std::vector<model::v1::Item>{r.item()});
        });
      });
  create->add_option("--type", f->type, "Item type from the catalog")
      ->required();
  create->add_option("--name", f->name, "Display name")->required();
  create->add_option("--site", f->site, "Site the item belongs to");
  create->add_option("--request-id", f->request_id, "Idempotency key");

  auto* list = Command(items, "list", "List the items of one type", action,
                       [f](Session& s) {
                         dir::ListItemsRequest request;
                         request.set_type(f->type);
                         return List(
                             s, &Stub::ListItems, request, f->limit,
                             [](const auto& r) { return r.items_size(); },
                             [](const auto& r) { PrintItems(r.items()); });
                       });
  list->add_option("--type", f->type, "Item type")->required();
  list->add_option("--limit", f->limit, "Stop after this many");

  auto* remove = Command(
      items, "delete", "Delete an item and every grant on it", action,
      [f](Session& s) {
        dir::DeleteItemRequest request;
        request.set_item_id(f->id);
        return Call(s, &Stub::DeleteItem, request, Done("deleted", f->id));
      });
  remove->add_option("id", f->id, "Item id, item_...")->required();
}

// Exactly one of the given flags is set; otherwise explains and fails.
bool ExactlyOne(const std::vector<std::pair<const char*, std::string>>& flags,
                const char* what) {
  int set = 0;
  std::string names;
  for (const auto& [name, value] : flags) {
    if (!value.empty()) ++set;
    absl::StrAppend(&names, names.empty() ? "" : ", ", name);
  }
  if (set == 1) return true;
  std::cerr << "error: pass exactly one " << what << ": " << names << "\n";
  return false;
}

void AddGrantCommands(CLI::App& app, Action* action,
                      std::shared_ptr<DirectoryFlags> f) {
  auto* grants = Group(app, "grants", "Grants: who may reach which items");

  auto* create = Command(
      grants, "create",
      "Give a grantee access to an item, or to every item "
      "of a type (a rule)",
      action, [f](Session& s) {
        if (!ExactlyOne({{"--item", f->item}, {"--item-type", f->item_type}},
                        "target") ||
            !ExactlyOne({{"--user", f->grantee_user},
                         {"--service-user", f->grantee_service_user},
                         {"--group", f->grantee_group},
                         {"--site", f->grantee_site},
                         {"--organization", f->grantee_organization}},
                        "grantee")) {
          return static_cast<int>(kExitUsage);
        }
        dir::CreateGrantRequest request;
        if (!f->item.empty()) request.set_item_id(f->item);
        if (!f->item_type.empty()) request.set_item_type(f->item_type);
        auto* grantee = request.mutable_grantee();
        if (!f->grantee_user.empty()) grantee->set_user_id(f->grantee_user);
        if (!f->grantee_service_user.empty()) {
          grantee->set_service_user_id(f->grantee_service_user);
        }
        if (!f->grantee_group.empty()) grantee->set_group_id(f->grantee_group);
        if (!f->grantee_site.empty()) grantee->set_site_id(f->grantee_site);
        if (!f->grantee_organization.empty()) {
          grantee->set_organization_id(f->grantee_organization);
        }
        grantee->set_grantee_organization_id(f->grantee_organization_id);
        model::v1::AccessLevel level = model::v1::ACCESS_LEVEL_UNSPECIFIED;
        model::v1::AccessLevel_Parse(
            "ACCESS_LEVEL_" + absl::AsciiStrToUpper(f->level), &level);
        request.set_level(level);
        request.set_request_id(f->request_id);
        return Call(s, &Stub::CreateGrant, request, [](const auto& r) {
          PrintGrants(std::vector<model::v1::Grant>{r.grant()});
        });
      });
  create->add_option("--item", f->item, "Item id");
  create->add_option("--item-type", f->item_type,
                     "Item type: a rule over every item of the type");
  create->add_option("--user", f->grantee_user, "Grantee: a user");
  create->add_option("--service-user", f->grantee_service_user,
                     "Grantee: a service user");
  create->add_option("--group", f->grantee_group, "Grantee: a group");
  create->add_option("--site", f->grantee_site, "Grantee: a site");
  create->add_option("--organization", f->grantee_organization,
                     "Grantee: every user of an organization");
  create->add_option("--grantee-organization", f->grantee_organization_id,
                     "The grantee's organization, when it is another one");
  create->add_option("--level", f->level, "view, edit or manage")
      ->required()
      ->check(CLI::IsMember({"view", "edit", "manage"}));
  create->add_option("--request-id", f->request_id, "Idempotency key");

  auto* list = Command(
      grants, "list", "List the grants on an item, or the rules of a type",
      action, [f](Session& s) {
        if (!ExactlyOne({{"--item", f->item}, {"--item-type", f->item_type}},
                        "target")) {
          return static_cast<int>(kExitUsage);
        }
        dir::ListGrantsRequest request;
        if (!f->item.empty()) request.set_item_id(f->item);
        if (!f->item_type.empty()) request.set_item_type(f->item_type);
        return List(
            s, &Stub::ListGrants, request, f->limit,
            [](const auto& r) { return r.grants_size(); },
            [](const auto& r) { PrintGrants(r.grants()); });
      });
  list->add_option("--item", f->item, "Item id");
  list->add_option("--item-type", f->item_type, "Item type");
  list->add_option("--limit", f->limit, "Stop after this many");

  auto* remove =
      Command(grants, "delete", "Delete a grant", action, [f](Session& s) {
        dir::DeleteGrantRequest request;
        request.set_grant_id(f->id);
        return Call(s, &Stub::DeleteGrant, request, Done("deleted", f->id));
      });
  remove->add_option("id", f->id, "Grant id, grant_...")->required();
}

void AddActivityCommands(CLI::App& app, Action* action,
                         std::shared_ptr<DirectoryFlags> f) {
  auto* activity = Group(app, "activity", "The organization's activity log");
  f->limit = 0;
  auto* list = Command(activity, "list", "List entries, newest first", action,
                       [f](Session& s) {
                         return List(
                             s, &Stub::ListActivity, dir::ListActivityRequest(),
                             f->limit > 0 ? f->limit : 50,
                             [](const auto& r) { return r.entries_size(); },
                             [](const auto& r) { PrintActivity(r.entries()); });
                       });
  list->add_option("--limit", f->limit, "How many entries (default 50)");
}

}  // namespace

void AddDirectoryCommands(CLI::App& app, Action* action) {
  auto flags = std::make_shared<DirectoryFlags>();
  AddUserCommands(app, action, flags);
  AddGroupCommands(app, action, flags);
  AddSiteCommands(app, action, flags);
  AddPermissionSetCommands(app, action, flags);
  AddItemCommands(app, action, flags);
  AddGrantCommands(app, action, flags);
  AddActivityCommands(app, action, flags);
}

}  // namespace warden::wardenctl
