#include "libs/access/reference_check.h"

#include <algorithm>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/decision/explanation_text.h"
#include "libs/ids/ids.h"
#include "libs/secrets/token_secret.h"
#include "libs/store/records.h"
#include "libs/tokens/token_rules.h"
#include "libs/validation/validation.h"

namespace warden::access {
namespace {

using model::v1::AccessLevel;
using model::v1::DecisionReason;
using model::v1::Explanation;
using model::v1::Grant;
using model::v1::GrantMatch;
using model::v1::Item;
using model::v1::Permission;
using store::Table;

constexpr int kMaxListPageSize = 1000;
constexpr int kDefaultListPageSize = 100;

std::string_view Std(absl::string_view s) { return {s.data(), s.size()}; }

// The last "/"-separated part of an index key: the record's id.
std::string LastPart(std::string_view key) {
  size_t slash = key.rfind('/');
  return std::string(slash == std::string_view::npos ? key
                                                     : key.substr(slash + 1));
}

// Ids from a listing index (see records.h), in key order.
absl::StatusOr<std::vector<std::string>> IndexIds(store::ReadView& view,
                                                  const std::string& prefix) {
  std::vector<std::string> ids;
  auto status = view.Scan(Table::kIndex, prefix, "", [&](auto key, auto) {
    ids.push_back(LastPart(key));
    return true;
  });
  if (!status.ok()) return status;
  return ids;
}

absl::StatusOr<bool> Exists(store::ReadView& view, Table table,
                            const std::string& key) {
  auto value = view.Get(table, key);
  if (!value.ok()) return value.status();
  return value->has_value();
}


absl::StatusOr<model::v1::PermissionCatalog> LoadCatalog(
    store::ReadView& view) {
  auto catalog = store::GetRecord<model::v1::PermissionCatalog>(
      view, Table::kCatalog, "catalog");
  if (!catalog.ok()) return catalog.status();
  if (!catalog->has_value()) {
    return absl::FailedPreconditionError(
        "no permission catalog is stored; start TokenService once to load it");
  }
  return **std::move(catalog);
}

// The catalog's permission named `name`; INVALID_ARGUMENT when unknown.
absl::StatusOr<Permission> FindPermission(store::ReadView& view,
                                          absl::string_view name) {
  auto catalog = LoadCatalog(view);
  if (!catalog.ok()) return catalog.status();
  for (const Permission& p : catalog->permissions()) {
    if (p.name() == name) return p;
  }
  return absl::InvalidArgumentError(
      "permission is not in the permission catalog; use a catalog name "
      "such as \"templates.view\" or \"platform.users\"");
}

// Every organization's id, in id order.
absl::StatusOr<std::vector<std::string>> OrganizationIds(
    store::ReadView& view) {
  std::vector<std::string> orgs;
  auto status = view.Scan(Table::kOrganizations, "", "", [&](auto key, auto) {
    orgs.emplace_back(key);
    return true;
  });
  if (!status.ok()) return status;
  return orgs;
}

// The item with this id. Items are keyed by organization, so this looks in
// `preferred_org` first and then in every organization.
absl::StatusOr<std::optional<Item>> FindItem(store::ReadView& view,
                                             const std::string& preferred_org,
                                             absl::string_view item_id) {
  auto item = store::GetRecord<Item>(
      view, Table::kItems, store::OrgKey(preferred_org, Std(item_id)));
  if (!item.ok() || item->has_value()) return item;
  auto orgs = OrganizationIds(view);
  if (!orgs.ok()) return orgs.status();
  for (const auto& org : *orgs) {
    if (org == preferred_org) continue;
    item = store::GetRecord<Item>(view, Table::kItems,
                                  store::OrgKey(org, Std(item_id)));
    if (!item.ok() || item->has_value()) return item;
  }
  return std::optional<Item>();
}

// Every grant on `item`: its item grants, then the rules on its type in its
// organization.
absl::StatusOr<std::vector<Grant>> GrantsOn(store::ReadView& view,
                                            const Item& item) {
  std::vector<Grant> grants;
  for (const std::string& prefix :
       {absl::StrCat("grant_item/", item.organization_id(), "/", item.id(),
                     "/"),
        absl::StrCat("grant_rule/", item.organization_id(), "/", item.type(),
                     "/")}) {
    auto ids = IndexIds(view, prefix);
    if (!ids.ok()) return ids.status();
    for (const auto& id : *ids) {
      auto grant = store::GetRecord<Grant>(
          view, Table::kGrants, store::OrgKey(item.organization_id(), id));
      if (!grant.ok()) return grant.status();
      if (grant->has_value()) grants.push_back(**std::move(grant));
    }
  }
  return grants;
}

// How a grant reaches a subject, when it does.
struct Reach {
  model::v1::GrantPath path = model::v1::GRANT_PATH_UNSPECIFIED;
  std::string via_id;
};

// Whether `grant` includes `subject`, and how (see the header's step 5).
absl::StatusOr<std::optional<Reach>> ReachOf(
    store::ReadView& view, const Grant& grant,
    const model::v1::AuthenticatedSubject& subject) {
  const model::v1::Grantee& to = grant.grantee();
  const std::string& org = subject.organization_id();
  const std::string& grantee_org = to.grantee_organization_id().empty()
                                       ? grant.organization_id()
                                       : to.grantee_organization_id();
  const bool is_user = subject.kind() == model::v1::SUBJECT_KIND_USER;
  const bool same_org = grantee_org == org;
  const std::string& id = subject.subject_id();
  std::optional<Reach> none;

  switch (to.grantee_case()) {
    case model::v1::Grantee::kUserId:
      if (is_user && same_org && to.user_id() == id) {
        return Reach{model::v1::GRANT_PATH_DIRECT, ""};
      }
      return none;
    case model::v1::Grantee::kServiceUserId:
      if (!is_user && same_org && to.service_user_id() == id) {
        return Reach{model::v1::GRANT_PATH_DIRECT, ""};
      }
      return none;
    case model::v1::Grantee::kGroupId: {
      if (!is_user || !same_org) return none;
      auto group =
          Exists(view, Table::kGroups, store::OrgKey(org, to.group_id()));
      if (!group.ok()) return group.status();
      if (!*group) return none;
      auto member = Exists(view, Table::kGroupMembers,
                           absl::StrCat(org, "/", to.group_id(), "/", id));
      if (!member.ok()) return member.status();
      if (!*member) return none;
      return Reach{model::v1::GRANT_PATH_GROUP, to.group_id()};
    }
    case model::v1::Grantee::kSiteId: {
      if (!is_user || !same_org) return none;
      // Membership of a site is membership of every site below it, so walk
      // from the granted site up towards the root.
      std::set<std::string> seen;
      std::string site_id = to.site_id();
      while (!site_id.empty() && seen.insert(site_id).second) {
        auto site = store::GetRecord<model::v1::Site>(
            view, Table::kSites, store::OrgKey(org, site_id));
        if (!site.ok()) return site.status();
        if (!site->has_value()) return none;
        auto member = Exists(view, Table::kSiteMembers,
                             absl::StrCat(org, "/", site_id, "/", id));
        if (!member.ok()) return member.status();
        if (*member) return Reach{model::v1::GRANT_PATH_SITE, site_id};
        site_id = (*site)->parent_site_id();
      }
      return none;
    }
    case model::v1::Grantee::kOrganizationId:
      if (is_user && to.organization_id() == org) {
        return Reach{model::v1::GRANT_PATH_ORGANIZATION, ""};
      }
      return none;
    case model::v1::Grantee::GRANTEE_NOT_SET:
      break;
  }
  return none;
}

// The grants on an item that include a subject.
struct ItemAccess {
  bool any = false;
  AccessLevel best = model::v1::ACCESS_LEVEL_UNSPECIFIED;
  std::vector<GrantMatch> matches;
};

// Evaluates the grants on `item` for `subject`. Unless `collect_all`, stops
// at the first grant that gives `required`.
absl::StatusOr<ItemAccess> AccessOnItem(
    store::ReadView& view, const model::v1::AuthenticatedSubject& subject,
    const Item& item, AccessLevel required, bool collect_all) {
  ItemAccess access;
  auto grants = GrantsOn(view, item);
  if (!grants.ok()) return grants.status();
  for (const Grant& grant : *grants) {
    auto reach = ReachOf(view, grant, subject);
    if (!reach.ok()) return reach.status();
    if (!reach->has_value()) continue;
    access.any = true;
    access.best = std::max(access.best, grant.level());
    if (collect_all) {
      GrantMatch match;
      *match.mutable_grant() = grant;
      match.set_path((*reach)->path);
      match.set_via_id((*reach)->via_id);
      match.set_rule(grant.has_item_type());
      match.set_cross_organization(item.organization_id() !=
                                   subject.organization_id());
      access.matches.push_back(std::move(match));
    } else if (access.best >= required) {
      break;
    }
  }
  std::sort(access.matches.begin(), access.matches.end(),
            [](const GrantMatch& a, const GrantMatch& b) {
              if (a.grant().level() != b.grant().level()) {
                return a.grant().level() > b.grant().level();
              }
              return a.grant().id() < b.grant().id();
            });
  return access;
}

bool HoldsPermission(const model::v1::AuthenticatedSubject& subject,
                     const std::string& permission) {
  return std::binary_search(subject.permissions().begin(),
                            subject.permissions().end(), permission);
}

}  // namespace

absl::Status ValidateSubjectRef(absl::string_view field,
                                const SubjectRef& ref) {
  auto valid = ids::ValidateId(absl::StrCat(field, ".organization_id"),
                               ref.organization_id, ids::kOrganization);
  if (!valid.ok()) return valid;
  std::string_view prefix;
  switch (ref.kind) {
    case model::v1::SUBJECT_KIND_USER:
      prefix = ids::kUser;
      break;
    case model::v1::SUBJECT_KIND_SERVICE_USER:
      prefix = ids::kServiceUser;
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat(field,
                       ".kind must be SUBJECT_KIND_USER or "
                       "SUBJECT_KIND_SERVICE_USER"));
  }
  return ids::ValidateId(absl::StrCat(field, ".id"), ref.subject_id, prefix);
}

absl::StatusOr<ResolvedSubject> ResolveSubject(store::ReadView& view,
                                               const SubjectRef& ref,
                                               absl::Time now) {
  ResolvedSubject resolved;
  model::v1::AuthenticatedSubject& subject = resolved.subject;
  subject.set_organization_id(ref.organization_id);
  subject.set_kind(ref.kind);
  subject.set_subject_id(ref.subject_id);
  const std::string key = store::OrgKey(ref.organization_id, ref.subject_id);
  std::vector<std::string> set_ids;
  std::string reason;

  // The subject record, and whether it is active.
  if (ref.kind == model::v1::SUBJECT_KIND_USER) {
    auto user = store::GetRecord<model::v1::User>(view, Table::kUsers, key);
    if (!user.ok()) return user.status();
    if (!user->has_value()) {
      resolved.inactive_reason =
          absl::StrCat("no user ", ref.subject_id, " exists in organization ",
                       ref.organization_id, "; check the subject id");
      return resolved;
    }
    subject.set_display_name((*user)->display_name());
    subject.set_login_allowed(true);
    subject.set_token_kind(model::v1::TOKEN_KIND_USER);
    set_ids.push_back((*user)->permission_set_id());
    reason = decision::UserInactiveReason(subject, (*user)->status());
  } else {
    auto service_user = store::GetRecord<model::v1::ServiceUser>(
        view, Table::kServiceUsers, key);
    if (!service_user.ok()) return service_user.status();
    if (!service_user->has_value()) {
      resolved.inactive_reason = absl::StrCat(
          "no service user ", ref.subject_id, " exists in organization ",
          ref.organization_id, "; its token may have been deleted");
      return resolved;
    }
    subject.set_display_name((*service_user)->name());
    subject.set_token_kind(model::v1::TOKEN_KIND_SERVICE_USER);
    subject.set_token_id((*service_user)->token_id());
    set_ids.assign((*service_user)->permission_set_ids().begin(),
                   (*service_user)->permission_set_ids().end());
    auto token = store::GetRecord<model::v1::Token>(
        view, Table::kTokens,
        store::OrgKey(ref.organization_id, (*service_user)->token_id()));
    if (!token.ok()) return token.status();
    if (!token->has_value()) {
      reason = decision::ServiceUserTokenReason(
          subject, model::v1::AUTH_FAILURE_UNKNOWN);
    } else if (auto failure =
                   tokens::FailureFor(tokens::StateAt(**token, now));
               failure.has_value()) {
      reason = decision::ServiceUserTokenReason(subject, *failure);
    }
  }

  // The presented token, when the subject acts through one.
  if (!ref.token_id.empty()) {
    subject.set_token_id(ref.token_id);
    auto token = store::GetRecord<model::v1::Token>(
        view, Table::kTokens, store::OrgKey(ref.organization_id, ref.token_id));
    if (!token.ok()) return token.status();
    if (!token->has_value() || (*token)->subject_id() != ref.subject_id ||
        !secrets::DigestsEqual((*token)->secret_digest(), ref.token_digest)) {
      if (reason.empty()) {
        reason = decision::PresentedTokenReason(
            ref.token_id, model::v1::AUTH_FAILURE_UNKNOWN);
      }
    } else {
      subject.set_token_kind((*token)->kind());
      auto failure = tokens::FailureFor(tokens::StateAt(**token, now));
      if (failure.has_value() && reason.empty()) {
        reason = decision::PresentedTokenReason(ref.token_id, *failure);
      }
    }
  }

  // Permission sets: the union of the ones that exist.
  std::set<std::string> permissions;
  for (const auto& set_id : set_ids) {
    subject.add_permission_set_ids(set_id);
    auto set = store::GetRecord<model::v1::PermissionSet>(
        view, Table::kPermissionSets,
        store::OrgKey(ref.organization_id, set_id));
    if (!set.ok()) return set.status();
    if (!set->has_value()) continue;
    permissions.insert((*set)->permissions().begin(),
                       (*set)->permissions().end());
    resolved.permission_sets.push_back(**std::move(set));
  }
  for (const auto& permission : permissions)
    subject.add_permissions(permission);

  resolved.active = reason.empty();
  resolved.inactive_reason = std::move(reason);
  return resolved;
}

absl::StatusOr<Permission> ResolvePermission(store::ReadView& view,
                                             absl::string_view name,
                                             absl::string_view item_id) {
  if (name.empty()) {
    return absl::InvalidArgumentError(
        "permission is required, for example \"templates.view\"");
  }
  auto permission = FindPermission(view, name);
  if (!permission.ok()) return permission.status();
  const Permission* found = &*permission;
  if (found->item_type().empty()) {
    if (!item_id.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          found->name(),
          " is an organization-level permission; leave item_id empty"));
    }
  } else {
    if (item_id.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(found->name(), " acts on ", found->item_type(),
                       " items; item_id is required"));
    }
    auto valid = ids::ValidateId("item_id", Std(item_id), ids::kItem);
    if (!valid.ok()) return valid;
  }
  return *found;
}

Explanation ExplainAuthFailure(model::v1::AuthFailure failure,
                               const Permission& permission) {
  return decision::ExplainAuthFailure(failure, permission);
}

namespace {

// A validated question: the permission asked about and the subject resolved.
struct Question {
  Permission permission;
  ResolvedSubject subject;
};

absl::StatusOr<Question> Prepare(store::ReadView& view, const SubjectRef& ref,
                                 absl::string_view permission,
                                 absl::string_view item_id, absl::Time now) {
  auto valid = ValidateSubjectRef("subject", ref);
  if (!valid.ok()) return valid;
  auto perm = ResolvePermission(view, permission, item_id);
  if (!perm.ok()) return perm.status();
  auto resolved = ResolveSubject(view, ref, now);
  if (!resolved.ok()) return resolved.status();
  return Question{*std::move(perm), *std::move(resolved)};
}

}  // namespace

ReferenceDecider::ReferenceDecider(const Clock* clock) : clock_(clock) {}

absl::StatusOr<Decision> ReferenceDecider::Check(
    store::ReadView& view, const SubjectRef& ref, absl::string_view permission,
    absl::string_view item_id) const {
  auto question = Prepare(view, ref, permission, item_id, clock_->Now());
  if (!question.ok()) return question.status();
  const Permission* perm = &question->permission;
  const ResolvedSubject* resolved = &question->subject;
  auto deny = [](DecisionReason reason) { return Decision{false, reason}; };

  if (!resolved->active)
    return deny(model::v1::DECISION_REASON_SUBJECT_INACTIVE);
  if (!HoldsPermission(resolved->subject, perm->name())) {
    return deny(model::v1::DECISION_REASON_PERMISSION_MISSING);
  }
  const Decision allow{true, model::v1::DECISION_REASON_ALLOWED};
  if (perm->item_type().empty()) return allow;

  auto item = FindItem(view, ref.organization_id, item_id);
  if (!item.ok()) return item.status();
  if (!item->has_value())
    return deny(model::v1::DECISION_REASON_ITEM_NOT_FOUND);
  if ((*item)->type() != perm->item_type()) {
    return deny(model::v1::DECISION_REASON_ITEM_TYPE_MISMATCH);
  }
  auto access = AccessOnItem(view, resolved->subject, **item,
                             perm->required_level(), /*collect_all=*/false);
  if (!access.ok()) return access.status();
  if (!access->any) return deny(model::v1::DECISION_REASON_NO_ACCESS);
  if (access->best < perm->required_level()) {
    return deny(model::v1::DECISION_REASON_ACCESS_LEVEL_TOO_LOW);
  }
  return allow;
}

absl::StatusOr<Explanation> ReferenceDecider::Explain(
    store::ReadView& view, const SubjectRef& ref, absl::string_view permission,
    absl::string_view item_id) const {
  auto question = Prepare(view, ref, permission, item_id, clock_->Now());
  if (!question.ok()) return question.status();
  const Permission* perm = &question->permission;
  const ResolvedSubject* resolved = &question->subject;

  Explanation out;
  const model::v1::AuthenticatedSubject& subject = resolved->subject;
  *out.mutable_subject() = subject;
  out.set_permission(perm->name());
  out.set_required_level(perm->required_level());
  for (const auto& set : resolved->permission_sets) {
    if (std::find(set.permissions().begin(), set.permissions().end(),
                  perm->name()) != set.permissions().end()) {
      out.add_permission_set_ids_with_permission(set.id());
    }
  }
  out.set_permission_granted(HoldsPermission(subject, perm->name()));
  decision::SummaryFacts facts;
  facts.item_id = item_id;
  facts.permission_item_type = perm->item_type();
  facts.inactive_reason = resolved->inactive_reason;
  auto finish = [&](DecisionReason reason) {
    out.set_reason(reason);
    out.set_allowed(reason == model::v1::DECISION_REASON_ALLOWED);
    out.set_summary(decision::Summary(out, facts));
    return out;
  };

  // 1 and 2: the subject and its permission sets.
  if (!resolved->active) {
    return finish(model::v1::DECISION_REASON_SUBJECT_INACTIVE);
  }
  if (!out.permission_granted()) {
    return finish(model::v1::DECISION_REASON_PERMISSION_MISSING);
  }
  if (perm->item_type().empty()) {
    return finish(model::v1::DECISION_REASON_ALLOWED);
  }

  // 3 and 4: the item.
  auto item = FindItem(view, ref.organization_id, item_id);
  if (!item.ok()) return item.status();
  if (!item->has_value()) {
    return finish(model::v1::DECISION_REASON_ITEM_NOT_FOUND);
  }
  const Item& found = **item;
  facts.item = &found;
  if (found.type() != perm->item_type()) {
    return finish(model::v1::DECISION_REASON_ITEM_TYPE_MISMATCH);
  }

  // 5 and 6: the grants.
  auto access = AccessOnItem(view, subject, found, perm->required_level(),
                             /*collect_all=*/true);
  if (!access.ok()) return access.status();
  out.set_granted_level(access->best);
  for (auto& match : access->matches) *out.add_grants() = std::move(match);
  if (!access->any) {
    return finish(model::v1::DECISION_REASON_NO_ACCESS);
  }
  if (access->best < perm->required_level()) {
    return finish(model::v1::DECISION_REASON_ACCESS_LEVEL_TOO_LOW);
  }
  return finish(model::v1::DECISION_REASON_ALLOWED);
}

absl::StatusOr<AccessiblePage> ReferenceDecider::ListAccessible(
    store::ReadView& view, const SubjectRef& ref, absl::string_view permission,
    int page_size, absl::string_view page_token) const {
  auto valid = ValidateSubjectRef("subject", ref);
  if (!valid.ok()) return valid;
  auto size =
      validation::PageSize(page_size, kDefaultListPageSize, kMaxListPageSize);
  if (!size.ok()) return size.status();
  auto found = FindPermission(view, permission);
  if (!found.ok()) return found.status();
  const Permission* perm = &*found;
  if (perm->item_type().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        perm->name(),
        " is an organization-level permission; ListAccessible needs an item "
        "permission"));
  }
  const std::string scope =
      absl::StrCat("accessible/", ref.organization_id, "/", ref.subject_id, "/",
                   perm->name());
  auto after = validation::DecodePageToken(scope, page_token);
  if (!after.ok()) return after.status();

  // Every item of the type in every organization, by id.
  auto orgs = OrganizationIds(view);
  if (!orgs.ok()) return orgs.status();
  std::vector<std::string> candidates;
  for (const auto& org : *orgs) {
    auto ids = IndexIds(
        view, absl::StrCat("item_type/", org, "/", perm->item_type(), "/"));
    if (!ids.ok()) return ids.status();
    candidates.insert(candidates.end(), ids->begin(), ids->end());
  }
  std::sort(candidates.begin(), candidates.end());

  // One decision per candidate, past the page token, until the page is full
  // and one more allowed item shows that another page exists.
  AccessiblePage page;
  for (const auto& id : candidates) {
    if (!after->empty() && id <= *after) continue;
    auto decision = Check(view, ref, perm->name(), id);
    if (!decision.ok()) return decision.status();
    if (!decision->allowed) continue;
    if (static_cast<int>(page.items.size()) == *size) {
      page.next_page_token =
          validation::EncodePageToken(scope, page.items.back().id());
      break;
    }
    auto item = FindItem(view, ref.organization_id, id);
    if (!item.ok()) return item.status();
    if (item->has_value()) page.items.push_back(**std::move(item));
  }
  return page;
}

}  // namespace warden::access
