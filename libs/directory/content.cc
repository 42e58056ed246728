// Items and the grants that share them.
#include <algorithm>

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
using model::v1::Grant;
using model::v1::Grantee;
using model::v1::Item;
using store::Table;

constexpr int kMaxItemNameChars = 200;

absl::Status CheckItemType(store::ReadView& view, const std::string& field,
                           const std::string& type) {
  if (type.empty()) return absl::InvalidArgumentError(field + " is required");
  auto catalog = internal::LoadCatalog(view);
  if (!catalog.ok()) return catalog.status();
  const auto& types = catalog->item_types();
  if (std::find(types.begin(), types.end(), type) == types.end()) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, " '", type, "' is not an item type of the permission catalog"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Item> LoadItem(store::ReadView& view, const std::string& org,
                              const std::string& item_id) {
  return Load<Item>(view, Table::kItems, org, item_id, "item_id", ids::kItem,
                    "item");
}

// Checks the grantee names something that exists in its organization and
// returns it with grantee_organization_id filled in.
absl::StatusOr<Grantee> ResolveGrantee(store::ReadView& view,
                                       const std::string& caller_org,
                                       const Grantee& requested) {
  Grantee grantee = requested;
  if (grantee.grantee_organization_id().empty()) {
    grantee.set_grantee_organization_id(caller_org);
  }
  const std::string org = grantee.grantee_organization_id();
  auto valid = ids::ValidateId("grantee.grantee_organization_id", org,
                               ids::kOrganization);
  if (!valid.ok()) return valid;
  auto org_record = store::GetRecord<model::v1::Organization>(
      view, Table::kOrganizations, org);
  if (!org_record.ok()) return org_record.status();
  if (!org_record->has_value()) {
    return absl::NotFoundError(
        absl::StrCat("organization ", org, " does not exist"));
  }

  auto missing = [&](absl::string_view kind, const std::string& id) {
    return absl::NotFoundError(
        absl::StrCat(kind, " ", id, " does not exist in organization ", org));
  };
  auto exists = [&](Table table, std::string_view field,
                    std::string_view prefix, absl::string_view kind,
                    const std::string& id) -> absl::Status {
    auto valid_id = ids::ValidateId(field, id, prefix);
    if (!valid_id.ok()) return valid_id;
    auto found = view.Get(table, store::OrgKey(org, id));
    if (!found.ok()) return found.status();
    if (!found->has_value()) return missing(kind, id);
    return absl::OkStatus();
  };

  switch (grantee.grantee_case()) {
    case Grantee::kUserId: {
      auto valid_id =
          ids::ValidateId("grantee.user_id", grantee.user_id(), ids::kUser);
      if (!valid_id.ok()) return valid_id;
      auto user = store::GetRecord<model::v1::User>(
          view, Table::kUsers, store::OrgKey(org, grantee.user_id()));
      if (!user.ok()) return user.status();
      if (!user->has_value()) return missing("user", grantee.user_id());
      if ((*user)->status() == model::v1::USER_STATUS_REMOVED) {
        return absl::FailedPreconditionError(
            absl::StrCat("user ", grantee.user_id(),
                         " was removed and cannot be given "
                         "access"));
      }
      return grantee;
    }
    case Grantee::kServiceUserId: {
      auto found =
          exists(Table::kServiceUsers, "grantee.service_user_id",
                 ids::kServiceUser, "service user", grantee.service_user_id());
      if (!found.ok()) return found;
      return grantee;
    }
    case Grantee::kGroupId: {
      auto found = exists(Table::kGroups, "grantee.group_id", ids::kGroup,
                          "group", grantee.group_id());
      if (!found.ok()) return found;
      return grantee;
    }
    case Grantee::kSiteId: {
      auto found = exists(Table::kSites, "grantee.site_id", ids::kSite, "site",
                          grantee.site_id());
      if (!found.ok()) return found;
      return grantee;
    }
    case Grantee::kOrganizationId:
      if (grantee.organization_id() != org) {
        return absl::InvalidArgumentError(
            "grantee.organization_id must equal "
            "grantee.grantee_organization_id (or leave the latter empty)");
      }
      return grantee;
    case Grantee::GRANTEE_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError(
      "grantee must name one of user_id, service_user_id, group_id, site_id, "
      "organization_id");
}

// The index prefix of the grants on one item or one item type.
std::string TargetPrefix(const std::string& org, const GrantTarget& target) {
  return target.item_id.empty()
             ? absl::StrCat("grant_rule/", org, "/", target.item_type, "/")
             : absl::StrCat("grant_item/", org, "/", target.item_id, "/");
}

// Checks exactly one of item_id and item_type is set and names something of
// the organization.
absl::Status CheckTarget(store::ReadView& view, const std::string& org,
                         const GrantTarget& target) {
  if (target.item_id.empty() == target.item_type.empty()) {
    return absl::InvalidArgumentError(
        "set exactly one of item_id (one item) and item_type (a rule over "
        "every item of the type)");
  }
  if (!target.item_id.empty())
    return LoadItem(view, org, target.item_id).status();
  return CheckItemType(view, "item_type", target.item_type);
}

}  // namespace

absl::StatusOr<Written<Item>> Directory::CreateItem(
    const Caller& caller, const std::string& type, const std::string& name,
    const std::string& site_id, const std::string& request_id) {
  auto allowed =
      tokens::RequirePermission(caller, catalog::kContent, "registering items");
  if (!allowed.ok()) return allowed;
  for (auto status :
       {validation::ValidateName("name", name, kMaxItemNameChars),
        validation::ValidateRequestId("request_id", request_id)}) {
    if (!status.ok()) return status;
  }
  if (!site_id.empty()) {
    auto valid = ids::ValidateId("site_id", site_id, ids::kSite);
    if (!valid.ok()) return valid;
  }
  Written<Item> written;
  const std::string& org = caller.organization_id();
  auto revision =
      store_->Write("item.create", [&](store::WriteTxn& txn) -> absl::Status {
        auto replayed =
            internal::ReplayCreate(txn, Table::kItems, caller, request_id,
                                   ids::kItem, &written.record);
        if (!replayed.ok()) return replayed.status();
        if (*replayed) return absl::OkStatus();
        auto typed = CheckItemType(txn, "type", type);
        if (!typed.ok()) return typed;
        if (!site_id.empty()) {
          auto site = Load<model::v1::Site>(txn, Table::kSites, org, site_id,
                                            "site_id", ids::kSite, "site");
          if (!site.ok()) return site.status();
        }
        Item& item = written.record;
        item.set_id(ids::NewId(ids::kItem));
        item.set_organization_id(org);
        item.set_type(type);
        item.set_name(name);
        item.set_site_id(site_id);
        auto put = store::Put(txn, item);
        if (!put.ok()) return put;
        internal::RememberCreate(txn, caller, request_id, item.id());
        txn.AddActivity(
            Activity(caller, "item.create", "item", item.id(), name));
        return absl::OkStatus();
      });
  if (!revision.ok()) return revision.status();
  written.revision = *revision;
  return written;
}

absl::StatusOr<Item> Directory::GetItem(const Caller& caller,
                                        const std::string& item_id) {
  auto allowed =
      tokens::RequirePermission(caller, catalog::kContent, "viewing items");
  if (!allowed.ok()) return allowed;
  auto view = store_->Read();
  return LoadItem(*view, caller.organization_id(), item_id);
}

absl::StatusOr<Page<Item>> Directory::ListItems(const Caller& caller,
                                                const std::string& type,
                                                int page_size,
                                                const std::string& page_token) {
  auto allowed =
      tokens::RequirePermission(caller, catalog::kContent, "listing items");
  if (!allowed.ok()) return allowed;
  auto view = store_->Read();
  auto typed = CheckItemType(*view, "type", type);
  if (!typed.ok()) return typed;
  const std::string& org = caller.organization_id();
  return internal::ListIndexed<Item>(
      *view, absl::StrCat("item_type/", org, "/", type, "/"), Table::kItems,
      org, "items", page_size, page_token);
}

absl::StatusOr<Written<Item>> Directory::UpdateItem(const Caller& caller,
                                                    const std::string& item_id,
                                                    const ItemEdit& edit) {
  auto allowed =
      tokens::RequirePermission(caller, catalog::kContent, "changing items");
  if (!allowed.ok()) return allowed;
  if (!edit.name && !edit.site_id) {
    return absl::InvalidArgumentError(
        "update_mask must name at least one of name, site_id");
  }
  if (edit.name) {
    auto valid =
        validation::ValidateName("name", *edit.name, kMaxItemNameChars);
    if (!valid.ok()) return valid;
  }
  if (edit.site_id && !edit.site_id->empty()) {
    auto valid = ids::ValidateId("site_id", *edit.site_id, ids::kSite);
    if (!valid.ok()) return valid;
  }
  Written<Item> written;
  const std::string& org = caller.organization_id();
  auto revision =
      store_->Write("item.update", [&](store::WriteTxn& txn) -> absl::Status {
        auto item = LoadItem(txn, org, item_id);
        if (!item.ok()) return item.status();
        if (edit.site_id && !edit.site_id->empty()) {
          auto site =
              Load<model::v1::Site>(txn, Table::kSites, org, *edit.site_id,
                                    "site_id", ids::kSite, "site");
          if (!site.ok()) return site.status();
        }
        if (edit.site_id) item->set_site_id(*edit.site_id);
        if (edit.name) item->set_name(*edit.name);
        auto put = store::Put(txn, *item);
        if (!put.ok()) return put;
        txn.AddActivity(
            Activity(caller, "item.update", "item", item_id, item->name()));
        written.record = *std::move(item);
        return absl::OkStatus();
      });
  if (!revision.ok()) return revision.status();
  written.revision = *revision;
  return written;
}

absl::StatusOr<int64_t> Directory::DeleteItem(const Caller& caller,
                                              const std::string& item_id) {
  auto allowed =
      tokens::RequirePermission(caller, catalog::kContent, "deleting items");
  if (!allowed.ok()) return allowed;
  const std::string& org = caller.organization_id();
  return store_->Write(
      "item.delete", [&](store::WriteTxn& txn) -> absl::Status {
        auto item = LoadItem(txn, org, item_id);
        if (!item.ok()) return item.status();
        auto grant_ids = internal::IndexedIds(
            txn, absl::StrCat("grant_item/", org, "/", item_id, "/"));
        if (!grant_ids.ok()) return grant_ids.status();
        for (const auto& grant_id : *grant_ids) {
          auto grant = Load<Grant>(txn, Table::kGrants, org, grant_id,
                                   "grant_id", ids::kGrant, "grant");
          if (!grant.ok()) return grant.status();
          auto removed = store::Remove(txn, *grant);
          if (!removed.ok()) return removed;
        }
        auto removed = store::Remove(txn, *item);
        if (!removed.ok()) return removed;
        txn.AddActivity(
            Activity(caller, "item.delete", "item", item_id, item->name()));
        return absl::OkStatus();
      });
}

absl::StatusOr<Written<Grant>> Directory::CreateGrant(
    const Caller& caller, const GrantTarget& target, const Grantee& grantee,
    model::v1::AccessLevel level, const std::string& request_id) {
  auto allowed =
      tokens::RequirePermission(caller, catalog::kContent, "sharing items");
  if (!allowed.ok()) return allowed;
  if (level != model::v1::ACCESS_LEVEL_VIEW &&
      level != model::v1::ACCESS_LEVEL_EDIT &&
      level != model::v1::ACCESS_LEVEL_MANAGE) {
    return absl::InvalidArgumentError(
        "level must be ACCESS_LEVEL_VIEW, ACCESS_LEVEL_EDIT or "
        "ACCESS_LEVEL_MANAGE");
  }
  auto valid = validation::ValidateRequestId("request_id", request_id);
  if (!valid.ok()) return valid;

  Written<Grant> written;
  const std::string& org = caller.organization_id();
  auto revision =
      store_->Write("grant.create", [&](store::WriteTxn& txn) -> absl::Status {
        auto replayed =
            internal::ReplayCreate(txn, Table::kGrants, caller, request_id,
                                   ids::kGrant, &written.record);
        if (!replayed.ok()) return replayed.status();
        if (*replayed) return absl::OkStatus();
        auto target_ok = CheckTarget(txn, org, target);
        if (!target_ok.ok()) return target_ok;
        auto resolved = ResolveGrantee(txn, org, grantee);
        if (!resolved.ok()) return resolved.status();

        // One grant per target and grantee, so changing a level is a visible
        // delete and create rather than two grants that disagree.
        auto existing = internal::IndexedIds(txn, TargetPrefix(org, target));
        if (!existing.ok()) return existing.status();
        for (const auto& id : *existing) {
          auto other = store::GetRecord<Grant>(txn, Table::kGrants,
                                               store::OrgKey(org, id));
          if (!other.ok()) return other.status();
          if (other->has_value() && (*other)->grantee().SerializeAsString() ==
                                        resolved->SerializeAsString()) {
            return absl::AlreadyExistsError(
                absl::StrCat("grant ", id,
                             " already gives this grantee access to this "
                             "target; delete it first to change the level"));
          }
        }

        Grant& grant = written.record;
        grant.set_id(ids::NewId(ids::kGrant));
        grant.set_organization_id(org);
        if (!target.item_id.empty()) {
          grant.set_item_id(target.item_id);
        } else {
          grant.set_item_type(target.item_type);
        }
        *grant.mutable_grantee() = *resolved;
        grant.set_level(level);
        auto put = store::Put(txn, grant);
        if (!put.ok()) return put;
        internal::RememberCreate(txn, caller, request_id, grant.id());
        txn.AddActivity(Activity(
            caller, "grant.create", "grant", grant.id(),
            target.item_id.empty() ? target.item_type : target.item_id));
        return absl::OkStatus();
      });
  if (!revision.ok()) return revision.status();
  written.revision = *revision;
  return written;
}

absl::StatusOr<Grant> Directory::GetGrant(const Caller& caller,
                                          const std::string& grant_id) {
  auto allowed =
      tokens::RequirePermission(caller, catalog::kContent, "viewing grants");
  if (!allowed.ok()) return allowed;
  auto view = store_->Read();
  return Load<Grant>(*view, Table::kGrants, caller.organization_id(), grant_id,
                     "grant_id", ids::kGrant, "grant");
}

absl::StatusOr<Page<Grant>> Directory::ListGrants(
    const Caller& caller, const GrantTarget& target, int page_size,
    const std::string& page_token) {
  auto allowed =
      tokens::RequirePermission(caller, catalog::kContent, "listing grants");
  if (!allowed.ok()) return allowed;
  auto view = store_->Read();
  const std::string& org = caller.organization_id();
  auto target_ok = CheckTarget(*view, org, target);
  if (!target_ok.ok()) return target_ok;
  return internal::ListIndexed<Grant>(*view, TargetPrefix(org, target),
                                      Table::kGrants, org, "grants", page_size,
                                      page_token);
}

absl::StatusOr<int64_t> Directory::DeleteGrant(const Caller& caller,
                                               const std::string& grant_id) {
  auto allowed =
      tokens::RequirePermission(caller, catalog::kContent, "deleting grants");
  if (!allowed.ok()) return allowed;
  const std::string& org = caller.organization_id();
  return store_->Write(
      "grant.delete", [&](store::WriteTxn& txn) -> absl::Status {
        auto grant = Load<Grant>(txn, Table::kGrants, org, grant_id, "grant_id",
                                 ids::kGrant, "grant");
        if (!grant.ok()) return grant.status();
        auto removed = store::Remove(txn, *grant);
        if (!removed.ok()) return removed;
        txn.AddActivity(Activity(
            caller, "grant.delete", "grant", grant_id,
            grant->has_item_id() ? grant->item_id() : grant->item_type()));
        return absl::OkStatus();
      });
}

}  // namespace warden::directory
