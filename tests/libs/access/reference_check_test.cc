#include "libs/access/reference_check.h"

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/ids/ids.h"
#include "libs/store/records.h"
#include "libs/tokens/token_rules.h"
#include "tests/support/temp_dir.h"

namespace warden::access {
namespace {

using model::v1::AccessLevel;
using model::v1::DecisionReason;
using model::v1::GrantPath;
using ::testing::HasSubstr;

constexpr AccessLevel kView = model::v1::ACCESS_LEVEL_VIEW;
constexpr AccessLevel kEdit = model::v1::ACCESS_LEVEL_EDIT;
constexpr AccessLevel kManage = model::v1::ACCESS_LEVEL_MANAGE;

model::v1::Permission ItemPermission(const std::string& name,
                                     const std::string& type,
                                     AccessLevel level) {
  model::v1::Permission p;
  p.set_name(name);
  p.set_item_type(type);
  p.set_required_level(level);
  return p;
}

// Two organizations, A and B, with every kind of subject and grant the
// decision distinguishes, written record by record into a real store.
class ReferenceCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::StoreOptions options;
    options.path = dir_.Sub("db");
    options.clock = &clock_;
    options.sync = false;
    auto opened = store::Store::Open(options);
    ASSERT_TRUE(opened.ok()) << opened.status();
    store_ = *std::move(opened);

    model::v1::PermissionCatalog catalog;
    model::v1::Permission users;
    users.set_name("platform.users");
    *catalog.add_permissions() = users;
    for (auto [type, plural] : {std::pair{"template", "templates"},
                                {"inspection", "inspections"},
                                {"asset", "assets"}}) {
      catalog.add_item_types(type);
      *catalog.add_permissions() =
          ItemPermission(std::string(plural) + ".view", type, kView);
      *catalog.add_permissions() =
          ItemPermission(std::string(plural) + ".edit", type, kEdit);
      *catalog.add_permissions() =
          ItemPermission(std::string(plural) + ".manage", type, kManage);
    }
    Put(catalog);
    BuildModel();
  }

  template <typename T>
  void Put(const T& record) {
    auto written = store_->Write(
        "test", [&](store::WriteTxn& txn) { return store::Put(txn, record); });
    ASSERT_TRUE(written.ok()) << written.status();
  }

  void Org(const std::string& id) {
    model::v1::Organization org;
    org.set_id(id);
    org.set_name(id);
    Put(org);
  }

  std::string PermissionSet(const std::string& org,
                            std::vector<std::string> permissions) {
    model::v1::PermissionSet set;
    set.set_id(ids::NewId(ids::kPermissionSet));
    set.set_organization_id(org);
    set.set_name(set.id());
    std::sort(permissions.begin(), permissions.end());
    for (const auto& p : permissions) set.add_permissions(p);
    Put(set);
    return set.id();
  }

  std::string User(
      const std::string& org, const std::string& name, const std::string& set,
      model::v1::UserStatus status = model::v1::USER_STATUS_ACTIVE) {
    model::v1::User user;
    user.set_id(ids::NewId(ids::kUser));
    user.set_organization_id(org);
    user.set_email(name + "@example.com");
    user.set_display_name(name);
    user.set_status(status);
    user.set_permission_set_id(set);
    Put(user);
    return user.id();
  }

  model::v1::Token Token(const std::string& org, model::v1::TokenKind kind,
                         const std::string& subject,
                         model::v1::TokenState state, absl::Time issued) {
    model::v1::Token token;
    token.set_id(ids::NewId(ids::kToken));
    token.set_organization_id(org);
    token.set_kind(kind);
    token.set_name(token.id());
    token.set_subject_id(subject);
    token.set_state(state);
    token.set_secret_digest("digest-" + token.id());
    token.set_inactivity_days(45);
    *token.mutable_secret_issued_at() = tokens::ToProto(issued);
    Put(token);
    return token;
  }

  std::string ServiceUser(const std::string& org, const std::string& name,
                          const std::string& set, model::v1::TokenState state,
                          absl::Time issued) {
    std::string id = ids::NewId(ids::kServiceUser);
    model::v1::Token token =
        Token(org, model::v1::TOKEN_KIND_SERVICE_USER, id, state, issued);
    model::v1::ServiceUser service_user;
    service_user.set_id(id);
    service_user.set_organization_id(org);
    service_user.set_name(name);
    service_user.add_permission_set_ids(set);
    service_user.set_token_id(token.id());
    Put(service_user);
    return id;
  }

  std::string Group(const std::string& org,
                    const std::vector<std::string>& members) {
    model::v1::Group group;
    group.set_id(ids::NewId(ids::kGroup));
    group.set_organization_id(org);
    group.set_name(group.id());
    Put(group);
    for (const auto& user : members) {
      model::v1::GroupMember member;
      member.set_organization_id(org);
      member.set_group_id(group.id());
      member.set_user_id(user);
      Put(member);
    }
    return group.id();
  }

  std::string Site(const std::string& org, const std::string& parent,
                   const std::vector<std::string>& members) {
    model::v1::Site site;
    site.set_id(ids::NewId(ids::kSite));
    site.set_organization_id(org);
    site.set_name(site.id());
    site.set_parent_site_id(parent);
    Put(site);
    for (const auto& user : members) {
      model::v1::SiteMember member;
      member.set_organization_id(org);
      member.set_site_id(site.id());
      member.set_user_id(user);
      Put(member);
    }
    return site.id();
  }

  std::string Item(const std::string& org, const std::string& type,
                   const std::string& name) {
    model::v1::Item item;
    item.set_id(ids::NewId(ids::kItem));
    item.set_organization_id(org);
    item.set_type(type);
    item.set_name(name);
    Put(item);
    return item.id();
  }

  // A grant by `org` on an item id or (rule) an item type.
  std::string Grant(const std::string& org, const std::string& item_id,
                    const std::string& rule_type, model::v1::Grantee grantee,
                    AccessLevel level) {
    model::v1::Grant grant;
    grant.set_id(ids::NewId(ids::kGrant));
    grant.set_organization_id(org);
    if (!item_id.empty()) {
      grant.set_item_id(item_id);
    } else {
      grant.set_item_type(rule_type);
    }
    *grant.mutable_grantee() = std::move(grantee);
    grant.set_level(level);
    Put(grant);
    return grant.id();
  }

  static model::v1::Grantee ToUser(const std::string& id,
                                   const std::string& org = "") {
    model::v1::Grantee g;
    g.set_user_id(id);
    g.set_grantee_organization_id(org);
    return g;
  }
  static model::v1::Grantee ToServiceUser(const std::string& id,
                                          const std::string& org = "") {
    model::v1::Grantee g;
    g.set_service_user_id(id);
    g.set_grantee_organization_id(org);
    return g;
  }
  static model::v1::Grantee ToGroup(const std::string& id,
                                    const std::string& org = "") {
    model::v1::Grantee g;
    g.set_group_id(id);
    g.set_grantee_organization_id(org);
    return g;
  }
  static model::v1::Grantee ToSite(const std::string& id) {
    model::v1::Grantee g;
    g.set_site_id(id);
    return g;
  }
  static model::v1::Grantee ToOrg(const std::string& id) {
    model::v1::Grantee g;
    g.set_organization_id(id);
    g.set_grantee_organization_id(id);
    return g;
  }

  void BuildModel() {
    const absl::Time now = clock_.Now();
    a_ = ids::NewId(ids::kOrganization);
    b_ = ids::NewId(ids::kOrganization);
    Org(a_);
    Org(b_);
    all_ =
        PermissionSet(a_, {"platform.users", "templates.view", "templates.edit",
                           "templates.manage", "inspections.view",
                           "assets.view", "assets.edit"});
    std::string users_only = PermissionSet(a_, {"platform.users"});
    ann_ = User(a_, "Ann", all_);
    bob_ = User(a_, "Bob", all_);
    cat_ = User(a_, "Cat", all_, model::v1::USER_STATUS_DEACTIVATED);
    dan_ = User(a_, "Dan", all_, model::v1::USER_STATUS_REMOVED);
    eve_ = User(a_, "Eve", users_only);
    gus_ = User(a_, "Gus", all_);
    hal_ = User(a_, "Hal", all_);
    svc_ =
        ServiceUser(a_, "Exporter", all_, model::v1::TOKEN_STATE_ACTIVE, now);
    svc_revoked_ = ServiceUser(a_, "Old exporter", all_,
                               model::v1::TOKEN_STATE_REVOKED, now);
    svc_expired_ =
        ServiceUser(a_, "Idle exporter", all_, model::v1::TOKEN_STATE_ACTIVE,
                    now - absl::Hours(24 * 46));
    ann_token_ = Token(a_, model::v1::TOKEN_KIND_USER, ann_,
                       model::v1::TOKEN_STATE_ACTIVE, now);
    ann_revoked_token_ = Token(a_, model::v1::TOKEN_KIND_USER, ann_,
                               model::v1::TOKEN_STATE_REVOKED, now);

    group_ = Group(a_, {bob_, svc_ /* ignored: never a service user */});
    root_ = Site(a_, "", {gus_});
    mid_ = Site(a_, root_, {});
    leaf_ = Site(a_, mid_, {hal_});

    t_direct_ = Item(a_, "template", "Direct");
    t_group_ = Item(a_, "template", "Group");
    t_mid_ = Item(a_, "template", "Mid site");
    t_leaf_ = Item(a_, "template", "Leaf site");
    t_org_ = Item(a_, "template", "Everyone");
    t_multi_ = Item(a_, "template", "Several grants");
    t_none_ = Item(a_, "template", "Nobody");
    inspection_ = Item(a_, "inspection", "Inspection");
    asset_ = Item(a_, "asset", "Pump");
    Grant(a_, t_direct_, "", ToUser(ann_), kView);
    Grant(a_, t_direct_, "", ToServiceUser(svc_), kManage);
    Grant(a_, t_group_, "", ToGroup(group_), kEdit);
    Grant(a_, t_mid_, "", ToSite(mid_), kEdit);
    Grant(a_, t_leaf_, "", ToSite(leaf_), kView);
    Grant(a_, t_org_, "", ToOrg(a_), kView);
    Grant(a_, t_multi_, "", ToUser(ann_), kView);
    multi_org_grant_ = Grant(a_, t_multi_, "", ToOrg(a_), kEdit);
    Grant(a_, "", "asset", ToServiceUser(svc_), kView);
    Grant(a_, "", "asset", ToGroup(group_), kEdit);

    // Organization B and content A shares with it.
    std::string b_set = PermissionSet(b_, {"templates.view", "templates.edit"});
    bea_ = User(b_, "Bea", b_set);
    ben_ = User(b_, "Ben", b_set);
    svc_b_ = ServiceUser(b_, "B exporter", b_set, model::v1::TOKEN_STATE_ACTIVE,
                         now);
    group_b_ = Group(b_, {ben_});
    t_share_user_ = Item(a_, "template", "Shared with Bea");
    t_share_group_ = Item(a_, "template", "Shared with B group");
    t_share_org_ = Item(a_, "template", "Shared with B");
    t_share_svc_ = Item(a_, "template", "Shared with B exporter");
    Grant(a_, t_share_user_, "", ToUser(bea_, b_), kView);
    Grant(a_, t_share_group_, "", ToGroup(group_b_, b_), kEdit);
    Grant(a_, t_share_org_, "", ToOrg(b_), kView);
    Grant(a_, t_share_svc_, "", ToServiceUser(svc_b_, b_), kView);
  }

  SubjectRef UserRef(const std::string& id, const std::string& org = "") {
    return {org.empty() ? a_ : org, model::v1::SUBJECT_KIND_USER, id, "", ""};
  }
  SubjectRef ServiceRef(const std::string& id, const std::string& org = "") {
    return {org.empty() ? a_ : org, model::v1::SUBJECT_KIND_SERVICE_USER, id,
            "", ""};
  }

  FakeClock clock_{absl::FromUnixSeconds(1'700'000'000)};
  testing::TempDir dir_;
  std::unique_ptr<store::Store> store_;
  std::string a_, b_, all_;
  std::string ann_, bob_, cat_, dan_, eve_, gus_, hal_;
  std::string svc_, svc_revoked_, svc_expired_;
  model::v1::Token ann_token_, ann_revoked_token_;
  std::string group_, root_, mid_, leaf_;
  std::string t_direct_, t_group_, t_mid_, t_leaf_, t_org_, t_multi_, t_none_,
      inspection_, asset_, multi_org_grant_;
  std::string bea_, ben_, svc_b_, group_b_;
  std::string t_share_user_, t_share_group_, t_share_org_, t_share_svc_;
};

// One question and the decision it must get.
struct Case {
  std::string name;
  SubjectRef subject;
  std::string permission;
  std::string item;
  DecisionReason reason;
  // For allowed item decisions: how the highest grant reaches the subject.
  GrantPath path = model::v1::GRANT_PATH_UNSPECIFIED;
  std::string via;
};

// Every path, every deny reason and every level, with Explain agreeing.
TEST_F(ReferenceCheckTest, DecidesEveryPathAndReason) {
  using model::v1::GRANT_PATH_DIRECT;
  using model::v1::GRANT_PATH_GROUP;
  using model::v1::GRANT_PATH_ORGANIZATION;
  using model::v1::GRANT_PATH_SITE;
  const DecisionReason allowed = model::v1::DECISION_REASON_ALLOWED;
  const DecisionReason inactive = model::v1::DECISION_REASON_SUBJECT_INACTIVE;
  const DecisionReason missing = model::v1::DECISION_REASON_PERMISSION_MISSING;
  const DecisionReason not_found = model::v1::DECISION_REASON_ITEM_NOT_FOUND;
  const DecisionReason mismatch = model::v1::DECISION_REASON_ITEM_TYPE_MISMATCH;
  const DecisionReason no_access = model::v1::DECISION_REASON_NO_ACCESS;
  const DecisionReason too_low =
      model::v1::DECISION_REASON_ACCESS_LEVEL_TOO_LOW;

  SubjectRef ann_with_token = UserRef(ann_);
  ann_with_token.token_id = ann_token_.id();
  ann_with_token.token_digest = ann_token_.secret_digest();
  SubjectRef ann_wrong_secret = ann_with_token;
  ann_wrong_secret.token_digest = "digest-of-an-older-secret";
  SubjectRef ann_revoked = UserRef(ann_);
  ann_revoked.token_id = ann_revoked_token_.id();
  ann_revoked.token_digest = ann_revoked_token_.secret_digest();

  const std::vector<Case> cases = {
      // Organization-level permissions need only an active subject and set.
      {"org permission", UserRef(ann_), "platform.users", "", allowed},
      {"org permission, service user", ServiceRef(svc_), "platform.users", "",
       allowed},
      {"org permission missing", UserRef(bea_, b_), "platform.users", "",
       missing},
      // Direct grants and levels.
      {"direct view", UserRef(ann_), "templates.view", t_direct_, allowed,
       GRANT_PATH_DIRECT},
      {"direct view, edit needed", UserRef(ann_), "templates.edit", t_direct_,
       too_low},
      {"direct view, manage needed", UserRef(ann_), "templates.manage",
       t_direct_, too_low},
      {"service user manage", ServiceRef(svc_), "templates.manage", t_direct_,
       allowed, GRANT_PATH_DIRECT},
      {"service user manage covers view", ServiceRef(svc_), "templates.view",
       t_direct_, allowed, GRANT_PATH_DIRECT},
      {"no grant at all", UserRef(ann_), "templates.view", t_none_, no_access},
      // Groups.
      {"group edit", UserRef(bob_), "templates.edit", t_group_, allowed,
       GRANT_PATH_GROUP, group_},
      {"group edit, manage needed", UserRef(bob_), "templates.manage", t_group_,
       too_low},
      {"not in the group", UserRef(ann_), "templates.view", t_group_,
       no_access},
      {"service user never via group", ServiceRef(svc_), "templates.view",
       t_group_, no_access},
      // Sites: a grant to a site reaches members of it and of sites above.
      {"member of ancestor site", UserRef(gus_), "templates.edit", t_mid_,
       allowed, GRANT_PATH_SITE, root_},
      {"member of a site below the grant", UserRef(hal_), "templates.view",
       t_mid_, no_access},
      {"member of granted site", UserRef(hal_), "templates.view", t_leaf_,
       allowed, GRANT_PATH_SITE, leaf_},
      {"member of root, grant on leaf", UserRef(gus_), "templates.view",
       t_leaf_, allowed, GRANT_PATH_SITE, root_},
      {"service user never via site", ServiceRef(svc_), "templates.view",
       t_leaf_, no_access},
      // Organization-wide.
      {"organization-wide", UserRef(bob_), "templates.view", t_org_, allowed,
       GRANT_PATH_ORGANIZATION},
      {"organization-wide, edit needed", UserRef(bob_), "templates.edit",
       t_org_, too_low},
      {"service user never via organization", ServiceRef(svc_),
       "templates.view", t_org_, no_access},
      {"highest of several grants", UserRef(ann_), "templates.edit", t_multi_,
       allowed, GRANT_PATH_ORGANIZATION},
      // Rules over every item of a type.
      {"rule to service user", ServiceRef(svc_), "assets.view", asset_, allowed,
       GRANT_PATH_DIRECT},
      {"rule to service user, edit needed", ServiceRef(svc_), "assets.edit",
       asset_, too_low},
      {"rule to group", UserRef(bob_), "assets.edit", asset_, allowed,
       GRANT_PATH_GROUP, group_},
      {"rule not covering the user", UserRef(ann_), "assets.view", asset_,
       no_access},
      // Cross-organization shares reach only whom they name.
      {"shared with a user", UserRef(bea_, b_), "templates.view", t_share_user_,
       allowed, GRANT_PATH_DIRECT},
      {"shared with another user", UserRef(ben_, b_), "templates.view",
       t_share_user_, no_access},
      {"shared with a group", UserRef(ben_, b_), "templates.edit",
       t_share_group_, allowed, GRANT_PATH_GROUP, group_b_},
      {"shared with a group, not a member", UserRef(bea_, b_), "templates.view",
       t_share_group_, no_access},
      {"shared with an organization", UserRef(bea_, b_), "templates.view",
       t_share_org_, allowed, GRANT_PATH_ORGANIZATION},
      {"shared with an organization, edit needed", UserRef(bea_, b_),
       "templates.edit", t_share_org_, too_low},
      {"share with B does not reach A", UserRef(ann_), "templates.view",
       t_share_org_, no_access},
      {"A-wide grant does not reach B", UserRef(bea_, b_), "templates.view",
       t_org_, no_access},
      {"shared with a service user", ServiceRef(svc_b_, b_), "templates.view",
       t_share_svc_, allowed, GRANT_PATH_DIRECT},
      {"B-wide share never reaches B's service user", ServiceRef(svc_b_, b_),
       "templates.view", t_share_org_, no_access},
      // Inactive subjects, even where a grant would allow.
      {"deactivated user", UserRef(cat_), "templates.view", t_org_, inactive},
      {"removed user", UserRef(dan_), "templates.view", t_org_, inactive},
      {"deactivated user, org permission", UserRef(cat_), "platform.users", "",
       inactive},
      {"unknown user", UserRef(ids::NewId(ids::kUser)), "platform.users", "",
       inactive},
      {"unknown service user", ServiceRef(ids::NewId(ids::kServiceUser)),
       "platform.users", "", inactive},
      {"service user with revoked token", ServiceRef(svc_revoked_),
       "platform.users", "", inactive},
      {"service user with expired token", ServiceRef(svc_expired_),
       "platform.users", "", inactive},
      {"user in the wrong organization", UserRef(ann_, b_), "platform.users",
       "", inactive},
      {"presented token active", ann_with_token, "templates.view", t_direct_,
       allowed, GRANT_PATH_DIRECT},
      {"presented token regenerated since", ann_wrong_secret, "platform.users",
       "", inactive},
      {"presented token revoked", ann_revoked, "platform.users", "", inactive},
      // Permission sets, items and types.
      {"permission missing", UserRef(eve_), "templates.view", t_org_, missing},
      {"item not found", UserRef(ann_), "templates.view",
       ids::NewId(ids::kItem), not_found},
      {"item of another type", UserRef(ann_), "templates.view", inspection_,
       mismatch},
  };

  ReferenceDecider decider(&clock_);
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto view = store_->Read();
    auto decision = decider.Check(*view, c.subject, c.permission, c.item);
    ASSERT_TRUE(decision.ok()) << decision.status();
    EXPECT_EQ(decision->reason, c.reason)
        << model::v1::DecisionReason_Name(decision->reason);
    EXPECT_EQ(decision->allowed, c.reason == allowed);

    auto explanation = decider.Explain(*view, c.subject, c.permission, c.item);
    ASSERT_TRUE(explanation.ok()) << explanation.status();
    EXPECT_EQ(explanation->allowed(), decision->allowed);
    EXPECT_EQ(explanation->reason(), decision->reason);
    EXPECT_FALSE(explanation->summary().empty());
    if (c.path != model::v1::GRANT_PATH_UNSPECIFIED) {
      ASSERT_GT(explanation->grants_size(), 0);
      EXPECT_EQ(explanation->grants(0).path(), c.path);
      EXPECT_EQ(explanation->grants(0).via_id(), c.via);
    }
  }
}

// Explain lists every grant that includes the subject, highest first, with
// the flags and permission sets an admin needs.
TEST_F(ReferenceCheckTest, ExplainListsEveryIncludingGrant) {
  ReferenceDecider decider(&clock_);
  auto view = store_->Read();
  auto explanation =
      decider.Explain(*view, UserRef(ann_), "templates.view", t_multi_);
  ASSERT_TRUE(explanation.ok()) << explanation.status();
  EXPECT_TRUE(explanation->allowed());
  EXPECT_EQ(explanation->subject().display_name(), "Ann");
  EXPECT_TRUE(explanation->permission_granted());
  EXPECT_THAT(explanation->permission_set_ids_with_permission(),
              ::testing::ElementsAre(all_));
  EXPECT_EQ(explanation->required_level(), kView);
  EXPECT_EQ(explanation->granted_level(), kEdit);
  ASSERT_EQ(explanation->grants_size(), 2);
  EXPECT_EQ(explanation->grants(0).grant().id(), multi_org_grant_);
  EXPECT_EQ(explanation->grants(0).path(), model::v1::GRANT_PATH_ORGANIZATION);
  EXPECT_EQ(explanation->grants(1).path(), model::v1::GRANT_PATH_DIRECT);
  EXPECT_FALSE(explanation->grants(0).rule());
  EXPECT_FALSE(explanation->grants(0).cross_organization());
  EXPECT_THAT(explanation->summary(), HasSubstr("whole organization"));

  auto rule = decider.Explain(*view, UserRef(bob_), "assets.view", asset_);
  ASSERT_TRUE(rule.ok()) << rule.status();
  ASSERT_EQ(rule->grants_size(), 1);
  EXPECT_TRUE(rule->grants(0).rule());

  auto shared = decider.Explain(*view, UserRef(bea_, b_), "templates.view",
                                t_share_user_);
  ASSERT_TRUE(shared.ok()) << shared.status();
  ASSERT_EQ(shared->grants_size(), 1);
  EXPECT_TRUE(shared->grants(0).cross_organization());
  EXPECT_THAT(shared->summary(), HasSubstr(a_));
}

// Deny summaries say what to change.
TEST_F(ReferenceCheckTest, DenySummariesSayWhatToChange) {
  ReferenceDecider decider(&clock_);
  auto view = store_->Read();
  auto service =
      decider.Explain(*view, ServiceRef(svc_), "templates.view", t_group_);
  ASSERT_TRUE(service.ok());
  EXPECT_THAT(service->summary(),
              HasSubstr("service user 'Exporter' (" + svc_ +
                        ") has no grant on template 'Group'"));
  EXPECT_THAT(service->summary(),
              HasSubstr("share the template with the "
                        "service user or add it to a rule"));

  auto low =
      decider.Explain(*view, UserRef(ann_), "templates.manage", t_direct_);
  ASSERT_TRUE(low.ok());
  EXPECT_THAT(low->summary(), HasSubstr("has view access"));
  EXPECT_THAT(low->summary(), HasSubstr("needs manage"));

  auto missing =
      decider.Explain(*view, UserRef(eve_), "templates.view", t_org_);
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->permission_granted());
  EXPECT_THAT(missing->summary(), HasSubstr("lacks templates.view"));

  auto deactivated =
      decider.Explain(*view, UserRef(cat_), "templates.view", t_org_);
  ASSERT_TRUE(deactivated.ok());
  EXPECT_THAT(deactivated->summary(), HasSubstr("deactivated"));

  auto expired =
      decider.Explain(*view, ServiceRef(svc_expired_), "platform.users", "");
  ASSERT_TRUE(expired.ok());
  EXPECT_THAT(expired->summary(), HasSubstr("expired"));
}

// Malformed questions are errors, not decisions.
TEST_F(ReferenceCheckTest, RejectsMalformedQuestions) {
  ReferenceDecider decider(&clock_);
  auto view = store_->Read();
  struct Bad {
    std::string name;
    SubjectRef subject;
    std::string permission;
    std::string item;
    std::string message;
  };
  const std::vector<Bad> cases = {
      {"unknown permission", UserRef(ann_), "templates.fly", t_direct_,
       "not in the permission catalog"},
      {"empty permission", UserRef(ann_), "", t_direct_,
       "permission is required"},
      {"item id for org permission", UserRef(ann_), "platform.users", t_direct_,
       "leave item_id empty"},
      {"item id missing", UserRef(ann_), "templates.view", "",
       "item_id is required"},
      {"malformed item id", UserRef(ann_), "templates.view", "item_x",
       "item_id must look like"},
      {"malformed subject id", UserRef("usr_NOPE"), "platform.users", "",
       "subject.id"},
      {"kind unspecified",
       {a_, model::v1::SUBJECT_KIND_UNSPECIFIED, ann_, "", ""},
       "platform.users",
       "",
       "subject.kind"},
      {"user id as service user", ServiceRef(ann_), "platform.users", "",
       "subject.id"},
      {"malformed organization",
       {"org", model::v1::SUBJECT_KIND_USER, ann_, "", ""},
       "platform.users",
       "",
       "subject.organization_id"},
  };
  for (const Bad& c : cases) {
    SCOPED_TRACE(c.name);
    auto decision = decider.Check(*view, c.subject, c.permission, c.item);
    EXPECT_EQ(decision.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(decision.status().message()), HasSubstr(c.message));
    auto explanation = decider.Explain(*view, c.subject, c.permission, c.item);
    EXPECT_EQ(explanation.status(), decision.status());
  }
}

// ListAccessible pages through exactly the items Check allows, by id.
TEST_F(ReferenceCheckTest, ListAccessiblePagesAllowedItemsById) {
  ReferenceDecider decider(&clock_);
  auto view = store_->Read();
  std::vector<std::string> expected = {t_direct_, t_org_, t_multi_};
  std::sort(expected.begin(), expected.end());

  std::vector<std::string> listed;
  std::string token;
  int pages = 0;
  do {
    auto page = decider.ListAccessible(*view, UserRef(ann_), "templates.view",
                                       1, token);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const auto& item : page->items) listed.push_back(item.id());
    token = page->next_page_token;
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(listed, expected);
  EXPECT_EQ(pages, 3);

  auto shared = decider.ListAccessible(*view, UserRef(ben_, b_),
                                       "templates.edit", 10, "");
  ASSERT_TRUE(shared.ok()) << shared.status();
  ASSERT_EQ(shared->items.size(), 1u);
  EXPECT_EQ(shared->items[0].id(), t_share_group_);

  auto org_level =
      decider.ListAccessible(*view, UserRef(ann_), "platform.users", 10, "");
  EXPECT_EQ(org_level.status().code(), absl::StatusCode::kInvalidArgument);
  auto foreign_token = decider.ListAccessible(
      *view, UserRef(bob_), "templates.view", 1, "not-a-token");
  EXPECT_EQ(foreign_token.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace warden::access
