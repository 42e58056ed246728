#include "services/token_service/caller_auth.h"

#include <atomic>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "libs/server/call_observer.h"
#include "libs/server/rate_limiter.h"
#include "libs/server/status_mapping.h"
#include "libs/server/tls.h"

namespace warden::token_service {
namespace {

struct CallerPolicy {
  CallerPolicy(const CallerLimits& limits, const Clock* clock)
      : rate(limits.calls_per_second, limits.burst, clock),
        failures(limits.free_failures, limits.first_delay, limits.max_delay,
                 limits.forget_after, clock) {}
  server::RateLimiter rate;
  server::FailureThrottle failures;
};

absl::Mutex policy_mutex;
std::shared_ptr<CallerPolicy>& Policy() ABSL_EXCLUSIVE_LOCKS_REQUIRED(
    policy_mutex) {
  static auto* policy = new std::shared_ptr<CallerPolicy>();
  return *policy;
}

std::shared_ptr<CallerPolicy> CurrentPolicy() {
  absl::MutexLock lock(&policy_mutex);
  return Policy();
}

std::atomic<bool> replication_needs_certificate{false};

}  // namespace

void SetReplicationNeedsClientCertificate(bool needed) {
  replication_needs_certificate.store(needed);
}

absl::Status RequireReplicationPeer(const grpc::ServerContextBase& context) {
  if (!replication_needs_certificate.load() ||
      server::HasVerifiedClientCertificate(context)) {
    return absl::OkStatus();
  }
  return absl::UnauthenticatedError(
      "this call needs a TLS client certificate from the configured client "
      "CA (mutual TLS for AuthzService sidecars)");
}

void SetCallerLimits(const CallerLimits& limits, const Clock* clock) {
  auto policy = std::make_shared<CallerPolicy>(limits, clock);
  absl::MutexLock lock(&policy_mutex);
  Policy() = std::move(policy);
}

absl::StatusOr<tokens::Caller> AuthenticateCaller(
    const tokens::TokenRegistry& registry,
    const grpc::ServerContextBase& context) {
  std::shared_ptr<CallerPolicy> policy = CurrentPolicy();
  auto bearer = server::BearerToken(context);
  absl::StatusOr<tokens::Caller> caller =
      bearer.ok() ? registry.Authenticate(*bearer)
                  : absl::StatusOr<tokens::Caller>(bearer.status());
  if (!caller.ok()) {
    if (policy != nullptr &&
        caller.status().code() == absl::StatusCode::kUnauthenticated) {
      // Holding the answer back slows a peer that guesses tokens, without
      // telling it whether its guesses are close.
      absl::Duration delay =
          policy->failures.RecordFailure(server::PeerAddress(context.peer()));
      if (delay > absl::ZeroDuration()) absl::SleepFor(delay);
    }
    return caller;
  }
  server::NoteCaller(&context, caller->organization_id(),
                     caller->subject_id(), caller->token_id());
  if (policy != nullptr &&
      !policy->rate.Allow(
          absl::StrCat(caller->organization_id(), "/", caller->subject_id()))) {
    return absl::ResourceExhaustedError(
        "too many calls from this caller; slow down and retry in a second");
  }
  return caller;
}

}  // namespace warden::token_service
