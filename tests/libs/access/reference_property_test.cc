// Random models against an oracle: ReferenceDecider::Check must agree with a
// brute-force decision computed here from plain in-memory copies of the same
// records, written independently of libs/access, through random writes and
// deletes; Explain's verdict must always equal Check's.

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "libs/access/reference_check.h"
#include "libs/ids/ids.h"
#include "libs/index/replica_index.h"
#include "libs/store/records.h"
#include "libs/tokens/token_rules.h"
#include "tests/support/temp_dir.h"

namespace warden::access {
namespace {

using model::v1::DecisionReason;

constexpr int kOrgs = 3;
constexpr int kUsersPerOrg = 50;
constexpr int kServiceUsersPerOrg = 8;
constexpr int kSetsPerOrg = 4;
constexpr int kGroupsPerOrg = 8;
constexpr int kSitesPerOrg = 12;
constexpr int kItemsPerOrg = 30;
constexpr int kGrantsPerOrg = 120;
constexpr int kQuestionsPerRound = 300;
constexpr int kRounds = 3;

struct CatalogEntry {
  std::string name;
  std::string type;  // empty: organization-level
  int level;         // required level, 1..3
};

const std::vector<CatalogEntry>& Entries() {
  static const auto* entries = new std::vector<CatalogEntry>{
      {"platform.users", "", 0},         {"templates.view", "template", 1},
      {"templates.edit", "template", 2}, {"templates.manage", "template", 3},
      {"assets.view", "asset", 1},       {"assets.edit", "asset", 2},
  };
  return *entries;
}

// The whole model as plain maps of records: what the oracle reads.
struct World {
  std::vector<std::string> orgs;
  std::map<std::string, model::v1::PermissionSet> sets;
  std::map<std::string, model::v1::User> users;
  std::map<std::string, model::v1::ServiceUser> service_users;
  std::map<std::string, model::v1::Token> tokens;
  std::map<std::string, model::v1::Group> groups;
  std::map<std::string, model::v1::GroupMember> group_members;  // by key
  std::map<std::string, model::v1::Site> sites;
  std::map<std::string, model::v1::SiteMember> site_members;  // by key
  std::map<std::string, model::v1::Item> items;
  std::map<std::string, model::v1::Grant> grants;
};

std::string MemberKey(const std::string& container, const std::string& user) {
  return container + "|" + user;
}

// Whether grant `g`'s grantee takes in the subject `id` of `org` (a user
// when `is_user`, else a service user): named directly, through a group or
// a site (or a site above) it belongs to, or org-wide for users; always in
// the grantee's organization, which is the grant's own when unset.
bool GranteeIncludes(const World& w, const model::v1::Grant& g,
                     const std::string& org, bool is_user,
                     const std::string& id) {
  const auto& to = g.grantee();
  std::string grantee_org = to.grantee_organization_id().empty()
                                ? g.organization_id()
                                : to.grantee_organization_id();
  bool includes = false;
  if (to.has_user_id()) {
    includes = is_user && grantee_org == org && to.user_id() == id;
  } else if (to.has_service_user_id()) {
    includes = !is_user && grantee_org == org && to.service_user_id() == id;
  } else if (to.has_group_id()) {
    auto group = w.groups.find(to.group_id());
    includes = is_user && grantee_org == org && group != w.groups.end() &&
               group->second.organization_id() == org &&
               w.group_members.count(MemberKey(to.group_id(), id)) > 0;
  } else if (to.has_site_id()) {
    if (is_user && grantee_org == org) {
      std::set<std::string> seen;
      std::string s = to.site_id();
      while (!includes && !s.empty() && seen.insert(s).second) {
        auto site = w.sites.find(s);
        if (site == w.sites.end() || site->second.organization_id() != org) {
          break;
        }
        includes = w.site_members.count(MemberKey(s, id)) > 0;
        s = site->second.parent_site_id();
      }
    }
  } else if (to.has_organization_id()) {
    includes = is_user && to.organization_id() == org;
  }
  return includes;
}

// The decision, by brute force over the world.
DecisionReason Oracle(const World& w, absl::Time now, const std::string& org,
                      model::v1::SubjectKind kind, const std::string& id,
                      const std::string& permission,
                      const std::string& item_id) {
  const bool is_user = kind == model::v1::SUBJECT_KIND_USER;

  // Step 1: active, and the permission sets it holds.
  std::vector<std::string> set_ids;
  if (is_user) {
    auto u = w.users.find(id);
    if (u == w.users.end() || u->second.organization_id() != org ||
        u->second.status() != model::v1::USER_STATUS_ACTIVE) {
      return model::v1::DECISION_REASON_SUBJECT_INACTIVE;
    }
    set_ids.push_back(u->second.permission_set_id());
  } else {
    auto s = w.service_users.find(id);
    if (s == w.service_users.end() || s->second.organization_id() != org) {
      return model::v1::DECISION_REASON_SUBJECT_INACTIVE;
    }
    auto t = w.tokens.find(s->second.token_id());
    if (t == w.tokens.end() ||
        t->second.state() != model::v1::TOKEN_STATE_ACTIVE) {
      return model::v1::DECISION_REASON_SUBJECT_INACTIVE;
    }
    absl::Time issued =
        absl::FromUnixSeconds(t->second.secret_issued_at().seconds());
    if (now >= issued + absl::Hours(24) * t->second.inactivity_days()) {
      return model::v1::DECISION_REASON_SUBJECT_INACTIVE;
    }
    set_ids.assign(s->second.permission_set_ids().begin(),
                   s->second.permission_set_ids().end());
  }

  // Step 2.
  bool holds = false;
  for (const auto& set_id : set_ids) {
    auto set = w.sets.find(set_id);
    if (set == w.sets.end() || set->second.organization_id() != org) continue;
    for (const auto& p : set->second.permissions()) holds |= p == permission;
  }
  if (!holds) return model::v1::DECISION_REASON_PERMISSION_MISSING;
  const CatalogEntry* entry = nullptr;
  for (const auto& e : Entries()) {
    if (e.name == permission) entry = &e;
  }
  if (entry->type.empty()) return model::v1::DECISION_REASON_ALLOWED;

  // Steps 3 and 4.
  auto item = w.items.find(item_id);
  if (item == w.items.end()) return model::v1::DECISION_REASON_ITEM_NOT_FOUND;
  if (item->second.type() != entry->type) {
    return model::v1::DECISION_REASON_ITEM_TYPE_MISMATCH;
  }

  // Steps 5 and 6: every grant on the item or its type in its organization.
  int best = -1;
  for (const auto& [grant_id, g] : w.grants) {
    if (g.organization_id() != item->second.organization_id()) continue;
    bool on_item = (g.has_item_id() && g.item_id() == item_id) ||
                   (g.has_item_type() && g.item_type() == entry->type);
    if (!on_item) continue;
    if (GranteeIncludes(w, g, org, is_user, id)) {
      best = std::max(best, static_cast<int>(g.level()));
    }
  }
  if (best < 0) return model::v1::DECISION_REASON_NO_ACCESS;
  if (best < entry->level) {
    return model::v1::DECISION_REASON_ACCESS_LEVEL_TOO_LOW;
  }
  return model::v1::DECISION_REASON_ALLOWED;
}

class PropertyTest : public ::testing::TestWithParam<uint32_t> {
 protected:
  void SetUp() override {
    store::StoreOptions options;
    options.path = dir_.Sub("db");
    options.clock = &clock_;
    options.sync = false;
    auto opened = store::Store::Open(options);
    ASSERT_TRUE(opened.ok()) << opened.status();
    store_ = *std::move(opened);
    rng_.seed(GetParam());
  }

  int Uniform(int n) {
    return std::uniform_int_distribution<int>(0, n - 1)(rng_);
  }
  bool Chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  template <typename Map>
  const std::string& AnyKey(const Map& map) {
    auto it = map.begin();
    std::advance(it, Uniform(static_cast<int>(map.size())));
    return it->first;
  }

  // Builds a random world and stages every record for writing.
  void BuildWorld() {
    model::v1::PermissionCatalog catalog;
    catalog.add_item_types("template");
    catalog.add_item_types("asset");
    for (const auto& e : Entries()) {
      model::v1::Permission* p = catalog.add_permissions();
      p->set_name(e.name);
      p->set_item_type(e.type);
      p->set_required_level(static_cast<model::v1::AccessLevel>(e.level));
    }
    catalog_ = catalog;
    Stage(catalog);

    const absl::Time now = clock_.Now();
    for (int o = 0; o < kOrgs; ++o) {
      std::string org = ids::NewId(ids::kOrganization);
      w_.orgs.push_back(org);
      model::v1::Organization record;
      record.set_id(org);
      record.set_name(org);
      Stage(record);

      std::vector<std::string> org_sets;
      for (int i = 0; i < kSetsPerOrg; ++i) {
        model::v1::PermissionSet set;
        set.set_id(ids::NewId(ids::kPermissionSet));
        set.set_organization_id(org);
        set.set_name(set.id());
        std::vector<std::string> names;
        for (const auto& e : Entries()) {
          if (Chance(0.7)) names.push_back(e.name);
        }
        std::sort(names.begin(), names.end());
        for (const auto& n : names) set.add_permissions(n);
        w_.sets[set.id()] = set;
        org_sets.push_back(set.id());
        Stage(set);
      }
      std::vector<std::string> org_users;
      for (int i = 0; i < kUsersPerOrg; ++i) {
        model::v1::User user;
        user.set_id(ids::NewId(ids::kUser));
        user.set_organization_id(org);
        user.set_email(user.id() + "@example.com");
        user.set_display_name(user.id());
        int status = Uniform(10);
        user.set_status(status < 8   ? model::v1::USER_STATUS_ACTIVE
                        : status < 9 ? model::v1::USER_STATUS_DEACTIVATED
                                     : model::v1::USER_STATUS_REMOVED);
        user.set_permission_set_id(org_sets[Uniform(kSetsPerOrg)]);
        w_.users[user.id()] = user;
        org_users.push_back(user.id());
        Stage(user);
      }
      for (int i = 0; i < kServiceUsersPerOrg; ++i) {
        model::v1::Token token;
        token.set_id(ids::NewId(ids::kToken));
        token.set_organization_id(org);
        token.set_kind(model::v1::TOKEN_KIND_SERVICE_USER);
        token.set_name(token.id());
        token.set_state(Chance(0.8) ? model::v1::TOKEN_STATE_ACTIVE
                                    : model::v1::TOKEN_STATE_REVOKED);
        token.set_secret_digest("digest-" + token.id());
        token.set_inactivity_days(45);
        *token.mutable_secret_issued_at() =
            tokens::ToProto(now - absl::Hours(24) * Uniform(60));
        model::v1::ServiceUser service_user;
        service_user.set_id(ids::NewId(ids::kServiceUser));
        service_user.set_organization_id(org);
        service_user.set_name(service_user.id());
        service_user.add_permission_set_ids(org_sets[Uniform(kSetsPerOrg)]);
        if (Chance(0.5)) {
          service_user.add_permission_set_ids(org_sets[Uniform(kSetsPerOrg)]);
        }
        service_user.set_token_id(token.id());
        token.set_subject_id(service_user.id());
        w_.tokens[token.id()] = token;
        w_.service_users[service_user.id()] = service_user;
        Stage(token);
        Stage(service_user);
      }
      for (int i = 0; i < kGroupsPerOrg; ++i) {
        model::v1::Group group;
        group.set_id(ids::NewId(ids::kGroup));
        group.set_organization_id(org);
        group.set_name(group.id());
        w_.groups[group.id()] = group;
        Stage(group);
        for (const auto& user : org_users) {
          if (!Chance(0.15)) continue;
          model::v1::GroupMember member;
          member.set_organization_id(org);
          member.set_group_id(group.id());
          member.set_user_id(user);
          w_.group_members[MemberKey(group.id(), user)] = member;
          Stage(member);
        }
      }
      std::vector<std::string> org_sites;
      for (int i = 0; i < kSitesPerOrg; ++i) {
        model::v1::Site site;
        site.set_id(ids::NewId(ids::kSite));
        site.set_organization_id(org);
        site.set_name(site.id());
        // A forest: each site hangs below an earlier one, or is a root.
        if (!org_sites.empty() && Chance(0.75)) {
          site.set_parent_site_id(org_sites[Uniform(org_sites.size())]);
        }
        w_.sites[site.id()] = site;
        org_sites.push_back(site.id());
        Stage(site);
        for (const auto& user : org_users) {
          if (!Chance(0.08)) continue;
          model::v1::SiteMember member;
          member.set_organization_id(org);
          member.set_site_id(site.id());
          member.set_user_id(user);
          w_.site_members[MemberKey(site.id(), user)] = member;
          Stage(member);
        }
      }
      for (int i = 0; i < kItemsPerOrg; ++i) {
        model::v1::Item item;
        item.set_id(ids::NewId(ids::kItem));
        item.set_organization_id(org);
        item.set_type(Chance(0.7) ? "template" : "asset");
        item.set_name(item.id());
        w_.items[item.id()] = item;
        Stage(item);
      }
    }
    for (const auto& org : w_.orgs) {
      for (int i = 0; i < kGrantsPerOrg; ++i) AddRandomGrant(org);
    }
  }

  // A grant by `org`: on one of its items or (a rule) a type, to a subject,
  // group, site or organization of any organization (cross-organization
  // sharing included). A `misdirected` grant names a grantee organization
  // other than its user's, service user's, group's or site's own, and so
  // takes in no one.
  void AddRandomGrant(const std::string& org, bool misdirected = false) {
    model::v1::Grant grant;
    grant.set_id(ids::NewId(ids::kGrant));
    grant.set_organization_id(org);
    std::vector<std::string> own_items;
    for (const auto& [id, item] : w_.items) {
      if (item.organization_id() == org) own_items.push_back(id);
    }
    if (own_items.empty() || Chance(0.1)) {
      grant.set_item_type(Chance(0.5) ? "template" : "asset");
    } else {
      grant.set_item_id(own_items[Uniform(own_items.size())]);
    }
    model::v1::Grantee* to = grant.mutable_grantee();
    std::string grantee_org;
    switch (Uniform(5)) {
      case 0: {
        const auto& user = w_.users.at(AnyKey(w_.users));
        to->set_user_id(user.id());
        grantee_org = user.organization_id();
        break;
      }
      case 1: {
        const auto& svc = w_.service_users.at(AnyKey(w_.service_users));
        to->set_service_user_id(svc.id());
        grantee_org = svc.organization_id();
        break;
      }
      case 2: {
        const auto& group = w_.groups.at(AnyKey(w_.groups));
        to->set_group_id(group.id());
        grantee_org = group.organization_id();
        break;
      }
      case 3: {
        const auto& site = w_.sites.at(AnyKey(w_.sites));
        to->set_site_id(site.id());
        grantee_org = site.organization_id();
        break;
      }
      default:
        grantee_org = w_.orgs[Uniform(w_.orgs.size())];
        to->set_organization_id(grantee_org);
        break;
    }
    if (misdirected && !to->has_organization_id()) {
      // Unset (the grant's own organization) or another one.
      if (grantee_org != org && Chance(0.5)) {
        to->clear_grantee_organization_id();
      } else {
        std::string other = grantee_org;
        while (other == grantee_org) other = w_.orgs[Uniform(w_.orgs.size())];
        to->set_grantee_organization_id(other);
      }
    } else if (grantee_org != org || Chance(0.5)) {
      // Within one organization the grantee's organization is often left
      // unset, meaning the grant's own.
      to->set_grantee_organization_id(grantee_org);
    }
    grant.set_level(static_cast<model::v1::AccessLevel>(1 + Uniform(3)));
    w_.grants[grant.id()] = grant;
    Stage(grant);
  }

  // Random writes and deletes, applied to the world and staged for the
  // store alike.
  void Mutate() {
    for (int i = 0; i < 40; ++i) {
      switch (Uniform(9)) {
        case 0:
          if (!w_.grants.empty()) Drop(w_.grants, AnyKey(w_.grants));
          break;
        case 1:
          if (!w_.group_members.empty()) {
            Drop(w_.group_members, AnyKey(w_.group_members));
          }
          break;
        case 2:
          if (!w_.site_members.empty()) {
            Drop(w_.site_members, AnyKey(w_.site_members));
          }
          break;
        case 3: {
          auto& user = w_.users.at(AnyKey(w_.users));
          user.set_status(Chance(0.5) ? model::v1::USER_STATUS_ACTIVE
                                      : model::v1::USER_STATUS_DEACTIVATED);
          Stage(user);
          break;
        }
        case 4:
          if (!w_.items.empty() && Chance(0.3)) {
            Drop(w_.items, AnyKey(w_.items));
          }
          break;
        case 5:
          // Deleting a group or site leaves its memberships and grants
          // dangling; neither may then give access.
          if (Chance(0.5)) {
            if (w_.groups.size() > 1) Drop(w_.groups, AnyKey(w_.groups));
          } else if (w_.sites.size() > 1) {
            Drop(w_.sites, AnyKey(w_.sites));
          }
          break;
        case 6: {
          auto& token = w_.tokens.at(AnyKey(w_.tokens));
          token.set_state(Chance(0.5) ? model::v1::TOKEN_STATE_ACTIVE
                                      : model::v1::TOKEN_STATE_REVOKED);
          Stage(token);
          break;
        }
        case 7: {
          auto& user = w_.users.at(AnyKey(w_.users));
          std::vector<std::string> same_org;
          for (const auto& [id, set] : w_.sets) {
            if (set.organization_id() == user.organization_id()) {
              same_org.push_back(id);
            }
          }
          user.set_permission_set_id(same_org[Uniform(same_org.size())]);
          Stage(user);
          break;
        }
        default:
          AddRandomGrant(w_.orgs[Uniform(w_.orgs.size())]);
          break;
      }
    }
  }

  // Every record of the world, as a snapshot holds them.
  std::vector<model::v1::Record> WorldRecords() const {
    std::vector<model::v1::Record> records = {store::Wrap(catalog_)};
    for (const auto& org : w_.orgs) {
      model::v1::Organization record;
      record.set_id(org);
      record.set_name(org);
      records.push_back(store::Wrap(record));
    }
    auto add = [&records](const auto& map) {
      for (const auto& [key, record] : map) {
        records.push_back(store::Wrap(record));
      }
    };
    add(w_.sets);
    add(w_.users);
    add(w_.service_users);
    add(w_.tokens);
    add(w_.groups);
    add(w_.group_members);
    add(w_.sites);
    add(w_.site_members);
    add(w_.items);
    add(w_.grants);
    return records;
  }

  // A random user (three times in four) or service user.
  SubjectRef AnySubject() {
    if (Chance(0.75)) {
      const auto& user = w_.users.at(AnyKey(w_.users));
      return {user.organization_id(), model::v1::SUBJECT_KIND_USER, user.id(),
              "", ""};
    }
    const auto& svc = w_.service_users.at(AnyKey(w_.service_users));
    return {svc.organization_id(), model::v1::SUBJECT_KIND_SERVICE_USER,
            svc.id(), "", ""};
  }

  // Whether some grant by the item's organization, on the item or on its
  // type, takes in the subject (at any level).
  bool SomeGrantReaches(const SubjectRef& ref,
                        const model::v1::Item& item) const {
    for (const auto& [grant_id, g] : w_.grants) {
      if (g.organization_id() != item.organization_id()) continue;
      bool on_item = (g.has_item_id() && g.item_id() == item.id()) ||
                     (g.has_item_type() && g.item_type() == item.type());
      if (on_item && GranteeIncludes(w_, g, ref.organization_id,
                                     ref.kind == model::v1::SUBJECT_KIND_USER,
                                     ref.subject_id)) {
        return true;
      }
    }
    return false;
  }

  // Asks, for random subjects, about every item of other organizations, and
  // checks that what Check allows and ListAccessible lists is reached by a
  // grant; on the replica index too unless the world is `inconsistent`.
  void CheckNoAccessAcrossOrganizations(bool inconsistent) {
    constexpr int kSubjectsPerRound = 12;
    BuildWorld();
    for (const auto& org : w_.orgs) {
      for (int i = 0; i < kGrantsPerOrg / 4; ++i) {
        AddRandomGrant(org, inconsistent);
      }
    }
    Flush();
    const index::LocalUseLookup no_local_use = [](absl::string_view) {
      return std::optional<index::LocalUse>();
    };
    int allowed_across = 0;
    for (int round = 0; round <= kRounds; ++round) {
      SCOPED_TRACE(absl::StrCat("round ", round));
      index::ReplicaIndex replica_index;
      ASSERT_TRUE(replica_index.LoadSnapshot(round + 1, WorldRecords()).ok());
      std::shared_ptr<const index::ReplicaView> replica =
          replica_index.Current();
      ReferenceDecider decider(&clock_);
      auto view = store_->Read();

      for (int n = 0; n < kSubjectsPerRound; ++n) {
        const SubjectRef ref = AnySubject();
        auto principal = replica->ResolveSubjectId(ref.subject_id, clock_.Now(),
                                                   no_local_use);
        ASSERT_TRUE(principal.ok()) << principal.status();
        for (const CatalogEntry& entry : Entries()) {
          if (entry.type.empty()) continue;
          SCOPED_TRACE(absl::StrCat(ref.subject_id, " ", entry.name));
          for (const auto& [item_id, item] : w_.items) {
            if (item.organization_id() == ref.organization_id) continue;
            const bool reached = SomeGrantReaches(ref, item);
            auto reference = decider.Check(*view, ref, entry.name, item_id);
            auto replicated = replica->Check(*principal, entry.name, item_id);
            ASSERT_TRUE(reference.ok()) << reference.status();
            ASSERT_TRUE(replicated.ok()) << replicated.status();
            EXPECT_TRUE(reached || !reference->allowed)
                << "reference " << item_id;
            EXPECT_TRUE(reached || !replicated->allowed || inconsistent)
                << "replica " << item_id;
            allowed_across += reference->allowed;
          }

          auto listed_reference =
              decider.ListAccessible(*view, ref, entry.name, 1000, "");
          auto listed_replica = replica->ListAccessible(*principal, entry.type,
                                                        entry.name, 1000, "");
          ASSERT_TRUE(listed_reference.ok()) << listed_reference.status();
          ASSERT_TRUE(listed_replica.ok()) << listed_replica.status();
          std::vector<std::string> listed;
          if (!inconsistent) listed = listed_replica->item_ids;
          for (const model::v1::Item& item : listed_reference->items) {
            listed.push_back(item.id());
          }
          for (const std::string& item_id : listed) {
            auto item = w_.items.find(item_id);
            ASSERT_NE(item, w_.items.end()) << item_id;
            EXPECT_TRUE(item->second.organization_id() == ref.organization_id ||
                        SomeGrantReaches(ref, item->second))
                << "listed " << item_id;
          }
        }
      }
      Mutate();
      if (inconsistent) {
        for (int i = 0; i < 10; ++i) {
          AddRandomGrant(w_.orgs[Uniform(w_.orgs.size())], true);
        }
      } else {
        DropWhatTheDirectoryDrops();
      }
      Flush();
      clock_.Advance(absl::Hours(24) * 7);
    }
    EXPECT_GT(allowed_across, 0);
  }

  // Removes what the Directory removes with a deleted group or site (its
  // memberships and the grants to it), and moves the children of a deleted
  // site to the top, as the Directory requires before such a delete.
  void DropWhatTheDirectoryDrops() {
    std::vector<std::string> group_members, site_members, grants;
    for (const auto& [key, m] : w_.group_members) {
      if (w_.groups.count(m.group_id()) == 0) group_members.push_back(key);
    }
    for (const auto& [key, m] : w_.site_members) {
      if (w_.sites.count(m.site_id()) == 0) site_members.push_back(key);
    }
    for (const auto& [id, g] : w_.grants) {
      if ((g.grantee().has_group_id() &&
           w_.groups.count(g.grantee().group_id()) == 0) ||
          (g.grantee().has_site_id() &&
           w_.sites.count(g.grantee().site_id()) == 0)) {
        grants.push_back(id);
      }
    }
    for (const auto& key : group_members) Drop(w_.group_members, key);
    for (const auto& key : site_members) Drop(w_.site_members, key);
    for (const auto& id : grants) Drop(w_.grants, id);
    for (auto& [id, site] : w_.sites) {
      if (!site.parent_site_id().empty() &&
          w_.sites.count(site.parent_site_id()) == 0) {
        site.clear_parent_site_id();
        Stage(site);
      }
    }
  }

  template <typename T>
  void Stage(const T& record) {
    staged_.push_back({false, store::Wrap(record)});
  }
  template <typename Map>
  void Drop(Map& map, std::string key) {
    staged_.push_back({true, store::Wrap(map.at(key))});
    map.erase(key);
  }

  // Writes what was staged, in order, in one transaction.
  void Flush() {
    auto written = store_->Write("test", [&](store::WriteTxn& txn) {
      for (const auto& [remove, record] : staged_) {
        auto status = remove ? store::DeleteRecord(txn, record)
                             : store::PutRecord(txn, record);
        if (!status.ok()) return status;
      }
      return absl::OkStatus();
    });
    ASSERT_TRUE(written.ok()) << written.status();
    staged_.clear();
  }

  // Asks random questions and compares with the oracle.
  void CompareRound(std::map<DecisionReason, int>* seen) {
    ReferenceDecider decider(&clock_);
    auto view = store_->Read();
    for (int q = 0; q < kQuestionsPerRound; ++q) {
      SubjectRef ref;
      if (Chance(0.75)) {
        const auto& user = w_.users.at(AnyKey(w_.users));
        ref = {user.organization_id(), model::v1::SUBJECT_KIND_USER, user.id(),
               "", ""};
      } else {
        const auto& svc = w_.service_users.at(AnyKey(w_.service_users));
        ref = {svc.organization_id(), model::v1::SUBJECT_KIND_SERVICE_USER,
               svc.id(), "", ""};
      }
      const CatalogEntry& entry = Entries()[Uniform(Entries().size())];
      std::string item;
      if (!entry.type.empty()) {
        item = Chance(0.03) || w_.items.empty() ? ids::NewId(ids::kItem)
                                                : AnyKey(w_.items);
      }
      SCOPED_TRACE(absl::StrCat(ref.subject_id, " ", entry.name, " ", item));

      DecisionReason expected =
          Oracle(w_, clock_.Now(), ref.organization_id, ref.kind,
                 ref.subject_id, entry.name, item);
      auto decision = decider.Check(*view, ref, entry.name, item);
      ASSERT_TRUE(decision.ok()) << decision.status();
      ASSERT_EQ(decision->reason, expected)
          << model::v1::DecisionReason_Name(decision->reason) << " vs "
          << model::v1::DecisionReason_Name(expected);
      auto explanation = decider.Explain(*view, ref, entry.name, item);
      ASSERT_TRUE(explanation.ok()) << explanation.status();
      ASSERT_EQ(explanation->allowed(), decision->allowed);
      ASSERT_EQ(explanation->reason(), decision->reason);
      ++(*seen)[expected];
    }
  }

  FakeClock clock_{absl::FromUnixSeconds(1'700'000'000)};
  model::v1::PermissionCatalog catalog_;
  testing::TempDir dir_;
  std::unique_ptr<store::Store> store_;
  std::mt19937 rng_;
  World w_;
  // Puts (false) and deletes (true) not yet written, in order.
  std::vector<std::pair<bool, model::v1::Record>> staged_;
};

// Check equals the oracle on random models through writes, deletes and the
// passage of time, and every reason occurs, so no branch goes untested.
TEST_P(PropertyTest, CheckAgreesWithOracle) {
  BuildWorld();
  Flush();
  std::map<DecisionReason, int> seen;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    CompareRound(&seen);
    if (HasFatalFailure()) return;
    Mutate();
    Flush();
    clock_.Advance(absl::Hours(24) * 7);
  }
  CompareRound(&seen);
  for (int reason = model::v1::DECISION_REASON_ALLOWED;
       reason <= model::v1::DECISION_REASON_ACCESS_LEVEL_TOO_LOW; ++reason) {
    EXPECT_GT(seen[static_cast<DecisionReason>(reason)], 0)
        << model::v1::DecisionReason_Name(static_cast<DecisionReason>(reason));
  }
}

// No subject reaches an item of another organization unless a grant by the
// item's organization, on the item or its type, takes the subject in. Holds
// for Check and ListAccessible of the reference decider and of the replica
// index loaded from the same records, through writes and deletes kept
// consistent as the Directory keeps them; and some access across
// organizations is granted, so denying everything would not pass.
TEST_P(PropertyTest, NoAccessAcrossOrganizationsWithoutAGrantToTheSubject) {
  CheckNoAccessAcrossOrganizations(/*inconsistent=*/false);
}

// The same for the reference decider alone over records the Directory never
// writes: grants naming a grantee organization other than the grantee's own
// (they take in no one) and memberships and grants left behind by deleted
// groups and sites (they give no access). The replica index is not held to
// this: it trusts the records to be as the Directory writes them.
TEST_P(PropertyTest, NoAccessAcrossOrganizationsThroughInconsistentRecords) {
  CheckNoAccessAcrossOrganizations(/*inconsistent=*/true);
}

INSTANTIATE_TEST_SUITE_P(Seeds, PropertyTest,
                         ::testing::Values(1u, 7u, 42u, 2024u));

}  // namespace
}  // namespace warden::access
