// Sites, their tree and their members.
#include <algorithm>

#include "absl/strings/str_join.h"
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
using model::v1::Site;
using model::v1::SiteMember;
using store::Table;

constexpr int kMaxSiteNameChars = 200;
// Deeper trees are refused; it also bounds the walk up a corrupted tree.
constexpr int kMaxSiteDepth = 64;

std::string ChildrenPrefix(const std::string& org, const std::string& parent) {
  return absl::StrCat("site_parent/", org, "/", parent.empty() ? "-" : parent,
                      "/");
}

absl::StatusOr<Site> LoadSite(store::ReadView& view, const std::string& org,
                              const std::string& site_id,
                              std::string_view field = "site_id") {
  return Load<Site>(view, Table::kSites, org, site_id, field, ids::kSite,
                    "site");
}

// ALREADY_EXISTS when another child of `parent` (other than `except`) has
// `name`, case-insensitively. Siblings have no name index, so they are read.
absl::Status CheckSiblingNameFree(store::ReadView& view, const std::string& org,
                                  const std::string& parent,
                                  const std::string& name,
                                  const std::string& except) {
  auto siblings = internal::IndexedIds(view, ChildrenPrefix(org, parent));
  if (!siblings.ok()) return siblings.status();
  const std::string folded = store::FoldCase(name);
  for (const auto& id : *siblings) {
    if (id == except) continue;
    auto sibling = LoadSite(view, org, id);
    if (!sibling.ok()) return sibling.status();
    if (store::FoldCase(sibling->name()) == folded) {
      return absl::AlreadyExistsError(
          absl::StrCat("site ", id,
                       " under the same parent already has this name; "
                       "choose another name"));
    }
  }
  return absl::OkStatus();
}

// Checks that `site_id` may hang below `parent_id`: the parent is not the
// site itself nor below it, and the tree stays within kMaxSiteDepth.
absl::Status CheckNoCycle(store::ReadView& view, const std::string& org,
                          const std::string& site_id,
                          const std::string& parent_id) {
  if (parent_id == site_id) {
    return absl::InvalidArgumentError(
        absl::StrCat("site ", site_id, " cannot be its own parent"));
  }
  std::vector<std::string> path = {parent_id};
  std::string current = parent_id;
  while (true) {
    auto site = LoadSite(view, org, current, "parent_site_id");
    if (!site.ok()) return site.status();
    current = site->parent_site_id();
    if (current.empty()) return absl::OkStatus();
    path.push_back(current);
    if (current == site_id) {
      std::reverse(path.begin(), path.end());
      return absl::FailedPreconditionError(
          absl::StrCat("moving site ", site_id, " below ", parent_id,
                       " would make a cycle: ", absl::StrJoin(path, " -> "),
                       " -> ", site_id));
    }
    if (static_cast<int>(path.size()) >= kMaxSiteDepth) {
      return absl::FailedPreconditionError(
          absl::StrCat("sites can be nested at most ", kMaxSiteDepth, " deep"));
    }
  }
}

}  // namespace

absl::StatusOr<Written<Site>> Directory::CreateSite(
    const Caller& caller, const std::string& name,
    const std::string& parent_site_id, const std::string& request_id) {
  auto allowed =
      tokens::RequirePermission(caller, catalog::kGroups, "creating sites");
  if (!allowed.ok()) return allowed;
  for (auto status :
       {validation::ValidateName("name", name, kMaxSiteNameChars),
        validation::ValidateRequestId("request_id", request_id)}) {
    if (!status.ok()) return status;
  }
  if (!parent_site_id.empty()) {
    auto valid = ids::ValidateId("parent_site_id", parent_site_id, ids::kSite);
    if (!valid.ok()) return valid;
  }
  Written<Site> written;
  const std::string& org = caller.organization_id();
  auto revision =
      store_->Write("site.create", [&](store::WriteTxn& txn) -> absl::Status {
        auto replayed =
            internal::ReplayCreate(txn, Table::kSites, caller, request_id,
                                   ids::kSite, &written.record);
        if (!replayed.ok()) return replayed.status();
        if (*replayed) return absl::OkStatus();
        Site& site = written.record;
        site.set_id(ids::NewId(ids::kSite));
        if (!parent_site_id.empty()) {
          // A new site has no children, so only the depth can be wrong.
          auto fits = CheckNoCycle(txn, org, site.id(), parent_site_id);
          if (!fits.ok()) return fits;
        }
        auto free = CheckSiblingNameFree(txn, org, parent_site_id, name, "");
        if (!free.ok()) return free;
        site.set_organization_id(org);
        site.set_name(name);
        site.set_parent_site_id(parent_site_id);
        auto put = store::Put(txn, site);
        if (!put.ok()) return put;
        internal::RememberCreate(txn, caller, request_id, site.id());
        txn.AddActivity(
            Activity(caller, "site.create", "site", site.id(), name));
        return absl::OkStatus();
      });
  if (!revision.ok()) return revision.status();
  written.revision = *revision;
  return written;
}

absl::StatusOr<Site> Directory::GetSite(const Caller& caller,
                                        const std::string& site_id) {
  auto allowed =
      tokens::RequirePermission(caller, catalog::kGroups, "viewing sites");
  if (!allowed.ok()) return allowed;
  auto view = store_->Read();
  return LoadSite(*view, caller.organization_id(), site_id);
}

absl::StatusOr<Page<Site>> Directory::ListSites(const Caller& caller,
                                                int page_size,
                                                const std::string& page_token) {
  auto allowed =
      tokens::RequirePermission(caller, catalog::kGroups, "listing sites");
  if (!allowed.ok()) return allowed;
  auto view = store_->Read();
  return internal::ListRecords<Site>(
      *view, Table::kSites, absl::StrCat(caller.organization_id(), "/"),
      "sites", page_size, page_token);
}

absl::StatusOr<Written<Site>> Directory::UpdateSite(const Caller& caller,
                                                    const std::string& site_id,
                                                    const SiteEdit& edit) {
  auto allowed =
      tokens::RequirePermission(caller, catalog::kGroups, "changing sites");
  if (!allowed.ok()) return allowed;
  if (!edit.name && !edit.parent_site_id) {
    return absl::InvalidArgumentError(
        "update_mask must name at least one of name, parent_site_id");
  }
  if (edit.name) {
    auto valid =
        validation::ValidateName("name", *edit.name, kMaxSiteNameChars);
    if (!valid.ok()) return valid;
  }
  if (edit.parent_site_id && !edit.parent_site_id->empty()) {
    auto valid =
        ids::ValidateId("parent_site_id", *edit.parent_site_id, ids::kSite);
    if (!valid.ok()) return valid;
  }
  Written<Site> written;
  const std::string& org = caller.organization_id();
  auto revision =
      store_->Write("site.update", [&](store::WriteTxn& txn) -> absl::Status {
        auto site = LoadSite(txn, org, site_id);
        if (!site.ok()) return site.status();
        std::string parent =
            edit.parent_site_id.value_or(site->parent_site_id());
        std::string name = edit.name.value_or(site->name());
        if (edit.parent_site_id && !parent.empty()) {
          auto fits = CheckNoCycle(txn, org, site_id, parent);
          if (!fits.ok()) return fits;
        }
        auto free = CheckSiblingNameFree(txn, org, parent, name, site_id);
        if (!free.ok()) return free;
        site->set_parent_site_id(parent);
        site->set_name(name);
        auto put = store::Put(txn, *site);
        if (!put.ok()) return put;
        txn.AddActivity(Activity(caller, "site.update", "site", site_id, name));
        written.record = *std::move(site);
        return absl::OkStatus();
      });
  if (!revision.ok()) return revision.status();
  written.revision = *revision;
  return written;
}

absl::StatusOr<int64_t> Directory::DeleteSite(const Caller& caller,
                                              const std::string& site_id) {
  auto allowed =
      tokens::RequirePermission(caller, catalog::kGroups, "deleting sites");
  if (!allowed.ok()) return allowed;
  const std::string& org = caller.organization_id();
  return store_->Write(
      "site.delete", [&](store::WriteTxn& txn) -> absl::Status {
        auto site = LoadSite(txn, org, site_id);
        if (!site.ok()) return site.status();
        auto children = internal::IndexedIds(txn, ChildrenPrefix(org, site_id));
        if (!children.ok()) return children.status();
        if (!children->empty()) {
          return absl::FailedPreconditionError(
              absl::StrCat("site ", site_id, " has ", children->size(),
                           " child site(s); delete or move them first"));
        }

        // Items at the site stay, without a site.
        auto items = internal::IndexedIds(
            txn, absl::StrCat("item_site/", org, "/", site_id, "/"));
        if (!items.ok()) return items.status();
        for (const auto& item_id : *items) {
          auto item = Load<model::v1::Item>(txn, Table::kItems, org, item_id,
                                            "item_id", ids::kItem, "item");
          if (!item.ok()) return item.status();
          item->clear_site_id();
          auto put = store::Put(txn, *item);
          if (!put.ok()) return put;
        }
        for (auto status : {internal::DeleteAllUnder<SiteMember>(
                                txn, Table::kSiteMembers,
                                absl::StrCat(org, "/", site_id, "/")),
                            internal::DeleteGrantsTo(txn, org, site_id),
                            store::Remove(txn, *site)}) {
          if (!status.ok()) return status;
        }
        txn.AddActivity(
            Activity(caller, "site.delete", "site", site_id, site->name()));
        return absl::OkStatus();
      });
}

absl::StatusOr<Written<SiteMember>> Directory::AddSiteMember(
    const Caller& caller, const std::string& site_id,
    const std::string& user_id) {
  auto allowed = tokens::RequirePermission(caller, catalog::kGroups,
                                           "changing site members");
  if (!allowed.ok()) return allowed;
  Written<SiteMember> written;
  const std::string& org = caller.organization_id();
  auto revision = store_->Write(
      "site.add_member", [&](store::WriteTxn& txn) -> absl::Status {
        auto site = LoadSite(txn, org, site_id);
        if (!site.ok()) return site.status();
        auto user = internal::LoadMemberCandidate(txn, org, user_id, "sites");
        if (!user.ok()) return user.status();
        auto existing = txn.Get(Table::kSiteMembers,
                                absl::StrCat(org, "/", site_id, "/", user_id));
        if (!existing.ok()) return existing.status();
        if (existing->has_value()) {
          return absl::AlreadyExistsError(absl::StrCat(
              "user ", user_id, " is already a member of site ", site_id));
        }
        SiteMember& member = written.record;
        member.set_organization_id(org);
        member.set_site_id(site_id);
        member.set_user_id(user_id);
        auto put = store::Put(txn, member);
        if (!put.ok()) return put;
        txn.AddActivity(
            Activity(caller, "site.add_member", "site", site_id, site->name()));
        return absl::OkStatus();
      });
  if (!revision.ok()) return revision.status();
  written.revision = *revision;
  return written;
}

absl::StatusOr<int64_t> Directory::RemoveSiteMember(
    const Caller& caller, const std::string& site_id,
    const std::string& user_id) {
  auto allowed = tokens::RequirePermission(caller, catalog::kGroups,
                                           "changing site members");
  if (!allowed.ok()) return allowed;
  auto valid = ids::ValidateId("user_id", user_id, ids::kUser);
  if (!valid.ok()) return valid;
  const std::string& org = caller.organization_id();
  return store_->Write(
      "site.remove_member", [&](store::WriteTxn& txn) -> absl::Status {
        auto site = LoadSite(txn, org, site_id);
        if (!site.ok()) return site.status();
        auto member = store::GetRecord<SiteMember>(
            txn, Table::kSiteMembers,
            absl::StrCat(org, "/", site_id, "/", user_id));
        if (!member.ok()) return member.status();
        if (!member->has_value()) {
          return absl::NotFoundError(absl::StrCat(
              "user ", user_id, " is not a member of site ", site_id));
        }
        auto removed = store::Remove(txn, **member);
        if (!removed.ok()) return removed;
        txn.AddActivity(Activity(caller, "site.remove_member", "site", site_id,
                                 site->name()));
        return absl::OkStatus();
      });
}

absl::StatusOr<Page<SiteMember>> Directory::ListSiteMembers(
    const Caller& caller, const std::string& site_id, int page_size,
    const std::string& page_token) {
  auto allowed = tokens::RequirePermission(caller, catalog::kGroups,
                                           "listing site members");
  if (!allowed.ok()) return allowed;
  auto view = store_->Read();
  const std::string& org = caller.organization_id();
  auto site = LoadSite(*view, org, site_id);
  if (!site.ok()) return site.status();
  return internal::ListRecords<SiteMember>(
      *view, Table::kSiteMembers, absl::StrCat(org, "/", site_id, "/"),
      "site_members", page_size, page_token);
}

}  // namespace warden::directory
