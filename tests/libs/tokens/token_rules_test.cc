#include "libs/tokens/token_rules.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace warden::tokens {
namespace {

using model::v1::Token;

Token ActiveToken(absl::Time issued, int days) {
  Token token;
  token.set_state(model::v1::TOKEN_STATE_ACTIVE);
  token.set_inactivity_days(days);
  *token.mutable_secret_issued_at() = ToProto(issued);
  return token;
}

// Only the four documented windows are accepted; 0 means the default.
TEST(TokenRulesTest, InactivityWindows) {
  for (int days : {31, 45, 60, 180}) EXPECT_TRUE(IsAllowedInactivityDays(days));
  for (int days : {0, 1, 30, 44, 90, 365, -45}) {
    EXPECT_FALSE(IsAllowedInactivityDays(days)) << days;
  }
  EXPECT_TRUE(ValidateInactivityDays("inactivity_days", 0).ok());
  auto bad = ValidateInactivityDays("inactivity_days", 30);
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(bad.message(), "inactivity_days"));
}

// Expiry counts from the later of the secret's issue and its last use.
TEST(TokenRulesTest, ExpiryCountsFromLastUse) {
  absl::Time t0 = absl::FromUnixSeconds(1700000000);
  Token token = ActiveToken(t0, 31);
  EXPECT_EQ(ExpiresAt(token), t0 + absl::Hours(24 * 31));
  EXPECT_EQ(StateAt(token, t0 + absl::Hours(24 * 31) - absl::Seconds(1)),
            EffectiveState::kActive);
  EXPECT_EQ(StateAt(token, t0 + absl::Hours(24 * 31)),
            EffectiveState::kExpired);

  *token.mutable_last_used_at() = ToProto(t0 + absl::Hours(24 * 20));
  EXPECT_EQ(ExpiresAt(token), t0 + absl::Hours(24 * 51));
  // A last use older than the secret (from before a regenerate) is ignored.
  *token.mutable_last_used_at() = ToProto(t0 - absl::Hours(24));
  EXPECT_EQ(ExpiresAt(token), t0 + absl::Hours(24 * 31));
}

// The state machine allows exactly the documented transitions.
TEST(TokenRulesTest, TransitionTable) {
  using S = EffectiveState;
  using A = TokenAction;
  struct Case {
    S state;
    A action;
    bool allowed;
  };
  const Case cases[] = {
      {S::kActive, A::kEdit, true},         {S::kActive, A::kRevoke, true},
      {S::kActive, A::kRegenerate, false},  {S::kActive, A::kDelete, false},
      {S::kExpired, A::kEdit, false},       {S::kExpired, A::kRevoke, true},
      {S::kExpired, A::kRegenerate, false}, {S::kExpired, A::kDelete, false},
      {S::kRevoked, A::kEdit, false},       {S::kRevoked, A::kRevoke, false},
      {S::kRevoked, A::kRegenerate, true},  {S::kRevoked, A::kDelete, true},
      {S::kOwnerInactive, A::kEdit, false},
      {S::kOwnerInactive, A::kRevoke, false},
      {S::kOwnerInactive, A::kRegenerate, false},
      {S::kOwnerInactive, A::kDelete, true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(StateName(c.state)) + " action " +
                 std::to_string(static_cast<int>(c.action)));
    absl::Status status = CheckAction(c.state, c.action);
    EXPECT_EQ(status.ok(), c.allowed);
    if (!c.allowed) {
      EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
      EXPECT_TRUE(absl::StrContains(
          status.message(), std::string("token is ") +
                                std::string(StateName(c.state))));
    }
  }
}

// Each inactive state maps to the failure reason the caller sees, and the
// reason survives the trip through an absl::Status.
TEST(TokenRulesTest, AuthFailuresRoundTrip) {
  EXPECT_FALSE(FailureFor(EffectiveState::kActive).has_value());
  EXPECT_EQ(*FailureFor(EffectiveState::kExpired),
            model::v1::AUTH_FAILURE_EXPIRED);
  EXPECT_EQ(*FailureFor(EffectiveState::kRevoked),
            model::v1::AUTH_FAILURE_REVOKED);
  EXPECT_EQ(*FailureFor(EffectiveState::kOwnerInactive),
            model::v1::AUTH_FAILURE_OWNER_INACTIVE);
  for (auto failure :
       {model::v1::AUTH_FAILURE_MALFORMED, model::v1::AUTH_FAILURE_UNKNOWN,
        model::v1::AUTH_FAILURE_REVOKED, model::v1::AUTH_FAILURE_EXPIRED,
        model::v1::AUTH_FAILURE_OWNER_INACTIVE}) {
    absl::Status status = AuthFailureStatus(failure);
    EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
    EXPECT_EQ(AuthFailureOf(status), failure);
  }
  EXPECT_FALSE(AuthFailureOf(absl::InternalError("x")).has_value());
}

// An unknown stored state never authenticates.
TEST(TokenRulesTest, UnknownStateFailsClosed) {
  Token token = ActiveToken(absl::FromUnixSeconds(0), 45);
  token.set_state(static_cast<model::v1::TokenState>(99));
  EXPECT_EQ(StateAt(token, absl::FromUnixSeconds(1)),
            EffectiveState::kRevoked);
}

}  // namespace
}  // namespace warden::tokens
