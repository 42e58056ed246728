#ifndef WARDEN_TESTS_LIBS_STREAM_STORE_FIXTURE_H_
#define WARDEN_TESTS_LIBS_STREAM_STORE_FIXTURE_H_

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libs/clock/clock.h"
#include "libs/store/records.h"
#include "libs/store/store.h"
#include "tests/support/temp_dir.h"

namespace warden::stream {

// A real store in a temp dir, on a fake clock, and a way to commit simple
// writes: what the change-stream unit tests build on.
class StoreFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    store::StoreOptions options;
    options.path = dir_.Sub("db");
    options.clock = &clock_;
    options.sync = false;
    auto opened = store::Store::Open(options);
    ASSERT_TRUE(opened.ok()) << opened.status();
    store_ = *std::move(opened);
  }

  // Commits one organization under the next revision and returns it.
  int64_t WriteOne() {
    model::v1::Organization org;
    org.set_id(absl::StrCat("org_", ++written_));
    org.set_name(absl::StrCat("Organization ", written_));
    auto revision = store_->Write("organization.create",
                                  [&](store::WriteTxn& txn) {
                                    return store::Put(txn, org);
                                  });
    EXPECT_TRUE(revision.ok()) << revision.status();
    return revision.ok() ? *revision : -1;
  }

  void WriteMany(int n) {
    for (int i = 0; i < n; ++i) WriteOne();
  }

  testing::TempDir dir_;
  FakeClock clock_{absl::FromUnixSeconds(1700000000)};
  std::unique_ptr<store::Store> store_;
  int written_ = 0;
};

}  // namespace warden::stream

#endif  // WARDEN_TESTS_LIBS_STREAM_STORE_FIXTURE_H_
