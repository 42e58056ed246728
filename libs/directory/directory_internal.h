#ifndef WARDEN_LIBS_DIRECTORY_DIRECTORY_INTERNAL_H_
#define WARDEN_LIBS_DIRECTORY_DIRECTORY_INTERNAL_H_

// Pieces shared by the directory's operations: loading org-scoped records,
// paging, idempotent creates, activity entries and the deletions that keep
// references whole. Not part of the library's API.

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "libs/directory/directory.h"
#include "libs/ids/ids.h"
#include "libs/store/records.h"
#include "libs/validation/validation.h"

namespace warden::directory::internal {

inline constexpr int kDefaultPageSize = 50;
inline constexpr int kMaxPageSize = 500;

// std::string_view from the store, as absl wants it.
inline absl::string_view AsAbsl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

// The last "/"-separated part of a key: the record's id in listing indexes.
std::string LastPart(std::string_view key);

// NOT_FOUND for a record missing from the caller's organization.
absl::Status NotFound(absl::string_view kind, absl::string_view id);

// Validates `id` (field `field`, prefix `prefix`) and loads the record of
// `table` under "<org>/<id>"; NOT_FOUND naming `kind` when absent.
template <typename T>
absl::StatusOr<T> Load(store::ReadView& view, store::Table table,
                       const std::string& org, const std::string& id,
                       std::string_view field, std::string_view prefix,
                       absl::string_view kind);

// An activity entry of the caller's organization.
model::v1::ActivityEntry Activity(const Caller& caller,
                                  absl::string_view action,
                                  absl::string_view target_kind,
                                  absl::string_view target_id,
                                  absl::string_view target_name);

// Idempotent creates. FindPriorCreate returns the id an earlier create by
// the same caller with `request_id` made, or nullopt when `request_id` is
// empty, unused or older than its 24-hour lifetime. ALREADY_EXISTS when the
// earlier request made a record of another kind than `id_prefix`.
absl::StatusOr<std::optional<std::string>> FindPriorCreate(
    store::ReadView& view, const Caller& caller, const std::string& request_id,
    std::string_view id_prefix, absl::Time now);
void RememberCreate(store::WriteTxn& txn, const Caller& caller,
                    const std::string& request_id,
                    const std::string& created_id);

// Looks for an earlier create with `request_id`; when there was one, loads
// what it created into *out and returns true. ALREADY_EXISTS when that
// record no longer exists.
template <typename T>
absl::StatusOr<bool> ReplayCreate(store::WriteTxn& txn, store::Table table,
                                  const Caller& caller,
                                  const std::string& request_id,
                                  std::string_view id_prefix, T* out) {
  auto prior = FindPriorCreate(txn, caller, request_id, id_prefix, txn.now());
  if (!prior.ok()) return prior.status();
  if (!prior->has_value()) return false;
  auto record = store::GetRecord<T>(
      txn, table, store::OrgKey(caller.organization_id(), **prior));
  if (!record.ok()) return record.status();
  if (!record->has_value()) {
    return absl::AlreadyExistsError(
        absl::StrCat("request_id was already used to create ", **prior,
                     ", which has since been deleted; use a new request_id"));
  }
  *out = **std::move(record);
  return true;
}

// Pages through the keys under `prefix` of `table`. `add` decodes one entry
// into the page and returns false to leave it out (a filter); a page ends
// after `page_size` entries were added. `scope` ties page tokens to the list
// that made them.
absl::Status ScanPage(store::ReadView& view, store::Table table,
                      const std::string& prefix, const std::string& scope,
                      int page_size, const std::string& page_token,
                      const std::function<absl::StatusOr<bool>(
                          std::string_view key, std::string_view value)>& add,
                      std::string* next_page_token);

// Pages through records stored directly in `table` under "<org>/...".
template <typename T>
absl::StatusOr<Page<T>> ListRecords(
    store::ReadView& view, store::Table table, const std::string& prefix,
    const std::string& scope, int page_size, const std::string& page_token,
    const std::function<bool(const T&)>& keep = nullptr) {
  Page<T> page;
  auto status = ScanPage(
      view, table, prefix, scope, page_size, page_token,
      [&](std::string_view, std::string_view value) -> absl::StatusOr<bool> {
        T record;
        if (!record.ParseFromArray(value.data(),
                                   static_cast<int>(value.size()))) {
          return absl::InternalError("undecodable record in a listing");
        }
        if (keep && !keep(record)) return false;
        page.records.push_back(std::move(record));
        return true;
      },
      &page.next_page_token);
  if (!status.ok()) return status;
  return page;
}

// Pages through the records a listing index names: every key under
// `index_prefix` ends in an id, loaded from `table` as "<org>/<id>".
template <typename T>
absl::StatusOr<Page<T>> ListIndexed(store::ReadView& view,
                                    const std::string& index_prefix,
                                    store::Table table, const std::string& org,
                                    const std::string& scope, int page_size,
                                    const std::string& page_token) {
  Page<T> page;
  auto status = ScanPage(
      view, store::Table::kIndex, index_prefix, scope, page_size, page_token,
      [&](std::string_view key, std::string_view) -> absl::StatusOr<bool> {
        auto record =
            store::GetRecord<T>(view, table, store::OrgKey(org, LastPart(key)));
        if (!record.ok()) return record.status();
        if (!record->has_value()) return false;
        page.records.push_back(**std::move(record));
        return true;
      },
      &page.next_page_token);
  if (!status.ok()) return status;
  return page;
}

// The ids at the end of every key under `prefix` in the index.
absl::StatusOr<std::vector<std::string>> IndexedIds(store::ReadView& view,
                                                    const std::string& prefix);

// The stored permission catalog; INTERNAL if none is stored.
absl::StatusOr<model::v1::PermissionCatalog> LoadCatalog(store::ReadView& view);

// Deletes every grant, of any organization, whose grantee is `grantee_id`
// of organization `grantee_org`.
absl::Status DeleteGrantsTo(store::WriteTxn& txn,
                            const std::string& grantee_org,
                            const std::string& grantee_id);

// Deletes every record of `table` whose key starts with `prefix` (for
// memberships, "<org>/<group or site>/").
template <typename T>
absl::Status DeleteAllUnder(store::WriteTxn& txn, store::Table table,
                            const std::string& prefix);

// Loads a user of `org` who may join a group or site: INVALID_ARGUMENT for a
// service user id, NOT_FOUND if absent, FAILED_PRECONDITION if removed.
absl::StatusOr<model::v1::User> LoadMemberCandidate(store::ReadView& view,
                                                    const std::string& org,
                                                    const std::string& user_id,
                                                    absl::string_view what);

// --- template definitions ---

template <typename T>
absl::StatusOr<T> Load(store::ReadView& view, store::Table table,
                       const std::string& org, const std::string& id,
                       std::string_view field, std::string_view prefix,
                       absl::string_view kind) {
  auto valid = ids::ValidateId(field, id, prefix);
  if (!valid.ok()) return valid;
  auto record = store::GetRecord<T>(view, table, store::OrgKey(org, id));
  if (!record.ok()) return record.status();
  if (!record->has_value()) return NotFound(kind, id);
  return **std::move(record);
}

template <typename T>
absl::Status DeleteAllUnder(store::WriteTxn& txn, store::Table table,
                            const std::string& prefix) {
  std::vector<T> records;
  absl::Status decode_error;
  auto scanned = txn.Scan(table, prefix, "", [&](auto, auto value) {
    T record;
    if (!record.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      decode_error = absl::InternalError("undecodable membership record");
      return false;
    }
    records.push_back(std::move(record));
    return true;
  });
  if (!scanned.ok()) return scanned;
  if (!decode_error.ok()) return decode_error;
  for (const auto& record : records) {
    auto removed = store::Remove(txn, record);
    if (!removed.ok()) return removed;
  }
  return absl::OkStatus();
}

}  // namespace warden::directory::internal

#endif  // WARDEN_LIBS_DIRECTORY_DIRECTORY_INTERNAL_H_
