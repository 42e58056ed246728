#include "libs/validation/validation.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace warden::validation {
namespace {

// Names: required, bounded in characters (not bytes), printable UTF-8,
// no surrounding white space; the message names the field.
TEST(ValidationTest, Names) {
  EXPECT_TRUE(ValidateName("name", "Power BI export", 100).ok());
  EXPECT_TRUE(ValidateName("name", "Überwachung – täglich", 21).ok());
  struct Case {
    std::string value;
    std::string mentions;
  };
  const Case bad[] = {
      {"", "required"},
      {std::string(101, 'x'), "at most 100"},
      {" lead", "white space"},
      {"trail ", "white space"},
      {"tab\tinside", "control"},
      {"bad \xff byte", "UTF-8"},
      {"overlong \xc0\xaf", "UTF-8"},
  };
  for (const auto& c : bad) {
    SCOPED_TRACE(c.mentions);
    absl::Status status = ValidateName("name", c.value, 100);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(status.message(), "name"));
    EXPECT_TRUE(absl::StrContains(status.message(), c.mentions))
        << status.message();
  }
}

// E-mail addresses need one '@' with text on both sides.
TEST(ValidationTest, Emails) {
  EXPECT_TRUE(ValidateEmail("email", "ada@example.com").ok());
  for (const char* bad : {"", "ada", "@example.com", "ada@", "a@b@c",
                          "ada lovelace@example.com"}) {
    EXPECT_FALSE(ValidateEmail("email", bad).ok()) << bad;
  }
}

// Request ids are optional and limited to a safe alphabet.
TEST(ValidationTest, RequestIds) {
  EXPECT_TRUE(ValidateRequestId("request_id", "").ok());
  EXPECT_TRUE(ValidateRequestId("request_id", "abc-123_X").ok());
  EXPECT_FALSE(ValidateRequestId("request_id", "a/b").ok());
  EXPECT_FALSE(ValidateRequestId("request_id", std::string(65, 'a')).ok());
}

// Page sizes: 0 means the default, out of range is rejected.
TEST(ValidationTest, PageSizes) {
  EXPECT_EQ(*PageSize(0, 50, 500), 50);
  EXPECT_EQ(*PageSize(7, 50, 500), 7);
  EXPECT_FALSE(PageSize(-1, 50, 500).ok());
  EXPECT_FALSE(PageSize(501, 50, 500).ok());
}

// A page token round-trips, and a token of one list cannot page another.
TEST(ValidationTest, PageTokens) {
  std::string token = EncodePageToken("users", "org_x/usr_y");
  EXPECT_EQ(*DecodePageToken("users", token), "org_x/usr_y");
  EXPECT_EQ(*DecodePageToken("users", ""), "");
  EXPECT_FALSE(DecodePageToken("groups", token).ok());
  EXPECT_FALSE(DecodePageToken("users", "not base64!").ok());
}

}  // namespace
}  // namespace warden::validation
