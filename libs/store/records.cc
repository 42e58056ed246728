#include "libs/store/records.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"

namespace warden::store {
namespace {

using model::v1::Record;
using model::v1::RecordChange;

// One secondary-index key and what it stores.
struct IndexEntry {
  std::string key;
  // The record's primary key for unique lookups; empty for listings.
  std::string value;
  bool unique = false;
};

// The id of whichever subject the grantee names; empty when none is set.
absl::string_view GranteeId(const model::v1::Grantee& to) {
  switch (to.grantee_case()) {
    case model::v1::Grantee::kUserId:
      return to.user_id();
    case model::v1::Grantee::kServiceUserId:
      return to.service_user_id();
    case model::v1::Grantee::kGroupId:
      return to.group_id();
    case model::v1::Grantee::kSiteId:
      return to.site_id();
    case model::v1::Grantee::kOrganizationId:
      return to.organization_id();
    case model::v1::Grantee::GRANTEE_NOT_SET:
      break;
  }
  return "";
}

std::vector<IndexEntry> IndexEntries(const Record& record) {
  std::vector<IndexEntry> entries;
  auto listing = [&](std::string key) {
    entries.push_back({std::move(key), "", false});
  };
  // Empty names are left out, so they neither collide nor can be looked up.
  auto lookup = [&](absl::string_view kind, absl::string_view org,
                    absl::string_view name) {
    if (name.empty()) return;
    std::string key = org.empty() ? absl::StrCat(kind, "/", name)
                                  : absl::StrCat(kind, "/", org, "/", name);
    entries.push_back({std::move(key), PrimaryKey(record), true});
  };

  switch (record.record_case()) {
    case Record::kToken: {
      const model::v1::Token& r = record.token();
      lookup("tok_digest", "", HexDigest(r.secret_digest()));
      listing(absl::StrCat("tok_subject/", r.organization_id(), "/",
                           r.subject_id(), "/", r.id()));
      listing(absl::StrCat("tok_kind/", r.organization_id(), "/",
                           static_cast<int>(r.kind()), "/", r.id()));
      break;
    }
    case Record::kServiceUser:
      lookup("svc_name", record.service_user().organization_id(),
             FoldCase(record.service_user().name()));
      break;
    case Record::kUser:
      lookup("usr_email", record.user().organization_id(),
             FoldCase(record.user().email()));
      break;
    case Record::kPermissionSet:
      lookup("pset_name", record.permission_set().organization_id(),
             FoldCase(record.permission_set().name()));
      break;
    case Record::kGroup:
      lookup("grp_name", record.group().organization_id(),
             FoldCase(record.group().name()));
      break;
    case Record::kGroupMember: {
      const model::v1::GroupMember& r = record.group_member();
      listing(absl::StrCat("gm_user/", r.organization_id(), "/", r.user_id(),
                           "/", r.group_id()));
      break;
    }
    case Record::kSite: {
      const model::v1::Site& r = record.site();
      std::string parent =
          r.parent_site_id().empty() ? "-" : r.parent_site_id();
      listing(absl::StrCat("site_parent/", r.organization_id(), "/", parent,
                           "/", r.id()));
      break;
    }
    case Record::kSiteMember: {
      const model::v1::SiteMember& r = record.site_member();
      listing(absl::StrCat("sm_user/", r.organization_id(), "/", r.user_id(),
                           "/", r.site_id()));
      break;
    }
    case Record::kItem: {
      const model::v1::Item& r = record.item();
      listing(absl::StrCat("item_type/", r.organization_id(), "/", r.type(),
                           "/", r.id()));
      if (!r.site_id().empty()) {
        listing(absl::StrCat("item_site/", r.organization_id(), "/",
                             r.site_id(), "/", r.id()));
      }
      break;
    }
    case Record::kGrant: {
      const model::v1::Grant& r = record.grant();
      if (r.has_item_id()) {
        listing(absl::StrCat("grant_item/", r.organization_id(), "/",
                             r.item_id(), "/", r.id()));
      } else if (r.has_item_type()) {
        listing(absl::StrCat("grant_rule/", r.organization_id(), "/",
                             r.item_type(), "/", r.id()));
      }
      const model::v1::Grantee& to = r.grantee();
      absl::string_view grantee_id = GranteeId(to);
      // Within one organization the grantee's organization may be left
      // unset; it is then the grant's own.
      absl::string_view grantee_org = to.grantee_organization_id().empty()
                                          ? r.organization_id()
                                          : to.grantee_organization_id();
      if (!grantee_id.empty()) {
        listing(absl::StrCat("grant_to/", grantee_org, "/", grantee_id, "/",
                             r.id()));
      }
      break;
    }
    case Record::kOrganization:
    case Record::kCatalog:
    case Record::RECORD_NOT_SET:
      break;
  }
  return entries;
}

// The ids that make up the keys of `record`; each must be non-empty and free
// of "/", or keys of different records could collide.
std::vector<absl::string_view> KeyIds(const Record& record) {
  switch (record.record_case()) {
    case Record::kOrganization:
      return {record.organization().id()};
    case Record::kPermissionSet:
      return {record.permission_set().organization_id(),
              record.permission_set().id()};
    case Record::kUser:
      return {record.user().organization_id(), record.user().id()};
    case Record::kServiceUser:
      return {record.service_user().organization_id(),
              record.service_user().id()};
    case Record::kToken: {
      const model::v1::Token& r = record.token();
      return {r.organization_id(), r.id(), r.subject_id()};
    }
    case Record::kGroup:
      return {record.group().organization_id(), record.group().id()};
    case Record::kGroupMember: {
      const model::v1::GroupMember& r = record.group_member();
      return {r.organization_id(), r.group_id(), r.user_id()};
    }
    case Record::kSite: {
      const model::v1::Site& r = record.site();
      if (r.parent_site_id().empty()) return {r.organization_id(), r.id()};
      return {r.organization_id(), r.id(), r.parent_site_id()};
    }
    case Record::kSiteMember: {
      const model::v1::SiteMember& r = record.site_member();
      return {r.organization_id(), r.site_id(), r.user_id()};
    }
    case Record::kItem: {
      const model::v1::Item& r = record.item();
      if (r.site_id().empty()) return {r.organization_id(), r.id(), r.type()};
      return {r.organization_id(), r.id(), r.type(), r.site_id()};
    }
    case Record::kGrant: {
      const model::v1::Grant& r = record.grant();
      absl::string_view target = r.has_item_id() ? r.item_id() : r.item_type();
      return {r.organization_id(), r.id(), target};
    }
    case Record::kCatalog:
    case Record::RECORD_NOT_SET:
      return {};
  }
  return {};
}

// The record's table name, for error messages.
std::string TableLabel(const Record& record) {
  return std::string(TableName(TableOf(record)));
}

absl::Status Validate(const Record& record) {
  if (record.record_case() == Record::RECORD_NOT_SET) {
    return absl::InvalidArgumentError("no record set");
  }
  for (absl::string_view id : KeyIds(record)) {
    if (id.empty() || absl::StrContains(id, '/')) {
      return absl::InvalidArgumentError(
          absl::StrCat("record in ", TableLabel(record),
                       " has an empty id or one holding '/': \"", id, "\""));
    }
  }
  return absl::OkStatus();
}

// The set member of `record`, which is what a record table stores. The
// oneof's case numbers are the field numbers, so reflection finds it
// without a switch over every type.
const google::protobuf::FieldDescriptor* SetField(const Record& record) {
  return Record::descriptor()->FindFieldByNumber(record.record_case());
}

std::string EncodeStored(const Record& record) {
  return record.GetReflection()
      ->GetMessage(record, SetField(record))
      .SerializeAsString();
}

// Decodes stored bytes as the same record type as `like`.
absl::StatusOr<Record> DecodeStored(const Record& like,
                                    const std::string& bytes) {
  Record out;
  google::protobuf::Message* message =
      out.GetReflection()->MutableMessage(&out, SetField(like));
  if (!message->ParseFromString(bytes)) {
    return absl::InternalError(absl::StrCat(
        "undecodable record in ", TableLabel(like), " at ", PrimaryKey(like)));
  }
  return out;
}

// The stored state of the record with the same primary key, if any.
absl::StatusOr<std::optional<Record>> ReadStored(WriteTxn& txn,
                                                 const Record& record) {
  absl::StatusOr<std::optional<std::string>> bytes =
      txn.Get(TableOf(record), PrimaryKey(record));
  if (!bytes.ok()) return bytes.status();
  if (!bytes->has_value()) return std::optional<Record>();
  absl::StatusOr<Record> stored = DecodeStored(record, **bytes);
  if (!stored.ok()) return stored.status();
  return std::optional<Record>(std::move(*stored));
}

void AddChange(WriteTxn& txn, model::v1::ChangeOperation operation,
               Record record) {
  RecordChange change;
  change.set_operation(operation);
  *change.mutable_record() = std::move(record);
  txn.AddChange(std::move(change));
}

bool Contains(const std::vector<IndexEntry>& entries, std::string_view key) {
  return std::any_of(entries.begin(), entries.end(),
                     [&](const IndexEntry& e) { return e.key == key; });
}

template <typename T>
Record WrapAs(const T& r, T* (Record::*member)()) {
  Record out;
  *(out.*member)() = r;
  return out;
}

}  // namespace

Table TableOf(const Record& record) {
  switch (record.record_case()) {
    case Record::kOrganization:
      return Table::kOrganizations;
    case Record::kPermissionSet:
      return Table::kPermissionSets;
    case Record::kUser:
      return Table::kUsers;
    case Record::kServiceUser:
      return Table::kServiceUsers;
    case Record::kToken:
      return Table::kTokens;
    case Record::kGroup:
      return Table::kGroups;
    case Record::kGroupMember:
      return Table::kGroupMembers;
    case Record::kSite:
      return Table::kSites;
    case Record::kSiteMember:
      return Table::kSiteMembers;
    case Record::kItem:
      return Table::kItems;
    case Record::kGrant:
      return Table::kGrants;
    case Record::kCatalog:
      return Table::kCatalog;
    case Record::RECORD_NOT_SET:
      break;
  }
  // Unreachable for callers that meet the contract; Validate rejects it
  // before any write.
  return Table::kMeta;
}

std::string PrimaryKey(const Record& record) {
  switch (record.record_case()) {
    case Record::kOrganization:
      return record.organization().id();
    case Record::kPermissionSet:
      return OrgKey(record.permission_set().organization_id(),
                    record.permission_set().id());
    case Record::kUser:
      return OrgKey(record.user().organization_id(), record.user().id());
    case Record::kServiceUser:
      return OrgKey(record.service_user().organization_id(),
                    record.service_user().id());
    case Record::kToken:
      return OrgKey(record.token().organization_id(), record.token().id());
    case Record::kGroup:
      return OrgKey(record.group().organization_id(), record.group().id());
    case Record::kGroupMember: {
      const model::v1::GroupMember& r = record.group_member();
      return absl::StrCat(r.organization_id(), "/", r.group_id(), "/",
                          r.user_id());
    }
    case Record::kSite:
      return OrgKey(record.site().organization_id(), record.site().id());
    case Record::kSiteMember: {
      const model::v1::SiteMember& r = record.site_member();
      return absl::StrCat(r.organization_id(), "/", r.site_id(), "/",
                          r.user_id());
    }
    case Record::kItem:
      return OrgKey(record.item().organization_id(), record.item().id());
    case Record::kGrant:
      return OrgKey(record.grant().organization_id(), record.grant().id());
    case Record::kCatalog:
      return "catalog";
    case Record::RECORD_NOT_SET:
      break;
  }
  return "";
}

Record Wrap(const model::v1::Organization& r) {
  return WrapAs(r, &Record::mutable_organization);
}
Record Wrap(const model::v1::PermissionSet& r) {
  return WrapAs(r, &Record::mutable_permission_set);
}
Record Wrap(const model::v1::User& r) {
  return WrapAs(r, &Record::mutable_user);
}
Record Wrap(const model::v1::ServiceUser& r) {
  return WrapAs(r, &Record::mutable_service_user);
}
Record Wrap(const model::v1::Token& r) {
  return WrapAs(r, &Record::mutable_token);
}
Record Wrap(const model::v1::Group& r) {
  return WrapAs(r, &Record::mutable_group);
}
Record Wrap(const model::v1::GroupMember& r) {
  return WrapAs(r, &Record::mutable_group_member);
}
Record Wrap(const model::v1::Site& r) {
  return WrapAs(r, &Record::mutable_site);
}
Record Wrap(const model::v1::SiteMember& r) {
  return WrapAs(r, &Record::mutable_site_member);
}
Record Wrap(const model::v1::Item& r) {
  return WrapAs(r, &Record::mutable_item);
}
Record Wrap(const model::v1::Grant& r) {
  return WrapAs(r, &Record::mutable_grant);
}
Record Wrap(const model::v1::PermissionCatalog& r) {
  return WrapAs(r, &Record::mutable_catalog);
}

std::vector<std::string> IndexKeys(const Record& record) {
  std::vector<std::string> keys;
  for (IndexEntry& entry : IndexEntries(record)) {
    keys.push_back(std::move(entry.key));
  }
  return keys;
}

absl::Status PutRecord(WriteTxn& txn, const Record& record) {
  absl::Status valid = Validate(record);
  if (!valid.ok()) return valid;
  std::string key = PrimaryKey(record);
  absl::StatusOr<std::optional<Record>> stored = ReadStored(txn, record);
  if (!stored.ok()) return stored.status();
  std::vector<IndexEntry> old_entries;
  if (stored->has_value()) old_entries = IndexEntries(**stored);
  std::vector<IndexEntry> new_entries = IndexEntries(record);

  // Check every unique key before writing anything, so a conflict leaves
  // the transaction as it was.
  for (const IndexEntry& entry : new_entries) {
    if (!entry.unique || Contains(old_entries, entry.key)) continue;
    absl::StatusOr<std::optional<std::string>> owner =
        txn.Get(Table::kIndex, entry.key);
    if (!owner.ok()) return owner.status();
    if (owner->has_value() && **owner != key) {
      return absl::AlreadyExistsError(
          absl::StrCat(entry.key.substr(0, entry.key.find('/')),
                       " is already taken by ", **owner));
    }
  }

  for (const IndexEntry& entry : old_entries) {
    if (!Contains(new_entries, entry.key)) txn.Delete(Table::kIndex, entry.key);
  }
  for (const IndexEntry& entry : new_entries) {
    if (!Contains(old_entries, entry.key)) {
      txn.Put(Table::kIndex, entry.key, entry.value);
    }
  }
  txn.Put(TableOf(record), key, EncodeStored(record));
  AddChange(txn, model::v1::CHANGE_OPERATION_UPSERT, record);
  return absl::OkStatus();
}

absl::Status DeleteRecord(WriteTxn& txn, const Record& record) {
  absl::Status valid = Validate(record);
  if (!valid.ok()) return valid;
  absl::StatusOr<std::optional<Record>> stored = ReadStored(txn, record);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) {
    return absl::NotFoundError(absl::StrCat("no record in ", TableLabel(record),
                                            " at ", PrimaryKey(record)));
  }

  // The stored state, not the caller's copy, says which keys exist.
  for (const IndexEntry& entry : IndexEntries(**stored)) {
    txn.Delete(Table::kIndex, entry.key);
  }
  txn.Delete(TableOf(record), PrimaryKey(record));
  AddChange(txn, model::v1::CHANGE_OPERATION_DELETE, std::move(**stored));
  return absl::OkStatus();
}

std::string OrgKey(std::string_view org_id, std::string_view id) {
  std::string key;
  key.reserve(org_id.size() + 1 + id.size());
  key.append(org_id).append("/").append(id);
  return key;
}

std::string FoldCase(std::string_view s) {
  std::string folded(s);
  absl::AsciiStrToLower(&folded);
  return folded;
}

std::string HexDigest(std::string_view digest) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(digest.size() * 2);
  for (unsigned char c : digest) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xf]);
  }
  return out;
}

}  // namespace warden::store
