#include "libs/server/logging.h"

#include "absl/strings/str_split.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace warden::server {
namespace {

// In JSON format every line is one JSON object with the expected fields,
// even when the message holds quotes, backslashes and newlines.
TEST(LoggingTest, JsonLinesParse) {
#if defined(__SANITIZE_THREAD__)
  // google::protobuf::Map, inlined from the headers with TSan, crashes on
  // the maps Debian's uninstrumented libprotobuf fills; the normal and
  // ASan builds run this test.
  GTEST_SKIP() << "protobuf::Map from Debian's libprotobuf under TSan";
#endif
  ASSERT_TRUE(ConfigureLogging("debug", "json").ok());
  ::testing::internal::CaptureStderr();
  auto log = Logger("logging_test");
  log->info("plain message");
  log->warn("tricky \"quoted\" \\ back\nslash\ttab \x01");
  log->debug("debug shows at debug level");
  log->flush();
  std::string output = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(ConfigureLogging("info", "text").ok());

  std::vector<std::string> lines =
      absl::StrSplit(output, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u) << output;
  for (const auto& line : lines) {
    google::protobuf::Struct parsed;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(line, &parsed).ok())
        << line;
    EXPECT_EQ(parsed.fields().at("logger").string_value(), "logging_test");
    EXPECT_FALSE(parsed.fields().at("time").string_value().empty());
    EXPECT_FALSE(parsed.fields().at("level").string_value().empty());
  }
  google::protobuf::Struct tricky;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(lines[1], &tricky).ok());
  EXPECT_EQ(tricky.fields().at("msg").string_value(),
            "tricky \"quoted\" \\ back\nslash\ttab \x01");
}

// Unknown levels and formats are refused with the accepted values.
TEST(LoggingTest, InvalidSettingsAreRefused) {
  auto level = ConfigureLogging("loud", "text");
  EXPECT_EQ(level.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(level.message()).find("trace, debug"),
            std::string::npos);
  EXPECT_FALSE(ConfigureLogging("info", "xml").ok());
}

}  // namespace
}  // namespace warden::server
