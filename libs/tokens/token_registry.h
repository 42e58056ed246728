#ifndef WARDEN_LIBS_TOKENS_TOKEN_REGISTRY_H_
#define WARDEN_LIBS_TOKENS_TOKEN_REGISTRY_H_

// The token lifecycle on top of the store: every operation TokenService
// offers on API tokens, with its authorization, validation, limits and
// activity-log entry. Speaks in records and absl::Status; knows nothing of
// gRPC.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "libs/clock/clock.h"
#include "libs/store/store.h"
#include "warden/model/v1/model.pb.h"

namespace warden::tokens {

// The authenticated caller of a management operation.
using Caller = model::v1::AuthenticatedSubject;

// True if the caller's permission sets contain `permission`.
bool HasPermission(const Caller& caller, absl::string_view permission);

// PERMISSION_DENIED naming the permission unless the caller has it.
absl::Status RequirePermission(const Caller& caller,
                               absl::string_view permission,
                               absl::string_view what);

// The activity-log actor for a caller.
model::v1::Actor ActorOf(const Caller& caller);

// A token with what the API shows beside it.
struct TokenDetails {
  model::v1::Token token;  // secret_digest cleared
  bool expired = false;
  absl::Time expires_at;
  std::string subject_display_name;
  std::vector<std::string> permission_set_ids;  // service-user tokens only
};

// A newly issued secret on its way out in a create or regenerate response.
// `secret` is the only plaintext copy; it must be moved into the response and
// nowhere else.
struct IssuedToken {
  TokenDetails details;
  std::string secret;
  std::optional<model::v1::ServiceUser> service_user;
  int64_t revision = 0;
};

// A page of tokens.
struct TokenPage {
  std::vector<TokenDetails> tokens;
  std::string next_page_token;
};

// A changed token and the revision the change committed at.
struct TokenChange {
  TokenDetails details;
  int64_t revision = 0;
};

// Which fields UpdateServiceUserToken changes; unset means unchanged.
struct ServiceUserTokenEdit {
  std::optional<std::string> name;
  std::optional<int> inactivity_days;
  std::optional<std::vector<std::string>> permission_set_ids;
};

// A new organization with its first administrator.
struct NewOrganization {
  model::v1::Organization organization;
  model::v1::PermissionSet admin_permission_set;
  model::v1::User admin;
  IssuedToken admin_token;
  int64_t revision = 0;
};

// Thread-safe: every method may be called from any thread; writes serialize
// in the store, which is what makes the limits hold under concurrency.
class TokenRegistry {
 public:
  // `store` and `clock` are not owned and must outlive the registry.
  TokenRegistry(store::Store* store, const Clock* clock);

  // Creates a service user and its token. Needs platform.api_tokens. Empty
  // `permission_set_ids` means every permission set of the organization.
  // INVALID_ARGUMENT, NOT_FOUND (a permission set), ALREADY_EXISTS (name or
  // request id), RESOURCE_EXHAUSTED (20 active service-user tokens).
  absl::StatusOr<IssuedToken> CreateServiceUserToken(
      const Caller& caller, const std::string& name, int inactivity_days,
      const std::vector<std::string>& permission_set_ids,
      const std::string& request_id);

  // Creates a token acting as the caller, who must be a user.
  // RESOURCE_EXHAUSTED at 10 active user tokens.
  absl::StatusOr<IssuedToken> CreateUserToken(const Caller& caller,
                                              const std::string& name,
                                              int inactivity_days,
                                              const std::string& request_id);

  absl::StatusOr<TokenDetails> GetToken(const Caller& caller,
                                        const std::string& token_id);

  absl::StatusOr<TokenPage> ListServiceUserTokens(
      const Caller& caller, int page_size, const std::string& page_token);
  absl::StatusOr<TokenPage> ListUserTokens(const Caller& caller, int page_size,
                                           const std::string& page_token);

  absl::StatusOr<TokenChange> UpdateServiceUserToken(
      const Caller& caller, const std::string& token_id,
      const ServiceUserTokenEdit& edit);

  absl::StatusOr<TokenChange> RevokeToken(const Caller& caller,
                                          const std::string& token_id);
  absl::StatusOr<IssuedToken> RegenerateToken(const Caller& caller,
                                              const std::string& token_id);
  // Returns the revision of the deletion.
  absl::StatusOr<int64_t> DeleteToken(const Caller& caller,
                                      const std::string& token_id);

  // Turns a presented secret into its subject, reading the latest committed
  // state. UNAUTHENTICATED with an AuthFailure payload (see token_rules.h)
  // when it does not authenticate. Sets *revision to the revision read.
  absl::StatusOr<model::v1::AuthenticatedSubject> Authenticate(
      absl::string_view presented, int64_t* revision = nullptr) const;

  // One token's latest use, as a sidecar reports it.
  struct Usage {
    std::string organization_id;
    std::string token_id;
    int64_t generation = 0;
    absl::Time used_at;
  };
  // Moves last use forward for every report that is newer than the stored
  // one and for the token's current generation; others are ignored. Needs
  // platform.replication. Returns how many applied and the revision.
  absl::StatusOr<std::pair<int, int64_t>> ReportUsage(
      const Caller& caller, const std::vector<Usage>& usages);

  // Creates an organization, its Administrator permission set (every
  // permission of `catalog`, less platform.organizations unless `operators`),
  // its first admin user and a user token for that admin. The caller needs
  // platform.organizations; `caller` may be null only for the bootstrap at
  // first start.
  absl::StatusOr<NewOrganization> CreateOrganization(
      const Caller* caller, const model::v1::PermissionCatalog& catalog,
      const std::string& name, const std::string& admin_email,
      const std::string& admin_name, bool operators);

 private:
  absl::StatusOr<model::v1::Token> LoadToken(store::ReadView& view,
                                             const Caller& caller,
                                             const std::string& token_id,
                                             bool for_change) const;
  absl::StatusOr<TokenDetails> Describe(store::ReadView& view,
                                        const model::v1::Token& token) const;
  absl::StatusOr<TokenPage> ListByIndex(const Caller& caller,
                                        const std::string& index_prefix,
                                        const std::string& scope,
                                        int page_size,
                                        const std::string& page_token);

  store::Store* store_;
  const Clock* clock_;
};

// Ends every token of a user for good (OWNER_INACTIVE), inside the
// transaction that deactivates or removes the user.
absl::Status EndUserTokens(store::WriteTxn& txn, const std::string& org_id,
                           const std::string& user_id);

// Counts the tokens under an index prefix that are active (not expired) at
// `now`.
absl::StatusOr<int> CountActiveTokens(store::ReadView& view,
                                      const std::string& org_id,
                                      const std::string& index_prefix,
                                      absl::Time now);

}  // namespace warden::tokens

#endif  // WARDEN_LIBS_TOKENS_TOKEN_REGISTRY_H_
