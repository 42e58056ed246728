#include "libs/index/replica_index.h"

#include <openssl/evp.h>

#include <algorithm>
#include <iterator>
#include <set>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "libs/decision/explanation_text.h"
#include "libs/ids/ids.h"
#include "libs/secrets/token_secret.h"
#include "libs/tokens/token_rules.h"
#include "libs/validation/validation.h"

namespace warden::index {
namespace {

using model::v1::AccessLevel;
using model::v1::DecisionReason;
using model::v1::Grant;
using model::v1::Grantee;
using model::v1::Record;

// Sites deeper than this are treated as a cycle in the tree, which the
// source never stores; the walk stops rather than loops.
constexpr int kMaxSiteDepth = 1000;
// Check reads every grant on an item with at most this many; past it, it
// looks up the subject's grantees in the item's sorted list.
constexpr size_t kScanItemGrantsUpTo = 16;

std::string TypeKey(absl::string_view org_id, absl::string_view type) {
  return absl::StrCat(org_id, "/", type);
}

// TypeKey for a lookup on the decision path, in a buffer of this thread's
// that keeps its capacity, so a Check allocates nothing for it. Valid until
// the thread's next call.
absl::string_view LookupTypeKey(absl::string_view org_id,
                                absl::string_view type) {
  thread_local std::string key;
  key.clear();
  absl::StrAppend(&key, org_id, "/", type);
  return key;
}

// The key in grants_by_grantee_ of one grantee's grants on items of
// `item_type`: "u:<user id>/<type>", with "v:", "g:", "s:" and "o:" for
// service users, groups, sites and organizations. ListAccessible reads only
// the buckets of the type it lists, without looking each item up.
void AppendGranteeKey(std::string* out, absl::string_view kind,
                      absl::string_view id, absl::string_view item_type) {
  absl::StrAppend(out, kind, id, "/", item_type);
}
std::string GranteeKey(absl::string_view kind, absl::string_view id,
                       absl::string_view item_type) {
  std::string key;
  AppendGranteeKey(&key, kind, id, item_type);
  return key;
}

// Where a grant sits in its item's list: by the kind of its grantee, then
// the grantee's id, so Check finds the grants to one grantee by binary
// search instead of reading every grant on a much-shared item.
std::pair<int, absl::string_view> GranteeOrder(const model::v1::Grantee& g) {
  switch (g.grantee_case()) {
    case model::v1::Grantee::kUserId:
      return {g.grantee_case(), g.user_id()};
    case model::v1::Grantee::kServiceUserId:
      return {g.grantee_case(), g.service_user_id()};
    case model::v1::Grantee::kGroupId:
      return {g.grantee_case(), g.group_id()};
    case model::v1::Grantee::kSiteId:
      return {g.grantee_case(), g.site_id()};
    case model::v1::Grantee::kOrganizationId:
      return {g.grantee_case(), g.organization_id()};
    case model::v1::Grantee::GRANTEE_NOT_SET:
      break;
  }
  return {g.grantee_case(), absl::string_view()};
}

std::string GranteeKey(const model::v1::Grantee& grantee,
                       absl::string_view item_type) {
  const auto [kind, id] = GranteeOrder(grantee);
  switch (kind) {
    case model::v1::Grantee::kUserId:
      return GranteeKey("u:", id, item_type);
    case model::v1::Grantee::kServiceUserId:
      return GranteeKey("v:", id, item_type);
    case model::v1::Grantee::kGroupId:
      return GranteeKey("g:", id, item_type);
    case model::v1::Grantee::kSiteId:
      return GranteeKey("s:", id, item_type);
    case model::v1::Grantee::kOrganizationId:
      return GranteeKey("o:", id, item_type);
  }
  return "";
}

struct ByGrantee {
  bool operator()(const std::shared_ptr<const Grant>& a,
                  const std::pair<int, absl::string_view>& b) const {
    return GranteeOrder(a->grantee()) < b;
  }
  bool operator()(const std::pair<int, absl::string_view>& a,
                  const std::shared_ptr<const Grant>& b) const {
    return a < GranteeOrder(b->grantee());
  }
};

// Erases `id` from the list under `key`, dropping the key when it empties.
void EraseGrant(CowMap<std::vector<std::shared_ptr<const Grant>>>& map,
                absl::string_view key, absl::string_view id) {
  if (map.Find(key) == nullptr) return;
  auto* list = map.Mutable(key);
  list->erase(std::remove_if(list->begin(), list->end(),
                             [&](const auto& g) { return g->id() == id; }),
              list->end());
  if (list->empty()) map.Erase(key);
}

// Erases `grant` from its grantee's grants, dropping the grantee when it has
// none left.
template <typename GranteeGrants>
void EraseGranteeGrant(CowMap<GranteeGrants>& map, absl::string_view key,
                       const std::shared_ptr<const Grant>& grant) {
  if (map.Find(key) == nullptr) return;
  GranteeGrants* mine = map.Mutable(key);
  if (grant->target_case() == Grant::kItemId) {
    mine->on_items.erase(grant);
  } else {
    auto& rules = mine->rules;
    rules.erase(
        std::remove_if(rules.begin(), rules.end(),
                       [&](const auto& g) { return g->id() == grant->id(); }),
        rules.end());
  }
  if (mine->on_items.empty() && mine->rules.empty()) map.Erase(key);
}

template <typename Set>
void EraseFromSet(CowMap<Set>& map, absl::string_view key,
                  const std::string& id) {
  if (map.Find(key) == nullptr) return;
  auto* set = map.Mutable(key);
  set->erase(id);
  if (set->empty()) map.Erase(key);
}

void EraseMembership(CowMap<ReplicaView::Memberships>& map,
                     absl::string_view user_id, const std::string& id) {
  if (map.Find(user_id) == nullptr) return;
  auto* m = map.Mutable(user_id);
  m->ids.erase(id);
  if (m->ids.empty()) map.Erase(user_id);
}

std::string DeterministicBytes(const Record& record) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    record.SerializeToCodedStream(&coded);
  }
  return out;
}

}  // namespace

struct ReplicaView::CatalogEntry {
  explicit CatalogEntry(const model::v1::PermissionCatalog& c) : index(c) {
    for (size_t i = 0; i < index.names().size(); ++i) {
      const std::string& name = index.names()[i];
      bits[name] = static_cast<int>(i);
      by_name[name] = Known{index.Find(name), static_cast<int>(i)};
    }
  }
  // A permission with its bit, found with one lookup on the decision path.
  struct Known {
    const model::v1::Permission* permission;
    int bit;
  };
  catalog::CatalogIndex index;
  absl::flat_hash_map<std::string, int> bits;
  absl::flat_hash_map<std::string, Known> by_name;
};

ReplicaView::ReplicaView() = default;

// Shares every map with `other`; the applier's writes then copy only what
// they touch.
ReplicaView::ReplicaView(const ReplicaView& other)
    : revision_(other.revision_),
      loaded_(other.loaded_),
      catalog_(other.catalog_),
      organizations_(other.organizations_),
      permission_sets_(other.permission_sets_),
      users_(other.users_),
      service_users_(other.service_users_),
      tokens_(other.tokens_),
      token_by_digest_(other.token_by_digest_),
      groups_(other.groups_),
      user_groups_(other.user_groups_),
      sites_(other.sites_),
      site_children_(other.site_children_),
      user_sites_(other.user_sites_),
      items_(other.items_),
      items_by_type_(other.items_by_type_),
      grants_(other.grants_),
      item_grants_(other.item_grants_),
      rule_grants_(other.rule_grants_),
      grants_by_grantee_(other.grants_by_grantee_),
      resolved_users_(other.resolved_users_),
      resolved_service_users_(other.resolved_service_users_) {}

void ReplicaView::Seal() {
  RebuildPendingSubjects();
  organizations_.Seal();
  permission_sets_.Seal();
  users_.Seal();
  service_users_.Seal();
  tokens_.Seal();
  token_by_digest_.Seal();
  groups_.Seal();
  user_groups_.Seal();
  sites_.Seal();
  site_children_.Seal();
  user_sites_.Seal();
  items_.Seal();
  items_by_type_.Seal();
  grants_.Seal();
  item_grants_.Seal();
  rule_grants_.Seal();
  grants_by_grantee_.Seal();
  resolved_users_.Seal();
  resolved_service_users_.Seal();
}

// ---- Applying records ------------------------------------------------------

std::vector<uint64_t> ReplicaView::BitsOf(
    const model::v1::PermissionSet& set) const {
  std::vector<uint64_t> bits;
  if (catalog_ == nullptr) return bits;
  bits.resize((catalog_->bits.size() + 63) / 64);
  for (const auto& name : set.permissions()) {
    auto it = catalog_->bits.find(name);
    // A name the catalog no longer has grants nothing.
    if (it == catalog_->bits.end()) continue;
    bits[it->second / 64] |= uint64_t{1} << (it->second % 64);
  }
  return bits;
}

ReplicaView::PermissionSetEntry ReplicaView::SetEntryOf(
    const model::v1::PermissionSet& set) const {
  std::vector<std::string> sorted(set.permissions().begin(),
                                  set.permissions().end());
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  return PermissionSetEntry{
      set, BitsOf(set),
      std::make_shared<const std::vector<std::string>>(std::move(sorted))};
}

void ReplicaView::SetCatalog(const model::v1::PermissionCatalog& catalog) {
  catalog_ = std::make_shared<const CatalogEntry>(catalog);
  // Bit positions follow the catalog, so every set is recomputed; catalogs
  // change only on a TokenService redeploy.
  std::vector<std::string> ids;
  permission_sets_.ForEach(
      [&](const std::string& id, const PermissionSetEntry&) {
        ids.push_back(id);
      });
  for (const auto& id : ids) {
    PermissionSetEntry* entry = permission_sets_.Mutable(id);
    entry->bits = BitsOf(entry->set);
  }
}

absl::Status ReplicaView::Upsert(const Record& record) {
  switch (record.record_case()) {
    case Record::kOrganization:
      organizations_.Put(record.organization().id(), record.organization());
      break;
    case Record::kCatalog:
      SetCatalog(record.catalog());
      break;
    case Record::kPermissionSet:
      permission_sets_.Put(record.permission_set().id(),
                           SetEntryOf(record.permission_set()));
      pending_.permission_sets.insert(record.permission_set().id());
      break;
    case Record::kUser:
      users_.Put(record.user().id(), record.user());
      pending_.users.insert(record.user().id());
      break;
    case Record::kServiceUser:
      service_users_.Put(record.service_user().id(), record.service_user());
      pending_.service_users.insert(record.service_user().id());
      break;
    case Record::kToken: {
      const auto& token = record.token();
      if (const auto* old = tokens_.Find(token.id());
          old != nullptr && old->secret_digest() != token.secret_digest()) {
        const auto* owner = token_by_digest_.Find(old->secret_digest());
        if (owner != nullptr && owner->id() == token.id()) {
          token_by_digest_.Erase(old->secret_digest());
        }
      }
      auto shared = std::make_shared<const model::v1::Token>(token);
      tokens_.Put(token.id(), shared);
      token_by_digest_.Put(token.secret_digest(), std::move(shared));
      break;
    }
    case Record::kGroup:
      groups_.Put(record.group().id(), record.group());
      break;
    case Record::kGroupMember: {
      const auto& member = record.group_member();
      Memberships* m = user_groups_.Mutable(member.user_id());
      m->organization_id = member.organization_id();
      m->ids.insert(member.group_id());
      break;
    }
    case Record::kSite: {
      const auto& site = record.site();
      if (const auto* old = sites_.Find(site.id());
          old != nullptr && old->parent_site_id() != site.parent_site_id() &&
          !old->parent_site_id().empty()) {
        EraseFromSet(site_children_, old->parent_site_id(), site.id());
      }
      sites_.Put(site.id(), site);
      if (!site.parent_site_id().empty()) {
        site_children_.Mutable(site.parent_site_id())->insert(site.id());
      }
      break;
    }
    case Record::kSiteMember: {
      const auto& member = record.site_member();
      Memberships* m = user_sites_.Mutable(member.user_id());
      m->organization_id = member.organization_id();
      m->ids.insert(member.site_id());
      break;
    }
    case Record::kItem: {
      const auto& item = record.item();
      std::string old_type;
      if (const auto* old = items_.Find(item.id()); old != nullptr) {
        old_type = old->type();
        EraseFromSet(items_by_type_,
                     TypeKey(old->organization_id(), old->type()), item.id());
      }
      items_.Put(item.id(), item);
      items_by_type_.Mutable(TypeKey(item.organization_id(), item.type()))
          ->insert(item.id());
      if (old_type != item.type()) MoveItemGrants(item.id(), old_type);
      break;
    }
    case Record::kGrant: {
      if (const auto* old = grants_.Find(record.grant().id()); old != nullptr) {
        Record previous;
        *previous.mutable_grant() = *old;
        auto removed = Remove(previous);
        if (!removed.ok()) return removed;
      }
      auto grant = std::make_shared<const Grant>(record.grant());
      if (grant->id().empty()) {
        return absl::InvalidArgumentError("a grant record has no id");
      }
      grants_.Put(grant->id(), grant);
      if (grant->target_case() == Grant::kItemId) {
        GrantList* on_item = item_grants_.Mutable(grant->item_id());
        on_item->insert(std::upper_bound(on_item->begin(), on_item->end(),
                                         GranteeOrder(grant->grantee()),
                                         ByGrantee()),
                        grant);
      } else if (grant->target_case() == Grant::kItemType) {
        rule_grants_
            .Mutable(TypeKey(grant->organization_id(), grant->item_type()))
            ->push_back(grant);
      }
      if (grant->target_case() == Grant::kItemId) {
        grants_by_grantee_
            .Mutable(GranteeKey(grant->grantee(), BucketTypeOf(*grant)))
            ->on_items.insert(grant);
      } else if (grant->target_case() == Grant::kItemType) {
        grants_by_grantee_
            .Mutable(GranteeKey(grant->grantee(), BucketTypeOf(*grant)))
            ->rules.push_back(grant);
      }
      break;
    }
    case Record::RECORD_NOT_SET:
      return absl::InvalidArgumentError("a change holds an empty record");
  }
  return absl::OkStatus();
}

absl::string_view ReplicaView::BucketTypeOf(const Grant& grant) const {
  if (grant.target_case() == Grant::kItemType) return grant.item_type();
  const auto* item = items_.Find(grant.item_id());
  return item == nullptr ? absl::string_view() : item->type();
}

void ReplicaView::MoveItemGrants(const std::string& item_id,
                                 absl::string_view old_type) {
  const GrantList* grants = item_grants_.Find(item_id);
  if (grants == nullptr) return;
  for (const auto& grant : *grants) {
    EraseGranteeGrant(grants_by_grantee_,
                      GranteeKey(grant->grantee(), old_type), grant);
    grants_by_grantee_
        .Mutable(GranteeKey(grant->grantee(), BucketTypeOf(*grant)))
        ->on_items.insert(grant);
  }
}

absl::Status ReplicaView::Remove(const Record& record) {
  switch (record.record_case()) {
    case Record::kOrganization:
      organizations_.Erase(record.organization().id());
      break;
    case Record::kCatalog:
      // The catalog is replaced, never deleted; keep deciding with the last.
      break;
    case Record::kPermissionSet:
      permission_sets_.Erase(record.permission_set().id());
      pending_.permission_sets.insert(record.permission_set().id());
      break;
    case Record::kUser:
      users_.Erase(record.user().id());
      pending_.users.insert(record.user().id());
      break;
    case Record::kServiceUser:
      service_users_.Erase(record.service_user().id());
      pending_.service_users.insert(record.service_user().id());
      break;
    case Record::kToken: {
      const auto* old = tokens_.Find(record.token().id());
      if (old == nullptr) break;
      const auto* owner = token_by_digest_.Find(old->secret_digest());
      if (owner != nullptr && owner->id() == old->id()) {
        token_by_digest_.Erase(old->secret_digest());
      }
      tokens_.Erase(record.token().id());
      break;
    }
    case Record::kGroup:
      groups_.Erase(record.group().id());
      break;
    case Record::kGroupMember:
      EraseMembership(user_groups_, record.group_member().user_id(),
                      record.group_member().group_id());
      break;
    case Record::kSite: {
      const auto* old = sites_.Find(record.site().id());
      if (old == nullptr) break;
      if (!old->parent_site_id().empty()) {
        EraseFromSet(site_children_, old->parent_site_id(), old->id());
      }
      sites_.Erase(record.site().id());
      break;
    }
    case Record::kSiteMember:
      EraseMembership(user_sites_, record.site_member().user_id(),
                      record.site_member().site_id());
      break;
    case Record::kItem: {
      const auto* old = items_.Find(record.item().id());
      if (old == nullptr) break;
      EraseFromSet(items_by_type_,
                   TypeKey(old->organization_id(), old->type()), old->id());
      const std::string old_type = old->type();
      items_.Erase(record.item().id());
      MoveItemGrants(record.item().id(), old_type);
      break;
    }
    case Record::kGrant: {
      auto old = grants_.FindPtr(record.grant().id());
      if (old == nullptr) break;
      if (old->target_case() == Grant::kItemId) {
        EraseGrant(item_grants_, old->item_id(), old->id());
      } else if (old->target_case() == Grant::kItemType) {
        EraseGrant(rule_grants_,
                   TypeKey(old->organization_id(), old->item_type()),
                   old->id());
      }
      EraseGranteeGrant(grants_by_grantee_,
                        GranteeKey(old->grantee(), BucketTypeOf(*old)), old);
      grants_.Erase(old->id());
      break;
    }
    case Record::RECORD_NOT_SET:
      return absl::InvalidArgumentError("a change holds an empty record");
  }
  return absl::OkStatus();
}

// ---- Subjects --------------------------------------------------------------

namespace {

const std::string& EmptyString() {
  static const auto* empty = new std::string();
  return *empty;
}

const std::vector<std::string>& EmptyNames() {
  static const auto* empty = new std::vector<std::string>();
  return *empty;
}

}  // namespace

const std::string& SubjectRef::organization_id() const {
  if (token_) return token_->organization_id();
  return resolved_ ? resolved_->organization_id : EmptyString();
}

model::v1::SubjectKind SubjectRef::kind() const {
  // A presented token decides the kind, as TokenService decides it.
  if (token_) {
    return token_->kind() == model::v1::TOKEN_KIND_USER
               ? model::v1::SUBJECT_KIND_USER
               : model::v1::SUBJECT_KIND_SERVICE_USER;
  }
  return resolved_ ? resolved_->kind : model::v1::SUBJECT_KIND_UNSPECIFIED;
}

const std::string& SubjectRef::subject_id() const {
  if (token_) return token_->subject_id();
  return resolved_ ? resolved_->subject_id : EmptyString();
}

const std::string& SubjectRef::display_name() const {
  return resolved_ ? resolved_->display_name : EmptyString();
}

const std::vector<std::string>& SubjectRef::permission_set_ids() const {
  return resolved_ ? resolved_->permission_set_ids : EmptyNames();
}

const std::vector<std::string>& SubjectRef::permissions() const {
  return resolved_ ? *resolved_->permissions : EmptyNames();
}

const std::string& SubjectRef::token_id() const {
  if (token_) return token_->id();
  return resolved_ ? resolved_->own_token_id : EmptyString();
}

model::v1::TokenKind SubjectRef::token_kind() const {
  if (token_) return token_->kind();
  if (!resolved_) return model::v1::TOKEN_KIND_UNSPECIFIED;
  return resolved_->kind == model::v1::SUBJECT_KIND_USER
             ? model::v1::TOKEN_KIND_USER
             : model::v1::TOKEN_KIND_SERVICE_USER;
}

model::v1::AuthenticatedSubject SubjectRef::ToProto() const {
  model::v1::AuthenticatedSubject subject;
  subject.set_organization_id(organization_id());
  subject.set_kind(kind());
  subject.set_subject_id(subject_id());
  subject.set_display_name(display_name());
  for (const auto& id : permission_set_ids()) {
    subject.add_permission_set_ids(id);
  }
  for (const auto& name : permissions()) subject.add_permissions(name);
  subject.set_login_allowed(login_allowed());
  subject.set_token_id(token_id());
  subject.set_token_kind(token_kind());
  return subject;
}

const std::string& Principal::token_id() const {
  return subject.token_ ? subject.token_->id() : EmptyString();
}

ResolvedSubject ReplicaView::ResolveUser(const model::v1::User& user) const {
  ResolvedSubject out;
  out.organization_id = user.organization_id();
  out.kind = model::v1::SUBJECT_KIND_USER;
  out.subject_id = user.id();
  out.display_name = user.display_name();
  out.login_allowed = true;
  out.permission_set_ids.push_back(user.permission_set_id());
  const auto* entry = permission_sets_.Find(user.permission_set_id());
  out.permissions = entry != nullptr
                        ? entry->sorted_permissions
                        : std::make_shared<const std::vector<std::string>>();
  out.active = user.status() == model::v1::USER_STATUS_ACTIVE;
  out.user_status = user.status();
  return out;
}

ResolvedSubject ReplicaView::ResolveServiceUser(
    const model::v1::ServiceUser& service_user) const {
  ResolvedSubject out;
  out.organization_id = service_user.organization_id();
  out.kind = model::v1::SUBJECT_KIND_SERVICE_USER;
  out.subject_id = service_user.id();
  out.display_name = service_user.name();
  out.login_allowed = false;
  out.permission_set_ids.assign(service_user.permission_set_ids().begin(),
                                service_user.permission_set_ids().end());
  std::set<std::string> permissions;
  for (const auto& set_id : out.permission_set_ids) {
    const auto* entry = permission_sets_.Find(set_id);
    if (entry == nullptr) continue;
    permissions.insert(entry->sorted_permissions->begin(),
                       entry->sorted_permissions->end());
  }
  out.permissions = std::make_shared<const std::vector<std::string>>(
      permissions.begin(), permissions.end());
  out.own_token_id = service_user.token_id();
  out.active = true;
  return out;
}

void ReplicaView::RebuildPendingSubjects() {
  PendingSubjects& pending = pending_;
  // A changed set changes every subject holding it. Sets change rarely, so
  // a scan of the subjects is cheaper than keeping a reverse index.
  if (!pending.permission_sets.empty()) {
    users_.ForEach([&](const std::string& id, const model::v1::User& user) {
      if (pending.permission_sets.contains(user.permission_set_id())) {
        pending.users.insert(id);
      }
    });
    service_users_.ForEach(
        [&](const std::string& id, const model::v1::ServiceUser& service_user) {
          for (const auto& set_id : service_user.permission_set_ids()) {
            if (pending.permission_sets.contains(set_id)) {
              pending.service_users.insert(id);
              break;
            }
          }
        });
  }
  for (const auto& id : pending.users) {
    const auto* user = users_.Find(id);
    if (user == nullptr) {
      resolved_users_.Erase(id);
    } else {
      resolved_users_.Put(id, ResolveUser(*user));
    }
  }
  for (const auto& id : pending.service_users) {
    const auto* service_user = service_users_.Find(id);
    if (service_user == nullptr) {
      resolved_service_users_.Erase(id);
    } else {
      resolved_service_users_.Put(id, ResolveServiceUser(*service_user));
    }
  }
  pending_ = PendingSubjects();
}

Principal ReplicaView::PrincipalForToken(
    const TokenPtr& token, absl::Time now,
    const LocalUseLookup& local_use) const {
  Principal principal;
  principal.token_generation = token->generation();

  // Expiry counts from the later of the replicated use and a use this
  // process saw itself but TokenService may not have recorded yet.
  tokens::EffectiveState state;
  std::optional<LocalUse> local =
      local_use ? local_use(token->id()) : std::nullopt;
  if (local.has_value() && local->generation == token->generation() &&
      local->used_at > tokens::FromProto(token->last_used_at())) {
    model::v1::Token used = *token;
    *used.mutable_last_used_at() = tokens::ToProto(local->used_at);
    state = tokens::StateAt(used, now);
  } else {
    state = tokens::StateAt(*token, now);
  }

  const bool user_token = token->kind() == model::v1::TOKEN_KIND_USER;
  principal.subject.token_ = token;
  principal.subject.resolved_ =
      user_token ? resolved_users_.FindPtr(token->subject_id())
                 : resolved_service_users_.FindPtr(token->subject_id());
  const bool subject_active =
      principal.subject.resolved_ != nullptr &&
      principal.subject.resolved_->active;
  principal.failure = tokens::FailureFor(state);
  if (!principal.failure.has_value() && !subject_active) {
    principal.failure = user_token ? model::v1::AUTH_FAILURE_OWNER_INACTIVE
                                   : model::v1::AUTH_FAILURE_UNKNOWN;
  }
  principal.active = !principal.failure.has_value();
  return principal;
}

Principal ReplicaView::ResolveToken(absl::string_view presented,
                                    absl::Time now,
                                    const LocalUseLookup& local_use) const {
  Principal principal;
  auto parsed =
      secrets::Parse(std::string_view(presented.data(), presented.size()));
  if (!parsed.ok()) {
    principal.failure = model::v1::AUTH_FAILURE_MALFORMED;
    return principal;
  }
  TokenPtr token = token_by_digest_.FindPtr(parsed->digest);
  if (token == nullptr ||
      !secrets::DigestsEqual(token->secret_digest(), parsed->digest)) {
    principal.failure = model::v1::AUTH_FAILURE_UNKNOWN;
    return principal;
  }
  return PrincipalForToken(token, now, local_use);
}

absl::StatusOr<Principal> ReplicaView::ResolveSubjectId(
    absl::string_view subject_id, absl::Time now,
    const LocalUseLookup& local_use) const {
  std::string_view id(subject_id.data(), subject_id.size());
  if (ids::IsValidId(id, ids::kUser)) {
    auto resolved = resolved_users_.FindPtr(subject_id);
    if (resolved == nullptr) {
      return absl::NotFoundError(
          absl::StrCat("no user ", subject_id, " in the replica"));
    }
    Principal principal;
    principal.subject.resolved_ = std::move(resolved);
    principal.active = principal.subject.resolved_->active;
    if (!principal.active) {
      principal.inactive_reason = warden::decision::UserInactiveReason(
          principal.subject.ToProto(), principal.subject.resolved_->user_status);
    }
    return principal;
  }
  if (ids::IsValidId(id, ids::kServiceUser)) {
    auto resolved = resolved_service_users_.FindPtr(subject_id);
    if (resolved == nullptr) {
      return absl::NotFoundError(
          absl::StrCat("no service user ", subject_id, " in the replica"));
    }
    // A service user acts only through its one token, so it is as active
    // as that token.
    TokenPtr token = tokens_.FindPtr(resolved->own_token_id);
    if (token != nullptr) {
      Principal principal = PrincipalForToken(token, now, local_use);
      if (principal.failure.has_value()) {
        principal.inactive_reason = warden::decision::ServiceUserTokenReason(
            principal.subject.ToProto(), *principal.failure);
      }
      principal.failure.reset();
      return principal;
    }
    Principal principal;
    principal.subject.resolved_ = std::move(resolved);
    principal.active = false;
    principal.inactive_reason = warden::decision::ServiceUserTokenReason(
        principal.subject.ToProto(), model::v1::AUTH_FAILURE_UNKNOWN);
    return principal;
  }
  return absl::InvalidArgumentError(
      "subject_id must be a user id (usr_ followed by 20 lowercase letters "
      "or digits 2-7) or a service user id (svc_ ...)");
}

// ---- Decisions -------------------------------------------------------------

bool ReplicaView::HasPermission(const Principal& principal, int bit) const {
  const size_t word = static_cast<size_t>(bit) / 64;
  for (const auto& set_id : principal.subject.permission_set_ids()) {
    const auto* entry = permission_sets_.Find(set_id);
    if (entry != nullptr && word < entry->bits.size() &&
        (entry->bits[word] >> (bit % 64) & 1) != 0) {
      return true;
    }
  }
  return false;
}

std::vector<std::string> ReplicaView::SetsWithPermission(
    const Principal& principal, int bit) const {
  std::vector<std::string> out;
  for (const auto& set_id : principal.subject.permission_set_ids()) {
    const auto* entry = permission_sets_.Find(set_id);
    if (entry == nullptr) continue;
    size_t word = static_cast<size_t>(bit) / 64;
    if (word < entry->bits.size() &&
        (entry->bits[word] >> (bit % 64) & 1) != 0) {
      out.push_back(set_id);
    }
  }
  return out;
}

bool ReplicaView::SiteReaches(absl::string_view grant_site,
                              const Memberships* user_sites,
                              std::string& via) const {
  if (user_sites == nullptr) return false;
  // A member of a site is a member of every site below it, so the grant
  // reaches members of the named site and of every site above it. The walk
  // reads the ids in the view's own site records.
  absl::string_view current = grant_site;
  // `via` is the site the user is a member of, not the granted site: that
  // membership is what an admin would remove to take the access away.
  for (int depth = 0; depth < kMaxSiteDepth && !current.empty(); ++depth) {
    const auto* site = sites_.Find(current);
    if (site == nullptr) return false;
    if (user_sites->ids.contains(current)) {
      via.assign(current.data(), current.size());
      return true;
    }
    current = site->parent_site_id();
  }
  return false;
}

std::optional<ReplicaView::Reach> ReplicaView::Reaches(
    const Principal& principal, const Grant& grant) const {
  const auto& subject = principal.subject;
  const bool is_user = subject.kind() == model::v1::SUBJECT_KIND_USER;
  const auto& grantee = grant.grantee();
  Reach reach;
  switch (grantee.grantee_case()) {
    case model::v1::Grantee::kUserId:
      if (!is_user || grantee.user_id() != subject.subject_id()) break;
      reach.path = model::v1::GRANT_PATH_DIRECT;
      return reach;
    case model::v1::Grantee::kServiceUserId:
      if (is_user || grantee.service_user_id() != subject.subject_id()) break;
      reach.path = model::v1::GRANT_PATH_DIRECT;
      return reach;
    // Service users never belong to groups, sites or an organization's
    // everyone.
    case model::v1::Grantee::kGroupId: {
      if (!is_user) break;
      const auto* groups = user_groups_.Find(subject.subject_id());
      if (groups == nullptr || !groups->ids.contains(grantee.group_id())) {
        break;
      }
      reach.path = model::v1::GRANT_PATH_GROUP;
      reach.via_id = grantee.group_id();
      return reach;
    }
    case model::v1::Grantee::kSiteId:
      if (!is_user || !SiteReaches(grantee.site_id(),
                                   user_sites_.Find(subject.subject_id()),
                                   reach.via_id)) {
        break;
      }
      reach.path = model::v1::GRANT_PATH_SITE;
      return reach;
    case model::v1::Grantee::kOrganizationId:
      if (!is_user || grantee.organization_id() != subject.organization_id()) {
        break;
      }
      reach.path = model::v1::GRANT_PATH_ORGANIZATION;
      return reach;
    case model::v1::Grantee::GRANTEE_NOT_SET:
      break;
  }
  return std::nullopt;
}

absl::StatusOr<Decision> ReplicaView::Decide(
    const Principal& principal, absl::string_view permission,
    absl::string_view item_id, model::v1::Explanation* explanation) const {
  // Input first: a malformed question gets an error, not a deny.
  if (catalog_ == nullptr) {
    return absl::UnavailableError("the replica has no permission catalog yet");
  }
  auto known = catalog_->by_name.find(permission);
  if (known == catalog_->by_name.end()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "permission '", permission,
        "' is not in the permission catalog; use a name like "
        "templates.view"));
  }
  const model::v1::Permission* perm = known->second.permission;
  const bool item_permission = !perm->item_type().empty();
  if (item_permission) {
    auto valid = ids::ValidateId("item_id",
                                 std::string_view(item_id.data(),
                                                  item_id.size()),
                                 ids::kItem);
    if (!valid.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          valid.message(), " (permission '", permission, "' acts on ",
          perm->item_type(), " items)"));
    }
  } else if (!item_id.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "item_id must be empty: permission '", permission,
        "' is an organization-level permission"));
  }

  Decision decision;
  warden::decision::SummaryFacts facts;
  facts.item_id = item_id;
  facts.permission_item_type = perm->item_type();
  facts.inactive_reason = principal.inactive_reason;
  auto finish = [&](DecisionReason reason) {
    decision.reason = reason;
    decision.allowed = reason == model::v1::DECISION_REASON_ALLOWED;
    if (explanation != nullptr) {
      explanation->set_allowed(decision.allowed);
      explanation->set_reason(reason);
      explanation->set_summary(warden::decision::Summary(*explanation, facts));
    }
    return decision;
  };
  const auto& subject = principal.subject;
  if (explanation != nullptr) {
    *explanation->mutable_subject() = subject.ToProto();
    explanation->set_permission(std::string(permission));
    explanation->set_required_level(perm->required_level());
  }

  // 1. The subject is active. A presented token that did not authenticate
  // is explained in TokenService's words, with no subject.
  if (!principal.active && principal.failure.has_value() &&
      explanation != nullptr) {
    *explanation =
        warden::decision::ExplainAuthFailure(*principal.failure, *perm);
    decision.reason = model::v1::DECISION_REASON_SUBJECT_INACTIVE;
    return decision;
  }
  // The permission sets are explained even for an inactive subject, as
  // TokenService's reference does.
  bool permission_granted;
  if (explanation != nullptr) {
    std::vector<std::string> sets =
        SetsWithPermission(principal, known->second.bit);
    permission_granted = !sets.empty();
    explanation->set_permission_granted(permission_granted);
    for (const auto& id : sets) {
      explanation->add_permission_set_ids_with_permission(id);
    }
  } else {
    permission_granted = HasPermission(principal, known->second.bit);
  }
  if (!principal.active) {
    return finish(model::v1::DECISION_REASON_SUBJECT_INACTIVE);
  }

  // 2. Its permission sets contain the permission.
  if (!permission_granted) {
    return finish(model::v1::DECISION_REASON_PERMISSION_MISSING);
  }
  if (!item_permission) return finish(model::v1::DECISION_REASON_ALLOWED);

  // 3. The item exists, has the permission's type, and some grant reaching
  // the subject gives the level the permission needs.
  const model::v1::Item* item = items_.Find(item_id);
  if (item == nullptr) {
    return finish(model::v1::DECISION_REASON_ITEM_NOT_FOUND);
  }
  facts.item = item;
  if (item->type() != perm->item_type()) {
    return finish(model::v1::DECISION_REASON_ITEM_TYPE_MISMATCH);
  }

  const AccessLevel required = perm->required_level();
  AccessLevel granted = model::v1::ACCESS_LEVEL_UNSPECIFIED;
  std::vector<model::v1::GrantMatch> matches;
  bool done = false;
  auto consider = [&](const GrantList* grants, bool rule) {
    if (grants == nullptr || done) return;
    for (const auto& grant : *grants) {
      auto reach = Reaches(principal, *grant);
      if (!reach.has_value()) continue;
      granted = std::max(granted, grant->level());
      if (explanation == nullptr) {
        if (granted >= required) {
          done = true;
          return;
        }
        continue;
      }
      model::v1::GrantMatch match;
      *match.mutable_grant() = *grant;
      match.set_path(reach->path);
      match.set_via_id(reach->via_id);
      match.set_rule(rule);
      match.set_cross_organization(grant->organization_id() !=
                                   subject.organization_id());
      matches.push_back(std::move(match));
    }
  };
  const GrantList* on_item = item_grants_.Find(item_id);
  if (explanation == nullptr && on_item != nullptr &&
      on_item->size() > kScanItemGrantsUpTo) {
    // Only the grants to grantees that take the subject in, found by
    // grantee in the item's sorted list; sites are walked per grant.
    auto consider_grantee = [&](Grantee::GranteeCase kind,
                                absl::string_view id) {
      if (done) return;
      auto [begin, end] = std::equal_range(
          on_item->begin(), on_item->end(),
          std::pair<int, absl::string_view>(kind, id), ByGrantee());
      for (auto it = begin; it != end && !done; ++it) {
        granted = std::max(granted, (*it)->level());
        done = granted >= required;
      }
    };
    if (subject.kind() == model::v1::SUBJECT_KIND_USER) {
      consider_grantee(Grantee::kUserId, subject.subject_id());
      consider_grantee(Grantee::kOrganizationId, subject.organization_id());
      if (const auto* groups = user_groups_.Find(subject.subject_id())) {
        for (const auto& group_id : groups->ids) {
          consider_grantee(Grantee::kGroupId, group_id);
        }
      }
      auto sites_begin = std::lower_bound(
          on_item->begin(), on_item->end(),
          std::pair<int, absl::string_view>(Grantee::kSiteId, ""),
          ByGrantee());
      for (auto it = sites_begin; it != on_item->end() && !done &&
                                  (*it)->grantee().has_site_id();
           ++it) {
        if (!Reaches(principal, **it).has_value()) continue;
        granted = std::max(granted, (*it)->level());
        done = granted >= required;
      }
    } else {
      consider_grantee(Grantee::kServiceUserId, subject.subject_id());
    }
  } else {
    consider(on_item, /*rule=*/false);
  }
  consider(rule_grants_.Find(
               LookupTypeKey(item->organization_id(), item->type())),
           /*rule=*/true);

  if (explanation != nullptr) {
    std::sort(matches.begin(), matches.end(),
              [](const auto& a, const auto& b) {
                if (a.grant().level() != b.grant().level()) {
                  return a.grant().level() > b.grant().level();
                }
                return a.grant().id() < b.grant().id();
              });
    explanation->set_granted_level(granted);
    for (auto& match : matches) *explanation->add_grants() = std::move(match);
  }
  if (granted == model::v1::ACCESS_LEVEL_UNSPECIFIED) {
    return finish(model::v1::DECISION_REASON_NO_ACCESS);
  }
  if (granted < required) {
    return finish(model::v1::DECISION_REASON_ACCESS_LEVEL_TOO_LOW);
  }
  return finish(model::v1::DECISION_REASON_ALLOWED);
}

absl::StatusOr<Decision> ReplicaView::Check(const Principal& principal,
                                            absl::string_view permission,
                                            absl::string_view item_id) const {
  return Decide(principal, permission, item_id, nullptr);
}

absl::StatusOr<model::v1::Explanation> ReplicaView::Explain(
    const Principal& principal, absl::string_view permission,
    absl::string_view item_id) const {
  model::v1::Explanation explanation;
  auto decided = Decide(principal, permission, item_id, &explanation);
  if (!decided.ok()) return decided.status();
  return explanation;
}

absl::StatusOr<AccessiblePage> ReplicaView::ListAccessible(
    const Principal& principal, absl::string_view item_type,
    absl::string_view permission, int page_size,
    absl::string_view page_token) const {
  if (catalog_ == nullptr) {
    return absl::UnavailableError("the replica has no permission catalog yet");
  }
  if (!catalog_->index.IsItemType(item_type)) {
    return absl::InvalidArgumentError(
        absl::StrCat("item_type '", item_type,
                     "' is not an item type of the permission catalog"));
  }
  const model::v1::Permission* perm = catalog_->index.Find(permission);
  if (perm == nullptr || perm->item_type() != item_type) {
    return absl::InvalidArgumentError(absl::StrCat(
        "permission '", permission, "' must be a catalog permission that "
        "acts on ", item_type, " items"));
  }
  auto size = validation::PageSize(page_size, 100, 1000);
  if (!size.ok()) return size.status();
  const std::string scope =
      absl::StrCat("accessible/", item_type, "/", permission);
  auto after = validation::DecodePageToken(scope, page_token);
  if (!after.ok()) return after.status();

  AccessiblePage page;
  if (!principal.active ||
      !HasPermission(principal, catalog_->bits.at(perm->name()))) {
    return page;
  }

  // The smallest page_size + 1 item ids after the token: one more than the
  // page tells whether another page follows. Every source is sorted by item
  // id, so each is read only until it has given `limit` ids or passed the
  // largest id kept once `found` is full, and merged into `found`: a page
  // costs O(page size * sources), not the number of grants that reach the
  // subject. The ids are views of the replica's own strings.
  const size_t limit = static_cast<size_t>(*size) + 1;
  const absl::string_view after_id = *after;
  std::vector<absl::string_view> found, from_source, merged;
  auto full_below = [&](absl::string_view id) {
    return found.size() == limit && id >= found.back();
  };
  // Merges the ids of one sorted source, read from `begin` to `end`.
  auto merge_source = [&](auto begin, auto end, auto id_of, auto admits) {
    from_source.clear();
    for (auto it = begin; it != end && from_source.size() < limit; ++it) {
      absl::string_view id = id_of(*it);
      if (full_below(id)) break;
      if (!admits(*it)) continue;
      if (from_source.empty() || from_source.back() != id) {
        from_source.push_back(id);
      }
    }
    if (from_source.empty()) return;
    merged.clear();
    std::set_union(found.begin(), found.end(), from_source.begin(),
                   from_source.end(), std::back_inserter(merged));
    if (merged.size() > limit) merged.resize(limit);
    found.swap(merged);
  };
  const AccessLevel required = perm->required_level();
  std::string key;
  // Merges the grants on items of this type to one grantee.
  auto visit = [&](absl::string_view kind, absl::string_view id) {
    key.clear();
    AppendGranteeKey(&key, kind, id, item_type);
    const GranteeGrants* grants = grants_by_grantee_.Find(key);
    if (grants == nullptr) return;
    // One sufficient grant is enough; a lower one never is on its own. The
    // bucket holds only grants on held items of this type.
    merge_source(
        grants->on_items.upper_bound(after_id), grants->on_items.end(),
        [](const GrantPtr& grant) -> absl::string_view {
          return grant->item_id();
        },
        [&](const GrantPtr& grant) { return grant->level() >= required; });
    for (const auto& rule : grants->rules) {
      if (rule->level() < required) continue;
      const IdSet* all = items_by_type_.Find(
          LookupTypeKey(rule->organization_id(), rule->item_type()));
      if (all == nullptr) continue;
      merge_source(
          all->upper_bound(after_id), all->end(),
          [](const std::string& item_id) -> absl::string_view {
            return item_id;
          },
          [](const std::string&) { return true; });
    }
  };

  // The grantees that include the subject.
  const auto& subject = principal.subject;
  if (subject.kind() == model::v1::SUBJECT_KIND_USER) {
    visit("u:", subject.subject_id());
    visit("o:", subject.organization_id());
    if (const auto* groups = user_groups_.Find(subject.subject_id())) {
      for (const auto& id : groups->ids) visit("g:", id);
    }
    // Grants to any site at or below a member site reach the user.
    if (const auto* member_sites = user_sites_.Find(subject.subject_id())) {
      absl::flat_hash_set<absl::string_view> seen;
      std::vector<absl::string_view> pending(member_sites->ids.begin(),
                                             member_sites->ids.end());
      while (!pending.empty()) {
        absl::string_view site = pending.back();
        pending.pop_back();
        if (!seen.insert(site).second) continue;
        visit("s:", site);
        if (const auto* children = site_children_.Find(site)) {
          pending.insert(pending.end(), children->begin(), children->end());
        }
      }
    }
  } else {
    visit("v:", subject.subject_id());
  }
  for (absl::string_view id : found) {
    if (page.item_ids.size() == static_cast<size_t>(*size)) break;
    page.item_ids.emplace_back(id);
  }
  if (found.size() > static_cast<size_t>(*size)) {
    page.next_page_token =
        validation::EncodePageToken(scope, page.item_ids.back());
  }
  return page;
}

// ---- Records and digest ----------------------------------------------------

std::vector<Record> ReplicaView::Records() const {
  std::vector<Record> out;
  if (catalog_ != nullptr) *out.emplace_back().mutable_catalog() =
      catalog_->index.catalog();
  organizations_.ForEach([&](const std::string&, const auto& v) {
    *out.emplace_back().mutable_organization() = v;
  });
  permission_sets_.ForEach([&](const std::string&, const auto& v) {
    *out.emplace_back().mutable_permission_set() = v.set;
  });
  users_.ForEach([&](const std::string&, const auto& v) {
    *out.emplace_back().mutable_user() = v;
  });
  service_users_.ForEach([&](const std::string&, const auto& v) {
    *out.emplace_back().mutable_service_user() = v;
  });
  tokens_.ForEach([&](const std::string&, const auto& v) {
    *out.emplace_back().mutable_token() = v;
  });
  groups_.ForEach([&](const std::string&, const auto& v) {
    *out.emplace_back().mutable_group() = v;
  });
  user_groups_.ForEach([&](const std::string& user_id, const Memberships& m) {
    for (const auto& group_id : m.ids) {
      auto* member = out.emplace_back().mutable_group_member();
      member->set_organization_id(m.organization_id);
      member->set_group_id(group_id);
      member->set_user_id(user_id);
    }
  });
  sites_.ForEach([&](const std::string&, const auto& v) {
    *out.emplace_back().mutable_site() = v;
  });
  user_sites_.ForEach([&](const std::string& user_id, const Memberships& m) {
    for (const auto& site_id : m.ids) {
      auto* member = out.emplace_back().mutable_site_member();
      member->set_organization_id(m.organization_id);
      member->set_site_id(site_id);
      member->set_user_id(user_id);
    }
  });
  items_.ForEach([&](const std::string&, const auto& v) {
    *out.emplace_back().mutable_item() = v;
  });
  grants_.ForEach([&](const std::string&, const auto& v) {
    *out.emplace_back().mutable_grant() = v;
  });
  return out;
}

std::string RecordsDigest(const std::vector<Record>& records) {
  std::vector<std::string> serialized;
  serialized.reserve(records.size());
  for (const auto& record : records) {
    serialized.push_back(DeterministicBytes(record));
  }
  std::sort(serialized.begin(), serialized.end());
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  for (const auto& bytes : serialized) {
    uint64_t length = bytes.size();
    unsigned char prefix[8];
    for (int i = 0; i < 8; ++i) prefix[i] = (length >> (56 - 8 * i)) & 0xff;
    EVP_DigestUpdate(ctx, prefix, sizeof(prefix));
    EVP_DigestUpdate(ctx, bytes.data(), bytes.size());
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(ctx, digest, &length);
  EVP_MD_CTX_free(ctx);
  return absl::BytesToHexString(absl::string_view(
      reinterpret_cast<const char*>(digest), length));
}

std::string ReplicaView::Digest() const { return RecordsDigest(Records()); }

IndexCounts ReplicaView::Counts() const {
  IndexCounts counts;
  counts.tokens = tokens_.size();
  counts.users = users_.size();
  counts.service_users = service_users_.size();
  counts.permission_sets = permission_sets_.size();
  counts.groups = groups_.size();
  user_groups_.ForEach([&](const std::string&, const Memberships& m) {
    counts.group_memberships += m.ids.size();
  });
  counts.sites = sites_.size();
  user_sites_.ForEach([&](const std::string&, const Memberships& m) {
    counts.site_memberships += m.ids.size();
  });
  counts.items = items_.size();
  counts.grants = grants_.size();
  counts.organizations = organizations_.size();
  return counts;
}

// ---- ReplicaIndex ----------------------------------------------------------

ReplicaIndex::ReplicaIndex() : current_(std::make_shared<ReplicaView>()) {}

std::shared_ptr<const ReplicaView> ReplicaIndex::Current() const {
  absl::MutexLock lock(&mutex_);
  return current_;
}

void ReplicaIndex::Publish(std::shared_ptr<const ReplicaView> view) {
  std::shared_ptr<const ReplicaView> previous;
  {
    absl::MutexLock lock(&mutex_);
    previous = std::move(current_);
    current_ = std::move(view);
  }
  // `previous` is freed here, outside the lock, if no reader holds it.
}

absl::Status ReplicaIndex::LoadSnapshot(int64_t revision,
                                        const std::vector<Record>& records) {
  auto view = std::make_shared<ReplicaView>();
  // The catalog first, so permission sets get their bits on insert.
  for (const auto& record : records) {
    if (record.has_catalog()) view->SetCatalog(record.catalog());
  }
  for (const auto& record : records) {
    if (record.has_catalog()) continue;
    auto status = view->Upsert(record);
    if (!status.ok()) return status;
  }
  view->revision_ = revision;
  view->loaded_ = true;
  view->Seal();
  Publish(std::move(view));
  return absl::OkStatus();
}

absl::Status ReplicaIndex::Apply(
    const std::vector<model::v1::ChangeRecord>& changes) {
  std::shared_ptr<const ReplicaView> base = Current();
  if (!base->loaded()) {
    return absl::FailedPreconditionError(
        "changes cannot be applied before a snapshot is loaded");
  }
  auto next = std::make_shared<ReplicaView>(*base);
  for (const auto& change : changes) {
    if (change.revision() <= next->revision_) continue;
    if (change.revision() != next->revision_ + 1) {
      return absl::FailedPreconditionError(absl::StrCat(
          "change stream gap: expected revision ", next->revision_ + 1,
          ", got ", change.revision()));
    }
    for (const auto& record_change : change.changes()) {
      auto status =
          record_change.operation() == model::v1::CHANGE_OPERATION_DELETE
              ? next->Remove(record_change.record())
              : next->Upsert(record_change.record());
      if (!status.ok()) return status;
    }
    next->revision_ = change.revision();
  }
  if (next->revision_ == base->revision_) return absl::OkStatus();
  next->Seal();
  Publish(std::move(next));
  return absl::OkStatus();
}

}  // namespace warden::index
