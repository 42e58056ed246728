#include "libs/directory/directory_internal.h"

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "libs/ids/ids.h"

namespace warden::directory::internal {
namespace {

using store::Table;

// Matches the token registry's lifetime, so one key means the same
// everywhere.
constexpr absl::Duration kRequestIdLifetime = absl::Hours(24);

std::string RequestKey(const Caller& caller, const std::string& request_id) {
  return absl::StrCat(caller.organization_id(), "/", caller.subject_id(), "/",
                      request_id);
}

}  // namespace

std::string LastPart(std::string_view key) {
  size_t slash = key.rfind('/');
  return std::string(slash == std::string_view::npos ? key
                                                     : key.substr(slash + 1));
}

absl::Status NotFound(absl::string_view kind, absl::string_view id) {
  return absl::NotFoundError(absl::StrCat(
      kind, " ", id, " does not exist in the caller's organization"));
}

model::v1::ActivityEntry Activity(const Caller& caller,
                                  absl::string_view action,
                                  absl::string_view target_kind,
                                  absl::string_view target_id,
                                  absl::string_view target_name) {
  model::v1::ActivityEntry entry;
  entry.set_organization_id(caller.organization_id());
  *entry.mutable_actor() = tokens::ActorOf(caller);
  entry.set_action(std::string(action));
  entry.set_target_kind(std::string(target_kind));
  entry.set_target_id(std::string(target_id));
  entry.set_target_name(std::string(target_name));
  return entry;
}

absl::StatusOr<std::optional<std::string>> FindPriorCreate(
    store::ReadView& view, const Caller& caller, const std::string& request_id,
    std::string_view id_prefix, absl::Time now) {
  if (request_id.empty()) return std::nullopt;
  auto value = view.Get(Table::kRequests, RequestKey(caller, request_id));
  if (!value.ok()) return value.status();
  if (!value->has_value()) return std::nullopt;

  // "<created id>\n<unix seconds>", the token registry's format too.
  std::vector<std::string> parts = absl::StrSplit(**value, '\n');
  int64_t created_unix = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[1], &created_unix) ||
      now - absl::FromUnixSeconds(created_unix) > kRequestIdLifetime) {
    return std::nullopt;
  }
  const std::string expected = absl::StrCat(AsAbsl(id_prefix), "_");
  if (parts[0].compare(0, expected.size(), expected) != 0) {
    return absl::AlreadyExistsError(
        absl::StrCat("request_id was already used to create ", parts[0],
                     ", a different kind of record; use a new request_id"));
  }
  return parts[0];
}

void RememberCreate(store::WriteTxn& txn, const Caller& caller,
                    const std::string& request_id,
                    const std::string& created_id) {
  if (request_id.empty()) return;
  txn.Put(Table::kRequests, RequestKey(caller, request_id),
          absl::StrCat(created_id, "\n", absl::ToUnixSeconds(txn.now())));
}

absl::Status ScanPage(store::ReadView& view, store::Table table,
                      const std::string& prefix, const std::string& scope,
                      int page_size, const std::string& page_token,
                      const std::function<absl::StatusOr<bool>(
                          std::string_view key, std::string_view value)>& add,
                      std::string* next_page_token) {
  auto size = validation::PageSize(page_size, kDefaultPageSize, kMaxPageSize);
  if (!size.ok()) return size.status();
  auto start_after = validation::DecodePageToken(scope, page_token);
  if (!start_after.ok()) return start_after.status();
  // A token from another organization's listing cannot reach outside this
  // prefix, but would silently skip entries; reject it instead.
  if (!start_after->empty() &&
      start_after->compare(0, prefix.size(), prefix) != 0) {
    return absl::InvalidArgumentError(
        "page_token is not one this list returned; pass next_page_token "
        "from the previous response unchanged, or leave it empty");
  }

  int added = 0;
  std::string last_added;
  bool more = false;
  absl::Status failure;
  auto scanned =
      view.Scan(table, prefix, *start_after, [&](auto key, auto value) {
        if (added == *size) {
          more = true;
          return false;
        }
        auto kept = add(key, value);
        if (!kept.ok()) {
          failure = kept.status();
          return false;
        }
        if (*kept) {
          ++added;
          last_added.assign(key.data(), key.size());
        }
        return true;
      });
  if (!scanned.ok()) return scanned;
  if (!failure.ok()) return failure;
  next_page_token->clear();
  if (more) *next_page_token = validation::EncodePageToken(scope, last_added);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> IndexedIds(store::ReadView& view,
                                                    const std::string& prefix) {
  std::vector<std::string> result;
  auto scanned = view.Scan(Table::kIndex, prefix, "", [&](auto key, auto) {
    result.push_back(LastPart(key));
    return true;
  });
  if (!scanned.ok()) return scanned;
  return result;
}

absl::StatusOr<model::v1::PermissionCatalog> LoadCatalog(
    store::ReadView& view) {
  auto catalog = store::GetRecord<model::v1::PermissionCatalog>(
      view, Table::kCatalog, "catalog");
  if (!catalog.ok()) return catalog.status();
  if (!catalog->has_value()) {
    return absl::InternalError("no permission catalog is stored");
  }
  return **std::move(catalog);
}

absl::Status DeleteGrantsTo(store::WriteTxn& txn,
                            const std::string& grantee_org,
                            const std::string& grantee_id) {
  auto grant_ids = IndexedIds(
      txn, absl::StrCat("grant_to/", grantee_org, "/", grantee_id, "/"));
  if (!grant_ids.ok()) return grant_ids.status();

  // The index names only the grant, not the organization that made it. Most
  // grants are the grantee's own organization's; the others were shared
  // from another organization, found by trying each one.
  // TODO(directory): a grant_to value holding the grant's primary key would
  // make cross-organization lookups a single read; that is a store change.
  std::optional<std::vector<std::string>> orgs;
  for (const auto& grant_id : *grant_ids) {
    auto own = store::GetRecord<model::v1::Grant>(
        txn, Table::kGrants, store::OrgKey(grantee_org, grant_id));
    if (!own.ok()) return own.status();
    std::optional<model::v1::Grant> grant = *std::move(own);
    if (!grant.has_value()) {
      if (!orgs.has_value()) {
        orgs.emplace();
        auto scanned =
            txn.Scan(Table::kOrganizations, "", "", [&](auto key, auto) {
              orgs->emplace_back(key.data(), key.size());
              return true;
            });
        if (!scanned.ok()) return scanned;
      }
      for (const auto& org : *orgs) {
        if (org == grantee_org) continue;
        auto shared = store::GetRecord<model::v1::Grant>(
            txn, Table::kGrants, store::OrgKey(org, grant_id));
        if (!shared.ok()) return shared.status();
        if (shared->has_value()) {
          grant = **std::move(shared);
          break;
        }
      }
    }
    if (!grant.has_value()) {
      return absl::InternalError(absl::StrCat("index names grant ", grant_id,
                                              " that no organization holds"));
    }
    auto removed = store::Remove(txn, *grant);
    if (!removed.ok()) return removed;
  }
  return absl::OkStatus();
}

absl::StatusOr<model::v1::User> LoadMemberCandidate(store::ReadView& view,
                                                    const std::string& org,
                                                    const std::string& user_id,
                                                    absl::string_view what) {
  if (ids::IsValidId(user_id, ids::kServiceUser)) {
    return absl::InvalidArgumentError(
        absl::StrCat("service users cannot be members of ", what,
                     "; user_id must name a "
                     "user"));
  }
  auto user = Load<model::v1::User>(view, Table::kUsers, org, user_id,
                                    "user_id", ids::kUser, "user");
  if (!user.ok()) return user.status();
  if (user->status() == model::v1::USER_STATUS_REMOVED) {
    return absl::FailedPreconditionError(
        absl::StrCat("user ", user_id,
                     " was removed from the organization and cannot "
                     "join ",
                     what));
  }
  return user;
}

}  // namespace warden::directory::internal
