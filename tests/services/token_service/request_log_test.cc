// Every log line written while TokenService handles a call carries that
// call's request id, in both log formats; lines outside a call carry none.

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "libs/server/logging.h"
#include "tests/services/token_service/test_server.h"
#include "warden/changes/v1/change_stream_service.grpc.pb.h"

namespace warden::testing {
namespace {

// One parsed JSON log line: its string fields.
using LogLine = std::map<std::string, std::string>;

class RequestLogTest : public ::testing::Test {
 protected:
  ~RequestLogTest() override {
    // Other tests in this binary expect the default format.
    EXPECT_TRUE(server::ConfigureLogging("info", "text").ok());
  }

  // Reads a snapshot with the sidecars' token under `request_id`; the
  // handler logs a line about the snapshot it sent.
  void Snapshot(const std::string& request_id) {
    auto stub = changes::v1::ChangeStreamService::NewStub(service_.channel());
    auto context = service_.Context(service_.sidecar_token());
    context->AddMetadata("x-request-id", request_id);
    auto reader = stub->Snapshot(context.get(), changes::v1::SnapshotRequest());
    changes::v1::SnapshotResponse chunk;
    while (reader->Read(&chunk)) {
    }
    grpc::Status status = reader->Finish();
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  // Parses every line of `text` as one JSON object; fails on any other.
  static std::vector<LogLine> ParseJsonLines(const std::string& text) {
    std::vector<LogLine> lines;
    for (absl::string_view raw : absl::StrSplit(text, '\n')) {
      if (raw.empty()) continue;
      google::protobuf::Struct parsed;
      auto status = google::protobuf::util::JsonStringToMessage(
          std::string(raw.data(), raw.size()), &parsed);
      EXPECT_TRUE(status.ok()) << "not JSON: " << raw;
      LogLine line;
      for (const auto& [key, value] : parsed.fields()) {
        line[key] = value.string_value();
      }
      lines.push_back(std::move(line));
    }
    return lines;
  }

  TestTokenService service_;
};

TEST_F(RequestLogTest, JsonLinesOfACallCarryItsRequestId) {
  ASSERT_TRUE(server::ConfigureLogging("info", "json").ok());
  ::testing::internal::CaptureStderr();
  Snapshot("snap-one");
  Snapshot("snap-two");
  service_.Stop();  // Logs outside any call.
  std::vector<LogLine> lines =
      ParseJsonLines(::testing::internal::GetCapturedStderr());

  std::map<std::string, std::vector<std::string>> loggers_by_id;
  int snapshot_lines = 0;
  int lines_without_id = 0;
  for (const LogLine& line : lines) {
    auto id = line.find("request_id");
    if (absl::StartsWith(line.at("msg"), "snapshot at revision")) {
      ++snapshot_lines;
      ASSERT_NE(id, line.end()) << line.at("msg");
    }
    if (id == line.end()) {
      ++lines_without_id;
      continue;
    }
    loggers_by_id[id->second].push_back(line.at("logger"));
  }
  EXPECT_EQ(snapshot_lines, 2);
  // Each call: the handler's line and the access-log line, each with the
  // call's own id; nothing leaks from one call to the next.
  EXPECT_EQ(loggers_by_id.size(), 2u);
  for (const std::string id : {"snap-one", "snap-two"}) {
    std::vector<std::string> loggers = loggers_by_id[id];
    std::sort(loggers.begin(), loggers.end());
    EXPECT_EQ(loggers, (std::vector<std::string>{"access", "change_stream"}))
        << id;
  }
  // Stopping the service logs lines that belong to no call.
  EXPECT_GT(lines_without_id, 0);
}

TEST_F(RequestLogTest, TextLinesOfACallCarryItsRequestId) {
  ASSERT_TRUE(server::ConfigureLogging("info", "text").ok());
  ::testing::internal::CaptureStderr();
  Snapshot("snap-text");
  std::string text = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(absl::StrContains(
      text, "[change_stream] request_id=snap-text snapshot at revision"))
      << text;
  EXPECT_TRUE(absl::StrContains(text, "[access] request_id=snap-text "))
      << text;
}

}  // namespace
}  // namespace warden::testing
