#include "libs/tokens/token_registry.h"

#include <algorithm>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/catalog/catalog.h"
#include "libs/ids/ids.h"
#include "libs/secrets/token_secret.h"
#include "libs/store/records.h"
#include "libs/tokens/token_rules.h"
#include "libs/validation/validation.h"

namespace warden::tokens {
namespace {

using model::v1::Token;
using store::Table;

constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 500;
constexpr int kMaxNameChars = 100;
constexpr absl::Duration kRequestIdLifetime = absl::Hours(24);

std::string KindIndexPrefix(absl::string_view org, model::v1::TokenKind kind) {
  return absl::StrCat("tok_kind/", org, "/", static_cast<int>(kind), "/");
}

std::string SubjectIndexPrefix(absl::string_view org,
                               absl::string_view subject) {
  return absl::StrCat("tok_subject/", org, "/", subject, "/");
}

// The last "/"-separated part of an index key: the record's id.
template <typename StringView>
std::string LastPart(StringView key) {
  size_t slash = key.rfind('/');
  return std::string(slash == StringView::npos ? key : key.substr(slash + 1));
}

absl::Status TokenNotFound(absl::string_view token_id) {
  return absl::NotFoundError(absl::StrCat(
      "token ", token_id, " does not exist in the caller's organization"));
}

model::v1::ActivityEntry TokenActivity(const model::v1::Actor& actor,
                                       absl::string_view action,
                                       const Token& token) {
  model::v1::ActivityEntry entry;
  entry.set_organization_id(token.organization_id());
  *entry.mutable_actor() = actor;
  entry.set_action(std::string(action));
  entry.set_target_kind("token");
  entry.set_target_id(token.id());
  entry.set_target_name(token.name());
  return entry;
}

secrets::SecretKind SecretKindOf(model::v1::TokenKind kind) {
  return kind == model::v1::TOKEN_KIND_SERVICE_USER
             ? secrets::SecretKind::kServiceUser
             : secrets::SecretKind::kUser;
}

// Looks up an idempotency key. Returns the id of what the earlier request
// created, or "" when the key is unused or older than its lifetime.
absl::StatusOr<std::string> PriorRequest(store::ReadView& view,
                                         const std::string& key,
                                         absl::Time now) {
  auto value = view.Get(Table::kRequests, key);
  if (!value.ok()) return value.status();
  if (!value->has_value()) return std::string();
  std::vector<std::string> parts = absl::StrSplit(**value, '\n');
  int64_t created_unix = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[1], &created_unix)) {
    return std::string();
  }
  if (now - absl::FromUnixSeconds(created_unix) > kRequestIdLifetime) {
    return std::string();
  }
  return parts[0];
}

std::string RequestKey(const Caller& caller, const std::string& request_id) {
  return absl::StrCat(caller.organization_id(), "/", caller.subject_id(), "/",
                      request_id);
}

void RememberRequest(store::WriteTxn& txn, const std::string& key,
                     const std::string& created_id) {
  txn.Put(Table::kRequests, key,
          absl::StrCat(created_id, "\n", absl::ToUnixSeconds(txn.now())));
}

// Checks that every id names a permission set of the organization; returns
// them sorted and unique, or every set of the organization when `ids` is
// empty and `empty_means_all`.
absl::StatusOr<std::vector<std::string>> ResolvePermissionSets(
    store::ReadView& view, const std::string& org_id,
    const std::vector<std::string>& ids, bool empty_means_all) {
  std::set<std::string> result;
  if (ids.empty()) {
    if (!empty_means_all) {
      return absl::InvalidArgumentError(
          "permission_set_ids must name at least one permission set");
    }
    auto status = view.Scan(
        Table::kPermissionSets, absl::StrCat(org_id, "/"), "",
        [&](auto key, auto) {
          result.insert(std::string(LastPart(key)));
          return true;
        });
    if (!status.ok()) return status;
    if (result.empty()) {
      return absl::FailedPreconditionError(
          "the organization has no permission sets; create one first");
    }
    return std::vector<std::string>(result.begin(), result.end());
  }
  for (const auto& id : ids) {
    auto valid = ids::ValidateId("permission_set_ids", id, "pset");
    if (!valid.ok()) return valid;
    auto found = view.Get(Table::kPermissionSets, store::OrgKey(org_id, id));
    if (!found.ok()) return found.status();
    if (!found->has_value()) {
      return absl::NotFoundError(absl::StrCat(
          "permission set ", id, " does not exist in the organization"));
    }
    result.insert(id);
  }
  return std::vector<std::string>(result.begin(), result.end());
}

// The subject a token acts as, with its permissions; OWNER_INACTIVE
// failure when a user token's user is no longer active.
absl::StatusOr<model::v1::AuthenticatedSubject> ResolveSubject(
    store::ReadView& view, const Token& token) {
  model::v1::AuthenticatedSubject subject;
  subject.set_organization_id(token.organization_id());
  subject.set_subject_id(token.subject_id());
  subject.set_token_id(token.id());
  subject.set_token_kind(token.kind());
  std::vector<std::string> set_ids;

  const std::string key = store::OrgKey(token.organization_id(),
                                        token.subject_id());
  if (token.kind() == model::v1::TOKEN_KIND_USER) {
    auto user = store::GetRecord<model::v1::User>(view, Table::kUsers, key);
    if (!user.ok()) return user.status();
    if (!user->has_value() ||
        (*user)->status() != model::v1::USER_STATUS_ACTIVE) {
      return AuthFailureStatus(model::v1::AUTH_FAILURE_OWNER_INACTIVE);
    }
    subject.set_kind(model::v1::SUBJECT_KIND_USER);
    subject.set_display_name((*user)->display_name());
    subject.set_login_allowed(true);
    set_ids.push_back((*user)->permission_set_id());
  } else {
    auto service_user = store::GetRecord<model::v1::ServiceUser>(
        view, Table::kServiceUsers, key);
    if (!service_user.ok()) return service_user.status();
    if (!service_user->has_value()) {
      return AuthFailureStatus(model::v1::AUTH_FAILURE_UNKNOWN);
    }
    subject.set_kind(model::v1::SUBJECT_KIND_SERVICE_USER);
    subject.set_display_name((*service_user)->name());
    subject.set_login_allowed(false);
    set_ids.assign((*service_user)->permission_set_ids().begin(),
                   (*service_user)->permission_set_ids().end());
  }

  std::set<std::string> permissions;
  for (const auto& set_id : set_ids) {
    subject.add_permission_set_ids(set_id);
    auto set = store::GetRecord<model::v1::PermissionSet>(
        view, Table::kPermissionSets,
        store::OrgKey(token.organization_id(), set_id));
    if (!set.ok()) return set.status();
    if (!set->has_value()) continue;
    permissions.insert((*set)->permissions().begin(),
                       (*set)->permissions().end());
  }
  for (const auto& permission : permissions) {
    subject.add_permissions(permission);
  }
  return subject;
}

// ALREADY_EXISTS when the caller used `request_id` for a token within its
// lifetime. The earlier token's secret is never shown again.
absl::Status EnsureRequestIdUnused(store::WriteTxn& txn, const Caller& caller,
                                   const std::string& request_id) {
  if (request_id.empty()) return absl::OkStatus();
  auto prior = PriorRequest(txn, RequestKey(caller, request_id), txn.now());
  if (!prior.ok()) return prior.status();
  if (prior->empty()) return absl::OkStatus();
  return absl::AlreadyExistsError(absl::StrCat(
      "request_id was already used to create token ", *prior,
      "; its secret is shown only once, so regenerate that token if the "
      "secret was lost"));
}

// What every token creation leaves besides the token: the request id, and
// the activity-log entry.
void RecordCreation(store::WriteTxn& txn, const Caller& caller,
                    const std::string& request_id, const Token& token) {
  if (!request_id.empty()) {
    RememberRequest(txn, RequestKey(caller, request_id), token.id());
  }
  txn.AddActivity(TokenActivity(ActorOf(caller), "token.create", token));
}

// The API's view of a token just created, with its secret digest cleared.
TokenDetails NewTokenDetails(const Token& token,
                             const std::string& subject_display_name) {
  TokenDetails details;
  details.token = token;
  details.token.clear_secret_digest();
  details.expires_at = ExpiresAt(token);
  details.subject_display_name = subject_display_name;
  return details;
}

absl::StatusOr<Token> NewToken(const Caller& caller, store::WriteTxn& txn,
                               model::v1::TokenKind kind,
                               const std::string& name, int inactivity_days,
                               const std::string& subject_id,
                               const std::string& digest) {
  Token token;
  token.set_id(ids::NewId("tok"));
  token.set_organization_id(caller.organization_id());
  token.set_kind(kind);
  token.set_name(name);
  token.set_subject_id(subject_id);
  token.set_state(model::v1::TOKEN_STATE_ACTIVE);
  token.set_secret_digest(digest);
  token.set_inactivity_days(inactivity_days == 0 ? kDefaultInactivityDays
                                                 : inactivity_days);
  *token.mutable_created_at() = ToProto(txn.now());
  *token.mutable_secret_issued_at() = ToProto(txn.now());
  token.set_generation(1);
  return token;
}

}  // namespace

bool HasPermission(const Caller& caller, absl::string_view permission) {
  return std::binary_search(caller.permissions().begin(),
                            caller.permissions().end(), permission);
}

absl::Status RequirePermission(const Caller& caller,
                               absl::string_view permission,
                               absl::string_view what) {
  if (HasPermission(caller, permission)) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat(what, " needs the '", permission,
                   "' permission, which the caller's permission sets lack"));
}

model::v1::Actor ActorOf(const Caller& caller) {
  model::v1::Actor actor;
  actor.set_kind(caller.kind());
  actor.set_id(caller.subject_id());
  actor.set_display_name(caller.display_name());
  return actor;
}

absl::Status EndUserTokens(store::WriteTxn& txn, const std::string& org_id,
                           const std::string& user_id) {
  std::vector<std::string> token_ids;
  auto scanned = txn.Scan(Table::kIndex, SubjectIndexPrefix(org_id, user_id),
                          "", [&](auto key, auto) {
                            token_ids.emplace_back(LastPart(key));
                            return true;
                          });
  if (!scanned.ok()) return scanned;
  for (const auto& token_id : token_ids) {
    auto token = store::GetRecord<Token>(txn, Table::kTokens,
                                         store::OrgKey(org_id, token_id));
    if (!token.ok()) return token.status();
    if (!token->has_value() ||
        (*token)->state() == model::v1::TOKEN_STATE_OWNER_INACTIVE) {
      continue;
    }
    (*token)->set_state(model::v1::TOKEN_STATE_OWNER_INACTIVE);
    auto put = store::Put(txn, **token);
    if (!put.ok()) return put;
  }
  return absl::OkStatus();
}

absl::StatusOr<int> CountActiveTokens(store::ReadView& view,
                                      const std::string& org_id,
                                      const std::string& index_prefix,
                                      absl::Time now) {
  std::vector<std::string> token_ids;
  auto scanned = view.Scan(Table::kIndex, index_prefix, "",
                           [&](auto key, auto) {
                             token_ids.emplace_back(LastPart(key));
                             return true;
                           });
  if (!scanned.ok()) return scanned;
  int active = 0;
  for (const auto& token_id : token_ids) {
    auto token = store::GetRecord<Token>(view, Table::kTokens,
                                         store::OrgKey(org_id, token_id));
    if (!token.ok()) return token.status();
    if (token->has_value() &&
        StateAt(**token, now) == EffectiveState::kActive) {
      ++active;
    }
  }
  return active;
}

TokenRegistry::TokenRegistry(store::Store* store, const Clock* clock)
    : store_(store), clock_(clock) {}

absl::StatusOr<TokenDetails> TokenRegistry::Describe(
    store::ReadView& view, const Token& token) const {
  TokenDetails details;
  details.token = token;
  details.token.clear_secret_digest();
  details.expires_at = ExpiresAt(token);
  details.expired = StateAt(token, clock_->Now()) == EffectiveState::kExpired;
  const std::string key =
      store::OrgKey(token.organization_id(), token.subject_id());
  if (token.kind() == model::v1::TOKEN_KIND_SERVICE_USER) {
    auto service_user = store::GetRecord<model::v1::ServiceUser>(
        view, Table::kServiceUsers, key);
    if (!service_user.ok()) return service_user.status();
    if (service_user->has_value()) {
      details.subject_display_name = (*service_user)->name();
      details.permission_set_ids.assign(
          (*service_user)->permission_set_ids().begin(),
          (*service_user)->permission_set_ids().end());
    }
  } else {
    auto user = store::GetRecord<model::v1::User>(view, Table::kUsers, key);
    if (!user.ok()) return user.status();
    if (user->has_value()) {
      details.subject_display_name = (*user)->display_name();
    }
  }
  return details;
}

absl::StatusOr<Token> TokenRegistry::LoadToken(store::ReadView& view,
                                               const Caller& caller,
                                               const std::string& token_id,
                                               bool for_change) const {
  auto valid = ids::ValidateId("token_id", token_id, "tok");
  if (!valid.ok()) return valid;
  auto token = store::GetRecord<Token>(
      view, Table::kTokens, store::OrgKey(caller.organization_id(), token_id));
  if (!token.ok()) return token.status();
  if (!token->has_value()) return TokenNotFound(token_id);

  if ((*token)->kind() == model::v1::TOKEN_KIND_SERVICE_USER) {
    auto allowed = RequirePermission(
        caller, catalog::kApiTokens,
        for_change ? "changing service-user tokens"
                   : "viewing service-user tokens");
    if (!allowed.ok()) return allowed;
  } else if ((*token)->subject_id() != caller.subject_id()) {
    return absl::PermissionDeniedError(
        "user tokens can be seen and changed only by the user who owns them");
  }
  return **token;
}

absl::StatusOr<IssuedToken> TokenRegistry::CreateServiceUserToken(
    const Caller& caller, const std::string& name, int inactivity_days,
    const std::vector<std::string>& permission_set_ids,
    const std::string& request_id) {
  auto allowed = RequirePermission(caller, catalog::kApiTokens,
                                   "creating service-user tokens");
  if (!allowed.ok()) return allowed;
  for (auto status :
       {validation::ValidateName("name", name, kMaxNameChars),
        ValidateInactivityDays("inactivity_days", inactivity_days),
        validation::ValidateRequestId("request_id", request_id)}) {
    if (!status.ok()) return status;
  }

  auto secret = secrets::Generate(secrets::SecretKind::kServiceUser);
  if (!secret.ok()) return secret.status();

  IssuedToken issued;
  Token token;
  model::v1::ServiceUser service_user;
  const std::string org = caller.organization_id();
  auto revision = store_->Write("token.create", [&](store::WriteTxn& txn)
                                                    -> absl::Status {
    auto unused = EnsureRequestIdUnused(txn, caller, request_id);
    if (!unused.ok()) return unused;
    auto name_taken = txn.Get(
        Table::kIndex, absl::StrCat("svc_name/", org, "/",
                                    store::FoldCase(name)));
    if (!name_taken.ok()) return name_taken.status();
    if (name_taken->has_value()) {
      return absl::AlreadyExistsError(
          "a service-user token with this name already exists; choose "
          "another name");
    }
    auto sets = ResolvePermissionSets(txn, org, permission_set_ids, true);
    if (!sets.ok()) return sets.status();

    auto active = CountActiveTokens(
        txn, org, KindIndexPrefix(org, model::v1::TOKEN_KIND_SERVICE_USER),
        txn.now());
    if (!active.ok()) return active.status();
    if (*active >= kMaxActiveServiceUserTokens) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "the organization already has ", kMaxActiveServiceUserTokens,
          " active service-user tokens; revoke one before creating another"));
    }

    service_user.set_id(ids::NewId("svc"));
    service_user.set_organization_id(org);
    service_user.set_name(name);
    for (const auto& id : *sets) service_user.add_permission_set_ids(id);
    *service_user.mutable_created_at() = ToProto(txn.now());
    auto made = NewToken(caller, txn, model::v1::TOKEN_KIND_SERVICE_USER,
                         name, inactivity_days, service_user.id(),
                         secret->digest());
    if (!made.ok()) return made.status();
    token = *std::move(made);
    service_user.set_token_id(token.id());

    for (auto status : {store::Put(txn, service_user), store::Put(txn, token)}) {
      if (!status.ok()) return status;
    }
    RecordCreation(txn, caller, request_id, token);
    return absl::OkStatus();
  });
  if (!revision.ok()) return revision.status();

  issued.revision = *revision;
  issued.details = NewTokenDetails(token, service_user.name());
  issued.details.permission_set_ids.assign(
      service_user.permission_set_ids().begin(),
      service_user.permission_set_ids().end());
  issued.service_user = service_user;
  issued.secret = secret->TakePlaintext();
  return issued;
}

absl::StatusOr<IssuedToken> TokenRegistry::CreateUserToken(
    const Caller& caller, const std::string& name, int inactivity_days,
    const std::string& request_id) {
  if (caller.kind() != model::v1::SUBJECT_KIND_USER) {
    return absl::FailedPreconditionError(
        "only users can create user tokens; a service user has exactly one "
        "token, created with it");
  }
  for (auto status :
       {validation::ValidateName("name", name, kMaxNameChars),
        ValidateInactivityDays("inactivity_days", inactivity_days),
        validation::ValidateRequestId("request_id", request_id)}) {
    if (!status.ok()) return status;
  }
  auto secret = secrets::Generate(secrets::SecretKind::kUser);
  if (!secret.ok()) return secret.status();

  IssuedToken issued;
  Token token;
  const std::string org = caller.organization_id();
  auto revision = store_->Write("token.create", [&](store::WriteTxn& txn)
                                                    -> absl::Status {
    auto unused = EnsureRequestIdUnused(txn, caller, request_id);
    if (!unused.ok()) return unused;
    auto active = CountActiveTokens(
        txn, org, SubjectIndexPrefix(org, caller.subject_id()), txn.now());
    if (!active.ok()) return active.status();
    if (*active >= kMaxActiveUserTokens) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "you already have ", kMaxActiveUserTokens,
          " active user tokens in this organization; revoke one before "
          "creating another"));
    }
    auto made = NewToken(caller, txn, model::v1::TOKEN_KIND_USER, name,
                         inactivity_days, caller.subject_id(),
                         secret->digest());
    if (!made.ok()) return made.status();
    token = *std::move(made);
    auto put = store::Put(txn, token);
    if (!put.ok()) return put;
    RecordCreation(txn, caller, request_id, token);
    return absl::OkStatus();
  });
  if (!revision.ok()) return revision.status();

  issued.revision = *revision;
  issued.details = NewTokenDetails(token, caller.display_name());
  issued.secret = secret->TakePlaintext();
  return issued;
}

absl::StatusOr<TokenDetails> TokenRegistry::GetToken(
    const Caller& caller, const std::string& token_id) {
  auto view = store_->Read();
  auto token = LoadToken(*view, caller, token_id, /*for_change=*/false);
  if (!token.ok()) return token.status();
  return Describe(*view, *token);
}

absl::StatusOr<TokenPage> TokenRegistry::ListByIndex(
    const Caller& caller, const std::string& index_prefix,
    const std::string& scope, int page_size, const std::string& page_token) {
  auto size = validation::PageSize(page_size, kDefaultPageSize, kMaxPageSize);
  if (!size.ok()) return size.status();
  auto start_after = validation::DecodePageToken(scope, page_token);
  if (!start_after.ok()) return start_after.status();

  auto view = store_->Read();
  std::vector<std::string> keys;
  auto scanned = view->Scan(
      Table::kIndex, index_prefix, *start_after,
      [&](auto key, auto) {
        keys.emplace_back(key.data(), key.size());
        return static_cast<int>(keys.size()) <= *size;
      });
  if (!scanned.ok()) return scanned;

  TokenPage page;
  if (static_cast<int>(keys.size()) > *size) {
    keys.pop_back();
    page.next_page_token = validation::EncodePageToken(scope, keys.back());
  }
  for (const auto& key : keys) {
    auto token = store::GetRecord<Token>(
        *view, Table::kTokens,
        store::OrgKey(caller.organization_id(), LastPart(key)));
    if (!token.ok()) return token.status();
    if (!token->has_value()) continue;
    auto details = Describe(*view, **token);
    if (!details.ok()) return details.status();
    page.tokens.push_back(*std::move(details));
  }
  return page;
}

absl::StatusOr<TokenPage> TokenRegistry::ListServiceUserTokens(
    const Caller& caller, int page_size, const std::string& page_token) {
  auto allowed = RequirePermission(caller, catalog::kApiTokens,
                                   "listing service-user tokens");
  if (!allowed.ok()) return allowed;
  return ListByIndex(
      caller,
      KindIndexPrefix(caller.organization_id(),
                      model::v1::TOKEN_KIND_SERVICE_USER),
      "service_user_tokens", page_size, page_token);
}

absl::StatusOr<TokenPage> TokenRegistry::ListUserTokens(
    const Caller& caller, int page_size, const std::string& page_token) {
  return ListByIndex(
      caller, SubjectIndexPrefix(caller.organization_id(), caller.subject_id()),
      "user_tokens", page_size, page_token);
}

absl::StatusOr<TokenChange> TokenRegistry::UpdateServiceUserToken(
    const Caller& caller, const std::string& token_id,
    const ServiceUserTokenEdit& edit) {
  if (!edit.name && !edit.inactivity_days && !edit.permission_set_ids) {
    return absl::InvalidArgumentError(
        "update_mask must name at least one of name, inactivity_days, "
        "permission_set_ids");
  }
  if (edit.name) {
    auto valid = validation::ValidateName("name", *edit.name, kMaxNameChars);
    if (!valid.ok()) return valid;
  }
  if (edit.inactivity_days) {
    if (!IsAllowedInactivityDays(*edit.inactivity_days)) {
      return absl::InvalidArgumentError(
          "inactivity_days must be 31, 45, 60 or 180");
    }
  }

  TokenChange change;
  Token token;
  auto revision = store_->Write("token.update", [&](store::WriteTxn& txn)
                                                    -> absl::Status {
    auto loaded = LoadToken(txn, caller, token_id, /*for_change=*/true);
    if (!loaded.ok()) return loaded.status();
    token = *std::move(loaded);
    if (token.kind() != model::v1::TOKEN_KIND_SERVICE_USER) {
      return absl::InvalidArgumentError(
          "only service-user tokens can be edited; create a new user token "
          "instead");
    }
    auto can_edit = CheckAction(StateAt(token, txn.now()), TokenAction::kEdit);
    if (!can_edit.ok()) return can_edit;

    const std::string org = caller.organization_id();
    auto service_user = store::GetRecord<model::v1::ServiceUser>(
        txn, Table::kServiceUsers, store::OrgKey(org, token.subject_id()));
    if (!service_user.ok()) return service_user.status();
    if (!service_user->has_value()) {
      return absl::InternalError("service-user token has no service user");
    }
    if (edit.name && store::FoldCase(*edit.name) !=
                         store::FoldCase((*service_user)->name())) {
      auto taken = txn.Get(Table::kIndex,
                           absl::StrCat("svc_name/", org, "/",
                                        store::FoldCase(*edit.name)));
      if (!taken.ok()) return taken.status();
      if (taken->has_value()) {
        return absl::AlreadyExistsError(
            "a service-user token with this name already exists; choose "
            "another name");
      }
    }
    if (edit.name) {
      token.set_name(*edit.name);
      (*service_user)->set_name(*edit.name);
    }
    if (edit.inactivity_days) token.set_inactivity_days(*edit.inactivity_days);
    if (edit.permission_set_ids) {
      auto sets =
          ResolvePermissionSets(txn, org, *edit.permission_set_ids, false);
      if (!sets.ok()) return sets.status();
      (*service_user)->clear_permission_set_ids();
      for (const auto& id : *sets) (*service_user)->add_permission_set_ids(id);
    }
    for (auto status :
         {store::Put(txn, token), store::Put(txn, **service_user)}) {
      if (!status.ok()) return status;
    }
    txn.AddActivity(TokenActivity(ActorOf(caller), "token.update", token));
    auto details = Describe(txn, token);
    if (!details.ok()) return details.status();
    change.details = *std::move(details);
    return absl::OkStatus();
  });
  if (!revision.ok()) return revision.status();
  change.revision = *revision;
  return change;
}

absl::StatusOr<TokenChange> TokenRegistry::RevokeToken(
    const Caller& caller, const std::string& token_id) {
  TokenChange change;
  auto revision = store_->Write("token.revoke", [&](store::WriteTxn& txn)
                                                    -> absl::Status {
    auto token = LoadToken(txn, caller, token_id, /*for_change=*/true);
    if (!token.ok()) return token.status();
    auto allowed =
        CheckAction(StateAt(*token, txn.now()), TokenAction::kRevoke);
    if (!allowed.ok()) return allowed;
    token->set_state(model::v1::TOKEN_STATE_REVOKED);
    *token->mutable_revoked_at() = ToProto(txn.now());
    auto put = store::Put(txn, *token);
    if (!put.ok()) return put;
    txn.AddActivity(TokenActivity(ActorOf(caller), "token.revoke", *token));
    auto details = Describe(txn, *token);
    if (!details.ok()) return details.status();
    change.details = *std::move(details);
    return absl::OkStatus();
  });
  if (!revision.ok()) return revision.status();
  change.revision = *revision;
  return change;
}

absl::StatusOr<IssuedToken> TokenRegistry::RegenerateToken(
    const Caller& caller, const std::string& token_id) {
  // The kind is needed for the secret's prefix before the transaction; a
  // concurrent change of kind is impossible, since kinds never change.
  auto kind_view = store_->Read();
  auto current = LoadToken(*kind_view, caller, token_id, /*for_change=*/true);
  if (!current.ok()) return current.status();
  auto secret = secrets::Generate(SecretKindOf(current->kind()));
  if (!secret.ok()) return secret.status();

  IssuedToken issued;
  auto revision = store_->Write("token.regenerate", [&](store::WriteTxn& txn)
                                                        -> absl::Status {
    auto token = LoadToken(txn, caller, token_id, /*for_change=*/true);
    if (!token.ok()) return token.status();
    auto allowed =
        CheckAction(StateAt(*token, txn.now()), TokenAction::kRegenerate);
    if (!allowed.ok()) return allowed;

    const std::string org = caller.organization_id();
    bool service = token->kind() == model::v1::TOKEN_KIND_SERVICE_USER;
    auto active = CountActiveTokens(
        txn, org,
        service ? KindIndexPrefix(org, model::v1::TOKEN_KIND_SERVICE_USER)
                : SubjectIndexPrefix(org, token->subject_id()),
        txn.now());
    if (!active.ok()) return active.status();
    int limit = service ? kMaxActiveServiceUserTokens : kMaxActiveUserTokens;
    if (*active >= limit) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "regenerating would make the token active, and the limit of ",
          limit, service ? " active service-user tokens per organization"
                         : " active user tokens per user",
          " is reached; revoke another token first"));
    }

    token->set_state(model::v1::TOKEN_STATE_ACTIVE);
    token->set_secret_digest(secret->digest());
    *token->mutable_secret_issued_at() = ToProto(txn.now());
    token->clear_last_used_at();
    token->set_generation(token->generation() + 1);
    auto put = store::Put(txn, *token);
    if (!put.ok()) return put;
    txn.AddActivity(
        TokenActivity(ActorOf(caller), "token.regenerate", *token));
    auto details = Describe(txn, *token);
    if (!details.ok()) return details.status();
    issued.details = *std::move(details);
    return absl::OkStatus();
  });
  if (!revision.ok()) return revision.status();
  issued.revision = *revision;
  issued.secret = secret->TakePlaintext();
  return issued;
}

absl::StatusOr<int64_t> TokenRegistry::DeleteToken(
    const Caller& caller, const std::string& token_id) {
  return store_->Write("token.delete", [&](store::WriteTxn& txn)
                                           -> absl::Status {
    auto token = LoadToken(txn, caller, token_id, /*for_change=*/true);
    if (!token.ok()) return token.status();
    auto allowed =
        CheckAction(StateAt(*token, txn.now()), TokenAction::kDelete);
    if (!allowed.ok()) return allowed;

    if (token->kind() == model::v1::TOKEN_KIND_SERVICE_USER) {
      auto service_user = store::GetRecord<model::v1::ServiceUser>(
          txn, Table::kServiceUsers,
          store::OrgKey(token->organization_id(), token->subject_id()));
      if (!service_user.ok()) return service_user.status();
      if (service_user->has_value()) {
        auto removed = store::Remove(txn, **service_user);
        if (!removed.ok()) return removed;
      }
    }
    auto removed = store::Remove(txn, *token);
    if (!removed.ok()) return removed;
    txn.AddActivity(TokenActivity(ActorOf(caller), "token.delete", *token));
    return absl::OkStatus();
  });
}

absl::StatusOr<model::v1::AuthenticatedSubject> TokenRegistry::Authenticate(
    absl::string_view presented, int64_t* revision) const {
  auto parsed =
      secrets::Parse(std::string_view(presented.data(), presented.size()));
  if (!parsed.ok()) {
    return AuthFailureStatus(model::v1::AUTH_FAILURE_MALFORMED);
  }
  auto view = store_->Read();
  if (revision != nullptr) *revision = view->revision();
  auto primary_key = view->Get(
      Table::kIndex, absl::StrCat("tok_digest/",
                                  store::HexDigest(parsed->digest)));
  if (!primary_key.ok()) return primary_key.status();
  if (!primary_key->has_value()) {
    return AuthFailureStatus(model::v1::AUTH_FAILURE_UNKNOWN);
  }
  auto token = store::GetRecord<Token>(*view, Table::kTokens, **primary_key);
  if (!token.ok()) return token.status();
  if (!token->has_value() ||
      !secrets::DigestsEqual((*token)->secret_digest(), parsed->digest)) {
    return AuthFailureStatus(model::v1::AUTH_FAILURE_UNKNOWN);
  }
  if (auto failure = FailureFor(StateAt(**token, clock_->Now()))) {
    return AuthFailureStatus(*failure);
  }
  return ResolveSubject(*view, **token);
}

absl::StatusOr<std::pair<int, int64_t>> TokenRegistry::ReportUsage(
    const Caller& caller, const std::vector<Usage>& usages) {
  auto allowed = RequirePermission(caller, catalog::kReplication,
                                   "reporting token usage");
  if (!allowed.ok()) return allowed;
  if (usages.empty() || usages.size() > 10000) {
    return absl::InvalidArgumentError(
        "usages must hold between 1 and 10000 reports");
  }
  for (const auto& usage : usages) {
    for (auto status :
         {ids::ValidateId("usages.organization_id", usage.organization_id,
                          "org"),
          ids::ValidateId("usages.token_id", usage.token_id, "tok")}) {
      if (!status.ok()) return status;
    }
    if (usage.generation < 1) {
      return absl::InvalidArgumentError("usages.generation must be at least 1");
    }
  }

  int applied = 0;
  auto revision = store_->Write("token.usage", [&](store::WriteTxn& txn)
                                                   -> absl::Status {
    applied = 0;
    for (const auto& usage : usages) {
      auto token = store::GetRecord<Token>(
          txn, Table::kTokens,
          store::OrgKey(usage.organization_id, usage.token_id));
      if (!token.ok()) return token.status();
      if (!token->has_value() || (*token)->generation() != usage.generation ||
          (*token)->state() != model::v1::TOKEN_STATE_ACTIVE) {
        continue;
      }
      // A clock ahead of ours must not stretch a token's life.
      absl::Time used_at = std::min(usage.used_at, txn.now());
      absl::Time known = FromProto((*token)->secret_issued_at());
      if ((*token)->has_last_used_at()) {
        known = std::max(known, FromProto((*token)->last_used_at()));
      }
      if (used_at <= known) continue;
      *(*token)->mutable_last_used_at() = ToProto(used_at);
      auto put = store::Put(txn, **token);
      if (!put.ok()) return put;
      ++applied;
    }
    return absl::OkStatus();
  });
  if (!revision.ok()) return revision.status();
  return std::make_pair(applied, applied == 0 ? int64_t{0} : *revision);
}

absl::StatusOr<NewOrganization> TokenRegistry::CreateOrganization(
    const Caller* caller, const model::v1::PermissionCatalog& catalog,
    const std::string& name, const std::string& admin_email,
    const std::string& admin_name, bool operators) {
  if (caller != nullptr) {
    auto allowed = RequirePermission(*caller, catalog::kOrganizations,
                                     "creating organizations");
    if (!allowed.ok()) return allowed;
  }
  for (auto status :
       {validation::ValidateName("name", name, 200),
        validation::ValidateEmail("admin_email", admin_email),
        validation::ValidateName("admin_display_name", admin_name, 200)}) {
    if (!status.ok()) return status;
  }
  auto secret = secrets::Generate(secrets::SecretKind::kUser);
  if (!secret.ok()) return secret.status();

  NewOrganization created;
  auto revision = store_->Write("organization.create", [&](store::WriteTxn&
                                                               txn)
                                                           -> absl::Status {
    auto& org = created.organization;
    org.set_id(ids::NewId("org"));
    org.set_name(name);
    *org.mutable_created_at() = ToProto(txn.now());

    auto& set = created.admin_permission_set;
    set.set_id(ids::NewId("pset"));
    set.set_organization_id(org.id());
    set.set_name("Administrator");
    std::vector<std::string> names;
    for (const auto& permission : catalog.permissions()) {
      if (!operators && permission.name() == catalog::kOrganizations) continue;
      names.push_back(permission.name());
    }
    std::sort(names.begin(), names.end());
    for (const auto& permission : names) set.add_permissions(permission);

    auto& admin = created.admin;
    admin.set_id(ids::NewId("usr"));
    admin.set_organization_id(org.id());
    admin.set_email(admin_email);
    admin.set_display_name(admin_name);
    admin.set_status(model::v1::USER_STATUS_ACTIVE);
    admin.set_permission_set_id(set.id());
    *admin.mutable_created_at() = ToProto(txn.now());

    Caller admin_caller;
    admin_caller.set_organization_id(org.id());
    admin_caller.set_subject_id(admin.id());
    auto token = NewToken(admin_caller, txn, model::v1::TOKEN_KIND_USER,
                          "Initial administrator token", 0, admin.id(),
                          secret->digest());
    if (!token.ok()) return token.status();

    for (auto status : {store::Put(txn, org), store::Put(txn, set),
                        store::Put(txn, admin), store::Put(txn, *token)}) {
      if (!status.ok()) return status;
    }
    created.admin_token.details = NewTokenDetails(*token, admin_name);

    model::v1::ActivityEntry entry;
    entry.set_organization_id(org.id());
    if (caller != nullptr) {
      *entry.mutable_actor() = ActorOf(*caller);
    } else {
      entry.mutable_actor()->set_display_name("system bootstrap");
    }
    entry.set_action("organization.create");
    entry.set_target_kind("organization");
    entry.set_target_id(org.id());
    entry.set_target_name(name);
    txn.AddActivity(entry);
    return absl::OkStatus();
  });
  if (!revision.ok()) return revision.status();
  created.revision = *revision;
  created.admin_token.revision = *revision;
  created.admin_token.secret = secret->TakePlaintext();
  return created;
}

}  // namespace warden::tokens
