#include "services/authz_service/change_follower.h"

#include <random>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "libs/server/logging.h"

namespace warden::authz_service {
namespace {

absl::Status FromGrpc(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

}  // namespace

ChangeFollower::ChangeFollower(FollowerOptions options,
                               std::shared_ptr<grpc::Channel> channel,
                               index::ReplicaIndex* index, const Clock* clock,
                               std::function<void(int64_t)> on_applied)
    : options_(std::move(options)),
      stub_(changes::v1::ChangeStreamService::NewStub(std::move(channel))),
      index_(index),
      clock_(clock),
      on_applied_(std::move(on_applied)) {
  if (options_.metrics != nullptr) {
    snapshots_counter_ = &options_.metrics->GetCounter(
        "warden_authz_snapshots_loaded_total",
        "Snapshots loaded from TokenService; more than one means the replica "
        "had to resynchronize.");
    reconnects_counter_ = &options_.metrics->GetCounter(
        "warden_authz_reconnects_total",
        "Change streams to TokenService that ended and were reopened.");
  }
}

ChangeFollower::~ChangeFollower() { Stop(); }

void ChangeFollower::Start() {
  thread_ = std::thread([this] { Run(); });
}

void ChangeFollower::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
    if (active_call_ != nullptr) active_call_->TryCancel();
  }
  if (thread_.joinable()) thread_.join();
}

Lag ChangeFollower::lag() const {
  absl::MutexLock lock(&mutex_);
  Lag lag = lag_;
  lag.applied_revision = index_->Current()->revision();
  return lag;
}

bool ChangeFollower::BeginCall(grpc::ClientContext* context) {
  context->AddMetadata("authorization",
                       absl::StrCat("Bearer ", options_.credential));
  absl::MutexLock lock(&mutex_);
  if (stopping_) return false;
  active_call_ = context;
  return true;
}

void ChangeFollower::EndCall() {
  absl::MutexLock lock(&mutex_);
  active_call_ = nullptr;
}

void ChangeFollower::NoteMessage(int64_t committed_revision) {
  absl::Time now = clock_->Now();
  absl::MutexLock lock(&mutex_);
  lag_.last_message = now;
  lag_.committed_revision =
      std::max(lag_.committed_revision, committed_revision);
}

void ChangeFollower::Run() {
  auto log = server::Logger("follower");
  std::mt19937_64 random(std::random_device{}());
  absl::Duration backoff = options_.initial_backoff;
  bool need_snapshot = true;
  while (true) {
    bool progressed = false;
    absl::Status status;
    if (need_snapshot) {
      status = TakeSnapshot(progressed);
      if (status.ok()) need_snapshot = false;
    }
    if (!need_snapshot) status = Watch(progressed);
    {
      absl::MutexLock lock(&mutex_);
      if (stopping_) return;
    }
    if (absl::IsOutOfRange(status) || absl::IsFailedPrecondition(status)) {
      log->warn("resynchronizing with a new snapshot: {}", status.ToString());
      need_snapshot = true;
    } else {
      log->warn("change stream ended at revision {}: {}",
                index_->Current()->revision(), status.ToString());
    }
    if (progressed) backoff = options_.initial_backoff;
    if (reconnects_counter_ != nullptr) reconnects_counter_->Increment();

    // Full jitter: a fleet of sidecars does not reconnect in step after a
    // TokenService restart.
    std::uniform_real_distribution<double> jitter(0.5, 1.0);
    absl::Duration wait = backoff * jitter(random);
    backoff = std::min(backoff * 2, options_.max_backoff);
    absl::MutexLock lock(&mutex_);
    auto stopping = [this]() ABSL_SHARED_LOCKS_REQUIRED(mutex_) {
      return stopping_;
    };
    mutex_.AwaitWithTimeout(absl::Condition(&stopping), wait);
    if (stopping_) return;
  }
}

absl::Status ChangeFollower::TakeSnapshot(bool& progressed) {
  auto log = server::Logger("follower");
  grpc::ClientContext context;
  if (!BeginCall(&context)) return absl::CancelledError("stopping");
  changes::v1::SnapshotRequest request;
  request.set_chunk_size(options_.snapshot_chunk_size);
  auto reader = stub_->Snapshot(&context, request);
  changes::v1::SnapshotResponse chunk;
  std::vector<model::v1::Record> records;
  int64_t revision = -1;
  bool complete = false;
  while (reader->Read(&chunk)) {
    NoteMessage(chunk.revision());
    if (revision >= 0 && chunk.revision() != revision) {
      context.TryCancel();
      break;
    }
    revision = chunk.revision();
    for (auto& record : *chunk.mutable_records()) {
      records.push_back(std::move(record));
    }
    if (chunk.last()) {
      complete = true;
      break;
    }
  }
  if (complete) context.TryCancel();
  grpc::Status finished = reader->Finish();
  EndCall();
  if (!complete) {
    return finished.ok() ? absl::UnavailableError("snapshot ended early")
                         : FromGrpc(finished);
  }
  auto loaded = index_->LoadSnapshot(revision, records);
  if (!loaded.ok()) return loaded;
  progressed = true;
  {
    absl::MutexLock lock(&mutex_);
    ++lag_.snapshots_loaded;
  }
  if (snapshots_counter_ != nullptr) snapshots_counter_->Increment();
  log->info("loaded snapshot at revision {} ({} records)", revision,
            records.size());
  if (on_applied_) on_applied_(revision);
  return absl::OkStatus();
}

absl::Status ChangeFollower::Watch(bool& progressed) {
  auto log = server::Logger("follower");
  grpc::ClientContext context;
  if (!BeginCall(&context)) return absl::CancelledError("stopping");
  changes::v1::WatchRequest request;
  request.set_after_revision(index_->Current()->revision());
  request.set_follower_name(options_.follower_name);
  log->info("watching changes after revision {}", request.after_revision());
  auto reader = stub_->Watch(&context, request);
  changes::v1::WatchResponse response;
  absl::Status failure;
  while (reader->Read(&response)) {
    NoteMessage(response.committed_revision());
    progressed = true;
    if (response.changes().empty()) continue;
    std::vector<model::v1::ChangeRecord> batch(response.changes().begin(),
                                               response.changes().end());
    auto applied = index_->Apply(batch);
    if (!applied.ok()) {
      failure = applied;
      context.TryCancel();
      break;
    }
    if (on_applied_) on_applied_(index_->Current()->revision());
  }
  grpc::Status finished = reader->Finish();
  EndCall();
  if (!failure.ok()) return failure;
  return FromGrpc(finished);
}

}  // namespace warden::authz_service
