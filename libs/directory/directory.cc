// Organizations, the catalog, users and the activity log.
#include "libs/directory/directory.h"

#include "libs/catalog/catalog.h"
#include "libs/directory/directory_internal.h"
#include "libs/ids/ids.h"
#include "libs/store/records.h"
#include "libs/tokens/token_rules.h"
#include "libs/validation/validation.h"

namespace warden::directory {
namespace {

using internal::Activity;
using internal::Load;
using model::v1::User;
using store::Table;

constexpr int kMaxDisplayNameChars = 200;

// Checks the e-mail is free in the organization, case-insensitively.
absl::Status CheckEmailFree(store::ReadView& view, const std::string& org,
                            const std::string& email) {
  auto taken = view.Get(Table::kIndex, absl::StrCat("usr_email/", org, "/",
                                                    store::FoldCase(email)));
  if (!taken.ok()) return taken.status();
  if (taken->has_value()) {
    return absl::AlreadyExistsError(
        "a user with this e-mail already exists in the organization");
  }
  return absl::OkStatus();
}

// Loads a user for a status change, refusing the caller itself so that an
// admin cannot lock out the account doing the change.
absl::StatusOr<User> LoadForStatusChange(store::ReadView& view,
                                         const Caller& caller,
                                         const std::string& user_id,
                                         absl::string_view verb) {
  auto user = Load<User>(view, Table::kUsers, caller.organization_id(), user_id,
                         "user_id", ids::kUser, "user");
  if (!user.ok()) return user.status();
  if (caller.kind() == model::v1::SUBJECT_KIND_USER &&
      caller.subject_id() == user_id) {
    return absl::FailedPreconditionError(absl::StrCat(
        "a user cannot ", verb, " itself; ask another administrator"));
  }
  return user;
}

}  // namespace

Directory::Directory(store::Store* store, tokens::TokenRegistry* registry)
    : store_(store), registry_(registry) {}

absl::StatusOr<tokens::NewOrganization> Directory::CreateOrganization(
    const Caller& caller, const std::string& name,
    const std::string& admin_email, const std::string& admin_display_name) {
  auto allowed = tokens::RequirePermission(caller, catalog::kOrganizations,
                                           "creating organizations");
  if (!allowed.ok()) return allowed;
  auto view = store_->Read();
  auto catalog = internal::LoadCatalog(*view);
  if (!catalog.ok()) return catalog.status();
  return registry_->CreateOrganization(&caller, *catalog, name, admin_email,
                                       admin_display_name,
                                       /*operators=*/false);
}

absl::StatusOr<OrganizationSummary> Directory::GetOrganization(
    const Caller& caller) {
  auto view = store_->Read();
  auto org = store::GetRecord<model::v1::Organization>(
      *view, Table::kOrganizations, caller.organization_id());
  if (!org.ok()) return org.status();
  if (!org->has_value()) {
    return internal::NotFound("organization", caller.organization_id());
  }
  OrganizationSummary summary;
  summary.organization = **org;
  absl::Status decode_error;
  auto scanned = view->Scan(
      Table::kUsers, absl::StrCat(caller.organization_id(), "/"), "",
      [&](auto, auto value) {
        User user;
        if (!user.ParseFromArray(value.data(),
                                 static_cast<int>(value.size()))) {
          decode_error = absl::InternalError("undecodable user record");
          return false;
        }
        if (user.status() == model::v1::USER_STATUS_ACTIVE) {
          ++summary.seat_count;
        }
        return true;
      });
  if (!scanned.ok()) return scanned;
  if (!decode_error.ok()) return decode_error;
  return summary;
}

absl::StatusOr<model::v1::PermissionCatalog> Directory::GetPermissionCatalog(
    const Caller&) {
  auto view = store_->Read();
  return internal::LoadCatalog(*view);
}

absl::StatusOr<Written<User>> Directory::CreateUser(
    const Caller& caller, const std::string& email,
    const std::string& display_name, const std::string& permission_set_id,
    const std::string& request_id) {
  auto allowed =
      tokens::RequirePermission(caller, catalog::kUsers, "adding users");
  if (!allowed.ok()) return allowed;
  for (auto status :
       {validation::ValidateEmail("email", email),
        validation::ValidateName("display_name", display_name,
                                 kMaxDisplayNameChars),
        ids::ValidateId("permission_set_id", permission_set_id,
                        ids::kPermissionSet),
        validation::ValidateRequestId("request_id", request_id)}) {
    if (!status.ok()) return status;
  }

  Written<User> written;
  const std::string& org = caller.organization_id();
  auto revision =
      store_->Write("user.create", [&](store::WriteTxn& txn) -> absl::Status {
        auto replayed =
            internal::ReplayCreate(txn, Table::kUsers, caller, request_id,
                                   ids::kUser, &written.record);
        if (!replayed.ok()) return replayed.status();
        if (*replayed) return absl::OkStatus();

        auto set = Load<model::v1::PermissionSet>(
            txn, Table::kPermissionSets, org, permission_set_id,
            "permission_set_id", ids::kPermissionSet, "permission set");
        if (!set.ok()) return set.status();
        auto free = CheckEmailFree(txn, org, email);
        if (!free.ok()) return free;

        User& user = written.record;
        user.set_id(ids::NewId(ids::kUser));
        user.set_organization_id(org);
        user.set_email(email);
        user.set_display_name(display_name);
        user.set_status(model::v1::USER_STATUS_ACTIVE);
        user.set_permission_set_id(permission_set_id);
        *user.mutable_created_at() = tokens::ToProto(txn.now());
        auto put = store::Put(txn, user);
        if (!put.ok()) return put;
        internal::RememberCreate(txn, caller, request_id, user.id());
        txn.AddActivity(
            Activity(caller, "user.create", "user", user.id(), display_name));
        return absl::OkStatus();
      });
  if (!revision.ok()) return revision.status();
  written.revision = *revision;
  return written;
}

absl::StatusOr<User> Directory::GetUser(const Caller& caller,
                                        const std::string& user_id) {
  auto allowed =
      tokens::RequirePermission(caller, catalog::kUsers, "viewing users");
  if (!allowed.ok()) return allowed;
  auto view = store_->Read();
  return Load<User>(*view, Table::kUsers, caller.organization_id(), user_id,
                    "user_id", ids::kUser, "user");
}

absl::StatusOr<Page<User>> Directory::ListUsers(const Caller& caller,
                                                int page_size,
                                                const std::string& page_token,
                                                bool include_removed) {
  auto allowed =
      tokens::RequirePermission(caller, catalog::kUsers, "listing users");
  if (!allowed.ok()) return allowed;
  auto view = store_->Read();
  // Service users live in their own table, so they never show up here.
  return internal::ListRecords<User>(
      *view, Table::kUsers, absl::StrCat(caller.organization_id(), "/"),
      include_removed ? "users_all" : "users", page_size, page_token,
      [&](const User& user) {
        return include_removed ||
               user.status() != model::v1::USER_STATUS_REMOVED;
      });
}

absl::StatusOr<Written<User>> Directory::UpdateUser(const Caller& caller,
                                                    const std::string& user_id,
                                                    const UserEdit& edit) {
  auto allowed =
      tokens::RequirePermission(caller, catalog::kUsers, "changing users");
  if (!allowed.ok()) return allowed;
  if (!edit.display_name && !edit.email && !edit.permission_set_id) {
    return absl::InvalidArgumentError(
        "update_mask must name at least one of display_name, email, "
        "permission_set_id");
  }
  if (edit.display_name) {
    auto valid = validation::ValidateName("display_name", *edit.display_name,
                                          kMaxDisplayNameChars);
    if (!valid.ok()) return valid;
  }
  if (edit.email) {
    auto valid = validation::ValidateEmail("email", *edit.email);
    if (!valid.ok()) return valid;
  }
  if (edit.permission_set_id) {
    auto valid = ids::ValidateId("permission_set_id", *edit.permission_set_id,
                                 ids::kPermissionSet);
    if (!valid.ok()) return valid;
  }

  Written<User> written;
  const std::string& org = caller.organization_id();
  auto revision =
      store_->Write("user.update", [&](store::WriteTxn& txn) -> absl::Status {
        auto user = Load<User>(txn, Table::kUsers, org, user_id, "user_id",
                               ids::kUser, "user");
        if (!user.ok()) return user.status();
        if (user->status() == model::v1::USER_STATUS_REMOVED) {
          return absl::FailedPreconditionError(
              absl::StrCat("user ", user_id,
                           " was removed from the organization and can no "
                           "longer be changed"));
        }
        if (edit.email &&
            store::FoldCase(*edit.email) != store::FoldCase(user->email())) {
          auto free = CheckEmailFree(txn, org, *edit.email);
          if (!free.ok()) return free;
        }
        if (edit.permission_set_id) {
          auto set = Load<model::v1::PermissionSet>(
              txn, Table::kPermissionSets, org, *edit.permission_set_id,
              "permission_set_id", ids::kPermissionSet, "permission set");
          if (!set.ok()) return set.status();
          user->set_permission_set_id(*edit.permission_set_id);
        }
        if (edit.email) user->set_email(*edit.email);
        if (edit.display_name) user->set_display_name(*edit.display_name);
        auto put = store::Put(txn, *user);
        if (!put.ok()) return put;
        txn.AddActivity(Activity(caller, "user.update", "user", user->id(),
                                 user->display_name()));
        written.record = *std::move(user);
        return absl::OkStatus();
      });
  if (!revision.ok()) return revision.status();
  written.revision = *revision;
  return written;
}

absl::StatusOr<Written<User>> Directory::DeactivateUser(
    const Caller& caller, const std::string& user_id) {
  auto allowed =
      tokens::RequirePermission(caller, catalog::kUsers, "deactivating users");
  if (!allowed.ok()) return allowed;
  Written<User> written;
  auto revision = store_->Write(
      "user.deactivate", [&](store::WriteTxn& txn) -> absl::Status {
        auto user = LoadForStatusChange(txn, caller, user_id, "deactivate");
        if (!user.ok()) return user.status();
        if (user->status() != model::v1::USER_STATUS_ACTIVE) {
          return absl::FailedPreconditionError(
              absl::StrCat("user ", user_id,
                           " is not active; only active users can be "
                           "deactivated"));
        }
        user->set_status(model::v1::USER_STATUS_DEACTIVATED);
        for (auto status :
             {store::Put(txn, *user),
              tokens::EndUserTokens(txn, caller.organization_id(), user_id)}) {
          if (!status.ok()) return status;
        }
        txn.AddActivity(Activity(caller, "user.deactivate", "user", user->id(),
                                 user->display_name()));
        written.record = *std::move(user);
        return absl::OkStatus();
      });
  if (!revision.ok()) return revision.status();
  written.revision = *revision;
  return written;
}

absl::StatusOr<Written<User>> Directory::ReactivateUser(
    const Caller& caller, const std::string& user_id) {
  auto allowed =
      tokens::RequirePermission(caller, catalog::kUsers, "reactivating users");
  if (!allowed.ok()) return allowed;
  Written<User> written;
  auto revision = store_->Write(
      "user.reactivate", [&](store::WriteTxn& txn) -> absl::Status {
        auto user = Load<User>(txn, Table::kUsers, caller.organization_id(),
                               user_id, "user_id", ids::kUser, "user");
        if (!user.ok()) return user.status();
        if (user->status() != model::v1::USER_STATUS_DEACTIVATED) {
          return absl::FailedPreconditionError(
              absl::StrCat("user ", user_id,
                           " is not deactivated; only deactivated users "
                           "can be reactivated (removal is final)"));
        }
        // The user's old tokens stay ended: they stopped for good when the
        // user was deactivated.
        user->set_status(model::v1::USER_STATUS_ACTIVE);
        auto put = store::Put(txn, *user);
        if (!put.ok()) return put;
        txn.AddActivity(Activity(caller, "user.reactivate", "user", user->id(),
                                 user->display_name()));
        written.record = *std::move(user);
        return absl::OkStatus();
      });
  if (!revision.ok()) return revision.status();
  written.revision = *revision;
  return written;
}

absl::StatusOr<Written<User>> Directory::RemoveUser(
    const Caller& caller, const std::string& user_id) {
  auto allowed =
      tokens::RequirePermission(caller, catalog::kUsers, "removing users");
  if (!allowed.ok()) return allowed;
  Written<User> written;
  const std::string& org = caller.organization_id();
  auto revision =
      store_->Write("user.remove", [&](store::WriteTxn& txn) -> absl::Status {
        auto user = LoadForStatusChange(txn, caller, user_id, "remove");
        if (!user.ok()) return user.status();
        if (user->status() == model::v1::USER_STATUS_REMOVED) {
          return absl::FailedPreconditionError(
              absl::StrCat("user ", user_id, " was already removed"));
        }

        // The user record stays as a tombstone (activity and ended tokens name
        // it) but refers to nothing: no permission set, no memberships, no
        // grants.
        user->set_status(model::v1::USER_STATUS_REMOVED);
        user->clear_permission_set_id();
        for (auto status : {store::Put(txn, *user),
                            tokens::EndUserTokens(txn, org, user_id)}) {
          if (!status.ok()) return status;
        }
        for (const auto& [index, table] :
             {std::pair{"gm_user", Table::kGroupMembers},
              std::pair{"sm_user", Table::kSiteMembers}}) {
          auto containers = internal::IndexedIds(
              txn, absl::StrCat(index, "/", org, "/", user_id, "/"));
          if (!containers.ok()) return containers.status();
          for (const auto& container : *containers) {
            model::v1::Record record;
            if (table == Table::kGroupMembers) {
              auto* member = record.mutable_group_member();
              member->set_organization_id(org);
              member->set_group_id(container);
              member->set_user_id(user_id);
            } else {
              auto* member = record.mutable_site_member();
              member->set_organization_id(org);
              member->set_site_id(container);
              member->set_user_id(user_id);
            }
            auto removed = store::DeleteRecord(txn, record);
            if (!removed.ok()) return removed;
          }
        }
        auto grants = internal::DeleteGrantsTo(txn, org, user_id);
        if (!grants.ok()) return grants;
        txn.AddActivity(Activity(caller, "user.remove", "user", user->id(),
                                 user->display_name()));
        written.record = *std::move(user);
        return absl::OkStatus();
      });
  if (!revision.ok()) return revision.status();
  written.revision = *revision;
  return written;
}

absl::StatusOr<Page<model::v1::ActivityEntry>> Directory::ListActivity(
    const Caller& caller, int page_size, const std::string& page_token) {
  auto allowed = tokens::RequirePermission(caller, catalog::kActivityLog,
                                           "reading the activity log");
  if (!allowed.ok()) return allowed;
  auto view = store_->Read();
  // Keys sort newest first within the organization (see store.h).
  return internal::ListRecords<model::v1::ActivityEntry>(
      *view, Table::kActivity, absl::StrCat(caller.organization_id(), "/"),
      "activity", page_size, page_token);
}

}  // namespace warden::directory
