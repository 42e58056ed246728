#include "services/token_service/change_stream_handlers.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "libs/catalog/catalog.h"
#include "libs/server/logging.h"
#include "libs/server/status_mapping.h"
#include "libs/tokens/token_rules.h"
#include "services/token_service/caller_auth.h"

namespace warden::token_service {
namespace {

using server::ToGrpcStatus;

constexpr int kDefaultChunkSize = 1000;
constexpr int kMaxChunkSize = 10000;
// A chunk also stops growing at about this size, well below the default
// 4 MiB a gRPC client accepts.
constexpr int64_t kMaxChunkBytes = int64_t{1} << 20;
constexpr size_t kMaxFollowerNameLength = 128;
// How often a waiting Watch looks whether its follower went away.
constexpr absl::Duration kCancelPoll = absl::Milliseconds(250);

std::shared_ptr<spdlog::logger> Log() {
  return server::Logger("change_stream");
}

// The record tables, in the order a snapshot streams them, and the field of
// Record each one's values decode into.
struct RecordTable {
  store::Table table;
  google::protobuf::Message* (*field)(model::v1::Record*);
};
const std::vector<RecordTable>& RecordTables() {
  using model::v1::Record;
  static const auto* tables = new std::vector<RecordTable>{
      {store::Table::kCatalog,
       [](Record* r) -> google::protobuf::Message* {
         return r->mutable_catalog();
       }},
      {store::Table::kOrganizations,
       [](Record* r) -> google::protobuf::Message* {
         return r->mutable_organization();
       }},
      {store::Table::kPermissionSets,
       [](Record* r) -> google::protobuf::Message* {
         return r->mutable_permission_set();
       }},
      {store::Table::kUsers,
       [](Record* r) -> google::protobuf::Message* {
         return r->mutable_user();
       }},
      {store::Table::kServiceUsers,
       [](Record* r) -> google::protobuf::Message* {
         return r->mutable_service_user();
       }},
      {store::Table::kTokens,
       [](Record* r) -> google::protobuf::Message* {
         return r->mutable_token();
       }},
      {store::Table::kGroups,
       [](Record* r) -> google::protobuf::Message* {
         return r->mutable_group();
       }},
      {store::Table::kGroupMembers,
       [](Record* r) -> google::protobuf::Message* {
         return r->mutable_group_member();
       }},
      {store::Table::kSites,
       [](Record* r) -> google::protobuf::Message* {
         return r->mutable_site();
       }},
      {store::Table::kSiteMembers,
       [](Record* r) -> google::protobuf::Message* {
         return r->mutable_site_member();
       }},
      {store::Table::kItems,
       [](Record* r) -> google::protobuf::Message* {
         return r->mutable_item();
       }},
      {store::Table::kGrants,
       [](Record* r) -> google::protobuf::Message* {
         return r->mutable_grant();
       }},
  };
  return *tables;
}

std::string FollowerLabel(const grpc::ServerContext& context,
                          const std::string& name) {
  return name.empty() ? absl::StrCat("unnamed follower at ", context.peer())
                      : name;
}

}  // namespace

ChangeStreamHandlers::ChangeStreamHandlers(
    const tokens::TokenRegistry* registry, const store::Store* store,
    stream::ChangeHub* hub, const Clock* clock,
    const ChangeStreamOptions& options)
    : registry_(registry),
      store_(store),
      hub_(hub),
      clock_(clock),
      options_(options) {}

void ChangeStreamHandlers::Shutdown() {
  shutting_down_.store(true);
  hub_->Shutdown();
}

absl::Status ChangeStreamHandlers::Authorize(
    const grpc::ServerContext& context) const {
  auto peer = RequireReplicationPeer(context);
  if (!peer.ok()) return peer;
  absl::StatusOr<tokens::Caller> caller =
      AuthenticateCaller(*registry_, context);
  if (!caller.ok()) return caller.status();
  return tokens::RequirePermission(*caller, catalog::kReplication,
                                   "read the change stream");
}

grpc::Status ChangeStreamHandlers::Snapshot(
    grpc::ServerContext* context, const changes::v1::SnapshotRequest* request,
    grpc::ServerWriter<changes::v1::SnapshotResponse>* writer) {
  absl::Status allowed = Authorize(*context);
  if (!allowed.ok()) return ToGrpcStatus(allowed, context);
  if (request->chunk_size() < 0 || request->chunk_size() > kMaxChunkSize) {
    return ToGrpcStatus(absl::InvalidArgumentError(absl::StrCat(
        "chunk_size must be between 1 and ", kMaxChunkSize,
        " (0 for the default of ", kDefaultChunkSize, "), got ",
        request->chunk_size())));
  }
  const int chunk_size =
      request->chunk_size() == 0 ? kDefaultChunkSize : request->chunk_size();

  // One view for the whole snapshot: every chunk reflects the same revision.
  std::unique_ptr<store::ReadView> view = store_->Read();
  const int64_t revision = view->revision();

  // A full chunk is sent only when the next record shows it is not the last,
  // so the final chunk can carry last = true.
  changes::v1::SnapshotResponse chunk;
  chunk.set_revision(revision);
  int64_t chunk_bytes = 0;
  int64_t records = 0;
  int64_t chunks = 0;
  bool disconnected = false;
  absl::Status failed;
  auto flush = [&](bool last) {
    chunk.set_last(last);
    ++chunks;
    if (!writer->Write(chunk)) return false;
    chunk.clear_records();
    chunk_bytes = 0;
    return true;
  };
  for (const RecordTable& table : RecordTables()) {
    absl::Status scanned = view->Scan(
        table.table, "", "", [&](auto key, auto value) {
          if (shutting_down_.load()) {
            failed = absl::UnavailableError("TokenService is shutting down");
            return false;
          }
          model::v1::Record record;
          if (!table.field(&record)->ParseFromArray(
                  value.data(), static_cast<int>(value.size()))) {
            failed = absl::DataLossError(absl::StrCat(
                "undecodable record in ",
                std::string(store::TableName(table.table)),
                " at ", std::string(key.data(), key.size())));
            return false;
          }
          int64_t size = static_cast<int64_t>(record.ByteSizeLong());
          if (chunk.records_size() > 0 &&
              (chunk.records_size() >= chunk_size ||
               chunk_bytes + size > kMaxChunkBytes)) {
            if (!flush(/*last=*/false)) {
              disconnected = true;
              return false;
            }
          }
          *chunk.add_records() = std::move(record);
          chunk_bytes += size;
          ++records;
          return true;
        });
    if (!scanned.ok()) failed = scanned;
    if (!failed.ok() || disconnected) break;
  }
  if (!failed.ok()) return ToGrpcStatus(failed);
  if (disconnected || !flush(/*last=*/true)) {
    return grpc::Status(grpc::StatusCode::CANCELLED,
                        "the follower went away during the snapshot");
  }
  Log()->info("snapshot at revision {} sent to {}: {} records in {} chunks",
              revision, context->peer(), records, chunks);
  return grpc::Status::OK;
}

grpc::Status ChangeStreamHandlers::Watch(
    grpc::ServerContext* context, const changes::v1::WatchRequest* request,
    grpc::ServerWriter<changes::v1::WatchResponse>* writer) {
  absl::Status allowed = Authorize(*context);
  if (!allowed.ok()) return ToGrpcStatus(allowed, context);
  if (request->follower_name().size() > kMaxFollowerNameLength) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        absl::StrCat("follower_name must be at most ", kMaxFollowerNameLength,
                     " characters")));
  }
  if (shutting_down_.load()) {
    return ToGrpcStatus(
        absl::UnavailableError("TokenService is shutting down"));
  }
  const std::string follower =
      FollowerLabel(*context, request->follower_name());
  const int64_t from = request->after_revision();
  absl::Status started = hub_->CheckStart(from, options_.ahead_grace);
  if (!started.ok()) {
    if (absl::IsOutOfRange(started)) {
      Log()->info("follower {} refused from revision {}: {}", follower, from,
                  std::string(started.message()));
    }
    return ToGrpcStatus(started);
  }
  Log()->info("follower {} connected from revision {} (lag {})", follower,
              from, hub_->latest_revision() - from);

  int64_t position = from;
  // Published for follower_stats while this call runs.
  std::atomic<int64_t> published{position};
  {
    absl::MutexLock lock(&followers_mutex_);
    followers_.insert(&published);
  }
  struct Unregister {
    ChangeStreamHandlers* self;
    const std::atomic<int64_t>* position;
    ~Unregister() {
      absl::MutexLock lock(&self->followers_mutex_);
      self->followers_.erase(position);
    }
  } unregister{this, &published};
  absl::Time last_sent = absl::Now();
  stream::ChangeBatch batch;
  changes::v1::WatchResponse response;
  while (true) {
    if (context->IsCancelled()) {
      Log()->info("follower {} disconnected at revision {} (lag {})",
                  follower, position, hub_->latest_revision() - position);
      return grpc::Status(grpc::StatusCode::CANCELLED, "the follower left");
    }

    absl::Duration until_progress =
        options_.progress_interval - (absl::Now() - last_sent);
    absl::Duration wait = std::clamp(until_progress, absl::ZeroDuration(),
                                     kCancelPoll);
    absl::Status read =
        hub_->Read(position, options_.watch_limits, wait, &batch);
    if (!read.ok()) {
      if (absl::IsOutOfRange(read)) {
        Log()->info("follower {} cut off at revision {} (lag {}): {}",
                    follower, position, hub_->latest_revision() - position,
                    std::string(read.message()));
      } else {
        Log()->info("follower {} stopped at revision {}: {}", follower,
                    position, read.ToString());
      }
      return ToGrpcStatus(read);
    }

    response.Clear();
    if (!batch.changes.empty()) {
      for (const auto& change : batch.changes) {
        *response.add_changes() = *change;
      }
      response.set_committed_revision(batch.committed_revision);
    } else if (absl::Now() - last_sent >= options_.progress_interval) {
      // Idle and current: everything up to `position` was sent.
      response.set_committed_revision(position);
    } else {
      continue;
    }
    *response.mutable_sent_at() = tokens::ToProto(clock_->Now());
    if (!writer->Write(response)) {
      Log()->info("follower {} disconnected at revision {} (lag {})",
                  follower, position, hub_->latest_revision() - position);
      return grpc::Status(grpc::StatusCode::CANCELLED, "the follower left");
    }
    if (!batch.changes.empty()) {
      position = batch.changes.back()->revision();
      published.store(position, std::memory_order_relaxed);
    }
    last_sent = absl::Now();
  }
}

ChangeStreamHandlers::FollowerStats ChangeStreamHandlers::follower_stats()
    const {
  const int64_t latest = hub_->latest_revision();
  FollowerStats stats;
  absl::MutexLock lock(&followers_mutex_);
  stats.followers = static_cast<int64_t>(followers_.size());
  for (const std::atomic<int64_t>* position : followers_) {
    stats.max_lag_revisions =
        std::max(stats.max_lag_revisions,
                 latest - position->load(std::memory_order_relaxed));
  }
  return stats;
}

}  // namespace warden::token_service
