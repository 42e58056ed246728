#include "libs/store/records.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace warden::store {
namespace {

using model::v1::Record;
using model::v1::RecordChange;

// An in-memory transaction, so these tests pin down records.cc alone.
class MemoryTxn : public WriteTxn {
 public:
  absl::StatusOr<std::optional<std::string>> Get(
      Table table, std::string_view key) override {
    auto it = rows_.find({table, std::string(key)});
    if (it == rows_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }

  absl::Status Scan(Table table, std::string_view prefix,
                    std::string_view start_after, const ScanFn& fn) override {
    for (const auto& [id, value] : rows_) {
      const auto& [row_table, key] = id;
      if (row_table != table || !key.starts_with(prefix)) continue;
      if (!start_after.empty() && key <= start_after) continue;
      if (!fn(key, value)) break;
    }
    return absl::OkStatus();
  }

  int64_t revision() const override { return 0; }

  void Put(Table table, std::string_view key, std::string_view value) override {
    rows_[{table, std::string(key)}] = std::string(value);
  }

  void Delete(Table table, std::string_view key) override {
    rows_.erase({table, std::string(key)});
  }

  void AddChange(RecordChange change) override {
    changes_.push_back(std::move(change));
  }

  void AddActivity(model::v1::ActivityEntry) override {}
  int64_t commit_revision() const override { return 1; }
  absl::Time now() const override { return absl::UnixEpoch(); }

  // The keys of one table, in order.
  std::vector<std::string> Keys(Table table) const {
    std::vector<std::string> keys;
    for (const auto& [id, value] : rows_) {
      if (id.first == table) keys.push_back(id.second);
    }
    return keys;
  }

  const std::vector<RecordChange>& changes() const { return changes_; }

 private:
  std::map<std::pair<Table, std::string>, std::string> rows_;
  std::vector<RecordChange> changes_;
};

// Expected keys, spelled as a list.
std::vector<std::string> Keys(std::vector<std::string> keys) { return keys; }

// A message from its text form, to keep test records short.
template <typename T>
T Parse(const std::string& text) {
  T message;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &message))
      << text;
  return message;
}

model::v1::Token MakeToken(std::string digest) {
  model::v1::Token token;
  token.set_id("tok_1");
  token.set_organization_id("org_a");
  token.set_subject_id("usr_1");
  token.set_kind(model::v1::TOKEN_KIND_USER);
  token.set_secret_digest(std::move(digest));
  return token;
}

// Tables and primary keys follow the layout store.h documents.
TEST(RecordsTest, PrimaryKeysFollowTheDocumentedLayout) {
  Record token = Wrap(MakeToken("\x01\xab"));
  EXPECT_EQ(TableOf(token), Table::kTokens);
  EXPECT_EQ(PrimaryKey(token), "org_a/tok_1");

  Record member = Parse<Record>(R"pb(group_member {
                                       organization_id: "org_a"
                                       group_id: "grp_1"
                                       user_id: "usr_1"
                                     })pb");
  EXPECT_EQ(TableOf(member), Table::kGroupMembers);
  EXPECT_EQ(PrimaryKey(member), "org_a/grp_1/usr_1");

  Record catalog = Wrap(model::v1::PermissionCatalog());
  EXPECT_EQ(TableOf(catalog), Table::kCatalog);
  EXPECT_EQ(PrimaryKey(catalog), "catalog");
}

// Index keys follow the layout records.h documents, one case per shape.
TEST(RecordsTest, IndexKeysFollowTheDocumentedLayout) {
  struct Case {
    const char* record;
    std::vector<std::string> keys;
  };
  const Case cases[] = {
      {R"pb(token {
              id: "tok_1"
              organization_id: "org_a"
              subject_id: "usr_1"
              kind: TOKEN_KIND_USER
              secret_digest: "\001\253"
            })pb",
       {"tok_digest/01ab", "tok_subject/org_a/usr_1/tok_1",
        "tok_kind/org_a/1/tok_1"}},
      {R"pb(group_member {
              organization_id: "org_a"
              group_id: "grp_1"
              user_id: "usr_1"
            })pb",
       {"gm_user/org_a/usr_1/grp_1"}},
      {R"pb(site { id: "site_1" organization_id: "org_a" })pb",
       {"site_parent/org_a/-/site_1"}},
      {R"pb(item {
              id: "item_1"
              organization_id: "org_a"
              type: "template"
              site_id: "site_1"
            })pb",
       {"item_type/org_a/template/item_1", "item_site/org_a/site_1/item_1"}},
      {R"pb(user {
              id: "usr_1"
              organization_id: "org_a"
              email: "Ann@Example.COM"
            })pb",
       {"usr_email/org_a/ann@example.com"}},
      // A rule to a group of the granting organization.
      {R"pb(grant {
              id: "grant_1"
              organization_id: "org_a"
              item_type: "template"
              grantee { group_id: "grp_1" }
            })pb",
       {"grant_rule/org_a/template/grant_1", "grant_to/org_a/grp_1/grant_1"}},
      // An item shared with a user of another organization.
      {R"pb(grant {
              id: "grant_2"
              organization_id: "org_a"
              item_id: "item_1"
              grantee { user_id: "usr_9" grantee_organization_id: "org_b" }
            })pb",
       {"grant_item/org_a/item_1/grant_2", "grant_to/org_b/usr_9/grant_2"}},
      {R"pb(catalog {})pb", {}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.record);
    EXPECT_EQ(IndexKeys(Parse<Record>(c.record)), c.keys);
  }
}

// The digest index leads from a digest alone to the token's primary key.
TEST(RecordsTest, DigestIndexHoldsTheTokenKey) {
  MemoryTxn txn;
  ASSERT_TRUE(Put(txn, MakeToken("\xff")).ok());

  absl::StatusOr<std::optional<std::string>> key =
      txn.Get(Table::kIndex, "tok_digest/ff");
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->value_or(""), "org_a/tok_1");
  auto token =
      GetRecord<model::v1::Token>(txn, Table::kTokens, key->value_or(""));
  ASSERT_TRUE(token.ok());
  ASSERT_TRUE(token->has_value());
  EXPECT_EQ((*token)->secret_digest(), "\xff");
}

// Replacing a token's digest removes the old digest key and records both
// upserts.
TEST(RecordsTest, PutRecordReplacesStaleIndexKeys) {
  MemoryTxn txn;
  ASSERT_TRUE(Put(txn, MakeToken("\x01")).ok());
  ASSERT_TRUE(Put(txn, MakeToken("\x02")).ok());

  EXPECT_EQ(txn.Keys(Table::kIndex),
            Keys({"tok_digest/02", "tok_kind/org_a/1/tok_1",
                  "tok_subject/org_a/usr_1/tok_1"}));
  ASSERT_EQ(txn.changes().size(), 2u);
  EXPECT_EQ(txn.changes()[1].operation(), model::v1::CHANGE_OPERATION_UPSERT);
  EXPECT_EQ(txn.changes()[1].record().token().secret_digest(), "\x02");
}

// Deleting a group member removes its gm_user key and records its last
// stored state.
TEST(RecordsTest, DeleteRecordRemovesIndexKeys) {
  MemoryTxn txn;
  auto member = Parse<model::v1::GroupMember>(
      "organization_id: 'org_a' group_id: 'grp_1' user_id: 'usr_1'");
  ASSERT_TRUE(Put(txn, member).ok());
  ASSERT_EQ(txn.Keys(Table::kIndex), Keys({"gm_user/org_a/usr_1/grp_1"}));

  ASSERT_TRUE(Remove(txn, member).ok());
  EXPECT_TRUE(txn.Keys(Table::kIndex).empty());
  EXPECT_TRUE(txn.Keys(Table::kGroupMembers).empty());
  ASSERT_EQ(txn.changes().size(), 2u);
  const RecordChange& deleted = txn.changes()[1];
  EXPECT_EQ(deleted.operation(), model::v1::CHANGE_OPERATION_DELETE);
  EXPECT_EQ(deleted.record().group_member().user_id(), "usr_1");

  EXPECT_EQ(Remove(txn, member).code(), absl::StatusCode::kNotFound);
}

// A name another record holds is refused before anything is written.
TEST(RecordsTest, TakenUniqueNameIsAlreadyExists) {
  MemoryTxn txn;
  auto first = Parse<model::v1::Group>(
      "id: 'grp_1' organization_id: 'org_a' name: 'Ops'");
  ASSERT_TRUE(Put(txn, first).ok());

  model::v1::Group second = first;
  second.set_id("grp_2");
  second.set_name("OPS");
  EXPECT_EQ(Put(txn, second).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(txn.Keys(Table::kGroups), Keys({"org_a/grp_1"}));
  EXPECT_EQ(txn.changes().size(), 1u);

  // Renaming the same record onto its own name is fine.
  first.set_name("ops");
  EXPECT_TRUE(Put(txn, first).ok());
}

// Ids that would break the key layout are rejected.
TEST(RecordsTest, MalformedIdsAreInvalid) {
  MemoryTxn txn;
  model::v1::Token token = MakeToken("\x01");
  token.set_id("tok/1");
  EXPECT_EQ(Put(txn, token).code(), absl::StatusCode::kInvalidArgument);
  token.set_id("");
  EXPECT_EQ(Put(txn, token).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PutRecord(txn, Record()).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(txn.Keys(Table::kTokens).empty());
}

// The small string helpers.
TEST(RecordsTest, StringHelpers) {
  EXPECT_EQ(OrgKey("org_a", "usr_1"), "org_a/usr_1");
  EXPECT_EQ(FoldCase("MiXeD-Case_1"), "mixed-case_1");
  EXPECT_EQ(HexDigest(std::string("\x00\x0f\xf0", 3)), "000ff0");
}

}  // namespace
}  // namespace warden::store
