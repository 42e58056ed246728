#include "libs/tokens/token_rules.h"

#include <algorithm>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"

namespace warden::tokens {
namespace {

constexpr absl::string_view kAuthFailurePayload = "warden.auth_failure";

}  // namespace

bool IsAllowedInactivityDays(int days) {
  return days == 31 || days == 45 || days == 60 || days == 180;
}

absl::Status ValidateInactivityDays(absl::string_view field, int days) {
  if (days == 0 || IsAllowedInactivityDays(days)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      field, " must be 31, 45, 60 or 180 days, or 0 for the default (45)"));
}

absl::Time FromProto(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

google::protobuf::Timestamp ToProto(absl::Time t) {
  google::protobuf::Timestamp out;
  int64_t nanos = absl::ToUnixNanos(t);
  out.set_seconds(nanos / 1000000000);
  out.set_nanos(static_cast<int32_t>(nanos % 1000000000));
  if (out.nanos() < 0) {
    out.set_seconds(out.seconds() - 1);
    out.set_nanos(out.nanos() + 1000000000);
  }
  return out;
}

absl::Time ExpiresAt(const model::v1::Token& token) {
  absl::Time base = FromProto(token.secret_issued_at());
  if (token.has_last_used_at()) {
    base = std::max(base, FromProto(token.last_used_at()));
  }
  return base + absl::Hours(24) * token.inactivity_days();
}

EffectiveState StateAt(const model::v1::Token& token, absl::Time now) {
  switch (token.state()) {
    case model::v1::TOKEN_STATE_REVOKED:
      return EffectiveState::kRevoked;
    case model::v1::TOKEN_STATE_OWNER_INACTIVE:
      return EffectiveState::kOwnerInactive;
    case model::v1::TOKEN_STATE_ACTIVE:
      return now >= ExpiresAt(token) ? EffectiveState::kExpired
                                     : EffectiveState::kActive;
    default:
      // An unknown stored state must never authenticate.
      return EffectiveState::kRevoked;
  }
}

absl::string_view StateName(EffectiveState state) {
  switch (state) {
    case EffectiveState::kActive:
      return "active";
    case EffectiveState::kExpired:
      return "expired";
    case EffectiveState::kRevoked:
      return "revoked";
    case EffectiveState::kOwnerInactive:
      return "owner-inactive";
  }
  return "unknown";
}

absl::Status CheckAction(EffectiveState state, TokenAction action) {
  bool allowed = false;
  absl::string_view verb;
  switch (action) {
    case TokenAction::kEdit:
      verb = "edited";
      allowed = state == EffectiveState::kActive;
      break;
    case TokenAction::kRevoke:
      verb = "revoked";
      allowed = state == EffectiveState::kActive ||
                state == EffectiveState::kExpired;
      break;
    case TokenAction::kRegenerate:
      verb = "regenerated";
      allowed = state == EffectiveState::kRevoked;
      break;
    case TokenAction::kDelete:
      verb = "deleted";
      allowed = state == EffectiveState::kRevoked ||
                state == EffectiveState::kOwnerInactive;
      break;
  }
  if (allowed) return absl::OkStatus();

  absl::string_view next;
  switch (state) {
    case EffectiveState::kActive:
      next = "an active token can be edited or revoked";
      break;
    case EffectiveState::kExpired:
      next = "an expired token can only be revoked, then regenerated or "
             "deleted";
      break;
    case EffectiveState::kRevoked:
      next = "a revoked token can be regenerated or deleted";
      break;
    case EffectiveState::kOwnerInactive:
      next = "the token's owner is deactivated or removed, so the token can "
             "only be deleted";
      break;
  }
  return absl::FailedPreconditionError(
      absl::StrCat("token is ", StateName(state), " and cannot be ", verb,
                   ": ", next));
}

std::optional<model::v1::AuthFailure> FailureFor(EffectiveState state) {
  switch (state) {
    case EffectiveState::kActive:
      return std::nullopt;
    case EffectiveState::kExpired:
      return model::v1::AUTH_FAILURE_EXPIRED;
    case EffectiveState::kRevoked:
      return model::v1::AUTH_FAILURE_REVOKED;
    case EffectiveState::kOwnerInactive:
      return model::v1::AUTH_FAILURE_OWNER_INACTIVE;
  }
  return model::v1::AUTH_FAILURE_REVOKED;
}

absl::string_view AuthFailureName(model::v1::AuthFailure failure) {
  switch (failure) {
    case model::v1::AUTH_FAILURE_MALFORMED:
      return "malformed";
    case model::v1::AUTH_FAILURE_UNKNOWN:
      return "unknown";
    case model::v1::AUTH_FAILURE_REVOKED:
      return "revoked";
    case model::v1::AUTH_FAILURE_EXPIRED:
      return "expired";
    case model::v1::AUTH_FAILURE_OWNER_INACTIVE:
      return "owner_inactive";
    default:
      return "unknown";
  }
}

absl::Status AuthFailureStatus(model::v1::AuthFailure failure) {
  absl::string_view message;
  switch (failure) {
    case model::v1::AUTH_FAILURE_MALFORMED:
      message = "the token is malformed: copy the whole token exactly as it "
                "was shown when it was created";
      break;
    case model::v1::AUTH_FAILURE_REVOKED:
      message = "the token was revoked; regenerate it or create a new one";
      break;
    case model::v1::AUTH_FAILURE_EXPIRED:
      message = "the token expired after its inactivity window without use; "
                "revoke and regenerate it, or create a new one";
      break;
    case model::v1::AUTH_FAILURE_OWNER_INACTIVE:
      message = "the token's user was deactivated or left the organization; "
                "its tokens no longer work";
      break;
    default:
      failure = model::v1::AUTH_FAILURE_UNKNOWN;
      message = "the token is not known: it was never issued, was deleted, "
                "or was regenerated since";
      break;
  }
  absl::Status status = absl::UnauthenticatedError(message);
  status.SetPayload(kAuthFailurePayload,
                    absl::Cord(AuthFailureName(failure)));
  return status;
}

std::optional<model::v1::AuthFailure> AuthFailureOf(
    const absl::Status& status) {
  auto payload = status.GetPayload(kAuthFailurePayload);
  if (!payload.has_value()) return std::nullopt;
  std::string name(*payload);
  for (auto failure :
       {model::v1::AUTH_FAILURE_MALFORMED, model::v1::AUTH_FAILURE_UNKNOWN,
        model::v1::AUTH_FAILURE_REVOKED, model::v1::AUTH_FAILURE_EXPIRED,
        model::v1::AUTH_FAILURE_OWNER_INACTIVE}) {
    if (AuthFailureName(failure) == name) return failure;
  }
  return model::v1::AUTH_FAILURE_UNKNOWN;
}

}  // namespace warden::tokens
