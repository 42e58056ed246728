// Groups and their members.
#include "libs/catalog/catalog.h"
#include "libs/directory/directory.h"
#include "libs/directory/directory_internal.h"
#include "libs/ids/ids.h"
#include "libs/store/records.h"
#include "libs/validation/validation.h"

namespace warden::directory {
namespace {

using internal::Activity;
using internal::Load;
using model::v1::Group;
using model::v1::GroupMember;
using store::Table;

constexpr int kMaxGroupNameChars = 200;

absl::Status CheckGroupNameFree(store::ReadView& view, const std::string& org,
                                const std::string& name) {
  auto taken = view.Get(Table::kIndex, absl::StrCat("grp_name/", org, "/",
                                                    store::FoldCase(name)));
  if (!taken.ok()) return taken.status();
  if (taken->has_value()) {
    return absl::AlreadyExistsError(
        "a group with this name already exists; choose another name");
  }
  return absl::OkStatus();
}

absl::StatusOr<Group> LoadGroup(store::ReadView& view, const std::string& org,
                                const std::string& group_id) {
  return Load<Group>(view, Table::kGroups, org, group_id, "group_id",
                     ids::kGroup, "group");
}

}  // namespace

absl::StatusOr<Written<Group>> Directory::CreateGroup(
    const Caller& caller, const std::string& name,
    const std::string& request_id) {
  auto allowed =
      tokens::RequirePermission(caller, catalog::kGroups, "creating groups");
  if (!allowed.ok()) return allowed;
  for (auto status :
       {validation::ValidateName("name", name, kMaxGroupNameChars),
        validation::ValidateRequestId("request_id", request_id)}) {
    if (!status.ok()) return status;
  }
  Written<Group> written;
  const std::string& org = caller.organization_id();
  auto revision =
      store_->Write("group.create", [&](store::WriteTxn& txn) -> absl::Status {
        auto replayed =
            internal::ReplayCreate(txn, Table::kGroups, caller, request_id,
                                   ids::kGroup, &written.record);
        if (!replayed.ok()) return replayed.status();
        if (*replayed) return absl::OkStatus();
        auto free = CheckGroupNameFree(txn, org, name);
        if (!free.ok()) return free;
        Group& group = written.record;
        group.set_id(ids::NewId(ids::kGroup));
        group.set_organization_id(org);
        group.set_name(name);
        auto put = store::Put(txn, group);
        if (!put.ok()) return put;
        internal::RememberCreate(txn, caller, request_id, group.id());
        txn.AddActivity(
            Activity(caller, "group.create", "group", group.id(), name));
        return absl::OkStatus();
      });
  if (!revision.ok()) return revision.status();
  written.revision = *revision;
  return written;
}

absl::StatusOr<Group> Directory::GetGroup(const Caller& caller,
                                          const std::string& group_id) {
  auto allowed =
      tokens::RequirePermission(caller, catalog::kGroups, "viewing groups");
  if (!allowed.ok()) return allowed;
  auto view = store_->Read();
  return LoadGroup(*view, caller.organization_id(), group_id);
}

absl::StatusOr<Page<Group>> Directory::ListGroups(
    const Caller& caller, int page_size, const std::string& page_token) {
  auto allowed =
      tokens::RequirePermission(caller, catalog::kGroups, "listing groups");
  if (!allowed.ok()) return allowed;
  auto view = store_->Read();
  return internal::ListRecords<Group>(
      *view, Table::kGroups, absl::StrCat(caller.organization_id(), "/"),
      "groups", page_size, page_token);
}

absl::StatusOr<Written<Group>> Directory::UpdateGroup(
    const Caller& caller, const std::string& group_id,
    const std::string& name) {
  auto allowed =
      tokens::RequirePermission(caller, catalog::kGroups, "renaming groups");
  if (!allowed.ok()) return allowed;
  auto valid = validation::ValidateName("name", name, kMaxGroupNameChars);
  if (!valid.ok()) return valid;
  Written<Group> written;
  const std::string& org = caller.organization_id();
  auto revision =
      store_->Write("group.update", [&](store::WriteTxn& txn) -> absl::Status {
        auto group = LoadGroup(txn, org, group_id);
        if (!group.ok()) return group.status();
        if (store::FoldCase(name) != store::FoldCase(group->name())) {
          auto free = CheckGroupNameFree(txn, org, name);
          if (!free.ok()) return free;
        }
        group->set_name(name);
        auto put = store::Put(txn, *group);
        if (!put.ok()) return put;
        txn.AddActivity(
            Activity(caller, "group.update", "group", group->id(), name));
        written.record = *std::move(group);
        return absl::OkStatus();
      });
  if (!revision.ok()) return revision.status();
  written.revision = *revision;
  return written;
}

absl::StatusOr<int64_t> Directory::DeleteGroup(const Caller& caller,
                                               const std::string& group_id) {
  auto allowed =
      tokens::RequirePermission(caller, catalog::kGroups, "deleting groups");
  if (!allowed.ok()) return allowed;
  const std::string& org = caller.organization_id();
  return store_->Write(
      "group.delete", [&](store::WriteTxn& txn) -> absl::Status {
        auto group = LoadGroup(txn, org, group_id);
        if (!group.ok()) return group.status();
        for (auto status : {internal::DeleteAllUnder<GroupMember>(
                                txn, Table::kGroupMembers,
                                absl::StrCat(org, "/", group_id, "/")),
                            internal::DeleteGrantsTo(txn, org, group_id),
                            store::Remove(txn, *group)}) {
          if (!status.ok()) return status;
        }
        txn.AddActivity(Activity(caller, "group.delete", "group", group->id(),
                                 group->name()));
        return absl::OkStatus();
      });
}

absl::StatusOr<Written<GroupMember>> Directory::AddGroupMember(
    const Caller& caller, const std::string& group_id,
    const std::string& user_id) {
  auto allowed = tokens::RequirePermission(caller, catalog::kGroups,
                                           "changing group members");
  if (!allowed.ok()) return allowed;
  Written<GroupMember> written;
  const std::string& org = caller.organization_id();
  auto revision = store_->Write(
      "group.add_member", [&](store::WriteTxn& txn) -> absl::Status {
        auto group = LoadGroup(txn, org, group_id);
        if (!group.ok()) return group.status();
        auto user = internal::LoadMemberCandidate(txn, org, user_id, "groups");
        if (!user.ok()) return user.status();
        GroupMember& member = written.record;
        member.set_organization_id(org);
        member.set_group_id(group_id);
        member.set_user_id(user_id);
        auto existing = txn.Get(Table::kGroupMembers,
                                absl::StrCat(org, "/", group_id, "/", user_id));
        if (!existing.ok()) return existing.status();
        if (existing->has_value()) {
          return absl::AlreadyExistsError(absl::StrCat(
              "user ", user_id, " is already a member of group ", group_id));
        }
        auto put = store::Put(txn, member);
        if (!put.ok()) return put;
        txn.AddActivity(Activity(caller, "group.add_member", "group", group_id,
                                 group->name()));
        return absl::OkStatus();
      });
  if (!revision.ok()) return revision.status();
  written.revision = *revision;
  return written;
}

absl::StatusOr<int64_t> Directory::RemoveGroupMember(
    const Caller& caller, const std::string& group_id,
    const std::string& user_id) {
  auto allowed = tokens::RequirePermission(caller, catalog::kGroups,
                                           "changing group members");
  if (!allowed.ok()) return allowed;
  auto valid = ids::ValidateId("user_id", user_id, ids::kUser);
  if (!valid.ok()) return valid;
  const std::string& org = caller.organization_id();
  return store_->Write(
      "group.remove_member", [&](store::WriteTxn& txn) -> absl::Status {
        auto group = LoadGroup(txn, org, group_id);
        if (!group.ok()) return group.status();
        auto member = store::GetRecord<GroupMember>(
            txn, Table::kGroupMembers,
            absl::StrCat(org, "/", group_id, "/", user_id));
        if (!member.ok()) return member.status();
        if (!member->has_value()) {
          return absl::NotFoundError(absl::StrCat(
              "user ", user_id, " is not a member of group ", group_id));
        }
        auto removed = store::Remove(txn, **member);
        if (!removed.ok()) return removed;
        txn.AddActivity(Activity(caller, "group.remove_member", "group",
                                 group_id, group->name()));
        return absl::OkStatus();
      });
}

absl::StatusOr<Page<GroupMember>> Directory::ListGroupMembers(
    const Caller& caller, const std::string& group_id, int page_size,
    const std::string& page_token) {
  auto allowed = tokens::RequirePermission(caller, catalog::kGroups,
                                           "listing group members");
  if (!allowed.ok()) return allowed;
  auto view = store_->Read();
  const std::string& org = caller.organization_id();
  auto group = LoadGroup(*view, org, group_id);
  if (!group.ok()) return group.status();
  return internal::ListRecords<GroupMember>(
      *view, Table::kGroupMembers, absl::StrCat(org, "/", group_id, "/"),
      "group_members", page_size, page_token);
}

}  // namespace warden::directory
