#include "libs/store/store.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <atomic>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <future>
#include <iterator>
#include <limits>
#include <map>
#include <optional>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "libs/failpoint/failpoint.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "rocksdb/table.h"
#include "rocksdb/utilities/write_batch_with_index.h"
#include "spdlog/spdlog.h"

namespace warden::store {
namespace {

using model::v1::ActivityEntry;
using model::v1::ChangeRecord;
using model::v1::RecordChange;

// The layout this binary reads and writes. Bump it, and add a case to
// MigrateSchema, whenever stored keys or values change incompatibly.
constexpr int64_t kSchemaVersion = 1;

// Keys in Table::kMeta. Their values are EncodeRevision-encoded integers.
constexpr char kSchemaVersionKey[] = "schema_version";
constexpr char kRevisionKey[] = "revision";
constexpr char kOldestRetainedKey[] = "oldest_retained";

// Shared by every column family: reads of hot records should not each cost
// a disk read.
constexpr size_t kBlockCacheBytes = 64 << 20;

// How long the store.before_publish failpoint lets replies go out before
// it kills the process.
constexpr absl::Duration kReplyGrace = absl::Milliseconds(200);

// Writes are refused, before RocksDB sees them, while the disk holding the
// store has less free space than this. A write-ahead log append that fails
// for want of space leaves the RocksDB release we build against unable to
// use that log again: its next append aborts the process on an assertion.
constexpr uint64_t kMinFreeBytes = 8 << 20;

// Activity keys end in a 2-byte index within the write.
constexpr size_t kMaxActivityPerWrite = 1 << 16;

std::shared_ptr<spdlog::logger> Logger() {
  static const std::shared_ptr<spdlog::logger> logger = [] {
    std::shared_ptr<spdlog::logger> existing = spdlog::get("store");
    if (existing != nullptr) return existing;
    std::shared_ptr<spdlog::logger> created =
        spdlog::default_logger()->clone("store");
    try {
      spdlog::register_logger(created);
    } catch (const spdlog::spdlog_ex&) {
      // Another component registered "store" first; use that one.
      return spdlog::get("store");
    }
    return created;
  }();
  return logger;
}

// RocksDB's own log, sent to the store logger instead of a LOG file beside
// the data. That file shares the data's disk: on a full disk its failed
// append leaves RocksDB's file writer in an error state, and the next log
// line (RocksDB logs the write error itself) aborts the process on a
// failed assertion inside RocksDB. Thread-safe, as spdlog loggers are.
class RocksDbLog : public rocksdb::Logger {
 public:
  // RocksDB calls the form with a level; the plain one logs at info.
  void Logv(const char* format, va_list ap) override {
    Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
  }

  void Logv(const rocksdb::InfoLogLevel level, const char* format,
            va_list ap) override {
    // RocksDB's info lines (option dumps, flush and compaction progress)
    // are detail; its warnings and errors are the store's.
    spdlog::level::level_enum to = spdlog::level::debug;
    if (level == rocksdb::InfoLogLevel::WARN_LEVEL) {
      to = spdlog::level::warn;
    } else if (level >= rocksdb::InfoLogLevel::ERROR_LEVEL &&
               level < rocksdb::InfoLogLevel::HEADER_LEVEL) {
      to = spdlog::level::err;
    }
    const std::shared_ptr<spdlog::logger>& logger = store::Logger();
    if (!logger->should_log(to)) return;
    char line[1024];
    va_list copy;
    va_copy(copy, ap);
    int length = std::vsnprintf(line, sizeof(line), format, copy);
    va_end(copy);
    if (length < 0) return;
    logger->log(to, "rocksdb: {}", line);
  }
};

// The one place a rocksdb::Status becomes an absl::Status.
absl::Status FromRocksDb(const rocksdb::Status& status,
                         absl::string_view context) {
  if (status.ok()) return absl::OkStatus();
  std::string message = absl::StrCat(context, ": ", status.ToString());
  if (status.IsNotFound()) return absl::NotFoundError(message);
  if (status.IsIOError() || status.IsNoSpace()) {
    return absl::UnavailableError(message);
  }
  if (status.IsCorruption()) return absl::DataLossError(message);
  return absl::InternalError(message);
}

rocksdb::Slice ToSlice(std::string_view s) {
  return rocksdb::Slice(s.data(), s.size());
}

std::string_view ToView(const rocksdb::Slice& s) {
  return std::string_view(s.data(), s.size());
}

void SetTimestamp(absl::Time time, google::protobuf::Timestamp* out) {
  int64_t seconds = absl::ToUnixSeconds(time);
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>((time - absl::FromUnixSeconds(seconds)) /
                                      absl::Nanoseconds(1)));
}

absl::StatusOr<int64_t> DecodeMetaInt(absl::string_view key,
                                      const std::string& value) {
  if (value.size() != 8) {
    return absl::DataLossError(absl::StrCat("meta key ", key, " holds ",
                                            value.size(), " bytes, want 8"));
  }
  return DecodeRevision(value);
}

// Reads an integer from Table::kMeta; `fallback` when absent.
absl::StatusOr<int64_t> ReadMetaInt(rocksdb::DB* db,
                                    const rocksdb::ReadOptions& options,
                                    rocksdb::ColumnFamilyHandle* meta,
                                    absl::string_view key, int64_t fallback) {
  std::string value;
  rocksdb::Status status =
      db->Get(options, meta, rocksdb::Slice(key.data(), key.size()), &value);
  if (status.IsNotFound()) return fallback;
  if (!status.ok()) return FromRocksDb(status, absl::StrCat("read ", key));
  return DecodeMetaInt(key, value);
}

// Walks `it` over the keys with `prefix` that sort after `start_after`.
absl::Status ScanIterator(rocksdb::Iterator* it, std::string_view prefix,
                          std::string_view start_after, const ScanFn& fn) {
  bool resume = !start_after.empty() && start_after > prefix;
  it->Seek(ToSlice(resume ? start_after : prefix));
  if (resume && it->Valid() && ToView(it->key()) == start_after) it->Next();
  for (; it->Valid(); it->Next()) {
    std::string_view key = ToView(it->key());
    if (!key.starts_with(prefix)) break;
    if (!fn(key, ToView(it->value()))) break;
  }
  return FromRocksDb(it->status(), "scan");
}

// Brings data written by an older schema version up to kSchemaVersion, one
// version at a time. Runs before the writer thread starts.
absl::Status MigrateSchema(int64_t from) {
  for (int64_t version = from; version < kSchemaVersion; ++version) {
    switch (version) {
      // Version 1 is the first; each later version adds
      // "case <previous>:" here with the rewrite it needs.
      default:
        return absl::FailedPreconditionError(
            absl::StrCat("no migration from schema version ", version));
    }
  }
  return absl::OkStatus();
}

// A snapshot of the committed state.
class SnapshotView : public ReadView {
 public:
  SnapshotView(rocksdb::DB* db,
               const std::vector<rocksdb::ColumnFamilyHandle*>* tables)
      : db_(db), tables_(tables), snapshot_(db->GetSnapshot()) {
    options_.snapshot = snapshot_;
  }
  ~SnapshotView() override { db_->ReleaseSnapshot(snapshot_); }

  // Reads the revision inside the snapshot, so it matches what Get sees.
  // On error the revision is `fallback`.
  absl::Status Init(int64_t fallback) {
    revision_ = fallback;
    absl::StatusOr<int64_t> revision = MetaInt(kRevisionKey, 0);
    if (!revision.ok()) return revision.status();
    revision_ = *revision;
    return absl::OkStatus();
  }

  absl::StatusOr<int64_t> MetaInt(absl::string_view key, int64_t fallback) {
    return ReadMetaInt(db_, options_, Handle(Table::kMeta), key, fallback);
  }

  std::unique_ptr<rocksdb::Iterator> NewIterator(Table table) {
    return std::unique_ptr<rocksdb::Iterator>(
        db_->NewIterator(options_, Handle(table)));
  }

  absl::StatusOr<std::optional<std::string>> Get(
      Table table, std::string_view key) override {
    std::string value;
    rocksdb::Status status =
        db_->Get(options_, Handle(table), ToSlice(key), &value);
    if (status.IsNotFound()) return std::optional<std::string>();
    if (!status.ok()) return FromRocksDb(status, "get");
    return std::optional<std::string>(std::move(value));
  }

  absl::Status Scan(Table table, std::string_view prefix,
                    std::string_view start_after, const ScanFn& fn) override {
    return ScanIterator(NewIterator(table).get(), prefix, start_after, fn);
  }

  int64_t revision() const override { return revision_; }

 private:
  rocksdb::ColumnFamilyHandle* Handle(Table table) const {
    return (*tables_)[static_cast<size_t>(table)];
  }

  rocksdb::DB* const db_;
  const std::vector<rocksdb::ColumnFamilyHandle*>* const tables_;
  const rocksdb::Snapshot* const snapshot_;
  rocksdb::ReadOptions options_;
  int64_t revision_ = 0;
};

// One transaction of a group. Reads go through the group's batch to the
// latest committed state; only the writer thread writes record tables, so
// that state cannot move under the group.
class GroupTxn : public WriteTxn {
 public:
  GroupTxn(rocksdb::DB* db,
           const std::vector<rocksdb::ColumnFamilyHandle*>* tables,
           rocksdb::WriteBatchWithIndex* batch, int64_t commit_revision,
           absl::Time now)
      : db_(db),
        tables_(tables),
        batch_(batch),
        commit_revision_(commit_revision),
        now_(now) {}

  absl::StatusOr<std::optional<std::string>> Get(
      Table table, std::string_view key) override {
    std::string value;
    rocksdb::Status status = batch_->GetFromBatchAndDB(
        db_, rocksdb::ReadOptions(), Handle(table), ToSlice(key), &value);
    if (status.IsNotFound()) return std::optional<std::string>();
    if (!status.ok()) return FromRocksDb(status, "get");
    return std::optional<std::string>(std::move(value));
  }

  absl::Status Scan(Table table, std::string_view prefix,
                    std::string_view start_after, const ScanFn& fn) override {
    rocksdb::ReadOptions options;
    std::unique_ptr<rocksdb::Iterator> it(batch_->NewIteratorWithBase(
        Handle(table), db_->NewIterator(options, Handle(table)), &options));
    return ScanIterator(it.get(), prefix, start_after, fn);
  }

  int64_t revision() const override { return commit_revision_ - 1; }

  void Put(Table table, std::string_view key, std::string_view value) override {
    batch_->Put(Handle(table), ToSlice(key), ToSlice(value));
  }

  void Delete(Table table, std::string_view key) override {
    batch_->Delete(Handle(table), ToSlice(key));
  }

  void AddChange(RecordChange change) override {
    changes_.push_back(std::move(change));
  }

  void AddActivity(ActivityEntry entry) override {
    activity_.push_back(std::move(entry));
  }

  int64_t commit_revision() const override { return commit_revision_; }
  absl::Time now() const override { return now_; }

  std::vector<RecordChange>& changes() { return changes_; }
  std::vector<ActivityEntry>& activity() { return activity_; }

 private:
  rocksdb::ColumnFamilyHandle* Handle(Table table) const {
    return (*tables_)[static_cast<size_t>(table)];
  }

  rocksdb::DB* const db_;
  const std::vector<rocksdb::ColumnFamilyHandle*>* const tables_;
  rocksdb::WriteBatchWithIndex* const batch_;
  const int64_t commit_revision_;
  const absl::Time now_;
  std::vector<RecordChange> changes_;
  std::vector<ActivityEntry> activity_;
};

}  // namespace

namespace {

// Column-family names, indexed by Table; keep them in the enum's order.
constexpr std::string_view kTableNames[] = {
    "meta",     "organizations", "permission_sets", "users", "service_users",
    "tokens",   "groups",        "group_members",   "sites", "site_members",
    "items",    "grants",        "catalog",         "index", "changes",
    "activity", "requests",
};
static_assert(std::size(kTableNames) ==
              static_cast<size_t>(Table::kRequests) + 1);

}  // namespace

const std::vector<Table>& AllTables() {
  static const std::vector<Table> tables = [] {
    std::vector<Table> all;
    for (size_t i = 0; i < std::size(kTableNames); ++i) {
      all.push_back(static_cast<Table>(i));
    }
    return all;
  }();
  return tables;
}

std::string_view TableName(Table table) {
  return kTableNames[static_cast<size_t>(table)];
}

std::string EncodeRevision(int64_t revision) {
  uint64_t n = static_cast<uint64_t>(revision);
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(n & 0xff);
    n >>= 8;
  }
  return out;
}

int64_t DecodeRevision(std::string_view key) {
  uint64_t n = 0;
  for (size_t i = 0; i < 8 && i < key.size(); ++i) {
    n = (n << 8) | static_cast<uint8_t>(key[i]);
  }
  return static_cast<int64_t>(n);
}

class Store::Impl {
 public:
  Impl(const StoreOptions& options, std::unique_ptr<rocksdb::DB> db,
       std::vector<rocksdb::ColumnFamilyHandle*> handles,
       std::vector<rocksdb::ColumnFamilyHandle*> tables, int64_t revision,
       int64_t oldest_retained)
      : options_(options),
        db_(std::move(db)),
        handles_(std::move(handles)),
        tables_(std::move(tables)),
        committed_revision_(revision),
        oldest_retained_(oldest_retained) {
    writer_ = std::thread([this] { RunWriter(); });
  }

  ~Impl() {
    {
      absl::MutexLock lock(&queue_mutex_);
      stopping_ = true;
      queue_changed_.Signal();
    }
    writer_.join();

    // Flush the memtables so the next open replays no WAL. Not after a
    // failed write (a full disk): every write acknowledged is in the WAL
    // already, and RocksDB aborts on a sync of a WAL whose append failed.
    bool write_failed;
    {
      absl::MutexLock lock(&stats_mutex_);
      write_failed = needs_resume_;
    }
    rocksdb::Status status;
    if (write_failed) {
      Logger()->warn(
          "closing {} without a flush: the last write failed; "
          "the next open replays the write-ahead log",
          options_.path);
    } else {
      status = db_->FlushWAL(/*sync=*/true);
      if (status.ok()) status = db_->Flush(rocksdb::FlushOptions(), handles_);
    }
    if (!status.ok()) {
      Logger()->warn("flush on close of {} failed: {}", options_.path,
                     status.ToString());
    }
    for (rocksdb::ColumnFamilyHandle* handle : handles_) {
      db_->DestroyColumnFamilyHandle(handle);
    }
    status = db_->Close();
    if (!status.ok()) {
      Logger()->warn("close of {} failed: {}", options_.path,
                     status.ToString());
    }
    Logger()->info("closed store {} at revision {}", options_.path,
                   committed_revision_.load());
  }

  absl::StatusOr<int64_t> Write(std::string_view action, WriteFn fn) {
    WriteRequest request{std::string(action), std::move(fn), {}};
    std::future<absl::StatusOr<int64_t>> result = request.done.get_future();
    {
      absl::MutexLock lock(&queue_mutex_);
      if (stopping_) return absl::UnavailableError("store is closing");
      queue_.push_back(&request);
      queue_changed_.Signal();
    }
    return result.get();
  }

  std::unique_ptr<ReadView> Read() const {
    // Loaded before the snapshot is taken, so it is at or below the
    // snapshot's revision.
    int64_t fallback = committed_revision();
    auto view = std::make_unique<SnapshotView>(db_.get(), &tables_);
    absl::Status status = view->Init(fallback);
    if (!status.ok()) {
      // Read has no error to return; the view's reads will fail the same
      // way, and the revision is a lower bound meanwhile.
      Logger()->error("reading the revision of a snapshot failed: {}",
                      status.ToString());
    }
    return view;
  }

  int64_t committed_revision() const {
    return committed_revision_.load(std::memory_order_acquire);
  }

  absl::Status ReadChanges(int64_t after, int max_records,
                           std::vector<ChangeRecord>* out) const {
    if (after < 0) {
      return absl::InvalidArgumentError("revision must not be negative");
    }

    // The retention mark and the change records come from one snapshot, so
    // a compaction running meanwhile cannot open a gap between them.
    SnapshotView view(db_.get(), &tables_);
    absl::StatusOr<int64_t> oldest = view.MetaInt(kOldestRetainedKey, 1);
    if (!oldest.ok()) return oldest.status();
    if (after < *oldest - 1) {
      return absl::OutOfRangeError(
          absl::StrCat("changes after revision ", after,
                       " were compacted; oldest retained is ", *oldest));
    }

    std::unique_ptr<rocksdb::Iterator> it = view.NewIterator(Table::kChanges);
    int added = 0;
    for (it->Seek(EncodeRevision(after + 1));
         it->Valid() && added < max_records; it->Next()) {
      ChangeRecord record;
      if (!record.ParseFromArray(it->value().data(),
                                 static_cast<int>(it->value().size()))) {
        return absl::DataLossError(
            absl::StrCat("undecodable change record at revision ",
                         DecodeRevision(ToView(it->key()))));
      }
      out->push_back(std::move(record));
      ++added;
    }
    return FromRocksDb(it->status(), "read changes");
  }

  // The log is empty only before the first commit, when both are 1.
  int64_t oldest_retained_revision() const {
    return oldest_retained_.load(std::memory_order_acquire);
  }

  // Runs beside the writer rather than on it: it deletes only change records
  // below the committed revision and writes only the retention mark, and the
  // writer neither reads those nor writes below the committed revision. The
  // range delete and the mark go in one atomic batch, so a snapshot sees
  // both or neither. Compactions are serialized by compaction_mutex_.
  absl::Status CompactChangesBefore(int64_t revision) {
    absl::MutexLock lock(&compaction_mutex_);
    int64_t oldest = oldest_retained_.load(std::memory_order_acquire);
    // Never the latest record, so the log stays non-empty once written.
    int64_t limit = std::min(revision, committed_revision());
    if (limit <= oldest) return absl::OkStatus();

    rocksdb::WriteBatch batch;
    std::string begin = EncodeRevision(oldest);
    std::string end = EncodeRevision(limit);
    rocksdb::Status status =
        batch.DeleteRange(Handle(Table::kChanges), begin, end);
    if (status.ok()) {
      status =
          batch.Put(Handle(Table::kMeta), ToSlice(kOldestRetainedKey), end);
    }
    if (status.ok()) status = db_->Write(CommitOptions(), &batch);
    if (!status.ok()) return FromRocksDb(status, "compact changes");

    oldest_retained_.store(limit, std::memory_order_release);
    Logger()->info("compacted change log of {}: revisions {} to {} dropped",
                   options_.path, oldest, limit - 1);
    return absl::OkStatus();
  }

  int AddCommitListener(CommitListener listener) {
    absl::MutexLock lock(&listeners_mutex_);
    int id = next_listener_id_++;
    listeners_.emplace(id, std::move(listener));
    return id;
  }

  void RemoveCommitListener(int id) {
    absl::MutexLock lock(&listeners_mutex_);
    listeners_.erase(id);
  }

  std::optional<uint64_t> IntProperty(std::string_view name) const {
    uint64_t value = 0;
    if (!db_->GetIntProperty(db_->DefaultColumnFamily(), ToSlice(name),
                             &value)) {
      return std::nullopt;
    }
    return value;
  }

  Stats stats() const {
    absl::MutexLock lock(&stats_mutex_);
    return stats_;
  }

 private:
  // A caller of Write, parked until the writer completes `done`.
  struct WriteRequest {
    std::string action;
    WriteFn fn;
    std::promise<absl::StatusOr<int64_t>> done;
  };

  // What the writer decided for one request of a group.
  struct Outcome {
    WriteRequest* request;
    absl::Status status;  // the function's own error, if any
    int64_t revision;     // the commit revision, or the one it read at
    bool committed;       // consumed `revision`
  };

  rocksdb::ColumnFamilyHandle* Handle(Table table) const {
    return tables_[static_cast<size_t>(table)];
  }

  rocksdb::WriteOptions CommitOptions() const {
    rocksdb::WriteOptions options;
    options.sync = options_.sync;
    return options;
  }

  void RunWriter() {
    while (true) {
      std::vector<WriteRequest*> group;
      {
        absl::MutexLock lock(&queue_mutex_);
        while (queue_.empty() && !stopping_) queue_changed_.Wait(&queue_mutex_);
        // Stopping still drains what was queued before it.
        if (queue_.empty()) return;
        size_t take =
            std::min(queue_.size(),
                     static_cast<size_t>(std::max(1, options_.max_group_size)));
        group.assign(queue_.begin(), queue_.begin() + take);
        queue_.erase(queue_.begin(), queue_.begin() + take);
      }
      CommitGroup(group);
    }
  }

  // Runs every function of the group against one batch and commits the
  // batch with a single RocksDB write.
  void CommitGroup(const std::vector<WriteRequest*>& group) {
    const int64_t base = committed_revision();
    int64_t last = base;
    rocksdb::WriteBatchWithIndex batch(rocksdb::BytewiseComparator(), 0,
                                       /*overwrite_key=*/true);
    std::vector<Outcome> outcomes;
    std::vector<ChangeRecord> records;
    outcomes.reserve(group.size());

    for (WriteRequest* request : group) {
      batch.SetSavePoint();
      absl::Time now = options_.clock->Now();
      GroupTxn txn(db_.get(), &tables_, &batch, last + 1, now);
      absl::Status status = request->fn(txn);
      if (status.ok() && txn.activity().size() > kMaxActivityPerWrite) {
        status = absl::InvalidArgumentError("too many activity entries");
      }
      for (const ActivityEntry& entry : txn.activity()) {
        if (!status.ok()) break;
        if (entry.organization_id().empty()) {
          status = absl::InvalidArgumentError(
              "activity entry without an organization");
        }
      }
      if (!status.ok() || txn.changes().empty()) {
        // Discard the writes; a no-change write consumes no revision.
        batch.RollbackToSavePoint();
        outcomes.push_back({request, status, last, false});
        continue;
      }
      batch.PopSavePoint();

      int64_t revision = ++last;
      ChangeRecord record;
      record.set_revision(revision);
      SetTimestamp(now, record.mutable_committed_at());
      record.set_action(request->action);
      for (RecordChange& change : txn.changes()) {
        *record.add_changes() = std::move(change);
      }
      batch.Put(Handle(Table::kChanges), EncodeRevision(revision),
                record.SerializeAsString());

      // Newest first within an organization's log.
      std::string newest_first =
          EncodeRevision(std::numeric_limits<int64_t>::max() - revision);
      for (size_t i = 0; i < txn.activity().size(); ++i) {
        ActivityEntry& entry = txn.activity()[i];
        entry.set_revision(revision);
        SetTimestamp(now, entry.mutable_time());
        std::string key =
            absl::StrCat(entry.organization_id(), "/", newest_first);
        key.push_back(static_cast<char>(i >> 8));
        key.push_back(static_cast<char>(i & 0xff));
        batch.Put(Handle(Table::kActivity), key, entry.SerializeAsString());
      }
      records.push_back(std::move(record));
      outcomes.push_back({request, absl::OkStatus(), revision, true});
    }

    // Commit what the group changed, in one write and one WAL sync.
    absl::Status commit_status;
    // Set when a failpoint makes the writers hear of a failure although
    // their group committed (an outcome a real client cannot tell apart
    // from a lost reply).
    absl::Status reply_status;
    bool crash_before_publish = false;
    if (last > base) {
      batch.Put(Handle(Table::kMeta), ToSlice(kRevisionKey),
                EncodeRevision(last));
      commit_status = Commit(batch, base, last);
      if (commit_status.ok()) {
        switch (failpoint::Evaluate("store.after_commit")) {
          case failpoint::Action::kNone:
            break;
          case failpoint::Action::kCrash:
            failpoint::Crash("store.after_commit");
          case failpoint::Action::kError:
            reply_status = failpoint::InjectedError("store.after_commit");
            break;
        }
        crash_before_publish = failpoint::Evaluate("store.before_publish") ==
                               failpoint::Action::kCrash;
      }
    }
    if (commit_status.ok() && last > base) {
      committed_revision_.store(last, std::memory_order_release);
    }
    if (commit_status.ok() && last > base && !crash_before_publish) {
      absl::MutexLock lock(&listeners_mutex_);
      for (auto& [id, listener] : listeners_) listener(records);
    }

    for (Outcome& outcome : outcomes) {
      if (!outcome.status.ok()) {
        outcome.request->done.set_value(outcome.status);
      } else if (!commit_status.ok() && outcome.revision > base) {
        // It committed, or read what earlier writes of the group left.
        outcome.request->done.set_value(commit_status);
      } else if (!reply_status.ok() && outcome.revision > base) {
        outcome.request->done.set_value(reply_status);
      } else {
        outcome.request->done.set_value(outcome.revision);
      }
    }

    if (crash_before_publish) {
      // The writers have their revisions; give their replies a moment to
      // leave before dying with the change unpublished.
      absl::SleepFor(kReplyGrace);
      failpoint::Crash("store.before_publish");
    }
  }

  absl::Status Commit(rocksdb::WriteBatchWithIndex& batch, int64_t base,
                      int64_t last) {
    // After a failed write RocksDB refuses writes until resumed; try, so a
    // disk that has recovered takes writes again.
    if (needs_resume_) {
      rocksdb::Status resumed = db_->Resume();
      if (!resumed.ok()) {
        Logger()->error("resuming {} failed: {}", options_.path,
                        resumed.ToString());
      }
    }
    if (absl::Status injected = failpoint::Hit("store.before_log");
        !injected.ok()) {
      absl::MutexLock lock(&stats_mutex_);
      ++stats_.failed_groups;
      return absl::UnavailableError(
          absl::StrCat("write failed, nothing stored: ", injected.message()));
    }
    if (std::optional<uint64_t> free = FreeBytes();
        free.has_value() && *free < kMinFreeBytes) {
      absl::MutexLock lock(&stats_mutex_);
      ++stats_.failed_groups;
      Logger()->error(
          "commit of revisions {} to {} in {} refused: {} bytes "
          "free on its disk",
          base + 1, last, options_.path, *free);
      return absl::UnavailableError(absl::StrCat(
          "write failed, nothing stored: the disk holding ", options_.path,
          " is full (", *free, " bytes free, writes need ", kMinFreeBytes,
          "); writes resume once space is freed"));
    }
    rocksdb::Status status = db_->Write(CommitOptions(), batch.GetWriteBatch());
    absl::MutexLock lock(&stats_mutex_);
    if (!status.ok()) {
      needs_resume_ = true;
      ++stats_.failed_groups;
      Logger()->error("commit of revisions {} to {} in {} failed: {}", base + 1,
                      last, options_.path, status.ToString());
      // NOTE: a write whose WAL append reached disk but whose sync failed may
      // still reappear on the next open; UNAVAILABLE means "unknown".
      if (status.IsNoSpace()) {
        return absl::UnavailableError(absl::StrCat(
            "write failed: the disk holding ", options_.path,
            " is full; writes resume once space is freed (",
            status.ToString(), ")"));
      }
      return absl::UnavailableError(absl::StrCat(
          "write failed: ", FromRocksDb(status, "write").message()));
    }
    needs_resume_ = false;
    ++stats_.groups;
    stats_.commits += last - base;
    return absl::OkStatus();
  }

  // Free bytes for unprivileged writers on the store's disk; nullopt when
  // statvfs fails (the write then goes ahead).
  std::optional<uint64_t> FreeBytes() const {
    struct statvfs disk;
    if (::statvfs(options_.path.c_str(), &disk) != 0) return std::nullopt;
    return static_cast<uint64_t>(disk.f_bavail) * disk.f_frsize;
  }

  const StoreOptions options_;
  const std::unique_ptr<rocksdb::DB> db_;
  // Every open column family, for flush and close.
  const std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  // Indexed by Table.
  const std::vector<rocksdb::ColumnFamilyHandle*> tables_;

  std::atomic<int64_t> committed_revision_;
  std::atomic<int64_t> oldest_retained_;

  absl::Mutex queue_mutex_;
  absl::CondVar queue_changed_;
  std::deque<WriteRequest*> queue_ ABSL_GUARDED_BY(queue_mutex_);
  bool stopping_ ABSL_GUARDED_BY(queue_mutex_) = false;

  // Held while listeners run, so removal waits for a running call.
  absl::Mutex listeners_mutex_;
  std::map<int, CommitListener> listeners_ ABSL_GUARDED_BY(listeners_mutex_);
  int next_listener_id_ ABSL_GUARDED_BY(listeners_mutex_) = 1;

  absl::Mutex compaction_mutex_;

  mutable absl::Mutex stats_mutex_;
  Stats stats_ ABSL_GUARDED_BY(stats_mutex_);
  // Only the writer thread touches it.
  bool needs_resume_ = false;

  std::thread writer_;
};

absl::StatusOr<std::unique_ptr<Store>> Store::Open(
    const StoreOptions& options) {
  if (options.path.empty() || options.clock == nullptr) {
    return absl::InvalidArgumentError("store needs a path and a clock");
  }

  rocksdb::BlockBasedTableOptions table_options;
  table_options.block_cache = rocksdb::NewLRUCache(kBlockCacheBytes);
  rocksdb::ColumnFamilyOptions family_options;
  family_options.table_factory.reset(
      rocksdb::NewBlockBasedTableFactory(table_options));
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;

  // Open every family on disk, including ones a newer binary added, since
  // RocksDB refuses a partial open and the schema check must get to run.
  std::vector<std::string> names = {rocksdb::kDefaultColumnFamilyName};
  for (Table table : AllTables()) names.emplace_back(TableName(table));
  std::vector<std::string> existing;
  if (rocksdb::DB::ListColumnFamilies(db_options, options.path, &existing)
          .ok()) {
    for (const std::string& name : existing) {
      if (std::find(names.begin(), names.end(), name) == names.end()) {
        names.push_back(name);
      }
    }
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (const std::string& name : names) {
    families.emplace_back(name, family_options);
  }

  // RocksDB logs a missing directory as an error before creating it; a
  // first start is none. A failure here shows again in Open's error.
  std::error_code created;
  std::filesystem::create_directories(options.path, created);
  db_options.info_log = std::make_shared<RocksDbLog>();
  rocksdb::DB* raw_db = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::Status status =
      rocksdb::DB::Open(db_options, options.path, families, &handles, &raw_db);
  // A lock held by another process is an I/O error, so UNAVAILABLE.
  if (!status.ok())
    return FromRocksDb(status, absl::StrCat("open ", options.path));
  std::unique_ptr<rocksdb::DB> db(raw_db);
  // handles[0] is "default"; the tables follow in AllTables() order.
  std::vector<rocksdb::ColumnFamilyHandle*> tables(
      handles.begin() + 1, handles.begin() + 1 + AllTables().size());
  auto close = [&](absl::Status error) {
    for (rocksdb::ColumnFamilyHandle* handle : handles) {
      db->DestroyColumnFamilyHandle(handle);
    }
    db->Close();
    return error;
  };

  // Check, write or migrate the schema version.
  rocksdb::ColumnFamilyHandle* meta = tables[static_cast<size_t>(Table::kMeta)];
  absl::StatusOr<int64_t> version =
      ReadMetaInt(db.get(), rocksdb::ReadOptions(), meta, kSchemaVersionKey, 0);
  if (!version.ok()) return close(version.status());
  if (*version > kSchemaVersion) {
    return close(absl::FailedPreconditionError(
        absl::StrCat("store ", options.path, " has schema version ", *version,
                     ", newer than this binary's ", kSchemaVersion,
                     "; run a newer binary")));
  }
  if (*version != kSchemaVersion) {
    if (*version != 0) {
      absl::Status migrated = MigrateSchema(*version);
      if (!migrated.ok()) return close(migrated);
      Logger()->info("migrated store {} from schema version {} to {}",
                     options.path, *version, kSchemaVersion);
    }
    rocksdb::WriteOptions write_options;
    write_options.sync = true;
    status = db->Put(write_options, meta, ToSlice(kSchemaVersionKey),
                     EncodeRevision(kSchemaVersion));
    if (!status.ok()) {
      return close(FromRocksDb(status, "write schema version"));
    }
  }

  // Where the revision and the change log stand.
  absl::StatusOr<int64_t> revision =
      ReadMetaInt(db.get(), rocksdb::ReadOptions(), meta, kRevisionKey, 0);
  if (!revision.ok()) return close(revision.status());
  absl::StatusOr<int64_t> oldest = ReadMetaInt(db.get(), rocksdb::ReadOptions(),
                                               meta, kOldestRetainedKey, 1);
  if (!oldest.ok()) return close(oldest.status());

  Logger()->info("opened store {} at revision {}, schema version {}",
                 options.path, *revision, kSchemaVersion);
  auto impl = std::make_unique<Impl>(options, std::move(db), std::move(handles),
                                     std::move(tables), *revision, *oldest);
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Store::~Store() = default;

absl::StatusOr<int64_t> Store::Write(std::string_view action, WriteFn fn) {
  return impl_->Write(action, std::move(fn));
}

std::unique_ptr<ReadView> Store::Read() const { return impl_->Read(); }

int64_t Store::committed_revision() const {
  return impl_->committed_revision();
}

absl::Status Store::ReadChanges(int64_t after, int max_records,
                                std::vector<ChangeRecord>* out) const {
  return impl_->ReadChanges(after, max_records, out);
}

int64_t Store::oldest_retained_revision() const {
  return impl_->oldest_retained_revision();
}

absl::Status Store::CompactChangesBefore(int64_t revision) {
  return impl_->CompactChangesBefore(revision);
}

int Store::AddCommitListener(CommitListener listener) {
  return impl_->AddCommitListener(std::move(listener));
}

void Store::RemoveCommitListener(int id) { impl_->RemoveCommitListener(id); }

std::optional<uint64_t> Store::IntProperty(std::string_view name) const {
  return impl_->IntProperty(name);
}

Store::Stats Store::stats() const { return impl_->stats(); }

}  // namespace warden::store
