// Permission sets.
#include <set>

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
using model::v1::PermissionSet;
using store::Table;

constexpr int kMaxSetNameChars = 100;

// Every name must be in the stored catalog; returns them sorted and unique.
absl::StatusOr<std::vector<std::string>> CheckPermissions(
    store::ReadView& view, const std::vector<std::string>& permissions) {
  auto catalog = internal::LoadCatalog(view);
  if (!catalog.ok()) return catalog.status();
  std::set<std::string> known;
  for (const auto& permission : catalog->permissions()) {
    known.insert(permission.name());
  }
  std::set<std::string> result;
  for (const auto& name : permissions) {
    if (!known.contains(name)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "permissions holds '", name,
          "', which is not in the permission "
          "catalog; see GetPermissionCatalog for the valid names"));
    }
    result.insert(name);
  }
  return std::vector<std::string>(result.begin(), result.end());
}

absl::Status CheckSetNameFree(store::ReadView& view, const std::string& org,
                              const std::string& name) {
  auto taken = view.Get(Table::kIndex, absl::StrCat("pset_name/", org, "/",
                                                    store::FoldCase(name)));
  if (!taken.ok()) return taken.status();
  if (taken->has_value()) {
    return absl::AlreadyExistsError(
        "a permission set with this name already exists; choose another "
        "name");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Written<PermissionSet>> Directory::CreatePermissionSet(
    const Caller& caller, const std::string& name,
    const std::vector<std::string>& permissions,
    const std::string& request_id) {
  auto allowed = tokens::RequirePermission(caller, catalog::kPermissionSets,
                                           "creating permission sets");
  if (!allowed.ok()) return allowed;
  for (auto status :
       {validation::ValidateName("name", name, kMaxSetNameChars),
        validation::ValidateRequestId("request_id", request_id)}) {
    if (!status.ok()) return status;
  }

  Written<PermissionSet> written;
  const std::string& org = caller.organization_id();
  auto revision = store_->Write(
      "permission_set.create", [&](store::WriteTxn& txn) -> absl::Status {
        auto replayed = internal::ReplayCreate(
            txn, Table::kPermissionSets, caller, request_id,
            ids::kPermissionSet, &written.record);
        if (!replayed.ok()) return replayed.status();
        if (*replayed) return absl::OkStatus();
        auto sorted = CheckPermissions(txn, permissions);
        if (!sorted.ok()) return sorted.status();
        auto free = CheckSetNameFree(txn, org, name);
        if (!free.ok()) return free;

        PermissionSet& set = written.record;
        set.set_id(ids::NewId(ids::kPermissionSet));
        set.set_organization_id(org);
        set.set_name(name);
        for (const auto& permission : *sorted) set.add_permissions(permission);
        auto put = store::Put(txn, set);
        if (!put.ok()) return put;
        internal::RememberCreate(txn, caller, request_id, set.id());
        txn.AddActivity(Activity(caller, "permission_set.create",
                                 "permission_set", set.id(), name));
        return absl::OkStatus();
      });
  if (!revision.ok()) return revision.status();
  written.revision = *revision;
  return written;
}

absl::StatusOr<PermissionSet> Directory::GetPermissionSet(
    const Caller& caller, const std::string& permission_set_id) {
  auto allowed = tokens::RequirePermission(caller, catalog::kPermissionSets,
                                           "viewing permission sets");
  if (!allowed.ok()) return allowed;
  auto view = store_->Read();
  return Load<PermissionSet>(*view, Table::kPermissionSets,
                             caller.organization_id(), permission_set_id,
                             "permission_set_id", ids::kPermissionSet,
                             "permission set");
}

absl::StatusOr<Page<PermissionSet>> Directory::ListPermissionSets(
    const Caller& caller, int page_size, const std::string& page_token) {
  auto allowed = tokens::RequirePermission(caller, catalog::kPermissionSets,
                                           "listing permission sets");
  if (!allowed.ok()) return allowed;
  auto view = store_->Read();
  return internal::ListRecords<PermissionSet>(
      *view, Table::kPermissionSets,
      absl::StrCat(caller.organization_id(), "/"), "permission_sets", page_size,
      page_token);
}

absl::StatusOr<Written<PermissionSet>> Directory::UpdatePermissionSet(
    const Caller& caller, const std::string& permission_set_id,
    const PermissionSetEdit& edit) {
  auto allowed = tokens::RequirePermission(caller, catalog::kPermissionSets,
                                           "changing permission sets");
  if (!allowed.ok()) return allowed;
  if (!edit.name && !edit.permissions) {
    return absl::InvalidArgumentError(
        "update_mask must name at least one of name, permissions");
  }
  if (edit.name) {
    auto valid = validation::ValidateName("name", *edit.name, kMaxSetNameChars);
    if (!valid.ok()) return valid;
  }

  Written<PermissionSet> written;
  const std::string& org = caller.organization_id();
  auto revision = store_->Write(
      "permission_set.update", [&](store::WriteTxn& txn) -> absl::Status {
        auto set = Load<PermissionSet>(txn, Table::kPermissionSets, org,
                                       permission_set_id, "permission_set_id",
                                       ids::kPermissionSet, "permission set");
        if (!set.ok()) return set.status();
        if (edit.name &&
            store::FoldCase(*edit.name) != store::FoldCase(set->name())) {
          auto free = CheckSetNameFree(txn, org, *edit.name);
          if (!free.ok()) return free;
        }
        if (edit.permissions) {
          auto sorted = CheckPermissions(txn, *edit.permissions);
          if (!sorted.ok()) return sorted.status();
          set->clear_permissions();
          for (const auto& permission : *sorted)
            set->add_permissions(permission);
        }
        if (edit.name) set->set_name(*edit.name);
        auto put = store::Put(txn, *set);
        if (!put.ok()) return put;
        txn.AddActivity(Activity(caller, "permission_set.update",
                                 "permission_set", set->id(), set->name()));
        written.record = *std::move(set);
        return absl::OkStatus();
      });
  if (!revision.ok()) return revision.status();
  written.revision = *revision;
  return written;
}

absl::StatusOr<int64_t> Directory::DeletePermissionSet(
    const Caller& caller, const std::string& permission_set_id) {
  auto allowed = tokens::RequirePermission(caller, catalog::kPermissionSets,
                                           "deleting permission sets");
  if (!allowed.ok()) return allowed;
  const std::string& org = caller.organization_id();
  return store_->Write(
      "permission_set.delete", [&](store::WriteTxn& txn) -> absl::Status {
        auto set = Load<PermissionSet>(txn, Table::kPermissionSets, org,
                                       permission_set_id, "permission_set_id",
                                       ids::kPermissionSet, "permission set");
        if (!set.ok()) return set.status();

        // No index maps sets to their holders; an organization's users and
        // service users are scanned, which deletes of sets are rare enough for.
        int users = 0;
        int service_users = 0;
        absl::Status decode_error;
        auto scanned = txn.Scan(
            Table::kUsers, absl::StrCat(org, "/"), "", [&](auto, auto value) {
              model::v1::User user;
              if (!user.ParseFromArray(value.data(),
                                       static_cast<int>(value.size()))) {
                decode_error = absl::InternalError("undecodable user record");
                return false;
              }
              if (user.permission_set_id() == permission_set_id) ++users;
              return true;
            });
        if (!scanned.ok()) return scanned;
        scanned = txn.Scan(
            Table::kServiceUsers, absl::StrCat(org, "/"), "",
            [&](auto, auto value) {
              model::v1::ServiceUser service_user;
              if (!service_user.ParseFromArray(
                      value.data(), static_cast<int>(value.size()))) {
                decode_error =
                    absl::InternalError("undecodable service user record");
                return false;
              }
              for (const auto& id : service_user.permission_set_ids()) {
                if (id == permission_set_id) ++service_users;
              }
              return true;
            });
        if (!scanned.ok()) return scanned;
        if (!decode_error.ok()) return decode_error;
        if (users > 0 || service_users > 0) {
          return absl::FailedPreconditionError(absl::StrCat(
              "permission set ", permission_set_id, " is used by ", users,
              " user(s) and ", service_users,
              " service user(s); give them another permission set first"));
        }

        auto removed = store::Remove(txn, *set);
        if (!removed.ok()) return removed;
        txn.AddActivity(Activity(caller, "permission_set.delete",
                                 "permission_set", set->id(), set->name()));
        return absl::OkStatus();
      });
}

}  // namespace warden::directory
