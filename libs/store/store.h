#ifndef WARDEN_LIBS_STORE_STORE_H_
#define WARDEN_LIBS_STORE_STORE_H_

// TokenService's durable state: RocksDB, one column family per kind of
// record, with a global revision and a change log. This is the only module
// that includes RocksDB headers; everything above it speaks in tables, keys,
// records and absl::Status.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/clock/clock.h"
#include "warden/model/v1/model.pb.h"

namespace warden::store {

// Every column family. Record tables hold protobuf-encoded records under
// their primary key; kIndex holds secondary-index keys (see records.h).
enum class Table {
  kMeta,            // schema version, current revision, retention marks
  kOrganizations,   // "<org>"
  kPermissionSets,  // "<org>/<pset>"
  kUsers,           // "<org>/<user>"
  kServiceUsers,    // "<org>/<svc>"
  kTokens,          // "<org>/<token>"
  kGroups,          // "<org>/<group>"
  kGroupMembers,    // "<org>/<group>/<user>"
  kSites,           // "<org>/<site>"
  kSiteMembers,     // "<org>/<site>/<user>"
  kItems,           // "<org>/<item>"
  kGrants,          // "<org>/<grant>"
  kCatalog,         // "catalog"
  kIndex,           // secondary indexes, see records.h
  kChanges,         // 8-byte big-endian revision -> ChangeRecord
  kActivity,        // "<org>/" + 8-byte big-endian (max - revision) + index
  kRequests,        // idempotency keys: "<org>/<caller>/<request id>"
};

// All tables, in column-family order.
const std::vector<Table>& AllTables();

// The column family's name, for example "tokens".
std::string_view TableName(Table table);

// Called for each key in a scan, in key order. Return false to stop.
using ScanFn =
    std::function<bool(std::string_view key, std::string_view value)>;

// A consistent view of the store at one revision. Holds a RocksDB snapshot
// until destroyed, so keep it short-lived.
// REQUIRES: destroyed before the store that made it.
// Not safe to use from several threads at once.
class ReadView {
 public:
  virtual ~ReadView() = default;

  // The value under `key`, or nullopt if absent.
  virtual absl::StatusOr<std::optional<std::string>> Get(
      Table table, std::string_view key) = 0;

  // Calls `fn` for every key that starts with `prefix` and sorts after
  // `start_after` (all of them when `start_after` is empty), in key order,
  // until `fn` returns false.
  virtual absl::Status Scan(Table table, std::string_view prefix,
                            std::string_view start_after, const ScanFn& fn) = 0;

  // The revision this view reflects: every write with a revision at or
  // below it, and none above.
  virtual int64_t revision() const = 0;
};

// One write transaction, given to the function passed to Store::Write. Reads
// see the committed state plus the writes of transactions committed earlier
// in the same group and this transaction's own writes.
// Not safe to use from several threads; valid only inside Store::Write.
class WriteTxn : public ReadView {
 public:
  virtual void Put(Table table, std::string_view key,
                   std::string_view value) = 0;
  virtual void Delete(Table table, std::string_view key) = 0;

  // Adds a record change to this write's change record. records.h calls
  // this; handlers use PutRecord and DeleteRecord instead.
  virtual void AddChange(model::v1::RecordChange change) = 0;

  // Adds an entry to an organization's activity log. The store fills in
  // the revision and time.
  virtual void AddActivity(model::v1::ActivityEntry entry) = 0;

  // The revision this transaction commits at if it succeeds. revision()
  // (from ReadView) is the one before it.
  virtual int64_t commit_revision() const = 0;

  // The time this transaction commits at, from the store's clock.
  virtual absl::Time now() const = 0;
};

// Runs the body of a write. Returning an error discards every write the
// function made; nothing is committed and no revision is used.
using WriteFn = std::function<absl::Status(WriteTxn& txn)>;

// Called after each group of writes commits, on the writer thread, with the
// change records of the group in revision order, before the writers are
// told their revisions. Must not block, and must not add or remove
// listeners.
using CommitListener =
    std::function<void(const std::vector<model::v1::ChangeRecord>& changes)>;

struct StoreOptions {
  // The RocksDB directory. Created when missing.
  std::string path;
  // Source of commit times. Not owned; must outlive the store.
  const Clock* clock = nullptr;
  // Sync the write-ahead log on every commit. Turn off only in tests that
  // do not need durability.
  bool sync = true;
  // The most writes committed in one group (one WAL sync).
  int max_group_size = 256;
};

// The store. Thread-safe: any thread may call any method.
//
// Writes are serialized on one writer thread. Transactions that queue up
// while a group is being synced form the next group: their functions run one
// after another, each against the state the earlier ones left, and the group
// is committed as one synced RocksDB write. Each successful transaction that
// changed at least one record gets the next revision, and its change record
// is stored under that revision in the same write. So a reader never sees a
// revision without its change record, revisions have no gaps, and
// concurrent writers share one fsync instead of paying one each.
class Store {
 public:
  // Opens or creates the store. Fails with FAILED_PRECONDITION if the data
  // was written by a newer schema version, and with UNAVAILABLE if RocksDB
  // cannot open the directory (for example another process holds it).
  static absl::StatusOr<std::unique_ptr<Store>> Open(
      const StoreOptions& options);

  // Flushes and closes RocksDB after the writes already queued finish.
  ~Store();

  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Runs `fn` as one transaction tagged with `action` (for example
  // "token.revoke", stored in the change record), waits until it is durable,
  // and returns its revision. If `fn` fails, returns its error and writes
  // nothing. If `fn` succeeds but changed no record, nothing is committed and
  // the current revision is returned. If the commit itself fails (disk full,
  // I/O error), returns UNAVAILABLE and nothing of the group is visible;
  // for a full disk the message says so, and the next write after space
  // returns resumes RocksDB from its read-only error state.
  // The failpoints store.before_log, store.after_commit and
  // store.before_publish (libs/failpoint) sit on this path.
  absl::StatusOr<int64_t> Write(std::string_view action, WriteFn fn);

  // A consistent view of the latest committed state.
  std::unique_ptr<ReadView> Read() const;

  // The latest committed revision; 0 for an empty store.
  int64_t committed_revision() const;

  // Appends to `out` up to `max_records` change records with revisions above
  // `after`, in order. Fails with OUT_OF_RANGE when `after` is below the
  // oldest retained revision minus one (the changes it needs were
  // compacted away).
  absl::Status ReadChanges(int64_t after, int max_records,
                           std::vector<model::v1::ChangeRecord>* out) const;

  // The lowest revision still in the change log; committed_revision() + 1
  // when the log is empty.
  int64_t oldest_retained_revision() const;

  // Drops change records with revisions below `revision` (never the
  // latest one). Records are retained otherwise.
  absl::Status CompactChangesBefore(int64_t revision);

  // Registers a listener for commits; see CommitListener. Returns an id for
  // RemoveCommitListener. The listener sees every commit after this returns.
  int AddCommitListener(CommitListener listener);
  // Once this returns, the listener is not running and is not called again.
  void RemoveCommitListener(int id);

  // A RocksDB database-wide property worth watching (for example
  // "rocksdb.block-cache-usage" or "rocksdb.num-running-compactions"), or
  // nullopt if unknown. Column-family properties are read from the default
  // column family, which holds no records.
  std::optional<uint64_t> IntProperty(std::string_view name) const;

  // Counters of the writer thread since open, for tests and metrics.
  struct Stats {
    // Transactions committed under a revision.
    int64_t commits = 0;
    // RocksDB writes that committed at least one transaction (one WAL sync
    // each). commits / groups is the average group size.
    int64_t groups = 0;
    // RocksDB writes that failed; their transactions got UNAVAILABLE.
    int64_t failed_groups = 0;
  };
  Stats stats() const;

 private:
  class Impl;
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// 8-byte big-endian encoding, so keys sort by number. DecodeRevision reads
// the first 8 bytes of `key`.
// REQUIRES: revision >= 0; key.size() >= 8.
std::string EncodeRevision(int64_t revision);
int64_t DecodeRevision(std::string_view key);

}  // namespace warden::store

#endif  // WARDEN_LIBS_STORE_STORE_H_
