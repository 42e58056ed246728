#include "tools/bench/dataset.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/catalog/catalog.h"
#include "libs/secrets/token_secret.h"
#include "libs/tokens/token_rules.h"

namespace warden::bench {
namespace {

using model::v1::AccessLevel;
using model::v1::Record;

// Record ids in the platform's format ("<prefix>_" + 20 base32 characters)
// but reproducible: a bijective mix of a per-prefix counter, so ids are
// unique, look random (hash tables and B-trees see the real distribution)
// and the same seed gives the same dataset.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::string IdFrom(absl::string_view prefix, uint64_t seed, uint64_t n) {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
  uint64_t high = Mix(n ^ (seed << 40));  // bijective in n for a seed
  uint64_t low = Mix(high + 0x5851f42d4c957f2dULL);
  std::string id = absl::StrCat(prefix, "_");
  for (int i = 0; i < 12; ++i) id.push_back(kAlphabet[(high >> (5 * i)) & 31]);
  // The 13th character takes the last 4 bits of `high` and one of `low`.
  id.push_back(kAlphabet[((high >> 60) | ((low & 1) << 4)) & 31]);
  for (int i = 0; i < 7; ++i)
    id.push_back(kAlphabet[(low >> (1 + 5 * i)) & 31]);
  return id;
}

class IdMaker {
 public:
  explicit IdMaker(uint64_t seed) : seed_(seed) {}
  std::string Next(absl::string_view prefix) {
    return IdFrom(prefix, seed_ * 31 + prefix.size() * 7 + prefix[0],
                  counter_[prefix[0] & 63]++);
  }

 private:
  uint64_t seed_;
  uint64_t counter_[64] = {};
};

struct Org {
  std::string id;
  std::vector<std::string> set_ids;  // admin, editor, viewer, integration
  std::vector<std::string> user_ids;
  std::vector<bool> user_active;  // by index in user_ids
  std::vector<std::string> service_user_ids;
  std::vector<std::string> group_ids;
  std::vector<std::string> roots;   // top-level sites
  std::vector<std::string> leaves;  // deepest sites
  std::vector<std::string> all_sites;
  std::vector<std::string> item_ids;
  // Leaf -> its root, for the nested-site probe.
  std::vector<std::pair<std::string, std::string>> leaf_roots;
};

class Generator {
 public:
  explicit Generator(const DatasetSpec& spec)
      : spec_(spec), rng_(spec.seed), ids_(spec.seed) {}

  absl::StatusOr<Dataset> Run();

 private:
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng_)];
  }
  int Uniform(int lo, int hi) {
    return std::uniform_int_distribution<int>(lo, hi)(rng_);
  }
  double Unit() { return std::uniform_real_distribution<double>(0, 1)(rng_); }

  Record& Add() { return out_.records.emplace_back(); }
  void MakeOrg(int index, int64_t users, int64_t items, Org& org);
  void MakeSites(int index, int64_t count, Org& org);
  absl::Status MakeTokens(const Org& org, int64_t per_user);
  std::string AddGrant(const std::string& org_id, const std::string& item_id,
                       model::v1::Grantee grantee, AccessLevel level);
  std::string AddItem(const Org& org, absl::string_view type);
  AccessLevel RandomLevel();
  model::v1::Grantee RandomGrantee(int org_index);
  // A probe item: `filler` grants to other users of `owner`, then `last`.
  std::string PlantItem(int owner, absl::string_view type, int filler,
                        const model::v1::Grantee* last, AccessLevel level);

  DatasetSpec spec_;
  std::mt19937_64 rng_;
  IdMaker ids_;
  Dataset out_;
  std::vector<Org> orgs_;
  std::string probe_user_;
};

void SetTime(google::protobuf::Timestamp* t, absl::Time time) {
  *t = tokens::ToProto(time);
}

model::v1::Grantee UserGrantee(const std::string& user_id,
                               const std::string& org_id) {
  model::v1::Grantee g;
  g.set_user_id(user_id);
  g.set_grantee_organization_id(org_id);
  return g;
}

AccessLevel Generator::RandomLevel() {
  double u = Unit();
  if (u < 0.5) return model::v1::ACCESS_LEVEL_VIEW;
  if (u < 0.85) return model::v1::ACCESS_LEVEL_EDIT;
  return model::v1::ACCESS_LEVEL_MANAGE;
}

std::string Generator::AddGrant(const std::string& org_id,
                                const std::string& item_id,
                                model::v1::Grantee grantee, AccessLevel level) {
  auto* grant = Add().mutable_grant();
  grant->set_id(ids_.Next("grant"));
  grant->set_organization_id(org_id);
  grant->set_item_id(item_id);
  *grant->mutable_grantee() = std::move(grantee);
  grant->set_level(level);
  ++out_.grant_count;
  return grant->id();
}

std::string Generator::AddItem(const Org& org, absl::string_view type) {
  auto* item = Add().mutable_item();
  item->set_id(ids_.Next("item"));
  item->set_organization_id(org.id);
  item->set_type(std::string(type));
  item->set_name(absl::StrCat(type, " ", out_.item_count));
  if (!org.leaves.empty()) item->set_site_id(Pick(org.leaves));
  ++out_.item_count;
  return item->id();
}

// Who a random grant of organization `org_index` goes to: mostly users,
// groups and sites, some to everyone, to service users, and to users of a
// partner organization (a cross-organization share).
model::v1::Grantee Generator::RandomGrantee(int org_index) {
  const Org& org = orgs_[org_index];
  model::v1::Grantee g;
  double u = Unit();
  if (u < 0.30) {
    g.set_user_id(Pick(org.user_ids));
    g.set_grantee_organization_id(org.id);
  } else if (u < 0.55) {
    g.set_group_id(Pick(org.group_ids));
    g.set_grantee_organization_id(org.id);
  } else if (u < 0.80) {
    g.set_site_id(Pick(org.all_sites));
    g.set_grantee_organization_id(org.id);
  } else if (u < 0.85) {
    g.set_organization_id(org.id);
    g.set_grantee_organization_id(org.id);
  } else if (u < 0.93 || orgs_.size() < 2) {
    g.set_service_user_id(Pick(org.service_user_ids));
    g.set_grantee_organization_id(org.id);
  } else {
    const Org& partner = orgs_[(org_index + 1) % orgs_.size()];
    g.set_user_id(Pick(partner.user_ids));
    g.set_grantee_organization_id(partner.id);
  }
  return g;
}

// A site tree of `count` sites whose depth is 3, 4 or 5 by organization
// (the largest gets 5): roots, then each level splitting its parents.
void Generator::MakeSites(int index, int64_t count, Org& org) {
  const int depth = spec_.site_depth > 0 ? spec_.site_depth : 5 - index % 3;
  const int64_t roots = std::max<int64_t>(1, count / 60);
  // Children per site so the tree holds about `count` sites; a deep tree
  // asked for by the knob may have chains of single children.
  const double per_level = std::max(spec_.site_depth > 0 ? 1.0 : 2.0,
                                    std::pow(static_cast<double>(count) / roots,
                                             1.0 / std::max(1, depth - 1)));
  struct Node {
    std::string id;
    std::string root;
  };
  std::vector<Node> level;
  for (int64_t i = 0; i < roots; ++i) {
    auto* site = Add().mutable_site();
    site->set_id(ids_.Next("site"));
    site->set_organization_id(org.id);
    site->set_name(absl::StrCat("Region ", i + 1));
    org.roots.push_back(site->id());
    org.all_sites.push_back(site->id());
    level.push_back({site->id(), site->id()});
  }
  for (int d = 1; d < depth; ++d) {
    std::vector<Node> next;
    for (const auto& parent : level) {
      int children = std::max(1, static_cast<int>(per_level + Unit() - 0.5));
      for (int c = 0; c < children; ++c) {
        auto* site = Add().mutable_site();
        site->set_id(ids_.Next("site"));
        site->set_organization_id(org.id);
        site->set_name(absl::StrCat("Site ", d, ".", org.all_sites.size()));
        site->set_parent_site_id(parent.id);
        org.all_sites.push_back(site->id());
        next.push_back({site->id(), parent.root});
      }
    }
    level = std::move(next);
  }
  for (const auto& leaf : level) {
    org.leaves.push_back(leaf.id);
    org.leaf_roots.emplace_back(leaf.id, leaf.root);
  }
  out_.site_count += static_cast<int64_t>(org.all_sites.size());
}

absl::Status Generator::MakeTokens(const Org& org, int64_t per_user) {
  // Active user tokens are capped per user (tokens::kMaxActiveUserTokens);
  // the rest are revoked ones kept for the activity log.
  for (size_t u = 0; u < org.user_ids.size(); ++u) {
    for (int64_t t = 0; t < per_user; ++t) {
      auto* token = Add().mutable_token();
      token->set_id(ids_.Next("tok"));
      token->set_organization_id(org.id);
      token->set_kind(model::v1::TOKEN_KIND_USER);
      token->set_name(absl::StrCat("token ", t + 1));
      token->set_subject_id(org.user_ids[u]);
      const bool active = t < tokens::kMaxActiveUserTokens - 2;
      token->set_state(active ? model::v1::TOKEN_STATE_ACTIVE
                              : model::v1::TOKEN_STATE_REVOKED);
      token->set_inactivity_days(tokens::kDefaultInactivityDays);
      SetTime(token->mutable_created_at(), out_.now - absl::Hours(24 * 200));
      SetTime(token->mutable_secret_issued_at(),
              out_.now - absl::Hours(24 * 100));
      SetTime(token->mutable_last_used_at(),
              out_.now - absl::Minutes(Uniform(0, 20 * 24 * 60)));
      if (!active) {
        SetTime(token->mutable_revoked_at(), out_.now - absl::Hours(24));
      }
      token->set_generation(1);
      // Real secrets for a sample of active tokens of the probe organization
      // (to authenticate with); a random digest for the rest.
      if (active && org.user_active[u] && &org == &orgs_[0] &&
          out_.token_secrets.size() < 1000 && u % 3 == 0) {
        auto issued = secrets::Generate(secrets::SecretKind::kUser);
        if (!issued.ok()) return issued.status();
        token->set_secret_digest(issued->digest());
        out_.token_secrets.push_back(issued->TakePlaintext());
      } else {
        std::string digest(32, '\0');
        for (int i = 0; i < 32; i += 8) {
          uint64_t r = rng_();
          for (int b = 0; b < 8; ++b) digest[i + b] = char(r >> (8 * b));
        }
        token->set_secret_digest(std::move(digest));
      }
      ++out_.token_count;
    }
  }
  return absl::OkStatus();
}

void Generator::MakeOrg(int index, int64_t users, int64_t items, Org& org) {
  auto* organization = Add().mutable_organization();
  org.id = ids_.Next("org");
  organization->set_id(org.id);
  organization->set_name(absl::StrCat("Organization ", index + 1));
  SetTime(organization->mutable_created_at(), out_.now - absl::Hours(24 * 400));

  // Permission sets: admin (everything), editor (all item permissions and
  // content), viewer (every .view), integration (item permissions).
  const auto& catalog = catalog::DefaultCatalog();
  const char* names[] = {"Administrators", "Editors", "Viewers",
                         "Integrations"};
  for (int s = 0; s < 4; ++s) {
    auto* set = Add().mutable_permission_set();
    set->set_id(ids_.Next("pset"));
    set->set_organization_id(org.id);
    set->set_name(names[s]);
    for (const auto& p : catalog.permissions()) {
      const bool item = !p.item_type().empty();
      const bool view = p.required_level() == model::v1::ACCESS_LEVEL_VIEW;
      if (s == 0 || (s == 1 && (item || p.name() == "platform.content")) ||
          (s == 2 && item && view) || (s == 3 && item)) {
        set->add_permissions(p.name());
      }
    }
    org.set_ids.push_back(set->id());
  }

  MakeSites(index, std::max<int64_t>(8, users / spec_.users_per_site), org);
  const int64_t group_count = std::max<int64_t>(
      {2, users / spec_.users_per_group, 2 * int64_t{spec_.groups_per_user}});
  for (int64_t g = 0; g < group_count; ++g) {
    auto* group = Add().mutable_group();
    group->set_id(ids_.Next("grp"));
    group->set_organization_id(org.id);
    group->set_name(absl::StrCat("Team ", g + 1));
    org.group_ids.push_back(group->id());
  }
  out_.group_count += group_count;

  for (int64_t u = 0; u < users; ++u) {
    auto* user = Add().mutable_user();
    user->set_id(ids_.Next("usr"));
    user->set_organization_id(org.id);
    user->set_email(absl::StrCat("user", u, "@org", index, ".example"));
    user->set_display_name(absl::StrCat("User ", u));
    const bool probe = index == 0 && u == 0;
    user->set_status(probe || Unit() >= 0.02
                         ? model::v1::USER_STATUS_ACTIVE
                         : model::v1::USER_STATUS_DEACTIVATED);
    double role = Unit();
    user->set_permission_set_id(probe ? org.set_ids[1]
                                      : org.set_ids[role < 0.05   ? 0
                                                    : role < 0.40 ? 1
                                                                  : 2]);
    SetTime(user->mutable_created_at(), out_.now - absl::Hours(24 * 300));
    org.user_ids.push_back(user->id());
    org.user_active.push_back(user->status() == model::v1::USER_STATUS_ACTIVE);
    if (probe) probe_user_ = user->id();
    // One to three groups and one site: mostly a leaf, some managers on a
    // middle level or a whole region. The probe user is in exactly the
    // first group (the first groups_per_user with the knob) and the first
    // region. With the knob, a user's groups are consecutive from a random
    // start: distinct without a draw per membership.
    const bool fixed = spec_.groups_per_user > 0;
    const int groups = fixed   ? spec_.groups_per_user
                       : probe ? 1
                               : Uniform(1, 3);
    const size_t first = probe || !fixed
                             ? 0
                             : static_cast<size_t>(Uniform(
                                   0, static_cast<int>(group_count - 1)));
    for (int g = 0; g < groups; ++g) {
      auto* member = Add().mutable_group_member();
      member->set_organization_id(org.id);
      member->set_group_id(probe || fixed
                               ? org.group_ids[(first + g) % group_count]
                               : Pick(org.group_ids));
      member->set_user_id(user->id());
      ++out_.membership_count;
    }
    auto* site_member = Add().mutable_site_member();
    site_member->set_organization_id(org.id);
    double where = Unit();
    site_member->set_site_id(probe         ? org.roots[0]
                             : where < 0.7 ? Pick(org.leaves)
                             : where < 0.9 ? Pick(org.all_sites)
                                           : Pick(org.roots));
    site_member->set_user_id(user->id());
    ++out_.membership_count;
  }
  out_.user_count += users;

  // Service users (at most tokens::kMaxActiveServiceUserTokens per
  // organization), each with its one token.
  const int64_t services = std::min<int64_t>(
      tokens::kMaxActiveServiceUserTokens, std::max<int64_t>(1, users / 50));
  for (int64_t s = 0; s < services; ++s) {
    auto* service_user = Add().mutable_service_user();
    service_user->set_id(ids_.Next("svc"));
    service_user->set_organization_id(org.id);
    service_user->set_name(absl::StrCat("integration-", s + 1));
    service_user->add_permission_set_ids(org.set_ids[3]);
    service_user->set_token_id(ids_.Next("tok"));
    SetTime(service_user->mutable_created_at(),
            out_.now - absl::Hours(24 * 100));
    org.service_user_ids.push_back(service_user->id());
    auto* token = Add().mutable_token();
    token->set_id(service_user->token_id());
    token->set_organization_id(org.id);
    token->set_kind(model::v1::TOKEN_KIND_SERVICE_USER);
    token->set_name(service_user->name());
    token->set_subject_id(service_user->id());
    token->set_state(model::v1::TOKEN_STATE_ACTIVE);
    token->set_inactivity_days(180);
    SetTime(token->mutable_created_at(), out_.now - absl::Hours(24 * 100));
    SetTime(token->mutable_secret_issued_at(),
            out_.now - absl::Hours(24 * 100));
    SetTime(token->mutable_last_used_at(), out_.now - absl::Minutes(5));
    // Unique stand-in for a digest; nobody presents this token.
    token->set_secret_digest(
        IdFrom("digest", spec_.seed, out_.token_count).substr(0, 32));
    token->set_generation(1);
    ++out_.token_count;
  }
  out_.service_user_count += services;

  const auto& types = catalog.item_types();
  for (int64_t i = 0; i < items; ++i) {
    org.item_ids.push_back(AddItem(org, types[i % types.size()]));
  }

  // Type-wide rules: every template visible to the whole organization,
  // documents editable by the first group, assets viewable by the first
  // region. Inspections and actions have no rule.
  auto rule = [&](absl::string_view type, model::v1::Grantee grantee,
                  AccessLevel level) {
    auto* grant = Add().mutable_grant();
    grant->set_id(ids_.Next("grant"));
    grant->set_organization_id(org.id);
    grant->set_item_type(std::string(type));
    *grant->mutable_grantee() = std::move(grantee);
    grant->set_level(level);
    ++out_.grant_count;
  };
  model::v1::Grantee everyone;
  everyone.set_organization_id(org.id);
  everyone.set_grantee_organization_id(org.id);
  rule("template", everyone, model::v1::ACCESS_LEVEL_VIEW);
  model::v1::Grantee team;
  team.set_group_id(org.group_ids[0]);
  team.set_grantee_organization_id(org.id);
  rule("document", team, model::v1::ACCESS_LEVEL_EDIT);
  model::v1::Grantee region;
  region.set_site_id(org.roots.back());
  region.set_grantee_organization_id(org.id);
  rule("asset", region, model::v1::ACCESS_LEVEL_VIEW);
}

std::string Generator::PlantItem(int owner, absl::string_view type, int filler,
                                 const model::v1::Grantee* last,
                                 AccessLevel level) {
  const Org& org = orgs_[owner];
  std::string item_id = AddItem(org, type);
  for (int f = 0; f < filler; ++f) {
    std::string user = Pick(org.user_ids);
    if (user == probe_user_) user = org.user_ids.back();
    AddGrant(org.id, item_id, UserGrantee(user, org.id), RandomLevel());
  }
  if (last != nullptr) AddGrant(org.id, item_id, *last, level);
  return item_id;
}

absl::StatusOr<Dataset> Generator::Run() {
  out_.spec = spec_;
  out_.now = absl::FromUnixSeconds(1798761600);  // 2027-01-01
  *Add().mutable_catalog() = catalog::DefaultCatalog();

  // Organization sizes fall off as 1/rank; the largest holds the probes.
  std::vector<double> weights(spec_.organizations);
  double total = 0;
  for (int i = 0; i < spec_.organizations; ++i) {
    weights[i] = 1.0 / (i + 1);
    total += weights[i];
  }
  const int64_t tokens_per_user =
      std::max<int64_t>(1, spec_.tokens / std::max<int64_t>(1, spec_.users));
  orgs_.resize(spec_.organizations);
  std::vector<int64_t> grant_quota(spec_.organizations);
  for (int i = 0; i < spec_.organizations; ++i) {
    double share = weights[i] / total;
    int64_t users = std::max<int64_t>(4, std::llround(spec_.users * share));
    int64_t items = std::max<int64_t>(5, std::llround(spec_.items * share));
    grant_quota[i] = std::llround(spec_.grants * share);
    MakeOrg(i, users, items, orgs_[i]);
  }
  // Tokens, then the random grants (which need every organization's users
  // for cross-organization shares).
  for (int i = 0; i < spec_.organizations; ++i) {
    auto made = MakeTokens(orgs_[i], tokens_per_user);
    if (!made.ok()) return made;
  }
  for (int i = 0; i < spec_.organizations; ++i) {
    const Org& org = orgs_[i];
    for (int64_t g = 0; g < grant_quota[i]; ++g) {
      AddGrant(org.id, Pick(org.item_ids), RandomGrantee(i), RandomLevel());
    }
  }

  // The probes, in the largest organization; each item carries the average
  // number of grants per item, the reaching one last.
  const int filler = static_cast<int>(std::max<int64_t>(
      0, spec_.probe_item_grants >= 0
             ? spec_.probe_item_grants - 1
             : spec_.grants / std::max<int64_t>(1, spec_.items) - 1));
  const Org& home = orgs_[0];
  auto probe = [&](Probe& p, absl::string_view permission, std::string item_id,
                   bool allowed) {
    p.subject_id = probe_user_;
    p.permission = std::string(permission);
    p.item_id = std::move(item_id);
    p.allowed = allowed;
  };
  model::v1::Grantee me = UserGrantee(probe_user_, home.id);
  probe(out_.direct, "inspections.view",
        PlantItem(0, "inspection", filler, &me, model::v1::ACCESS_LEVEL_VIEW),
        true);
  model::v1::Grantee group;
  group.set_group_id(home.group_ids[std::max(1, spec_.groups_per_user) - 1]);
  group.set_grantee_organization_id(home.id);
  probe(
      out_.group, "inspections.edit",
      PlantItem(0, "inspection", filler, &group, model::v1::ACCESS_LEVEL_EDIT),
      true);
  // A leaf below the probe user's region: the walk climbs every level.
  std::string leaf;
  for (const auto& [l, root] : home.leaf_roots) {
    if (root == home.roots[0]) {
      leaf = l;
      break;
    }
  }
  model::v1::Grantee site;
  site.set_site_id(leaf);
  site.set_grantee_organization_id(home.id);
  probe(out_.nested_site, "inspections.view",
        PlantItem(0, "inspection", filler, &site, model::v1::ACCESS_LEVEL_VIEW),
        true);
  probe(out_.rule, "templates.view",
        PlantItem(0, "template", filler, nullptr, model::v1::ACCESS_LEVEL_VIEW),
        true);
  if (orgs_.size() > 1) {
    probe(out_.cross_org, "inspections.view",
          PlantItem(1, "inspection", filler, &me, model::v1::ACCESS_LEVEL_VIEW),
          true);
  }
  probe(
      out_.denied, "inspections.view",
      PlantItem(0, "inspection", filler, nullptr, model::v1::ACCESS_LEVEL_VIEW),
      false);
  out_.probe_organization_id = home.id;
  out_.list_subject_id = probe_user_;
  out_.list_rule_type = "template";
  out_.list_rule_permission = "templates.view";
  out_.list_grant_type = "inspection";
  out_.list_grant_permission = "inspections.view";
  return std::move(out_);
}

}  // namespace

absl::StatusOr<DatasetSpec> SpecNamed(absl::string_view name) {
  DatasetSpec spec;
  spec.name = std::string(name);
  if (name == "small") {
    spec.organizations = 10;
    spec.users = 1'000;
    spec.tokens = 10'000;
    spec.items = 10'000;
    spec.grants = 100'000;
  } else if (name == "medium") {
    spec.organizations = 50;
    spec.users = 10'000;
    spec.tokens = 100'000;
    spec.items = 100'000;
    spec.grants = 1'000'000;
  } else if (name == "large") {
    spec.organizations = 200;
    spec.users = 100'000;
    spec.tokens = 1'000'000;
    spec.items = 1'000'000;
    spec.grants = 10'000'000;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown dataset '", name, "': use small, medium or large"));
  }
  return spec;
}

absl::StatusOr<Dataset> Generate(const DatasetSpec& spec) {
  if (spec.organizations < 1 || spec.users < 1 || spec.items < 1) {
    return absl::InvalidArgumentError(
        "a dataset needs at least one organization, user and item");
  }
  return Generator(spec).Run();
}

model::v1::ChangeRecord GrantChange(int64_t revision, int64_t serial,
                                    absl::string_view organization_id,
                                    absl::string_view item_id,
                                    absl::string_view user_id) {
  model::v1::ChangeRecord change;
  change.set_revision(revision);
  change.set_action("grant.create");
  auto* record_change = change.add_changes();
  record_change->set_operation(model::v1::CHANGE_OPERATION_UPSERT);
  auto* grant = record_change->mutable_record()->mutable_grant();
  grant->set_id(IdFrom("grant", 0xc4a93eULL, static_cast<uint64_t>(serial)));
  grant->set_organization_id(std::string(organization_id));
  grant->set_item_id(std::string(item_id));
  grant->mutable_grantee()->set_user_id(std::string(user_id));
  grant->mutable_grantee()->set_grantee_organization_id(
      std::string(organization_id));
  grant->set_level(model::v1::ACCESS_LEVEL_VIEW);
  return change;
}

}  // namespace warden::bench
