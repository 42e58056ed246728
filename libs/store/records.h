#ifndef WARDEN_LIBS_STORE_RECORDS_H_
#define WARDEN_LIBS_STORE_RECORDS_H_

// Typed access to the record tables. PutRecord and DeleteRecord keep every
// secondary index of a record in step with it and add the change to the
// transaction's change record, so no caller can forget either.
//
// Primary keys (see Table) and secondary indexes (all in Table::kIndex; "/"
// separates parts, ids never contain "/"):
//   Token         "tok_digest/<hex digest>"         -> lookup by secret digest
//                 "tok_subject/<org>/<subject>/<token>"
//                 "tok_kind/<org>/<kind number>/<token>"
//   ServiceUser   "svc_name/<org>/<lowercased name>"
//   User          "usr_email/<org>/<lowercased email>"
//   PermissionSet "pset_name/<org>/<lowercased name>"
//   Group         "grp_name/<org>/<lowercased name>"
//   GroupMember   "gm_user/<org>/<user>/<group>"
//   Site          "site_parent/<org>/<parent or '-'>/<site>"
//   SiteMember    "sm_user/<org>/<user>/<site>"
//   Item          "item_type/<org>/<type>/<item>"
//                 "item_site/<org>/<site>/<item>"       (only when at a site)
//   Grant         "grant_item/<org>/<item>/<grant>"     (item grants)
//                 "grant_rule/<org>/<type>/<grant>"     (type-wide rules)
//                 "grant_to/<grantee org>/<grantee id>/<grant>"
// Two kinds of index:
//  - Unique lookups (tok_digest, svc_name, usr_email, pset_name, grp_name):
//    the value is the record's primary key, so "<org>/<token>" follows from
//    a digest alone. At most one record owns each such key; empty names,
//    emails and digests are not indexed.
//  - Listings (all others): the value is empty and the key's last part is the
//    record's own id, so a prefix scan yields ids in id order.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/store/store.h"
#include "warden/model/v1/model.pb.h"

namespace warden::store {

// The table and primary key of each record type.
// REQUIRES: a record is set (record.record_case() != RECORD_NOT_SET).
Table TableOf(const model::v1::Record& record);
std::string PrimaryKey(const model::v1::Record& record);

// Wraps a typed record into a Record.
model::v1::Record Wrap(const model::v1::Organization& r);
model::v1::Record Wrap(const model::v1::PermissionSet& r);
model::v1::Record Wrap(const model::v1::User& r);
model::v1::Record Wrap(const model::v1::ServiceUser& r);
model::v1::Record Wrap(const model::v1::Token& r);
model::v1::Record Wrap(const model::v1::Group& r);
model::v1::Record Wrap(const model::v1::GroupMember& r);
model::v1::Record Wrap(const model::v1::Site& r);
model::v1::Record Wrap(const model::v1::SiteMember& r);
model::v1::Record Wrap(const model::v1::Item& r);
model::v1::Record Wrap(const model::v1::Grant& r);
model::v1::Record Wrap(const model::v1::PermissionCatalog& r);

// Every secondary-index key of a record (see the list above).
std::vector<std::string> IndexKeys(const model::v1::Record& record);

// Creates or replaces a record: removes the index keys of the state it
// replaces, writes the new state and its index keys, and adds an UPSERT to
// the transaction's change record. Writes nothing and fails with
// INVALID_ARGUMENT when no record is set or an id is empty or holds "/", and
// with ALREADY_EXISTS when a unique lookup key (see above) belongs to another
// record.
absl::Status PutRecord(WriteTxn& txn, const model::v1::Record& record);

// Deletes a record: removes it and the index keys of its stored state and
// adds a DELETE holding that stored state to the change record. Only the
// primary key of `record` matters. NOT_FOUND if absent; INVALID_ARGUMENT as
// for PutRecord.
absl::Status DeleteRecord(WriteTxn& txn, const model::v1::Record& record);

// Reads and decodes one record. Returns nullopt when absent, INTERNAL when
// the stored bytes do not decode.
template <typename T>
absl::StatusOr<std::optional<T>> GetRecord(ReadView& view, Table table,
                                           std::string_view key) {
  auto bytes = view.Get(table, key);
  if (!bytes.ok()) return bytes.status();
  if (!bytes->has_value()) return std::optional<T>();
  T record;
  if (!record.ParseFromString(**bytes)) {
    return absl::InternalError(std::string("undecodable record in ") +
                               std::string(TableName(table)));
  }
  return std::optional<T>(std::move(record));
}

// Convenience wrappers.
template <typename T>
absl::Status Put(WriteTxn& txn, const T& record) {
  return PutRecord(txn, Wrap(record));
}
template <typename T>
absl::Status Remove(WriteTxn& txn, const T& record) {
  return DeleteRecord(txn, Wrap(record));
}

// "<org>/<id>", the primary key of org-scoped records.
std::string OrgKey(std::string_view org_id, std::string_view id);

// Lowercases ASCII letters, for case-insensitive unique names.
std::string FoldCase(std::string_view s);

// The hex encoding used in "tok_digest/" keys.
std::string HexDigest(std::string_view digest);

}  // namespace warden::store

#endif  // WARDEN_LIBS_STORE_RECORDS_H_
