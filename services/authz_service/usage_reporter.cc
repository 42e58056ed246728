#include "services/authz_service/usage_reporter.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "libs/server/logging.h"
#include "libs/tokens/token_rules.h"

namespace warden::authz_service {
namespace {

// TokenService takes at most this many reports per call.
constexpr size_t kMaxBatch = 10000;

}  // namespace

UsageReporter::UsageReporter(std::shared_ptr<grpc::Channel> channel,
                             std::string credential,
                             absl::Duration flush_interval,
                             const index::ReplicaIndex* index)
    : stub_(token::v1::TokenService::NewStub(std::move(channel))),
      credential_(std::move(credential)),
      flush_interval_(flush_interval),
      index_(index) {}

UsageReporter::~UsageReporter() { Stop(); }

// A newer generation replaces an older one: the older secret is dead.
void UsageReporter::Merge(absl::flat_hash_map<std::string, Use>& into,
                          const std::string& token_id, const Use& use) {
  auto [it, inserted] = into.try_emplace(token_id, use);
  if (inserted) return;
  Use& current = it->second;
  if (use.generation > current.generation ||
      (use.generation == current.generation &&
       use.used_at > current.used_at)) {
    current = use;
  }
}

void UsageReporter::Record(const std::string& organization_id,
                           const std::string& token_id, int64_t generation,
                           absl::Time used_at) {
  Use use{organization_id, generation, used_at};
  absl::MutexLock lock(&mutex_);
  Merge(pending_, token_id, use);
  Merge(seen_, token_id, use);
}

std::optional<index::LocalUse> UsageReporter::LocalUseOf(
    absl::string_view token_id) const {
  absl::MutexLock lock(&mutex_);
  auto it = seen_.find(token_id);
  if (it == seen_.end()) return std::nullopt;
  return index::LocalUse{it->second.generation, it->second.used_at};
}

absl::Status UsageReporter::Flush() {
  absl::MutexLock flush_lock(&flush_mutex_);
  absl::flat_hash_map<std::string, Use> batch;
  {
    absl::MutexLock lock(&mutex_);
    batch.swap(pending_);
  }
  if (batch.empty()) return absl::OkStatus();

  std::vector<std::pair<std::string, Use>> uses(batch.begin(), batch.end());
  absl::Status result;
  size_t sent = 0;
  for (size_t start = 0; start < uses.size(); start += kMaxBatch) {
    token::v1::ReportTokenUsageRequest request;
    size_t end = std::min(uses.size(), start + kMaxBatch);
    for (size_t i = start; i < end; ++i) {
      auto* usage = request.add_usages();
      usage->set_organization_id(uses[i].second.organization_id);
      usage->set_token_id(uses[i].first);
      usage->set_generation(uses[i].second.generation);
      *usage->mutable_used_at() = tokens::ToProto(uses[i].second.used_at);
    }
    grpc::ClientContext context;
    context.AddMetadata("authorization", absl::StrCat("Bearer ", credential_));
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    token::v1::ReportTokenUsageResponse response;
    grpc::Status status = stub_->ReportTokenUsage(&context, request, &response);
    if (!status.ok()) {
      if (batches_failed_ != nullptr) batches_failed_->Increment();
      result = absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                            status.error_message());
      // Keep what was not sent for the next flush.
      absl::MutexLock lock(&mutex_);
      for (size_t i = start; i < uses.size(); ++i) {
        Merge(pending_, uses[i].first, uses[i].second);
      }
      break;
    }
    if (batches_sent_ != nullptr) {
      batches_sent_->Increment();
      uses_reported_->Increment(static_cast<double>(end - start));
    }
    sent = end;
  }
  auto log = server::Logger("usage");
  if (result.ok()) {
    log->debug("reported {} token uses", sent);
  } else {
    log->warn("reporting token uses failed ({} kept for retry): {}",
              uses.size() - sent, result.ToString());
  }
  return result;
}

void UsageReporter::Prune(const index::ReplicaView& view) {
  absl::MutexLock lock(&mutex_);
  for (auto it = seen_.begin(); it != seen_.end();) {
    const auto& [token_id, use] = *it;
    bool covered = false;
    if (!pending_.contains(token_id)) {
      const model::v1::Token* token = view.FindToken(token_id);
      // A deleted or regenerated token no longer authenticates with the
      // secret that was used, so its local use can never matter again.
      covered = token == nullptr || token->generation() != use.generation ||
                (token->has_last_used_at() &&
                 tokens::FromProto(token->last_used_at()) >= use.used_at);
    }
    if (covered) {
      seen_.erase(it++);
    } else {
      ++it;
    }
  }
}

size_t UsageReporter::local_use_count() const {
  absl::MutexLock lock(&mutex_);
  return seen_.size();
}

void UsageReporter::ExportMetrics(metrics::Registry& registry) {
  const std::string batches_help =
      "ReportTokenUsage calls to TokenService, by result.";
  batches_sent_ = &registry.GetCounter("warden_authz_usage_batches_total",
                                       batches_help, {{"result", "sent"}});
  batches_failed_ = &registry.GetCounter("warden_authz_usage_batches_total",
                                         batches_help, {{"result", "failed"}});
  uses_reported_ = &registry.GetCounter(
      "warden_authz_usage_reports_total",
      "Token uses reported to TokenService (latest use per token and "
      "generation per flush).");
}

void UsageReporter::Start() {
  thread_ = std::thread([this] {
    while (true) {
      {
        absl::MutexLock lock(&mutex_);
        auto stopping = [this]() ABSL_SHARED_LOCKS_REQUIRED(mutex_) {
          return stopping_;
        };
        mutex_.AwaitWithTimeout(absl::Condition(&stopping), flush_interval_);
        if (stopping_) return;
      }
      Flush().IgnoreError();  // logged; retried next interval
      if (index_ != nullptr) Prune(*index_->Current());
    }
  });
}

void UsageReporter::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
  Flush().IgnoreError();
}

}  // namespace warden::authz_service
