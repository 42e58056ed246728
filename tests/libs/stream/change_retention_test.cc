#include "libs/stream/change_retention.h"

#include "gtest/gtest.h"
#include "tests/libs/stream/store_fixture.h"

namespace warden::stream {
namespace {

class ChangeRetentionTest : public StoreFixture {
 protected:
  ChangeRetentionOptions Options(int64_t revisions, absl::Duration age) {
    ChangeRetentionOptions options;
    options.max_revisions = revisions;
    options.max_age = age;
    options.interval = absl::ZeroDuration();  // passes run by the test
    return options;
  }
};

// Nothing is dropped while both limits hold.
TEST_F(ChangeRetentionTest, KeepsEverythingWithinLimits) {
  WriteMany(10);
  ChangeRetention retention(store_.get(), &clock_,
                            Options(10, absl::Hours(1)));
  auto oldest = retention.RunOnce();
  ASSERT_TRUE(oldest.ok()) << oldest.status();
  EXPECT_EQ(*oldest, 1);
}

// The count limit keeps the latest max_revisions change records.
TEST_F(ChangeRetentionTest, CountLimitDropsOlderRevisions) {
  WriteMany(10);
  ChangeRetention retention(store_.get(), &clock_,
                            Options(3, absl::Hours(1)));
  auto oldest = retention.RunOnce();
  ASSERT_TRUE(oldest.ok()) << oldest.status();
  EXPECT_EQ(*oldest, 8);
  EXPECT_EQ(store_->oldest_retained_revision(), 8);
}

// The age limit drops records that committed before now - max_age, by the
// store's clock.
TEST_F(ChangeRetentionTest, AgeLimitDropsOldRecords) {
  WriteMany(10);
  clock_.Advance(absl::Hours(2));
  WriteMany(5);
  ChangeRetention retention(store_.get(), &clock_,
                            Options(1000, absl::Hours(1)));
  auto oldest = retention.RunOnce();
  ASSERT_TRUE(oldest.ok()) << oldest.status();
  EXPECT_EQ(*oldest, 11);

  // When everything is old, only the latest record stays.
  clock_.Advance(absl::Hours(2));
  oldest = retention.RunOnce();
  ASSERT_TRUE(oldest.ok()) << oldest.status();
  EXPECT_EQ(*oldest, 15);
}

}  // namespace
}  // namespace warden::stream
