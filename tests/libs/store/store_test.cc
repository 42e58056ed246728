#include "libs/store/store.h"

#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "libs/clock/clock.h"
#include "libs/failpoint/failpoint.h"
#include "libs/store/records.h"
#include "rocksdb/db.h"

namespace warden::store {
namespace {

using model::v1::ChangeRecord;
using model::v1::RecordChange;

// A change that marks a write as changing a record, without records.h.
RecordChange OrganizationChange(const std::string& id) {
  RecordChange change;
  change.set_operation(model::v1::CHANGE_OPERATION_UPSERT);
  change.mutable_record()->mutable_organization()->set_id(id);
  return change;
}

// Writes key=value to kOrganizations and records it as a change.
WriteFn PutFn(std::string key, std::string value) {
  return [key, value](WriteTxn& txn) {
    txn.Put(Table::kOrganizations, key, value);
    txn.AddChange(OrganizationChange(key));
    return absl::OkStatus();
  };
}

std::string ReadValue(Store& store, Table table, const std::string& key) {
  std::unique_ptr<ReadView> view = store.Read();
  absl::StatusOr<std::optional<std::string>> value = view->Get(table, key);
  EXPECT_TRUE(value.ok()) << value.status();
  return value.ok() && value->has_value() ? **value : "<absent>";
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "/store_test_XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }

  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Store> OpenStore(bool sync = false) {
    StoreOptions options;
    options.path = dir_ + "/db";
    options.clock = &clock_;
    options.sync = sync;
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(options);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(*store) : nullptr;
  }

  std::string dir_;
  FakeClock clock_{absl::FromUnixSeconds(1700000000)};
};

// Revisions start at 1 and go up by exactly 1 per committed write.
TEST_F(StoreTest, RevisionsStartAtOneAndIncreaseByOne) {
  std::unique_ptr<Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->committed_revision(), 0);
  EXPECT_EQ(store->oldest_retained_revision(), 1);

  for (int64_t want = 1; want <= 5; ++want) {
    absl::StatusOr<int64_t> revision =
        store->Write("test.put", PutFn("k" + std::to_string(want), "v"));
    ASSERT_TRUE(revision.ok()) << revision.status();
    EXPECT_EQ(*revision, want);
    EXPECT_EQ(store->committed_revision(), want);
  }
}

// A failing function writes nothing and uses no revision.
TEST_F(StoreTest, FailedWriteCommitsNothing) {
  std::unique_ptr<Store> store = OpenStore();
  ASSERT_TRUE(store->Write("test.put", PutFn("a", "1")).ok());

  absl::StatusOr<int64_t> failed = store->Write("test.fail", [](WriteTxn& txn) {
    txn.Put(Table::kOrganizations, "b", "2");
    txn.AddChange(OrganizationChange("b"));
    return absl::AbortedError("no");
  });
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(store->committed_revision(), 1);
  EXPECT_EQ(ReadValue(*store, Table::kOrganizations, "b"), "<absent>");

  absl::StatusOr<int64_t> next = store->Write("test.put", PutFn("c", "3"));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, 2);
}

// A function that changes no record commits nothing, even its raw writes,
// and returns the current revision.
TEST_F(StoreTest, WriteWithoutChangesUsesNoRevision) {
  std::unique_ptr<Store> store = OpenStore();
  ASSERT_TRUE(store->Write("test.put", PutFn("a", "1")).ok());

  absl::StatusOr<int64_t> revision =
      store->Write("test.noop", [](WriteTxn& txn) {
        txn.Put(Table::kRequests, "r", "x");
        return absl::OkStatus();
      });
  ASSERT_TRUE(revision.ok()) << revision.status();
  EXPECT_EQ(*revision, 1);
  EXPECT_EQ(store->committed_revision(), 1);
  EXPECT_EQ(ReadValue(*store, Table::kRequests, "r"), "<absent>");
}

// A transaction reads its own writes, through Get and Scan.
TEST_F(StoreTest, TransactionSeesItsOwnWrites) {
  std::unique_ptr<Store> store = OpenStore();
  ASSERT_TRUE(store->Write("test.put", PutFn("org/a", "1")).ok());

  absl::StatusOr<int64_t> revision =
      store->Write("test.txn", [](WriteTxn& txn) -> absl::Status {
        txn.Put(Table::kOrganizations, "org/b", "2");
        txn.Delete(Table::kOrganizations, "org/a");
        auto b = txn.Get(Table::kOrganizations, "org/b");
        auto a = txn.Get(Table::kOrganizations, "org/a");
        if (!b.ok() || !a.ok()) return absl::InternalError("get failed");
        EXPECT_EQ(b->value_or(""), "2");
        EXPECT_FALSE(a->has_value());
        std::vector<std::string> keys;
        absl::Status scanned =
            txn.Scan(Table::kOrganizations, "org/", "",
                     [&](std::string_view key, std::string_view) {
                       keys.emplace_back(key);
                       return true;
                     });
        EXPECT_EQ(keys, std::vector<std::string>{"org/b"});
        EXPECT_EQ(txn.revision(), 1);
        EXPECT_EQ(txn.commit_revision(), 2);
        txn.AddChange(OrganizationChange("b"));
        return scanned;
      });
  ASSERT_TRUE(revision.ok()) << revision.status();
  EXPECT_EQ(*revision, 2);
}

// Scan honours the prefix, start_after and an early stop.
TEST_F(StoreTest, ScanHonoursPrefixAndStartAfter) {
  std::unique_ptr<Store> store = OpenStore();
  ASSERT_TRUE(
      store
          ->Write("test.put",
                  [](WriteTxn& txn) {
                    for (const char* key : {"a/1", "a/2", "a/3", "b/1"}) {
                      txn.Put(Table::kItems, key, "");
                    }
                    txn.AddChange(OrganizationChange("x"));
                    return absl::OkStatus();
                  })
          .ok());

  std::unique_ptr<ReadView> view = store->Read();
  std::vector<std::string> keys;
  auto collect = [&](std::string_view key, std::string_view) {
    keys.emplace_back(key);
    return keys.size() < 2;
  };
  ASSERT_TRUE(view->Scan(Table::kItems, "a/", "a/1", collect).ok());
  EXPECT_EQ(keys, (std::vector<std::string>{"a/2", "a/3"}));
  keys.clear();
  ASSERT_TRUE(view->Scan(Table::kItems, "b/", "", collect).ok());
  EXPECT_EQ(keys, std::vector<std::string>{"b/1"});
}

// Concurrent read-modify-write transactions lose no update: each sees the
// committed state plus earlier transactions of its group.
TEST_F(StoreTest, ConcurrentIncrementsAreExact) {
  std::unique_ptr<Store> store = OpenStore();
  constexpr int kThreads = 32;
  constexpr int kIncrements = 50;
  auto increment = [](WriteTxn& txn) -> absl::Status {
    auto value = txn.Get(Table::kMeta, "counter");
    if (!value.ok()) return value.status();
    int count = value->has_value() ? std::stoi(**value) : 0;
    txn.Put(Table::kMeta, "counter", std::to_string(count + 1));
    txn.AddChange(OrganizationChange("counter"));
    return absl::OkStatus();
  };

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIncrements; ++i) {
        EXPECT_TRUE(store->Write("test.increment", increment).ok());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  EXPECT_EQ(ReadValue(*store, Table::kMeta, "counter"),
            std::to_string(kThreads * kIncrements));
  EXPECT_EQ(store->committed_revision(), kThreads * kIncrements);
}

// Writers that queue up while a group commits share one RocksDB write.
TEST_F(StoreTest, ConcurrentWritersAreGrouped) {
  std::unique_ptr<Store> store = OpenStore(/*sync=*/true);
  constexpr int kThreads = 32;
  constexpr int kWrites = 10;
  std::atomic<int> started = 0;

  // The first write holds the writer thread until every thread is running,
  // so the others have to queue behind it.
  std::thread blocker([&] {
    ASSERT_TRUE(store
                    ->Write("test.block",
                            [&](WriteTxn& txn) {
                              while (started.load() < kThreads) {
                                std::this_thread::sleep_for(
                                    std::chrono::milliseconds(1));
                              }
                              std::this_thread::sleep_for(
                                  std::chrono::milliseconds(50));
                              txn.AddChange(OrganizationChange("block"));
                              return absl::OkStatus();
                            })
                    .ok());
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      started.fetch_add(1);
      for (int i = 0; i < kWrites; ++i) {
        std::string key = std::to_string(t) + "/" + std::to_string(i);
        EXPECT_TRUE(store->Write("test.put", PutFn(key, "v")).ok());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  blocker.join();

  Store::Stats stats = store->stats();
  EXPECT_EQ(stats.commits, kThreads * kWrites + 1);
  EXPECT_LT(stats.groups, stats.commits);
  EXPECT_EQ(stats.failed_groups, 0);
}

// Change records come back in order, without gaps, with what was written.
TEST_F(StoreTest, ReadChangesReturnsEveryRevisionInOrder) {
  std::unique_ptr<Store> store = OpenStore();
  for (int i = 1; i <= 10; ++i) {
    ASSERT_TRUE(
        store->Write("test.put", PutFn("k" + std::to_string(i), "v")).ok());
    clock_.Advance(absl::Seconds(1));
  }

  std::vector<ChangeRecord> changes;
  ASSERT_TRUE(store->ReadChanges(0, 4, &changes).ok());
  ASSERT_TRUE(store->ReadChanges(4, 100, &changes).ok());
  ASSERT_EQ(changes.size(), 10u);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(changes[i].revision(), i + 1);
    EXPECT_EQ(changes[i].action(), "test.put");
    EXPECT_EQ(changes[i].committed_at().seconds(), 1700000000 + i);
    ASSERT_EQ(changes[i].changes_size(), 1);
    EXPECT_EQ(changes[i].changes(0).record().organization().id(),
              "k" + std::to_string(i + 1));
  }

  changes.clear();
  ASSERT_TRUE(store->ReadChanges(10, 100, &changes).ok());
  EXPECT_TRUE(changes.empty());
}

// Activity entries get the revision and time, newest first per org.
TEST_F(StoreTest, ActivityIsStoredNewestFirst) {
  std::unique_ptr<Store> store = OpenStore();
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(store
                    ->Write("test.act",
                            [i](WriteTxn& txn) {
                              model::v1::ActivityEntry entry;
                              entry.set_organization_id("org_a");
                              entry.set_action("act" + std::to_string(i));
                              txn.AddActivity(entry);
                              txn.AddChange(OrganizationChange("org_a"));
                              return absl::OkStatus();
                            })
                    .ok());
  }

  std::vector<int64_t> revisions;
  std::unique_ptr<ReadView> view = store->Read();
  ASSERT_TRUE(view->Scan(Table::kActivity, "org_a/", "",
                         [&](std::string_view, std::string_view value) {
                           model::v1::ActivityEntry entry;
                           EXPECT_TRUE(entry.ParseFromArray(
                               value.data(), static_cast<int>(value.size())));
                           revisions.push_back(entry.revision());
                           EXPECT_EQ(entry.time().seconds(), 1700000000);
                           return true;
                         })
                  .ok());
  EXPECT_EQ(revisions, (std::vector<int64_t>{3, 2, 1}));
}

// Reopening keeps the revision, the data and the change log.
TEST_F(StoreTest, ReopenKeepsEverything) {
  {
    std::unique_ptr<Store> store = OpenStore(/*sync=*/true);
    for (int i = 1; i <= 3; ++i) {
      ASSERT_TRUE(
          store->Write("test.put", PutFn("k" + std::to_string(i), "v")).ok());
    }
  }

  std::unique_ptr<Store> store = OpenStore();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->committed_revision(), 3);
  EXPECT_EQ(store->Read()->revision(), 3);
  EXPECT_EQ(ReadValue(*store, Table::kOrganizations, "k2"), "v");
  std::vector<ChangeRecord> changes;
  ASSERT_TRUE(store->ReadChanges(0, 100, &changes).ok());
  EXPECT_EQ(changes.size(), 3u);
  absl::StatusOr<int64_t> next = store->Write("test.put", PutFn("k4", "v"));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, 4);
}

// Data from a newer schema version is refused, not misread.
TEST_F(StoreTest, NewerSchemaVersionIsRefused) {
  { ASSERT_NE(OpenStore(), nullptr); }

  // Rewrite the version behind the store's back.
  {
    rocksdb::DBOptions db_options;
    std::vector<std::string> names;
    ASSERT_TRUE(
        rocksdb::DB::ListColumnFamilies(db_options, dir_ + "/db", &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    for (const std::string& name : names)
      families.emplace_back(name, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(
        rocksdb::DB::Open(db_options, dir_ + "/db", families, &handles, &db)
            .ok());
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == TableName(Table::kMeta)) {
        ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), handles[i],
                            "schema_version", EncodeRevision(2))
                        .ok());
      }
    }
    for (rocksdb::ColumnFamilyHandle* handle : handles) {
      ASSERT_TRUE(db->DestroyColumnFamilyHandle(handle).ok());
    }
    delete db;
  }

  StoreOptions options;
  options.path = dir_ + "/db";
  options.clock = &clock_;
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(options);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(store.status().message(), "newer"))
      << store.status();
}

// A second open of the same directory fails while the first holds it.
TEST_F(StoreTest, SecondOpenIsUnavailable) {
  std::unique_ptr<Store> store = OpenStore();
  StoreOptions options;
  options.path = dir_ + "/db";
  options.clock = &clock_;
  EXPECT_EQ(Store::Open(options).status().code(),
            absl::StatusCode::kUnavailable);
}

// Compaction drops old change records, never the latest, and reading
// below the retained range is OUT_OF_RANGE.
TEST_F(StoreTest, CompactedChangesAreOutOfRange) {
  std::unique_ptr<Store> store = OpenStore();
  for (int i = 1; i <= 5; ++i) {
    ASSERT_TRUE(
        store->Write("test.put", PutFn("k" + std::to_string(i), "v")).ok());
  }

  ASSERT_TRUE(store->CompactChangesBefore(4).ok());
  EXPECT_EQ(store->oldest_retained_revision(), 4);
  std::vector<ChangeRecord> changes;
  EXPECT_EQ(store->ReadChanges(2, 10, &changes).code(),
            absl::StatusCode::kOutOfRange);
  ASSERT_TRUE(store->ReadChanges(3, 10, &changes).ok());
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].revision(), 4);

  // Asking for more than exists keeps the latest record.
  ASSERT_TRUE(store->CompactChangesBefore(100).ok());
  EXPECT_EQ(store->oldest_retained_revision(), 5);
  changes.clear();
  ASSERT_TRUE(store->ReadChanges(4, 10, &changes).ok());
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].revision(), 5);
}

// Compaction running beside writers leaves the log readable and gap-free.
TEST_F(StoreTest, CompactionDuringWritesIsSafe) {
  std::unique_ptr<Store> store = OpenStore();
  std::atomic<bool> done = false;
  std::thread writer([&] {
    for (int i = 0; i < 200; ++i) {
      EXPECT_TRUE(
          store->Write("test.put", PutFn("k" + std::to_string(i), "v")).ok());
    }
    done = true;
  });
  while (!done) {
    EXPECT_TRUE(
        store->CompactChangesBefore(store->committed_revision() - 5).ok());
    std::vector<ChangeRecord> changes;
    int64_t after = store->oldest_retained_revision() - 1;
    absl::Status status = store->ReadChanges(after, 1000, &changes);
    // A compaction may have moved past `after` since it was read.
    if (!status.ok()) {
      EXPECT_EQ(status.code(), absl::StatusCode::kOutOfRange);
      continue;
    }
    for (size_t i = 0; i < changes.size(); ++i) {
      EXPECT_EQ(changes[i].revision(), after + 1 + static_cast<int64_t>(i));
    }
  }
  writer.join();
}

// Every commit reaches a listener exactly once, in revision order.
TEST_F(StoreTest, CommitListenerSeesEveryRevisionOnce) {
  std::unique_ptr<Store> store = OpenStore();
  absl::Mutex mutex;
  std::vector<int64_t> seen;
  int id =
      store->AddCommitListener([&](const std::vector<ChangeRecord>& changes) {
        absl::MutexLock lock(&mutex);
        for (const ChangeRecord& change : changes) {
          seen.push_back(change.revision());
        }
      });

  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        std::string key = std::to_string(t) + "/" + std::to_string(i);
        EXPECT_TRUE(store->Write("test.put", PutFn(key, "v")).ok());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  store->RemoveCommitListener(id);
  ASSERT_TRUE(store->Write("test.put", PutFn("after", "v")).ok());

  absl::MutexLock lock(&mutex);
  ASSERT_EQ(seen.size(), 160u);
  for (size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i], static_cast<int64_t>(i) + 1);
  }
}

// A view stays at its revision while later writes commit.
TEST_F(StoreTest, ReadViewIsConsistent) {
  std::unique_ptr<Store> store = OpenStore();
  ASSERT_TRUE(store->Write("test.put", PutFn("k", "1")).ok());
  std::unique_ptr<ReadView> view = store->Read();
  ASSERT_TRUE(store->Write("test.put", PutFn("k", "2")).ok());

  EXPECT_EQ(view->revision(), 1);
  absl::StatusOr<std::optional<std::string>> value =
      view->Get(Table::kOrganizations, "k");
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(value->value_or(""), "1");
  EXPECT_EQ(store->Read()->revision(), 2);
  EXPECT_EQ(ReadValue(*store, Table::kOrganizations, "k"), "2");
}

// Revisions encode so that byte order is numeric order.
// A write that fails before reaching the log (failpoint "error") answers
// UNAVAILABLE, stores nothing, uses no revision and is not published; reads
// go on, and the next write after the fault takes the next revision.
TEST_F(StoreTest, FailedLogWriteStoresNothingAndRecovers) {
  std::unique_ptr<Store> store = OpenStore();
  ASSERT_TRUE(store->Write("test.put", PutFn("a", "1")).ok());
  std::vector<int64_t> published;
  store->AddCommitListener([&](const std::vector<ChangeRecord>& records) {
    for (const auto& record : records) published.push_back(record.revision());
  });

  ASSERT_TRUE(failpoint::Configure("store.before_log=error").ok());
  absl::StatusOr<int64_t> failed = store->Write("test.put", PutFn("b", "2"));
  failpoint::DisarmAll();
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(failed.status().message(), "write failed"))
      << failed.status();
  EXPECT_EQ(store->committed_revision(), 1);
  EXPECT_EQ(store->stats().failed_groups, 1);
  EXPECT_EQ(ReadValue(*store, Table::kOrganizations, "a"), "1");
  EXPECT_EQ(ReadValue(*store, Table::kOrganizations, "b"), "<absent>");
  EXPECT_TRUE(published.empty());

  absl::StatusOr<int64_t> next = store->Write("test.put", PutFn("c", "3"));
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(*next, 2);
  std::vector<ChangeRecord> changes;
  ASSERT_TRUE(store->ReadChanges(0, 10, &changes).ok());
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[1].revision(), 2);
  EXPECT_EQ(changes[1].changes(0).record().organization().id(), "c");
  EXPECT_EQ(published, std::vector<int64_t>{2});
}

// A commit whose reply is lost (failpoint "error" after the commit) is
// durable and published although its writer heard UNAVAILABLE.
TEST_F(StoreTest, LostReplyAfterCommitKeepsTheWrite) {
  std::unique_ptr<Store> store = OpenStore();
  std::vector<int64_t> published;
  store->AddCommitListener([&](const std::vector<ChangeRecord>& records) {
    for (const auto& record : records) published.push_back(record.revision());
  });

  ASSERT_TRUE(failpoint::Configure("store.after_commit=error").ok());
  absl::StatusOr<int64_t> lost = store->Write("test.put", PutFn("a", "1"));
  failpoint::DisarmAll();
  EXPECT_EQ(lost.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(store->committed_revision(), 1);
  EXPECT_EQ(ReadValue(*store, Table::kOrganizations, "a"), "1");
  EXPECT_EQ(published, std::vector<int64_t>{1});

  store.reset();
  store = OpenStore();
  EXPECT_EQ(store->committed_revision(), 1);
  EXPECT_EQ(ReadValue(*store, Table::kOrganizations, "a"), "1");
}

TEST(StoreEncodingTest, RevisionsSortNumerically) {
  EXPECT_EQ(DecodeRevision(EncodeRevision(0)), 0);
  EXPECT_EQ(DecodeRevision(EncodeRevision(1234567890123)), 1234567890123);
  EXPECT_LT(EncodeRevision(255), EncodeRevision(256));
  EXPECT_EQ(EncodeRevision(1).size(), 8u);
  EXPECT_EQ(TableName(Table::kTokens), "tokens");
  EXPECT_EQ(AllTables().size(), 17u);
}

}  // namespace
}  // namespace warden::store
