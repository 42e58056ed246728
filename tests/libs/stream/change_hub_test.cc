#include "libs/stream/change_hub.h"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "tests/libs/stream/store_fixture.h"

namespace warden::stream {
namespace {

class ChangeHubTest : public StoreFixture {
 protected:
  static std::vector<int64_t> Revisions(const ChangeBatch& batch) {
    std::vector<int64_t> revisions;
    for (const auto& change : batch.changes) {
      revisions.push_back(change->revision());
    }
    return revisions;
  }

  static std::vector<int64_t> Range(int64_t first, int64_t last) {
    std::vector<int64_t> revisions;
    for (int64_t r = first; r <= last; ++r) revisions.push_back(r);
    return revisions;
  }

};

// Commits after the hub starts are served from memory, in revision order,
// each whole record shared with the ring.
TEST_F(ChangeHubTest, ServesNewCommitsFromTheRingInOrder) {
  ChangeHub hub(store_.get(), ChangeHubOptions());
  WriteMany(5);

  ChangeBatch batch;
  ASSERT_TRUE(hub.Read(0, ReadLimits(), absl::ZeroDuration(), &batch).ok());
  EXPECT_EQ(Revisions(batch), Range(1, 5));
  EXPECT_EQ(batch.committed_revision, 5);
  EXPECT_EQ(batch.changes[2]->action(), "organization.create");
  EXPECT_EQ(batch.changes[2]->changes(0).record().organization().id(),
            "org_3");
  EXPECT_EQ(hub.stats().ring_reads, 1);
  EXPECT_EQ(hub.stats().store_reads, 0);

  ASSERT_TRUE(hub.Read(3, ReadLimits(), absl::ZeroDuration(), &batch).ok());
  EXPECT_EQ(Revisions(batch), Range(4, 5));
}

// A read stops at its record and byte limits, but always carries at least
// one whole record.
TEST_F(ChangeHubTest, ReadLimitsNeverSplitARecord) {
  ChangeHub hub(store_.get(), ChangeHubOptions());
  WriteMany(5);
  ChangeBatch batch;

  ReadLimits two_records;
  two_records.max_records = 2;
  ASSERT_TRUE(hub.Read(0, two_records, absl::ZeroDuration(), &batch).ok());
  EXPECT_EQ(Revisions(batch), Range(1, 2));

  ReadLimits one_byte;
  one_byte.max_bytes = 1;
  ASSERT_TRUE(hub.Read(0, one_byte, absl::ZeroDuration(), &batch).ok());
  EXPECT_EQ(Revisions(batch), Range(1, 1));
  EXPECT_EQ(batch.changes[0]->changes_size(), 1);
}

// A current follower gets an empty batch when nothing commits while it
// waits, and is woken with the record when something does.
TEST_F(ChangeHubTest, CurrentFollowerWaitsAndIsWokenByACommit) {
  ChangeHub hub(store_.get(), ChangeHubOptions());
  WriteMany(2);

  ChangeBatch idle;
  ASSERT_TRUE(hub.Read(2, ReadLimits(), absl::Milliseconds(5), &idle).ok());
  EXPECT_TRUE(idle.changes.empty());
  EXPECT_EQ(idle.committed_revision, 2);

  ChangeBatch woken;
  absl::Status status;
  std::thread follower([&] {
    status = hub.Read(2, ReadLimits(), absl::InfiniteDuration(), &woken);
  });
  WriteOne();
  follower.join();
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(Revisions(woken), Range(3, 3));
}

// The ring keeps only the configured number of records and bytes.
TEST_F(ChangeHubTest, RingMemoryIsBounded) {
  ChangeHubOptions by_count;
  by_count.ring_max_records = 10;
  ChangeHub counted(store_.get(), by_count);
  WriteOne();
  int64_t record_bytes = counted.stats().ring_bytes;
  ASSERT_GT(record_bytes, 0);

  ChangeHubOptions by_bytes;
  by_bytes.ring_max_bytes = 3 * record_bytes + record_bytes / 2;
  ChangeHub sized(store_.get(), by_bytes);
  WriteMany(24);

  EXPECT_EQ(counted.stats().ring_records, 10);
  EXPECT_EQ(counted.stats().ring_first_revision, 16);
  EXPECT_EQ(sized.stats().ring_records, 3);
  EXPECT_LE(sized.stats().ring_bytes, by_bytes.ring_max_bytes);
  EXPECT_EQ(sized.stats().ring_first_revision, 23);
}

// A follower whose position is older than the ring reads the store's change
// log, with the same order and contents, then continues from the ring.
TEST_F(ChangeHubTest, ReadingBelowTheRingFallsBackToTheStoreLog) {
  WriteMany(3);  // before the hub: never in its ring
  ChangeHubOptions options;
  options.ring_max_records = 5;
  ChangeHub hub(store_.get(), options);
  WriteMany(17);

  ChangeBatch batch;
  ASSERT_TRUE(hub.Read(0, ReadLimits(), absl::ZeroDuration(), &batch).ok());
  EXPECT_EQ(hub.stats().store_reads, 1);
  EXPECT_EQ(Revisions(batch), Range(1, 20));
  EXPECT_EQ(batch.changes[0]->changes(0).record().organization().id(),
            "org_1");

  ASSERT_TRUE(hub.Read(15, ReadLimits(), absl::ZeroDuration(), &batch).ok());
  EXPECT_EQ(hub.stats().ring_reads, 1);
  EXPECT_EQ(Revisions(batch), Range(16, 20));
}

// Below both the ring and the store's retained history, the follower is
// told to take a new snapshot; just above the retained history it is served.
TEST_F(ChangeHubTest, OutOfRangeBelowRetainedHistory) {
  ChangeHubOptions options;
  options.ring_max_records = 5;
  ChangeHub hub(store_.get(), options);
  WriteMany(20);
  ASSERT_TRUE(store_->CompactChangesBefore(12).ok());

  ChangeBatch batch;
  absl::Status status =
      hub.Read(5, ReadLimits(), absl::ZeroDuration(), &batch);
  EXPECT_EQ(status.code(), absl::StatusCode::kOutOfRange) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "take a new snapshot"))
      << status;

  ASSERT_TRUE(hub.Read(11, ReadLimits(), absl::ZeroDuration(), &batch).ok());
  EXPECT_EQ(Revisions(batch), Range(12, 20));
}

// The ring still serves a position whose log records were compacted.
TEST_F(ChangeHubTest, RingServesCompactedRevisions) {
  ChangeHub hub(store_.get(), ChangeHubOptions());
  WriteMany(20);
  ASSERT_TRUE(store_->CompactChangesBefore(15).ok());

  ChangeBatch batch;
  ASSERT_TRUE(hub.Read(5, ReadLimits(), absl::ZeroDuration(), &batch).ok());
  EXPECT_EQ(Revisions(batch), Range(6, 20));
}

// A follower more than max_follower_lag behind is cut off.
TEST_F(ChangeHubTest, LaggingReaderIsCutOff) {
  ChangeHubOptions options;
  options.max_follower_lag = 10;
  ChangeHub hub(store_.get(), options);
  WriteMany(25);

  ChangeBatch batch;
  absl::Status status =
      hub.Read(14, ReadLimits(), absl::ZeroDuration(), &batch);
  EXPECT_EQ(status.code(), absl::StatusCode::kOutOfRange) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "take a new snapshot"));
  EXPECT_TRUE(hub.Read(15, ReadLimits(), absl::ZeroDuration(), &batch).ok());
}

// A start position must be a revision this store has committed.
TEST_F(ChangeHubTest, CheckStartRejectsNegativeAndAheadPositions) {
  ChangeHub hub(store_.get(), ChangeHubOptions());
  WriteMany(3);

  EXPECT_EQ(hub.CheckStart(-1, absl::ZeroDuration()).code(),
            absl::StatusCode::kInvalidArgument);
  absl::Status ahead = hub.CheckStart(4, absl::ZeroDuration());
  EXPECT_EQ(ahead.code(), absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(absl::StrContains(ahead.message(), "ahead")) << ahead;
  EXPECT_TRUE(hub.CheckStart(3, absl::ZeroDuration()).ok());
  EXPECT_TRUE(hub.CheckStart(0, absl::ZeroDuration()).ok());
}

// Shutdown wakes a waiting follower with UNAVAILABLE.
TEST_F(ChangeHubTest, ShutdownWakesWaiters) {
  ChangeHub hub(store_.get(), ChangeHubOptions());
  absl::Status status;
  std::thread follower([&] {
    ChangeBatch batch;
    status = hub.Read(0, ReadLimits(), absl::InfiniteDuration(), &batch);
  });
  hub.Shutdown();
  follower.join();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace warden::stream
