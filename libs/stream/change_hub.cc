#include "libs/stream/change_hub.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace warden::stream {
namespace {

constexpr char kTakeSnapshot[] = "; take a new snapshot";

absl::Status ShuttingDown() {
  return absl::UnavailableError("TokenService is shutting down");
}

}  // namespace

ChangeHub::ChangeHub(store::Store* store, const ChangeHubOptions& options)
    : store_(store), options_(options) {
  // Commits between this read and the registration are not announced to the
  // hub; OnCommit notices the gap and followers read them from the store.
  {
    absl::MutexLock lock(&mutex_);
    latest_ = store_->committed_revision();
  }
  listener_id_ = store_->AddCommitListener(
      [this](const std::vector<model::v1::ChangeRecord>& records) {
        OnCommit(records);
      });
}

ChangeHub::~ChangeHub() { store_->RemoveCommitListener(listener_id_); }

void ChangeHub::OnCommit(const std::vector<model::v1::ChangeRecord>& records) {
  // Encode sizes and copy outside the lock, so followers and the writer
  // thread contend for it only briefly.
  std::vector<Entry> entries;
  entries.reserve(records.size());
  for (const model::v1::ChangeRecord& record : records) {
    entries.push_back(
        {std::make_shared<const model::v1::ChangeRecord>(record),
         static_cast<int64_t>(record.ByteSizeLong())});
  }

  absl::MutexLock lock(&mutex_);
  for (Entry& entry : entries) {
    int64_t revision = entry.record->revision();
    if (revision <= latest_) continue;  // announced before, or pre-dates us
    if (revision != latest_ + 1) {
      // A commit the hub was not told about: the ring must stay gap-free,
      // so start it over; the missed records are read from the store.
      ring_.clear();
      ring_bytes_ = 0;
    }
    ring_bytes_ += entry.bytes;
    ring_.push_back(std::move(entry));
    latest_ = revision;
  }
  EvictLocked();
  committed_.SignalAll();
}

void ChangeHub::EvictLocked() {
  while (!ring_.empty() &&
         (static_cast<int64_t>(ring_.size()) > options_.ring_max_records ||
          (ring_bytes_ > options_.ring_max_bytes && ring_.size() > 1))) {
    ring_bytes_ -= ring_.front().bytes;
    ring_.pop_front();
  }
}

absl::Status ChangeHub::CheckStart(int64_t after, absl::Duration grace) {
  if (after < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("after_revision must not be negative, got ", after));
  }
  absl::Time deadline = absl::Now() + grace;
  absl::MutexLock lock(&mutex_);
  while (!shut_down_ && after > latest_) {
    if (committed_.WaitWithDeadline(&mutex_, deadline)) break;
  }
  if (shut_down_) return ShuttingDown();
  if (after > latest_ && after > store_->committed_revision()) {
    return absl::OutOfRangeError(absl::StrCat(
        "after_revision ", after, " is above the latest committed revision ",
        latest_,
        ": the follower is ahead of this TokenService (was the store "
        "restored?)",
        kTakeSnapshot));
  }
  return absl::OkStatus();
}

absl::Status ChangeHub::Read(int64_t after, const ReadLimits& limits,
                             absl::Duration wait, ChangeBatch* out) {
  out->changes.clear();
  absl::Time deadline = absl::Now() + wait;
  {
    absl::MutexLock lock(&mutex_);
    bool timed_out = false;
    while (true) {
      if (shut_down_) return ShuttingDown();
      if (latest_ - after > options_.max_follower_lag) {
        return absl::OutOfRangeError(absl::StrCat(
            "the follower at revision ", after, " is ", latest_ - after,
            " revisions behind the latest (", latest_,
            "), more than the allowed ", options_.max_follower_lag,
            kTakeSnapshot));
      }
      if (after < latest_) break;
      if (timed_out) {
        // No commit came: the follower is current.
        out->committed_revision = std::max(latest_, after);
        return absl::OkStatus();
      }
      timed_out = committed_.WaitWithDeadline(&mutex_, deadline);
    }

    // Serve from the ring when it holds the next revision.
    if (!ring_.empty() &&
        after + 1 >= ring_.front().record->revision()) {
      size_t index =
          static_cast<size_t>(after + 1 - ring_.front().record->revision());
      int64_t bytes = 0;
      for (; index < ring_.size(); ++index) {
        const Entry& entry = ring_[index];
        if (!out->changes.empty() &&
            (static_cast<int>(out->changes.size()) >= limits.max_records ||
             bytes + entry.bytes > limits.max_bytes)) {
          break;
        }
        bytes += entry.bytes;
        out->changes.push_back(entry.record);
      }
      out->committed_revision = latest_;
      ++ring_reads_;
      return absl::OkStatus();
    }
  }
  return ReadStore(after, limits, out);
}

absl::Status ChangeHub::ReadStore(int64_t after, const ReadLimits& limits,
                                  ChangeBatch* out) {
  std::vector<model::v1::ChangeRecord> records;
  int max_records = std::max(
      1, std::min(limits.max_records, options_.store_batch_records));
  absl::Status status = store_->ReadChanges(after, max_records, &records);
  if (absl::IsOutOfRange(status)) {
    return absl::OutOfRangeError(
        absl::StrCat(status.message(), " and no longer in memory",
                     kTakeSnapshot));
  }
  if (!status.ok()) return status;

  int64_t bytes = 0;
  for (model::v1::ChangeRecord& record : records) {
    int64_t size = static_cast<int64_t>(record.ByteSizeLong());
    if (!out->changes.empty() && bytes + size > limits.max_bytes) break;
    bytes += size;
    out->changes.push_back(
        std::make_shared<const model::v1::ChangeRecord>(std::move(record)));
  }

  absl::MutexLock lock(&mutex_);
  ++store_reads_;
  out->committed_revision = latest_;
  if (!out->changes.empty()) {
    out->committed_revision =
        std::max(latest_, out->changes.back()->revision());
  }
  return absl::OkStatus();
}

void ChangeHub::Shutdown() {
  absl::MutexLock lock(&mutex_);
  shut_down_ = true;
  committed_.SignalAll();
}

int64_t ChangeHub::latest_revision() const {
  absl::MutexLock lock(&mutex_);
  return latest_;
}

ChangeHub::Stats ChangeHub::stats() const {
  absl::MutexLock lock(&mutex_);
  Stats stats;
  stats.ring_records = static_cast<int64_t>(ring_.size());
  stats.ring_bytes = ring_bytes_;
  stats.ring_first_revision =
      ring_.empty() ? 0 : ring_.front().record->revision();
  stats.ring_reads = ring_reads_;
  stats.store_reads = store_reads_;
  return stats;
}

}  // namespace warden::stream
