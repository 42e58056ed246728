#include "libs/ids/ids.h"

#include <regex>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace warden::ids {
namespace {

constexpr std::string_view kAllPrefixes[] = {
    kOrganization, kPermissionSet, kUser, kServiceUser, kToken,
    kGroup,        kSite,          kItem, kGrant,
};

// New ids have the documented shape for every record type's prefix.
TEST(IdsTest, NewIdHasDocumentedShape) {
  const std::regex shape("[a-z]+_[a-z2-7]{20}");
  for (std::string_view prefix : kAllPrefixes) {
    SCOPED_TRACE(prefix);
    std::string id = NewId(prefix);
    EXPECT_TRUE(std::regex_match(id, shape)) << id;
    EXPECT_EQ(id.substr(0, prefix.size() + 1), std::string(prefix) + "_");
    EXPECT_TRUE(IsValidId(id, prefix)) << id;
  }
}

// Ids do not repeat, and over many ids every base32 character shows up, so
// no bits are stuck.
TEST(IdsTest, NewIdsAreUniqueAndUseTheWholeAlphabet) {
  std::unordered_set<std::string> seen;
  std::unordered_set<char> characters;
  for (int i = 0; i < 10000; ++i) {
    std::string id = NewId(kToken);
    for (char c : std::string_view(id).substr(4)) characters.insert(c);
    seen.insert(std::move(id));
  }
  EXPECT_EQ(seen.size(), 10000u);
  EXPECT_EQ(characters.size(), 32u);
}

// IsValidId accepts exactly the shape and nothing near it.
TEST(IdsTest, IsValidIdChecksExactShape) {
  EXPECT_TRUE(IsValidId("tok_abcdefghijklmnopqrst", kToken));
  EXPECT_TRUE(IsValidId("grant_234567abcdefghijklmn", kGrant));

  for (std::string_view bad : {
           "", "tok_",
           "tok_abcdefghijklmnopqrs",    // 19 characters
           "tok_abcdefghijklmnopqrstu",  // 21 characters
           "tok_abcdefghijklmnopqrs1",   // 1 is not base32
           "tok_abcdefghijklmnopqrs8",   // nor is 8
           "tok_Abcdefghijklmnopqrst",   // uppercase
           "tok-abcdefghijklmnopqrst",   // wrong separator
           "usr_abcdefghijklmnopqrst",   // another type's prefix
           "tokabcdefghijklmnopqrstu",   // no separator
           " tok_abcdefghijklmnopqrst",  // not trimmed
           "tok_abcdefghijklmnopqrs/",   // no key separators
       }) {
    EXPECT_FALSE(IsValidId(bad, kToken)) << "'" << bad << "'";
  }
  EXPECT_FALSE(IsValidId("tok_abcdefghijklmnopqrst", "to"));
}

// ValidateId names the field and the expected shape, and says when the
// field is missing.
TEST(IdsTest, ValidateIdMessages) {
  EXPECT_TRUE(ValidateId("token_id", NewId(kToken), kToken).ok());

  absl::Status wrong =
      ValidateId("token_id", "usr_abcdefghijklmnopqrst", kToken);
  EXPECT_EQ(wrong.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(wrong.message(),
            "token_id must look like tok_ followed by 20 lowercase letters "
            "or digits 2-7");

  absl::Status missing = ValidateId("site_id", "", kSite);
  EXPECT_EQ(missing.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(missing.message(), "site_id is required");
}

}  // namespace
}  // namespace warden::ids
