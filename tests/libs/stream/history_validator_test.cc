#include "libs/stream/history_validator.h"

#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace warden::stream {
namespace {

using changes::v1::WatchResponse;

model::v1::ChangeRecord Change(int64_t revision) {
  model::v1::ChangeRecord change;
  change.set_revision(revision);
  change.set_action("token.revoke");
  change.mutable_committed_at()->set_seconds(1700000000);
  auto* record = change.add_changes();
  record->set_operation(model::v1::CHANGE_OPERATION_UPSERT);
  record->mutable_record()->mutable_token()->set_id("tok_1");
  return change;
}

WatchResponse Message(std::vector<int64_t> revisions, int64_t committed) {
  WatchResponse response;
  for (int64_t revision : revisions) *response.add_changes() = Change(revision);
  response.set_committed_revision(committed);
  return response;
}

// A complete, ordered history with progress messages passes.
TEST(HistoryValidatorTest, AcceptsACompleteHistory) {
  auto last = ValidateWatchHistory(
      4, {Message({5, 6}, 9), Message({7}, 9), Message({8, 9}, 9),
          Message({}, 9), Message({10}, 10)});
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_EQ(*last, 10);
}

// Each broken promise is caught and named.
TEST(HistoryValidatorTest, RejectsBrokenHistories) {
  struct Case {
    const char* name;
    std::vector<WatchResponse> responses;
    const char* expected;
  };
  model::v1::ChangeRecord empty = Change(1);
  empty.clear_changes();
  WatchResponse split;
  *split.add_changes() = empty;
  split.set_committed_revision(1);
  std::vector<Case> cases = {
      {"gap", {Message({1, 3}, 3)}, "gap"},
      {"duplicate", {Message({1, 2}, 2), Message({2}, 2)}, "repeated"},
      {"out of order", {Message({2, 1}, 2)}, "gap"},
      {"early progress", {Message({1}, 3), Message({}, 3)}, "progress"},
      {"committed goes back", {Message({1}, 5), Message({2}, 4)}, "back"},
      {"committed below sent", {Message({1, 2}, 1)}, "below"},
      {"split record", {split}, "incomplete"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto last = ValidateWatchHistory(0, c.responses);
    ASSERT_FALSE(last.ok());
    EXPECT_EQ(last.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_TRUE(absl::StrContains(last.status().message(), c.expected))
        << last.status();
  }
}

}  // namespace
}  // namespace warden::stream
