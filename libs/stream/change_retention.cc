#include "libs/stream/change_retention.h"

#include <algorithm>
#include <vector>

#include "google/protobuf/util/time_util.h"
#include "spdlog/spdlog.h"
#include "warden/model/v1/model.pb.h"

namespace warden::stream {
namespace {

// The "change_stream" logger once the service has made it, else the
// default one.
std::shared_ptr<spdlog::logger> Logger() {
  std::shared_ptr<spdlog::logger> logger = spdlog::get("change_stream");
  return logger != nullptr ? logger : spdlog::default_logger();
}

// Change records examined per store read while looking for the age limit.
constexpr int kAgeScanBatch = 1000;

}  // namespace

ChangeRetention::ChangeRetention(store::Store* store, const Clock* clock,
                                 const ChangeRetentionOptions& options)
    : store_(store), clock_(clock), options_(options) {
  if (options_.interval > absl::ZeroDuration()) {
    thread_ = std::thread([this] { Loop(); });
  }
}

ChangeRetention::~ChangeRetention() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void ChangeRetention::Loop() {
  while (true) {
    {
      absl::MutexLock lock(&mutex_);
      auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
        return stopping_;
      };
      if (mutex_.AwaitWithTimeout(absl::Condition(&stopping),
                                  options_.interval)) {
        return;
      }
    }
    absl::StatusOr<int64_t> oldest = RunOnce();
    if (!oldest.ok()) {
      Logger()->warn("change log compaction failed: {}",
                     oldest.status().ToString());
    }
  }
}

absl::StatusOr<int64_t> ChangeRetention::FirstYoungEnough(int64_t committed) {
  absl::Time cutoff = clock_->Now() - options_.max_age;
  int64_t after = store_->oldest_retained_revision() - 1;
  std::vector<model::v1::ChangeRecord> records;
  while (after < committed) {
    records.clear();
    absl::Status status = store_->ReadChanges(after, kAgeScanBatch, &records);
    if (!status.ok()) return status;
    if (records.empty()) break;
    for (const model::v1::ChangeRecord& record : records) {
      absl::Time committed_at = absl::FromUnixNanos(
          google::protobuf::util::TimeUtil::TimestampToNanoseconds(
              record.committed_at()));
      if (committed_at >= cutoff) {
        return record.revision();
      }
    }
    after = records.back().revision();
  }
  return after + 1;
}

absl::StatusOr<int64_t> ChangeRetention::RunOnce() {
  absl::MutexLock pass(&pass_mutex_);
  int64_t committed = store_->committed_revision();
  int64_t before = store_->oldest_retained_revision();
  if (committed == 0) return before;

  int64_t keep_from =
      std::max<int64_t>(1, committed - options_.max_revisions + 1);
  absl::StatusOr<int64_t> young = FirstYoungEnough(committed);
  if (!young.ok()) return young.status();
  keep_from = std::max(keep_from, *young);

  if (keep_from > before) {
    // The store logs what it dropped.
    absl::Status status = store_->CompactChangesBefore(keep_from);
    if (!status.ok()) return status;
  }
  return store_->oldest_retained_revision();
}

}  // namespace warden::stream
