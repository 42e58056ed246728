// The directory's domain rules on a real store in a temp dir.
#include "libs/directory/directory.h"

#include <algorithm>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "libs/catalog/catalog.h"
#include "libs/clock/clock.h"
#include "libs/store/records.h"
#include "libs/tokens/token_registry.h"
#include "tests/support/temp_dir.h"

namespace warden::directory {
namespace {

class DirectoryTest : public ::testing::Test {
 protected:
  DirectoryTest() : clock_(absl::FromUnixSeconds(1'700'000'000)) {
    store::StoreOptions options;
    options.path = dir_.Sub("db");
    options.clock = &clock_;
    options.sync = false;
    auto opened = store::Store::Open(options);
    EXPECT_TRUE(opened.ok()) << opened.status();
    store_ = *std::move(opened);
    registry_ = std::make_unique<tokens::TokenRegistry>(store_.get(), &clock_);
    directory_ = std::make_unique<Directory>(store_.get(), registry_.get());
    auto stored = store_->Write("catalog.load", [](store::WriteTxn& txn) {
      return store::Put(txn, catalog::DefaultCatalog());
    });
    EXPECT_TRUE(stored.ok());
    auto org = registry_->CreateOrganization(nullptr, catalog::DefaultCatalog(),
                                             "Org", "admin@example.com",
                                             "Admin", /*operators=*/true);
    EXPECT_TRUE(org.ok()) << org.status();
    admin_set_ = org->admin_permission_set.id();
    caller_.set_organization_id(org->organization.id());
    caller_.set_kind(model::v1::SUBJECT_KIND_USER);
    caller_.set_subject_id(org->admin.id());
    caller_.set_display_name("Admin");
    for (const auto& p : org->admin_permission_set.permissions()) {
      caller_.add_permissions(p);
    }
  }

  // The caller with only `permission`.
  Caller With(const std::string& permission) {
    Caller narrow = caller_;
    narrow.clear_permissions();
    narrow.add_permissions(permission);
    return narrow;
  }

  testing::TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<tokens::TokenRegistry> registry_;
  std::unique_ptr<Directory> directory_;
  Caller caller_;
  std::string admin_set_;
};

// Each area checks its own permission; a missing one is PERMISSION_DENIED
// naming it, and nothing is written.
TEST_F(DirectoryTest, AreasNeedTheirPermissions) {
  int64_t before = store_->committed_revision();
  auto group = directory_->CreateGroup(With("platform.users"), "G", "");
  EXPECT_EQ(group.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(group.status().message().find("platform.groups"),
            std::string::npos);
  EXPECT_EQ(directory_
                ->CreateUser(With("platform.groups"), "u@example.com", "U",
                             admin_set_, "")
                .status()
                .code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(
      directory_->ListActivity(With("platform.users"), 0, "").status().code(),
      absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(store_->committed_revision(), before);
  EXPECT_TRUE(directory_->CreateGroup(With("platform.groups"), "G", "").ok());
}

// Site moves that would close a loop are refused and name the loop; a site
// cannot be its own parent.
TEST_F(DirectoryTest, SiteTreeStaysAForest) {
  auto a = directory_->CreateSite(caller_, "A", "", "");
  ASSERT_TRUE(a.ok());
  auto b = directory_->CreateSite(caller_, "B", a->record.id(), "");
  ASSERT_TRUE(b.ok());
  SiteEdit self;
  self.parent_site_id = a->record.id();
  EXPECT_EQ(
      directory_->UpdateSite(caller_, a->record.id(), self).status().code(),
      absl::StatusCode::kInvalidArgument);
  SiteEdit loop;
  loop.parent_site_id = b->record.id();
  auto moved = directory_->UpdateSite(caller_, a->record.id(), loop);
  EXPECT_EQ(moved.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(moved.status().message().find(b->record.id()), std::string::npos);
  // Moving B to the root is fine, and then A may go below B.
  SiteEdit root;
  root.parent_site_id = "";
  ASSERT_TRUE(directory_->UpdateSite(caller_, b->record.id(), root).ok());
  EXPECT_TRUE(directory_->UpdateSite(caller_, a->record.id(), loop).ok());
}

// A request id replays the first create; reused for another kind of record
// or after the record was deleted, it is ALREADY_EXISTS.
TEST_F(DirectoryTest, RequestIdsReplayCreates) {
  auto first = directory_->CreateItem(caller_, "template", "T", "", "r1");
  ASSERT_TRUE(first.ok()) << first.status();
  auto again = directory_->CreateItem(caller_, "template", "Other", "", "r1");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->record.id(), first->record.id());
  EXPECT_EQ(again->record.name(), "T");
  EXPECT_EQ(directory_->CreateGroup(caller_, "G", "r1").status().code(),
            absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(directory_->DeleteItem(caller_, first->record.id()).ok());
  EXPECT_EQ(directory_->CreateItem(caller_, "template", "T", "", "r1")
                .status()
                .code(),
            absl::StatusCode::kAlreadyExists);
  // Another caller's key space is separate.
  Caller other = caller_;
  other.set_subject_id("usr_aaaaaaaaaaaaaaaaaaaa");
  EXPECT_TRUE(directory_->CreateItem(other, "template", "T", "", "r1").ok());
  // After 24 hours the key may be used again.
  clock_.Advance(absl::Hours(25));
  EXPECT_TRUE(directory_->CreateItem(caller_, "template", "T", "", "r1").ok());
}

// Removing a user deletes its memberships and grants in the same write and
// frees its permission set; the removal is final.
TEST_F(DirectoryTest, RemovingAUserLeavesNothingBehind) {
  auto set = directory_->CreatePermissionSet(caller_, "Viewers",
                                             {"templates.view"}, "");
  ASSERT_TRUE(set.ok());
  auto user = directory_->CreateUser(caller_, "v@example.com", "V",
                                     set->record.id(), "");
  ASSERT_TRUE(user.ok());
  const std::string id = user->record.id();
  auto group = directory_->CreateGroup(caller_, "G", "");
  auto site = directory_->CreateSite(caller_, "S", "", "");
  auto item = directory_->CreateItem(caller_, "template", "T", "", "");
  ASSERT_TRUE(group.ok() && site.ok() && item.ok());
  ASSERT_TRUE(directory_->AddGroupMember(caller_, group->record.id(), id).ok());
  ASSERT_TRUE(directory_->AddSiteMember(caller_, site->record.id(), id).ok());
  model::v1::Grantee grantee;
  grantee.set_user_id(id);
  auto grant =
      directory_->CreateGrant(caller_, {item->record.id(), ""}, grantee,
                              model::v1::ACCESS_LEVEL_EDIT, "");
  ASSERT_TRUE(grant.ok()) << grant.status();

  EXPECT_EQ(directory_->DeletePermissionSet(caller_, set->record.id())
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  int64_t before = store_->committed_revision();
  auto removed = directory_->RemoveUser(caller_, id);
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(removed->revision, before + 1);
  EXPECT_EQ(removed->record.status(), model::v1::USER_STATUS_REMOVED);

  auto members =
      directory_->ListGroupMembers(caller_, group->record.id(), 0, "");
  ASSERT_TRUE(members.ok());
  EXPECT_TRUE(members->records.empty());
  auto site_members =
      directory_->ListSiteMembers(caller_, site->record.id(), 0, "");
  ASSERT_TRUE(site_members.ok());
  EXPECT_TRUE(site_members->records.empty());
  EXPECT_EQ(directory_->GetGrant(caller_, grant->record.id()).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(directory_->DeletePermissionSet(caller_, set->record.id()).ok());
  EXPECT_EQ(directory_->ReactivateUser(caller_, id).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(directory_->AddGroupMember(caller_, group->record.id(), id)
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  // Removed users are left out of the list unless asked for.
  auto listed = directory_->ListUsers(caller_, 0, "", false);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->records.size(), 1u);
  listed = directory_->ListUsers(caller_, 0, "", true);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->records.size(), 2u);
}

// Page tokens resume after the last entry and belong to one list.
TEST_F(DirectoryTest, PagesCoverEverythingOnce) {
  for (int i = 0; i < 7; ++i) {
    ASSERT_TRUE(
        directory_->CreateGroup(caller_, "G" + std::to_string(i), "").ok());
  }
  std::vector<std::string> seen;
  std::string token;
  do {
    auto page = directory_->ListGroups(caller_, 3, token);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const auto& group : page->records) seen.push_back(group.id());
    token = page->next_page_token;
  } while (!token.empty());
  EXPECT_EQ(seen.size(), 7u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  auto page = directory_->ListGroups(caller_, 3, "");
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(
      directory_->ListSites(caller_, 3, page->next_page_token).status().code(),
      absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace warden::directory
