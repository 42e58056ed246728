#ifndef WARDEN_LIBS_INDEX_REPLICA_INDEX_H_
#define WARDEN_LIBS_INDEX_REPLICA_INDEX_H_

// AuthzService's in-memory replica of TokenService's state, shaped for
// decisions rather than as a copy of the tables: tokens by secret digest,
// subjects with their permission sets as bitsets and their group and site
// memberships, items with the grants on them, type-wide rules per
// (organization, type), and grants by grantee for listing what a subject may
// reach. No gRPC here: callers hand in records and get records back.
//
// Concurrency: the index is a sequence of immutable ReplicaViews. The one
// applier builds the next view from the current one, copying only the shards
// and entries a batch touches (see cow_map.h), and publishes it with a
// pointer swap. Readers take the current view with Current() and use it
// without locks for as long as they hold it; they never wait for the
// applier, and the applier never waits for them.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/catalog/catalog.h"
#include "libs/index/cow_map.h"
#include "warden/model/v1/model.pb.h"

namespace warden::index {

// A user or service user as Authenticate and decisions see it: what
// model::v1::AuthenticatedSubject says of it apart from the token. The view
// builds one per subject when the subject or one of its permission sets
// changes and shares it with every Principal naming the subject, so
// resolving copies a pointer rather than the names. Immutable.
struct ResolvedSubject {
  std::string organization_id;
  model::v1::SubjectKind kind = model::v1::SUBJECT_KIND_UNSPECIFIED;
  std::string subject_id;
  std::string display_name;
  bool login_allowed = false;
  // As the subject names them, known to the replica or not.
  std::vector<std::string> permission_set_ids;
  // The union of the permissions of the known sets, sorted. Never null.
  std::shared_ptr<const std::vector<std::string>> permissions;
  // A service user's own token; empty for a user.
  std::string own_token_id;
  // A user whose status is ACTIVE, or any known service user.
  bool active = false;
  model::v1::UserStatus user_status = model::v1::USER_STATUS_UNSPECIFIED;
};

// The subject of a Principal: a shared ResolvedSubject and the token it was
// resolved through, read with the accessors of
// model::v1::AuthenticatedSubject. Cheap to copy (two shared pointers).
// References it returns are valid while the SubjectRef is alive.
class SubjectRef {
 public:
  const std::string& organization_id() const;
  model::v1::SubjectKind kind() const;
  const std::string& subject_id() const;
  const std::string& display_name() const;
  bool login_allowed() const { return resolved_ && resolved_->login_allowed; }
  const std::vector<std::string>& permission_set_ids() const;
  const std::vector<std::string>& permissions() const;
  int permissions_size() const {
    return static_cast<int>(permissions().size());
  }
  const std::string& permissions(int i) const { return permissions()[i]; }
  const std::string& token_id() const;
  model::v1::TokenKind token_kind() const;

  // The same subject as a message, for responses and explanations.
  model::v1::AuthenticatedSubject ToProto() const;

 private:
  friend class ReplicaView;
  friend struct Principal;

  // Null when the subject is not in the replica.
  std::shared_ptr<const ResolvedSubject> resolved_;
  // The token presented, or the service user's own token; may be null.
  std::shared_ptr<const model::v1::Token> token_;
};

// A subject as a decision sees it, resolved from a token or an id.
struct Principal {
  // Who it is. For an inactive subject, what is known of it.
  SubjectRef subject;
  // Whether the subject is active (token valid and user active).
  bool active = false;
  // Why a token did not authenticate; nullopt when active or named by id.
  std::optional<model::v1::AuthFailure> failure;
  // For an inactive subject named by id: why, as the fragment
  // decision::Summary puts in a SUBJECT_INACTIVE summary.
  std::string inactive_reason;
  // The token presented, or the service user's own token; empty if none.
  // For usage reports.
  const std::string& token_id() const;
  int64_t token_generation = 0;
};

// The answer to one check.
struct Decision {
  bool allowed = false;
  model::v1::DecisionReason reason = model::v1::DECISION_REASON_UNSPECIFIED;
};

// One page of ListAccessible.
struct AccessiblePage {
  std::vector<std::string> item_ids;
  std::string next_page_token;
};

// The latest use of a token this process saw, not yet replicated back.
struct LocalUse {
  int64_t generation = 0;
  absl::Time used_at;
};
// Returns the local use of a token id, if any. Must be thread-safe.
using LocalUseLookup =
    std::function<std::optional<LocalUse>(absl::string_view token_id)>;

// Entry counts, for status and memory measurements.
struct IndexCounts {
  size_t tokens = 0;
  size_t users = 0;
  size_t service_users = 0;
  size_t permission_sets = 0;
  size_t groups = 0;
  size_t group_memberships = 0;
  size_t sites = 0;
  size_t site_memberships = 0;
  size_t items = 0;
  size_t grants = 0;
  size_t organizations = 0;
};

// Lowercase hex SHA-256 over `records`, each serialized deterministically,
// the serializations sorted and each prefixed with its 8-byte big-endian
// length. Independent of record order.
std::string RecordsDigest(const std::vector<model::v1::Record>& records);

// The replica at one revision. Immutable once published; every method is
// const and safe to call from any number of threads.
class ReplicaView {
 public:
  // A user's group or direct site memberships.
  struct Memberships {
    std::string organization_id;
    absl::flat_hash_set<std::string> ids;
  };

  ReplicaView();
  ReplicaView(const ReplicaView& other);
  ReplicaView& operator=(const ReplicaView&) = delete;

  // The last revision applied; 0 before the first snapshot.
  int64_t revision() const { return revision_; }
  // Whether a snapshot has been loaded.
  bool loaded() const { return loaded_; }
  // Whether a permission catalog has been replicated.
  bool has_catalog() const { return catalog_ != nullptr; }

  // Resolves a presented token at `now`. OK with active = false and a
  // failure (MALFORMED, UNKNOWN, REVOKED, EXPIRED, OWNER_INACTIVE) when it
  // does not authenticate; the same outcomes as TokenService.Authenticate.
  // Expiry uses the later of the replicated last use and `local_use`.
  Principal ResolveToken(absl::string_view presented, absl::Time now,
                         const LocalUseLookup& local_use) const;

  // Resolves a user or service-user id. A user is active when its status is
  // ACTIVE; a service user when its token is active and not expired.
  // INVALID_ARGUMENT for an id of neither shape, NOT_FOUND if unknown.
  absl::StatusOr<Principal> ResolveSubjectId(
      absl::string_view subject_id, absl::Time now,
      const LocalUseLookup& local_use) const;

  // Decides whether `principal` may use `permission` on `item_id` (empty
  // for organization-level permissions). INVALID_ARGUMENT for an unknown
  // permission, an item permission without an item id, an organization
  // permission with one, or an item id that is not well formed.
  absl::StatusOr<Decision> Check(const Principal& principal,
                                 absl::string_view permission,
                                 absl::string_view item_id) const;

  // The same decision with every reason behind it. Errors as for Check.
  absl::StatusOr<model::v1::Explanation> Explain(
      const Principal& principal, absl::string_view permission,
      absl::string_view item_id) const;

  // The items of `item_type` `principal` may use `permission` on, ascending
  // by id, after the item named by `page_token`. INVALID_ARGUMENT for an
  // unknown type, a permission that does not act on it, a bad page size or
  // page token.
  absl::StatusOr<AccessiblePage> ListAccessible(
      const Principal& principal, absl::string_view item_type,
      absl::string_view permission, int page_size,
      absl::string_view page_token) const;

  // Every record the view holds, each as TokenService stores it.
  std::vector<model::v1::Record> Records() const;
  // Lowercase hex SHA-256 over Records() serialized deterministically and
  // sorted, each prefixed with its length. Equal for equal record sets.
  std::string Digest() const;

  IndexCounts Counts() const;

  // The replicated token with this id, or nullptr.
  const model::v1::Token* FindToken(absl::string_view token_id) const {
    return tokens_.Find(token_id);
  }

 private:
  friend class ReplicaIndex;

  struct CatalogEntry;
  struct PermissionSetEntry {
    model::v1::PermissionSet set;
    std::vector<uint64_t> bits;  // by catalog bit index
    // set.permissions() sorted and without repeats; never null.
    std::shared_ptr<const std::vector<std::string>> sorted_permissions;
  };
  using TokenPtr = std::shared_ptr<const model::v1::Token>;
  using GrantPtr = std::shared_ptr<const model::v1::Grant>;
  using GrantList = std::vector<GrantPtr>;
  using IdSet = absl::btree_set<std::string>;

  // Orders item grants by item id, then grant id. Transparent, so a set of
  // them can be searched by item id alone.
  struct ByItemThenId {
    using is_transparent = void;
    bool operator()(const GrantPtr& a, const GrantPtr& b) const {
      if (a->item_id() != b->item_id()) return a->item_id() < b->item_id();
      return a->id() < b->id();
    }
    bool operator()(const GrantPtr& a, absl::string_view item_id) const {
      return a->item_id() < item_id;
    }
    bool operator()(absl::string_view item_id, const GrantPtr& b) const {
      return item_id < b->item_id();
    }
  };
  // The grants to one grantee on items of one type: on single items in
  // item id order, so the items a subject reaches can be listed by merging
  // sorted sources and stopping after one page; and type-wide rules.
  struct GranteeGrants {
    absl::btree_set<GrantPtr, ByItemThenId> on_items;
    GrantList rules;
  };

  // How a grant reaches a principal, if it does.
  struct Reach {
    model::v1::GrantPath path = model::v1::GRANT_PATH_UNSPECIFIED;
    std::string via_id;
  };

  // Applying records; only ReplicaIndex calls these, on an unpublished copy.
  absl::Status Upsert(const model::v1::Record& record);
  absl::Status Remove(const model::v1::Record& record);
  void SetCatalog(const model::v1::PermissionCatalog& catalog);
  std::vector<uint64_t> BitsOf(const model::v1::PermissionSet& set) const;
  // The item type under which grants_by_grantee_ files a grant: a rule's
  // type, or the type of the grant's item ("" while the replica does not
  // hold the item).
  absl::string_view BucketTypeOf(const model::v1::Grant& grant) const;
  // Refiles the grants on `item_id` from the bucket of `old_type` to the
  // one of the item's type now ("" if it is gone).
  void MoveItemGrants(const std::string& item_id, absl::string_view old_type);

  PermissionSetEntry SetEntryOf(const model::v1::PermissionSet& set) const;
  Principal PrincipalForToken(const TokenPtr& token, absl::Time now,
                              const LocalUseLookup& local_use) const;
  // Builds the shared subjects of the users and service users the current
  // batch touched, directly or through one of their permission sets.
  void RebuildPendingSubjects();
  ResolvedSubject ResolveUser(const model::v1::User& user) const;
  ResolvedSubject ResolveServiceUser(
      const model::v1::ServiceUser& service_user) const;

  // Whether one of the principal's permission sets contains `bit`.
  bool HasPermission(const Principal& principal, int bit) const;
  // The permission sets among the principal's that contain `bit`.
  std::vector<std::string> SetsWithPermission(const Principal& principal,
                                              int bit) const;
  std::optional<Reach> Reaches(const Principal& principal,
                               const model::v1::Grant& grant) const;
  bool SiteReaches(absl::string_view grant_site,
                   const Memberships* user_sites, std::string& via) const;

  // The shared core of Check and Explain. When `explanation` is set, fills
  // it and does not stop at the first sufficient grant.
  absl::StatusOr<Decision> Decide(const Principal& principal,
                                  absl::string_view permission,
                                  absl::string_view item_id,
                                  model::v1::Explanation* explanation) const;

  void Seal();

  int64_t revision_ = 0;
  bool loaded_ = false;
  std::shared_ptr<const CatalogEntry> catalog_;
  CowMap<model::v1::Organization> organizations_;
  CowMap<PermissionSetEntry> permission_sets_;
  CowMap<model::v1::User> users_;
  CowMap<model::v1::ServiceUser> service_users_;
  CowMap<model::v1::Token> tokens_;
  CowMap<model::v1::Token> token_by_digest_;  // digest -> the token
  CowMap<model::v1::Group> groups_;
  CowMap<Memberships> user_groups_;  // user id -> group ids
  CowMap<model::v1::Site> sites_;
  CowMap<IdSet> site_children_;      // site id -> child site ids
  CowMap<Memberships> user_sites_;   // user id -> site ids (direct)
  CowMap<model::v1::Item> items_;
  CowMap<IdSet> items_by_type_;      // "org/type" -> item ids
  CowMap<model::v1::Grant> grants_;
  CowMap<GrantList> item_grants_;    // item id -> grants on it
  CowMap<GrantList> rule_grants_;    // "org/type" -> rules
  // grantee and item type -> the grants (see GranteeKey)
  CowMap<GranteeGrants> grants_by_grantee_;
  CowMap<ResolvedSubject> resolved_users_;     // user id -> subject
  CowMap<ResolvedSubject> resolved_service_users_;

  // What the applier's batch touched and RebuildPendingSubjects must
  // rebuild. Never copied into the next view; empty once sealed.
  struct PendingSubjects {
    absl::flat_hash_set<std::string> users;
    absl::flat_hash_set<std::string> service_users;
    absl::flat_hash_set<std::string> permission_sets;
  };
  PendingSubjects pending_;
};

// The current view and how it advances. Thread-safe: Current() from any
// thread; LoadSnapshot and Apply from one applier thread at a time.
class ReplicaIndex {
 public:
  ReplicaIndex();

  // The latest published view. Never null (empty at revision 0 at first).
  std::shared_ptr<const ReplicaView> Current() const;

  // Replaces everything with the records of a snapshot at `revision`.
  // INVALID_ARGUMENT if a record is malformed (missing ids); nothing is
  // published then.
  absl::Status LoadSnapshot(int64_t revision,
                            const std::vector<model::v1::Record>& records);

  // Applies committed changes, which must continue the current revision
  // without gaps (FAILED_PRECONDITION otherwise: take a new snapshot), and
  // publishes one new view for the whole batch. Revisions at or below the
  // current one are skipped, so a resumed stream may repeat.
  absl::Status Apply(const std::vector<model::v1::ChangeRecord>& changes);

 private:
  void Publish(std::shared_ptr<const ReplicaView> view);

  mutable absl::Mutex mutex_;
  std::shared_ptr<const ReplicaView> current_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace warden::index

#endif  // WARDEN_LIBS_INDEX_REPLICA_INDEX_H_
