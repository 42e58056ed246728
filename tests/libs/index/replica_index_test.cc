#include "libs/index/replica_index.h"

#include <malloc.h>

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libs/catalog/catalog.h"
#include "libs/ids/ids.h"
#include "libs/secrets/token_secret.h"
#include "libs/tokens/token_rules.h"

namespace warden::index {
namespace {

using model::v1::Record;

const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);

// A small organization: one user in a group and a root site, a service
// user, a template and an inspection, and the secrets of both tokens.
struct World {
  std::string org = ids::NewId(ids::kOrganization);
  std::string pset = ids::NewId(ids::kPermissionSet);
  std::string narrow_pset = ids::NewId(ids::kPermissionSet);
  std::string user = ids::NewId(ids::kUser);
  std::string user_token = ids::NewId(ids::kToken);
  std::string svc = ids::NewId(ids::kServiceUser);
  std::string svc_token = ids::NewId(ids::kToken);
  std::string group = ids::NewId(ids::kGroup);
  std::string root_site = ids::NewId(ids::kSite);
  std::string child_site = ids::NewId(ids::kSite);
  std::string template_item = ids::NewId(ids::kItem);
  std::string inspection = ids::NewId(ids::kItem);
  std::string user_secret;
  std::string svc_secret;
  std::vector<Record> records;

  World() {
    *records.emplace_back().mutable_catalog() = catalog::DefaultCatalog();
    auto* o = records.emplace_back().mutable_organization();
    o->set_id(org);
    auto* s = records.emplace_back().mutable_permission_set();
    s->set_id(pset);
    s->set_organization_id(org);
    for (auto p : {"inspections.view", "templates.edit", "templates.view"}) {
      s->add_permissions(p);
    }
    auto* n = records.emplace_back().mutable_permission_set();
    n->set_id(narrow_pset);
    n->set_organization_id(org);
    n->add_permissions("templates.view");
    auto* u = records.emplace_back().mutable_user();
    u->set_id(user);
    u->set_organization_id(org);
    u->set_display_name("Ada");
    u->set_status(model::v1::USER_STATUS_ACTIVE);
    u->set_permission_set_id(pset);
    auto* su = records.emplace_back().mutable_service_user();
    su->set_id(svc);
    su->set_organization_id(org);
    su->set_name("exporter");
    su->add_permission_set_ids(narrow_pset);
    su->set_token_id(svc_token);
    user_secret = AddToken(user_token, user, secrets::SecretKind::kUser);
    svc_secret = AddToken(svc_token, svc, secrets::SecretKind::kServiceUser);
    auto* g = records.emplace_back().mutable_group();
    g->set_id(group);
    g->set_organization_id(org);
    auto* gm = records.emplace_back().mutable_group_member();
    gm->set_organization_id(org);
    gm->set_group_id(group);
    gm->set_user_id(user);
    auto* root = records.emplace_back().mutable_site();
    root->set_id(root_site);
    root->set_organization_id(org);
    auto* child = records.emplace_back().mutable_site();
    child->set_id(child_site);
    child->set_organization_id(org);
    child->set_parent_site_id(root_site);
    auto* sm = records.emplace_back().mutable_site_member();
    sm->set_organization_id(org);
    sm->set_site_id(root_site);
    sm->set_user_id(user);
    AddItem(template_item, "template");
    AddItem(inspection, "inspection");
  }

  std::string AddToken(const std::string& id, const std::string& subject,
                       secrets::SecretKind kind) {
    auto issued = secrets::Generate(kind);
    auto* t = records.emplace_back().mutable_token();
    t->set_id(id);
    t->set_organization_id(org);
    t->set_kind(kind == secrets::SecretKind::kUser
                    ? model::v1::TOKEN_KIND_USER
                    : model::v1::TOKEN_KIND_SERVICE_USER);
    t->set_subject_id(subject);
    t->set_state(model::v1::TOKEN_STATE_ACTIVE);
    t->set_secret_digest(issued->digest());
    t->set_inactivity_days(45);
    *t->mutable_secret_issued_at() = tokens::ToProto(kNow - absl::Hours(24));
    t->set_generation(1);
    return issued->TakePlaintext();
  }

  void AddItem(const std::string& id, const std::string& type) {
    auto* i = records.emplace_back().mutable_item();
    i->set_id(id);
    i->set_organization_id(org);
    i->set_type(type);
  }

  const model::v1::Token& Token(const std::string& id) const {
    for (const auto& r : records) {
      if (r.has_token() && r.token().id() == id) return r.token();
    }
    abort();
  }
};

model::v1::Grant MakeGrant(const std::string& org, const std::string& item,
                           model::v1::AccessLevel level) {
  model::v1::Grant grant;
  grant.set_id(ids::NewId(ids::kGrant));
  grant.set_organization_id(org);
  grant.set_item_id(item);
  grant.set_level(level);
  return grant;
}

model::v1::ChangeRecord Upsert(int64_t revision, const Record& record) {
  model::v1::ChangeRecord change;
  change.set_revision(revision);
  auto* c = change.add_changes();
  c->set_operation(model::v1::CHANGE_OPERATION_UPSERT);
  *c->mutable_record() = record;
  return change;
}

Record GrantRecord(const model::v1::Grant& grant) {
  Record r;
  *r.mutable_grant() = grant;
  return r;
}

class ReplicaIndexTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(index_.LoadSnapshot(10, w_.records).ok()); }

  // Applies one upsert at the next revision.
  void Put(const Record& record) {
    auto view = index_.Current();
    ASSERT_TRUE(index_.Apply({Upsert(view->revision() + 1, record)}).ok());
  }
  Principal UserPrincipal() {
    return index_.Current()->ResolveToken(w_.user_secret, kNow, nullptr);
  }
  model::v1::DecisionReason Reason(const Principal& p, const std::string& perm,
                                   const std::string& item) {
    auto d = index_.Current()->Check(p, perm, item);
    EXPECT_TRUE(d.ok()) << d.status();
    return d.ok() ? d->reason : model::v1::DECISION_REASON_UNSPECIFIED;
  }

  World w_;
  ReplicaIndex index_;
};

// A token authenticates to its subject with the union of its permissions.
TEST_F(ReplicaIndexTest, AuthenticatesLikeTokenService) {
  Principal p = UserPrincipal();
  ASSERT_TRUE(p.active);
  EXPECT_EQ(p.subject.subject_id(), w_.user);
  EXPECT_EQ(p.subject.display_name(), "Ada");
  EXPECT_TRUE(p.subject.login_allowed());
  ASSERT_EQ(p.subject.permissions_size(), 3);
  EXPECT_EQ(p.subject.permissions(0), "inspections.view");

  auto view = index_.Current();
  EXPECT_EQ(view->ResolveToken("wdn_user_nope", kNow, nullptr).failure,
            model::v1::AUTH_FAILURE_MALFORMED);
  auto other = secrets::Generate(secrets::SecretKind::kUser);
  EXPECT_EQ(view->ResolveToken(other->TakePlaintext(), kNow, nullptr).failure,
            model::v1::AUTH_FAILURE_UNKNOWN);
  EXPECT_EQ(view->ResolveToken(w_.user_secret, kNow + absl::Hours(24 * 45),
                               nullptr)
                .failure,
            model::v1::AUTH_FAILURE_EXPIRED);
}

// A local use not yet replicated keeps a token from expiring.
TEST_F(ReplicaIndexTest, LocalUseExtendsExpiry) {
  absl::Time later = kNow + absl::Hours(24 * 45);
  LocalUseLookup local = [&](absl::string_view id) -> std::optional<LocalUse> {
    if (id != w_.user_token) return std::nullopt;
    return LocalUse{1, kNow + absl::Hours(24 * 40)};
  };
  EXPECT_TRUE(index_.Current()->ResolveToken(w_.user_secret, later, local)
                  .active);
  LocalUseLookup old_generation =
      [&](absl::string_view) -> std::optional<LocalUse> {
    return LocalUse{0, kNow + absl::Hours(24 * 40)};
  };
  EXPECT_FALSE(
      index_.Current()->ResolveToken(w_.user_secret, later, old_generation)
          .active);
}

// Each deny reason, in the order the decision checks them.
TEST_F(ReplicaIndexTest, EveryDecisionPath) {
  Principal p = UserPrincipal();
  EXPECT_EQ(Reason(p, "templates.manage", w_.template_item),
            model::v1::DECISION_REASON_PERMISSION_MISSING);
  EXPECT_EQ(Reason(p, "templates.view", ids::NewId(ids::kItem)),
            model::v1::DECISION_REASON_ITEM_NOT_FOUND);
  EXPECT_EQ(Reason(p, "templates.view", w_.inspection),
            model::v1::DECISION_REASON_ITEM_TYPE_MISMATCH);
  EXPECT_EQ(Reason(p, "templates.view", w_.template_item),
            model::v1::DECISION_REASON_NO_ACCESS);

  auto grant = MakeGrant(w_.org, w_.template_item, model::v1::ACCESS_LEVEL_VIEW);
  grant.mutable_grantee()->set_group_id(w_.group);
  Put(GrantRecord(grant));
  p = UserPrincipal();
  EXPECT_EQ(Reason(p, "templates.view", w_.template_item),
            model::v1::DECISION_REASON_ALLOWED);
  EXPECT_EQ(Reason(p, "templates.edit", w_.template_item),
            model::v1::DECISION_REASON_ACCESS_LEVEL_TOO_LOW);

  // Inactive user: SUBJECT_INACTIVE comes first.
  Record user;
  for (const auto& r : w_.records) {
    if (r.has_user()) user = r;
  }
  user.mutable_user()->set_status(model::v1::USER_STATUS_DEACTIVATED);
  Put(user);
  Principal gone = UserPrincipal();
  EXPECT_EQ(gone.failure, model::v1::AUTH_FAILURE_OWNER_INACTIVE);
  EXPECT_EQ(Reason(gone, "templates.manage", w_.template_item),
            model::v1::DECISION_REASON_SUBJECT_INACTIVE);
}

// A resolved subject follows changes to its user, service user and
// permission sets, while a principal resolved earlier keeps what it saw.
TEST_F(ReplicaIndexTest, ResolvedSubjectsFollowChanges) {
  Principal before = UserPrincipal();
  Record set;
  Record user;
  Record service_user;
  for (const auto& r : w_.records) {
    if (r.has_permission_set() && r.permission_set().id() == w_.pset) set = r;
    if (r.has_user()) user = r;
    if (r.has_service_user()) service_user = r;
  }

  // A set shrinks: the user it belongs to loses the permission.
  set.mutable_permission_set()->clear_permissions();
  set.mutable_permission_set()->add_permissions("templates.view");
  Put(set);
  Principal after = UserPrincipal();
  ASSERT_EQ(after.subject.permissions_size(), 1);
  EXPECT_EQ(after.subject.permissions(0), "templates.view");
  EXPECT_EQ(before.subject.permissions_size(), 3);
  EXPECT_EQ(Reason(after, "inspections.view", w_.inspection),
            model::v1::DECISION_REASON_PERMISSION_MISSING);

  // The user is renamed and moved to the narrow set.
  user.mutable_user()->set_display_name("Ada L.");
  user.mutable_user()->set_permission_set_id(w_.narrow_pset);
  Put(user);
  after = UserPrincipal();
  EXPECT_EQ(after.subject.display_name(), "Ada L.");
  ASSERT_EQ(after.subject.permission_set_ids().size(), 1u);
  EXPECT_EQ(after.subject.permission_set_ids()[0], w_.narrow_pset);
  EXPECT_EQ(after.subject.ToProto().token_id(), w_.user_token);
  EXPECT_EQ(after.token_id(), w_.user_token);

  // The service user gains a second set; its token resolves with both.
  service_user.mutable_service_user()->add_permission_set_ids(w_.pset);
  Put(service_user);
  Principal svc = index_.Current()->ResolveToken(w_.svc_secret, kNow, nullptr);
  ASSERT_TRUE(svc.active);
  EXPECT_EQ(svc.subject.permission_set_ids().size(), 2u);
  EXPECT_EQ(svc.subject.kind(), model::v1::SUBJECT_KIND_SERVICE_USER);
  EXPECT_FALSE(svc.subject.login_allowed());

  // The set is deleted: subjects holding it keep the id, not the
  // permissions.
  model::v1::ChangeRecord removal;
  removal.set_revision(index_.Current()->revision() + 1);
  auto* change = removal.add_changes();
  change->set_operation(model::v1::CHANGE_OPERATION_DELETE);
  *change->mutable_record() = set;
  ASSERT_TRUE(index_.Apply({removal}).ok());
  svc = index_.Current()->ResolveToken(w_.svc_secret, kNow, nullptr);
  EXPECT_EQ(svc.subject.permission_set_ids().size(), 2u);
  ASSERT_EQ(svc.subject.permissions_size(), 1);
  EXPECT_EQ(svc.subject.permissions(0), "templates.view");

  // The user is deleted: its token no longer has an active owner.
  removal.set_revision(index_.Current()->revision() + 1);
  *change->mutable_record() = user;
  ASSERT_TRUE(index_.Apply({removal}).ok());
  Principal orphan = UserPrincipal();
  EXPECT_EQ(orphan.failure, model::v1::AUTH_FAILURE_OWNER_INACTIVE);
  EXPECT_EQ(orphan.subject.subject_id(), w_.user);
  EXPECT_TRUE(absl::IsNotFound(
      index_.Current()->ResolveSubjectId(w_.user, kNow, nullptr).status()));
}

// Bad questions are errors, not denies.
TEST_F(ReplicaIndexTest, RejectsBadInput) {
  Principal p = UserPrincipal();
  auto view = index_.Current();
  EXPECT_TRUE(absl::IsInvalidArgument(
      view->Check(p, "no.such", w_.template_item).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      view->Check(p, "templates.view", "").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      view->Check(p, "platform.users", w_.template_item).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      view->ResolveSubjectId("bogus", kNow, nullptr).status()));
  EXPECT_TRUE(absl::IsNotFound(
      view->ResolveSubjectId(ids::NewId(ids::kUser), kNow, nullptr).status()));
}

// A grant to a site reaches members of that site and of sites above it;
// org-wide grants and rules reach users but never service users.
TEST_F(ReplicaIndexTest, SitesOrganizationRulesAndServiceUsers) {
  auto site_grant =
      MakeGrant(w_.org, w_.template_item, model::v1::ACCESS_LEVEL_EDIT);
  site_grant.mutable_grantee()->set_site_id(w_.child_site);
  Put(GrantRecord(site_grant));
  Principal p = UserPrincipal();
  EXPECT_EQ(Reason(p, "templates.edit", w_.template_item),
            model::v1::DECISION_REASON_ALLOWED);

  model::v1::Grant rule;
  rule.set_id(ids::NewId(ids::kGrant));
  rule.set_organization_id(w_.org);
  rule.set_item_type("inspection");
  rule.set_level(model::v1::ACCESS_LEVEL_VIEW);
  rule.mutable_grantee()->set_organization_id(w_.org);
  Put(GrantRecord(rule));
  EXPECT_EQ(Reason(UserPrincipal(), "inspections.view", w_.inspection),
            model::v1::DECISION_REASON_ALLOWED);

  auto svc = index_.Current()->ResolveSubjectId(w_.svc, kNow, nullptr);
  ASSERT_TRUE(svc.ok());
  ASSERT_TRUE(svc->active);
  EXPECT_EQ(Reason(*svc, "templates.view", w_.template_item),
            model::v1::DECISION_REASON_NO_ACCESS);
  auto direct = MakeGrant(w_.org, w_.template_item, model::v1::ACCESS_LEVEL_VIEW);
  direct.mutable_grantee()->set_service_user_id(w_.svc);
  Put(GrantRecord(direct));
  svc = index_.Current()->ResolveSubjectId(w_.svc, kNow, nullptr);
  EXPECT_EQ(Reason(*svc, "templates.view", w_.template_item),
            model::v1::DECISION_REASON_ALLOWED);

  auto explanation =
      index_.Current()->Explain(UserPrincipal(), "templates.view",
                                w_.template_item);
  ASSERT_TRUE(explanation.ok());
  ASSERT_EQ(explanation->grants_size(), 1);
  EXPECT_EQ(explanation->grants(0).path(), model::v1::GRANT_PATH_SITE);
  // The grant names the child site; the user is a member of the root site
  // above it, and via_id names that membership, as the reference does.
  EXPECT_EQ(explanation->grants(0).via_id(), w_.root_site);
  EXPECT_NE(explanation->summary().find(
                absl::StrCat("their membership of site ", w_.root_site)),
            std::string::npos)
      << explanation->summary();
  EXPECT_EQ(explanation->granted_level(), model::v1::ACCESS_LEVEL_EDIT);
}

// A reader holding a view keeps seeing it while the applier moves on.
TEST_F(ReplicaIndexTest, ReadersAreIsolatedFromApplies) {
  auto before = index_.Current();
  Record revoked;
  *revoked.mutable_token() = w_.Token(w_.user_token);
  revoked.mutable_token()->set_state(model::v1::TOKEN_STATE_REVOKED);
  Put(revoked);
  EXPECT_TRUE(before->ResolveToken(w_.user_secret, kNow, nullptr).active);
  EXPECT_EQ(index_.Current()->ResolveToken(w_.user_secret, kNow, nullptr)
                .failure,
            model::v1::AUTH_FAILURE_REVOKED);
  EXPECT_EQ(before->revision() + 1, index_.Current()->revision());
  EXPECT_NE(before->Digest(), index_.Current()->Digest());
}

// Gaps in the change stream are refused; repeats are skipped.
TEST_F(ReplicaIndexTest, RefusesGaps) {
  Record org;
  org.mutable_organization()->set_id(w_.org);
  EXPECT_TRUE(absl::IsFailedPrecondition(index_.Apply({Upsert(12, org)})));
  EXPECT_TRUE(index_.Apply({Upsert(10, org), Upsert(11, org)}).ok());
  EXPECT_EQ(index_.Current()->revision(), 11);
}

// The digest depends on the records only, not on how they arrived.
TEST_F(ReplicaIndexTest, DigestMatchesSnapshotRecords) {
  EXPECT_EQ(index_.Current()->Digest(), RecordsDigest(w_.records));
}

// Pages are ascending, complete and never overlap.
TEST_F(ReplicaIndexTest, ListAccessiblePages) {
  std::vector<std::string> expected;
  for (int i = 0; i < 25; ++i) {
    Record item;
    std::string id = ids::NewId(ids::kItem);
    item.mutable_item()->set_id(id);
    item.mutable_item()->set_organization_id(w_.org);
    item.mutable_item()->set_type("template");
    Put(item);
    if (i % 2 == 0) {
      auto g = MakeGrant(w_.org, id, model::v1::ACCESS_LEVEL_VIEW);
      g.mutable_grantee()->set_user_id(w_.user);
      Put(GrantRecord(g));
      expected.push_back(id);
    }
  }
  std::sort(expected.begin(), expected.end());
  std::vector<std::string> seen;
  std::string token;
  do {
    auto page = index_.Current()->ListAccessible(UserPrincipal(), "template",
                                                 "templates.view", 4, token);
    ASSERT_TRUE(page.ok()) << page.status();
    seen.insert(seen.end(), page->item_ids.begin(), page->item_ids.end());
    token = page->next_page_token;
  } while (!token.empty());
  EXPECT_EQ(seen, expected);
  EXPECT_TRUE(absl::IsInvalidArgument(
      index_.Current()
          ->ListAccessible(UserPrincipal(), "template", "inspections.view", 4,
                           "")
          .status()));
}

// Small pages of ListAccessible, merged from grants to the user, its group,
// a site below its own, its organization and a type-wide rule, list exactly
// the items Check allows, each once, whatever the page size.
TEST_F(ReplicaIndexTest, ListAccessibleMergesEverySourceByPage) {
  const auto level_for = [](int i) {
    return i % 3 == 0 ? model::v1::ACCESS_LEVEL_VIEW
                      : model::v1::ACCESS_LEVEL_EDIT;
  };
  std::vector<std::string> items = {w_.template_item, w_.inspection};
  for (int i = 0; i < 30; ++i) {
    Record item;
    std::string id = ids::NewId(ids::kItem);
    item.mutable_item()->set_id(id);
    item.mutable_item()->set_organization_id(w_.org);
    item.mutable_item()->set_type(i % 5 == 4 ? "inspection" : "template");
    Put(item);
    items.push_back(id);
    if (i % 7 == 6) continue;  // no grant at all
    auto g = MakeGrant(w_.org, id, level_for(i));
    switch (i % 4) {
      case 0:
        g.mutable_grantee()->set_user_id(w_.user);
        break;
      case 1:
        g.mutable_grantee()->set_group_id(w_.group);
        break;
      case 2:
        g.mutable_grantee()->set_site_id(w_.child_site);
        break;
      default:
        g.mutable_grantee()->set_organization_id(w_.org);
        break;
    }
    Put(GrantRecord(g));
    // A second source for some items, so the merge sees repeats.
    if (i % 2 == 0) {
      auto again = MakeGrant(w_.org, id, model::v1::ACCESS_LEVEL_EDIT);
      again.mutable_grantee()->set_organization_id(w_.org);
      Put(GrantRecord(again));
    }
  }

  auto expect_pages_match_check = [&](const std::string& trace) {
    SCOPED_TRACE(trace);
    std::vector<std::string> allowed;
    for (const auto& id : items) {
      if (Reason(UserPrincipal(), "templates.edit", id) ==
          model::v1::DECISION_REASON_ALLOWED) {
        allowed.push_back(id);
      }
    }
    std::sort(allowed.begin(), allowed.end());
    for (int page_size : {1, 2, 3, 1000}) {
      SCOPED_TRACE(absl::StrCat("page size ", page_size));
      std::vector<std::string> seen;
      std::string token;
      do {
        auto page = index_.Current()->ListAccessible(
            UserPrincipal(), "template", "templates.edit", page_size, token);
        ASSERT_TRUE(page.ok()) << page.status();
        ASSERT_LE(page->item_ids.size(), static_cast<size_t>(page_size));
        seen.insert(seen.end(), page->item_ids.begin(), page->item_ids.end());
        token = page->next_page_token;
      } while (!token.empty());
      EXPECT_EQ(seen, allowed);
    }
  };
  expect_pages_match_check("grants only");

  // A rule to the group at the needed level reaches every template.
  model::v1::Grant rule;
  rule.set_id(ids::NewId(ids::kGrant));
  rule.set_organization_id(w_.org);
  rule.set_item_type("template");
  rule.set_level(model::v1::ACCESS_LEVEL_EDIT);
  rule.mutable_grantee()->set_group_id(w_.group);
  Put(GrantRecord(rule));
  expect_pages_match_check("with a rule");

  // Lowered below the permission's level, the rule reaches nothing again.
  rule.set_level(model::v1::ACCESS_LEVEL_VIEW);
  Put(GrantRecord(rule));
  expect_pages_match_check("with the rule lowered");
}

// ListAccessible files grants by their item's type: a grant that arrives
// before its item lists once the item does, an item whose type changes
// moves its grants along, and a removed item is listed no more, while Check
// agrees at every step.
TEST_F(ReplicaIndexTest, ListAccessibleFollowsItemsArrivingChangingAndLeaving) {
  const std::string id = ids::NewId(ids::kItem);
  auto grant = MakeGrant(w_.org, id, model::v1::ACCESS_LEVEL_VIEW);
  grant.mutable_grantee()->set_user_id(w_.user);
  Put(GrantRecord(grant));
  auto listed = [&](const std::string& type, const std::string& permission) {
    auto page = index_.Current()->ListAccessible(UserPrincipal(), type,
                                                 permission, 1000, "");
    EXPECT_TRUE(page.ok()) << page.status();
    return page.ok() && std::find(page->item_ids.begin(), page->item_ids.end(),
                                  id) != page->item_ids.end();
  };
  EXPECT_FALSE(listed("template", "templates.view"));

  Record item;
  item.mutable_item()->set_id(id);
  item.mutable_item()->set_organization_id(w_.org);
  item.mutable_item()->set_type("template");
  Put(item);
  EXPECT_TRUE(listed("template", "templates.view"));
  EXPECT_FALSE(listed("inspection", "inspections.view"));
  EXPECT_EQ(Reason(UserPrincipal(), "templates.view", id),
            model::v1::DECISION_REASON_ALLOWED);

  item.mutable_item()->set_type("inspection");
  Put(item);
  EXPECT_FALSE(listed("template", "templates.view"));
  EXPECT_TRUE(listed("inspection", "inspections.view"));

  model::v1::ChangeRecord removal;
  removal.set_revision(index_.Current()->revision() + 1);
  auto* change = removal.add_changes();
  change->set_operation(model::v1::CHANGE_OPERATION_DELETE);
  *change->mutable_record() = item;
  ASSERT_TRUE(index_.Apply({removal}).ok());
  EXPECT_FALSE(listed("inspection", "inspections.view"));
  EXPECT_NE(Reason(UserPrincipal(), "inspections.view", id),
            model::v1::DECISION_REASON_ALLOWED);

  // Back again; then the grant goes, from the bucket it is in.
  Put(item);
  EXPECT_TRUE(listed("inspection", "inspections.view"));
  model::v1::ChangeRecord revoke;
  revoke.set_revision(index_.Current()->revision() + 1);
  change = revoke.add_changes();
  change->set_operation(model::v1::CHANGE_OPERATION_DELETE);
  *change->mutable_record() = GrantRecord(grant);
  ASSERT_TRUE(index_.Apply({revoke}).ok());
  EXPECT_FALSE(listed("inspection", "inspections.view"));
  EXPECT_EQ(index_.Current()->Counts().grants, 0u);
}

// On an item shared with many grantees, Check looks the subject's grantees
// up instead of reading every grant; it must decide as Explain, which does
// read every grant, for a user reached directly, through a group, a site,
// its organization, at too low a level, or not at all, and for a service
// user.
TEST_F(ReplicaIndexTest, CheckOnAMuchSharedItemAgreesWithExplain) {
  const std::string id = ids::NewId(ids::kItem);
  Record item;
  item.mutable_item()->set_id(id);
  item.mutable_item()->set_organization_id(w_.org);
  item.mutable_item()->set_type("template");
  Put(item);
  // Filler grants to other users, groups and sites around the ones tried.
  for (int i = 0; i < 40; ++i) {
    auto g = MakeGrant(w_.org, id, model::v1::ACCESS_LEVEL_EDIT);
    switch (i % 3) {
      case 0:
        g.mutable_grantee()->set_user_id(ids::NewId(ids::kUser));
        break;
      case 1:
        g.mutable_grantee()->set_group_id(ids::NewId(ids::kGroup));
        break;
      default:
        g.mutable_grantee()->set_site_id(ids::NewId(ids::kSite));
        break;
    }
    Put(GrantRecord(g));
  }
  auto service_user = [&] {
    return index_.Current()->ResolveToken(w_.svc_secret, kNow, nullptr);
  };
  auto agree = [&](const std::string& trace, const Principal& who,
                   const std::string& permission, bool allowed) {
    SCOPED_TRACE(trace);
    auto check = index_.Current()->Check(who, permission, id);
    auto explain = index_.Current()->Explain(who, permission, id);
    ASSERT_TRUE(check.ok()) << check.status();
    ASSERT_TRUE(explain.ok()) << explain.status();
    EXPECT_EQ(check->allowed, explain->allowed());
    EXPECT_EQ(check->reason, explain->reason());
    EXPECT_EQ(check->allowed, allowed);
  };
  agree("no grant reaches", UserPrincipal(), "templates.view", false);
  agree("service user, none", service_user(), "templates.view", false);

  auto grant_to = [&](auto set_grantee, model::v1::AccessLevel level) {
    auto g = MakeGrant(w_.org, id, level);
    set_grantee(*g.mutable_grantee());
    Put(GrantRecord(g));
    return g;
  };
  grant_to(
      [&](model::v1::Grantee& g) { g.set_site_id(w_.child_site); },
      model::v1::ACCESS_LEVEL_VIEW);
  agree("through a site below the user's", UserPrincipal(), "templates.view",
        true);
  agree("site grant too low", UserPrincipal(), "templates.edit", false);
  grant_to([&](model::v1::Grantee& g) { g.set_group_id(w_.group); },
           model::v1::ACCESS_LEVEL_EDIT);
  agree("through the group", UserPrincipal(), "templates.edit", true);
  grant_to([&](model::v1::Grantee& g) { g.set_service_user_id(w_.svc); },
           model::v1::ACCESS_LEVEL_VIEW);
  agree("service user directly", service_user(), "templates.view", true);
  grant_to([&](model::v1::Grantee& g) { g.set_organization_id(w_.org); },
           model::v1::ACCESS_LEVEL_VIEW);
  grant_to([&](model::v1::Grantee& g) { g.set_user_id(w_.user); },
           model::v1::ACCESS_LEVEL_VIEW);
  agree("user, organization and group together", UserPrincipal(),
        "templates.edit", true);
  ASSERT_GT(index_.Current()->Counts().grants, 16u);
}

// Prints heap bytes per token, subject, item and grant (not an assertion).
TEST(ReplicaIndexMemory, PrintsBytesPerEntry) {
  World w;
  auto measure = [&](int n, auto add) {
    std::vector<Record> records = w.records;
    size_t base = records.size();
    for (int i = 0; i < n; ++i) add(records, i);
    ReplicaIndex index;
    size_t before = mallinfo2().uordblks;
    EXPECT_TRUE(index.LoadSnapshot(1, records).ok());
    size_t after = mallinfo2().uordblks;
    (void)base;
    return static_cast<double>(after - before) / n;
  };
  const int n = 20000;
  double token = measure(n, [&](std::vector<Record>& r, int) {
    auto* t = r.emplace_back().mutable_token();
    *t = w.Token(w.user_token);
    t->set_id(ids::NewId(ids::kToken));
    t->set_secret_digest(std::string(32, 'a') + t->id());
  });
  double user = measure(n, [&](std::vector<Record>& r, int) {
    std::string id = ids::NewId(ids::kUser);
    auto* u = r.emplace_back().mutable_user();
    u->set_id(id);
    u->set_organization_id(w.org);
    u->set_display_name("Some Person");
    u->set_email("someone@example.com");
    u->set_permission_set_id(w.pset);
    auto* gm = r.emplace_back().mutable_group_member();
    gm->set_organization_id(w.org);
    gm->set_group_id(w.group);
    gm->set_user_id(id);
  });
  double item = measure(n, [&](std::vector<Record>& r, int) {
    auto* i = r.emplace_back().mutable_item();
    i->set_id(ids::NewId(ids::kItem));
    i->set_organization_id(w.org);
    i->set_type("template");
    i->set_name("A template");
  });
  double grant = measure(n, [&](std::vector<Record>& r, int) {
    auto g = MakeGrant(w.org, w.template_item, model::v1::ACCESS_LEVEL_VIEW);
    g.mutable_grantee()->set_user_id(ids::NewId(ids::kUser));
    *r.emplace_back().mutable_grant() = g;
  });
  std::printf("replica index bytes per entry: token %.0f, user (with one "
              "group membership) %.0f, item %.0f, grant %.0f\n",
              token, user, item, grant);
}

}  // namespace
}  // namespace warden::index
