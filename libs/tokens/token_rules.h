#ifndef WARDEN_LIBS_TOKENS_TOKEN_RULES_H_
#define WARDEN_LIBS_TOKENS_TOKEN_RULES_H_

// The rules of a token's life that need no storage: limits, inactivity
// windows, the lifecycle state machine, and the reasons a token does not
// authenticate. Shared by TokenService and AuthzService, so both decide
// expiry and state the same way.

#include <optional>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "warden/model/v1/model.pb.h"

namespace warden::tokens {

// At most this many active user tokens per user per organization.
inline constexpr int kMaxActiveUserTokens = 10;
// At most this many active service-user tokens per organization.
inline constexpr int kMaxActiveServiceUserTokens = 20;
// The inactivity window when the creator does not choose one. User tokens
// take the same choices and default as service-user tokens.
inline constexpr int kDefaultInactivityDays = 45;

// True for the windows a token may have: 31, 45, 60 or 180 days.
bool IsAllowedInactivityDays(int days);

// INVALID_ARGUMENT naming `field` unless `days` is 0 (meaning the default)
// or an allowed window.
absl::Status ValidateInactivityDays(absl::string_view field, int days);

// When the token expires unless used before: its window after the later of
// its last use and the issue of its current secret.
absl::Time ExpiresAt(const model::v1::Token& token);

// The state a token is in at `now`, expiry included.
enum class EffectiveState { kActive, kExpired, kRevoked, kOwnerInactive };
EffectiveState StateAt(const model::v1::Token& token, absl::Time now);
absl::string_view StateName(EffectiveState state);

// The lifecycle's transitions:
//   active   --revoke-->     revoked      (also from expired)
//   revoked  --regenerate--> active       (new secret; counts to the limit)
//   revoked  --delete-->     gone         (also from owner-inactive)
//   active   --edit-->       active       (service-user tokens only)
// A user's deactivation or removal moves every token of theirs to
// owner-inactive, from which only delete leads.
enum class TokenAction { kEdit, kRevoke, kRegenerate, kDelete };

// OK if `action` is allowed in `state`; otherwise FAILED_PRECONDITION with a
// message that names the current state and the actions it allows.
absl::Status CheckAction(EffectiveState state, TokenAction action);

// The reason a token in `state` does not authenticate; nullopt when active.
std::optional<model::v1::AuthFailure> FailureFor(EffectiveState state);

// UNAUTHENTICATED carrying `failure` as a payload, with a message the token's
// owner can act on.
absl::Status AuthFailureStatus(model::v1::AuthFailure failure);

// The failure carried by a status made by AuthFailureStatus, if any.
std::optional<model::v1::AuthFailure> AuthFailureOf(const absl::Status& status);

// Short lowercase names: "malformed", "unknown", "revoked", "expired",
// "owner_inactive".
absl::string_view AuthFailureName(model::v1::AuthFailure failure);

// Proto timestamp conversions.
absl::Time FromProto(const google::protobuf::Timestamp& t);
google::protobuf::Timestamp ToProto(absl::Time t);

}  // namespace warden::tokens

#endif  // WARDEN_LIBS_TOKENS_TOKEN_RULES_H_
