#include "libs/store/records.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace warden::store {
namespace {

using model::v1::Record;
using model::v1::RecordChange;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

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

  void Put(Table table, std::string_view key,
           std::string_view value) override {
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

model::v1::Token MakeToken(std::string digest) {
  model::v1::Token token;
  token.set_id("tok_1");
  token.set_organization_id("org_a");
  token.set_subject_id("usr_1");
  token.set_kind(model::v1::TOKEN_KIND_USER);
  token.set_secret_digest(std::move(digest));
  return token;
}

// Keys and tables follow the layout records.h documents.
TEST(RecordsTest, KeysFollowTheDocumentedLayout) {
  Record token = Wrap(MakeToken("\x01\xab"));
  EXPECT_EQ(TableOf(token), Table::kTokens);
  EXPECT_EQ(PrimaryKey(token), "org_a/tok_1");
  EXPECT_THAT(IndexKeys(token),
              ElementsAre("tok_digest/01ab", "tok_subject/org_a/usr_1/tok_1",
                          "tok_kind/org_a/1/tok_1"));

  model::v1::GroupMember member;
  member.set_organization_id("org_a");
  member.set_group_id("grp_1");
  member.set_user_id("usr_1");
  EXPECT_EQ(PrimaryKey(Wrap(member)), "org_a/grp_1/usr_1");
  EXPECT_THAT(IndexKeys(Wrap(member)),
              ElementsAre("gm_user/org_a/usr_1/grp_1"));

  model::v1::Site root;
  root.set_id("site_1");
  root.set_organization_id("org_a");
  EXPECT_THAT(IndexKeys(Wrap(root)),
              ElementsAre("site_parent/org_a/-/site_1"));

  model::v1::Item item;
  item.set_id("item_1");
  item.set_organization_id("org_a");
  item.set_type("template");
  item.set_site_id("site_1");
  EXPECT_THAT(IndexKeys(Wrap(item)),
              ElementsAre("item_type/org_a/template/item_1",
                          "item_site/org_a/site_1/item_1"));

  model::v1::User user;
  user.set_id("usr_1");
  user.set_organization_id("org_a");
  user.set_email("Ann@Example.COM");
  EXPECT_THAT(IndexKeys(Wrap(user)),
              ElementsAre("usr_email/org_a/ann@example.com"));

  model::v1::PermissionCatalog catalog;
  EXPECT_EQ(TableOf(Wrap(catalog)), Table::kCatalog);
  EXPECT_EQ(PrimaryKey(Wrap(catalog)), "catalog");
  EXPECT_THAT(IndexKeys(Wrap(catalog)), IsEmpty());
}

// Grants are indexed by target and by grantee, in the grantee's org.
TEST(RecordsTest, GrantIndexesTargetAndGrantee) {
  model::v1::Grant rule;
  rule.set_id("grant_1");
  rule.set_organization_id("org_a");
  rule.set_item_type("template");
  rule.mutable_grantee()->set_group_id("grp_1");
  EXPECT_THAT(IndexKeys(Wrap(rule)),
              ElementsAre("grant_rule/org_a/template/grant_1",
                          "grant_to/org_a/grp_1/grant_1"));

  model::v1::Grant shared;
  shared.set_id("grant_2");
  shared.set_organization_id("org_a");
  shared.set_item_id("item_1");
  shared.mutable_grantee()->set_user_id("usr_9");
  shared.mutable_grantee()->set_grantee_organization_id("org_b");
  EXPECT_THAT(IndexKeys(Wrap(shared)),
              ElementsAre("grant_item/org_a/item_1/grant_2",
                          "grant_to/org_b/usr_9/grant_2"));
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

  EXPECT_THAT(txn.Keys(Table::kIndex),
              ElementsAre("tok_digest/02", "tok_kind/org_a/1/tok_1",
                          "tok_subject/org_a/usr_1/tok_1"));
  ASSERT_EQ(txn.changes().size(), 2u);
  EXPECT_EQ(txn.changes()[1].operation(), model::v1::CHANGE_OPERATION_UPSERT);
  EXPECT_EQ(txn.changes()[1].record().token().secret_digest(), "\x02");
}

// Deleting a group member removes its gm_user key and records its last
// stored state.
TEST(RecordsTest, DeleteRecordRemovesIndexKeys) {
  MemoryTxn txn;
  model::v1::GroupMember member;
  member.set_organization_id("org_a");
  member.set_group_id("grp_1");
  member.set_user_id("usr_1");
  ASSERT_TRUE(Put(txn, member).ok());
  ASSERT_THAT(txn.Keys(Table::kIndex),
              ElementsAre("gm_user/org_a/usr_1/grp_1"));

  ASSERT_TRUE(Remove(txn, member).ok());
  EXPECT_THAT(txn.Keys(Table::kIndex), IsEmpty());
  EXPECT_THAT(txn.Keys(Table::kGroupMembers), IsEmpty());
  ASSERT_EQ(txn.changes().size(), 2u);
  const RecordChange& deleted = txn.changes()[1];
  EXPECT_EQ(deleted.operation(), model::v1::CHANGE_OPERATION_DELETE);
  EXPECT_EQ(deleted.record().group_member().user_id(), "usr_1");

  EXPECT_EQ(Remove(txn, member).code(), absl::StatusCode::kNotFound);
}

// A name another record holds is refused before anything is written.
TEST(RecordsTest, TakenUniqueNameIsAlreadyExists) {
  MemoryTxn txn;
  model::v1::Group first;
  first.set_id("grp_1");
  first.set_organization_id("org_a");
  first.set_name("Ops");
  ASSERT_TRUE(Put(txn, first).ok());

  model::v1::Group second = first;
  second.set_id("grp_2");
  second.set_name("OPS");
  EXPECT_EQ(Put(txn, second).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(txn.Keys(Table::kGroups), ElementsAre("org_a/grp_1"));
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
  EXPECT_THAT(txn.Keys(Table::kTokens), IsEmpty());
}

// The small string helpers.
TEST(RecordsTest, StringHelpers) {
  EXPECT_EQ(OrgKey("org_a", "usr_1"), "org_a/usr_1");
  EXPECT_EQ(FoldCase("MiXeD-Case_1"), "mixed-case_1");
  EXPECT_EQ(HexDigest(std::string("\x00\x0f\xf0", 3)), "000ff0");
}

}  // namespace
}  // namespace warden::store
