#include "libs/secrets/token_secret.h"

#include <regex>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace warden::secrets {
namespace {

constexpr std::string_view kDigits =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

std::string NewPlaintext(SecretKind kind) {
  absl::StatusOr<IssuedSecret> issued = Generate(kind);
  EXPECT_TRUE(issued.ok()) << issued.status();
  return issued.ok() ? issued->TakePlaintext() : std::string();
}

// Expects Parse to reject `presented` with INVALID_ARGUMENT whose message
// names `fault` and carries no part of the secret's random text.
void ExpectMalformed(std::string_view presented, std::string_view fault) {
  absl::StatusOr<ParsedSecret> parsed = Parse(presented);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  std::string message(parsed.status().message());
  EXPECT_NE(message.find(fault), std::string::npos) << message;

  // Any 8 characters past the prefix would be a leak.
  for (size_t i = 8; i + 8 <= presented.size(); ++i) {
    ASSERT_EQ(message.find(presented.substr(i, 8)), std::string::npos)
        << "error message echoes the presented token";
  }
}

// A secret parses back to the kind and digest it was issued with.
TEST(TokenSecretTest, RoundTripKeepsKindAndDigest) {
  for (SecretKind kind : {SecretKind::kUser, SecretKind::kServiceUser}) {
    absl::StatusOr<IssuedSecret> issued = Generate(kind);
    ASSERT_TRUE(issued.ok()) << issued.status();
    EXPECT_EQ(issued->kind(), kind);
    EXPECT_EQ(issued->digest().size(), 32u);
    std::string digest = issued->digest();
    std::string plaintext = issued->TakePlaintext();

    absl::StatusOr<ParsedSecret> parsed = Parse(plaintext);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(parsed->kind, kind);
    EXPECT_TRUE(DigestsEqual(parsed->digest, digest));
  }
}

// The plaintext can be taken once; afterwards the object holds none.
TEST(TokenSecretTest, TakePlaintextEmptiesTheSecret) {
  absl::StatusOr<IssuedSecret> issued = Generate(SecretKind::kUser);
  ASSERT_TRUE(issued.ok());
  EXPECT_FALSE(issued->TakePlaintext().empty());
  EXPECT_TRUE(issued->TakePlaintext().empty());
  EXPECT_EQ(issued->digest().size(), 32u);
}

// The prefix names the kind, and the whole secret matches the regex the
// header documents for scanners.
TEST(TokenSecretTest, FormatMatchesDocumentedRegex) {
  const std::regex scanner(R"(wdn_(user|svc)_[0-9A-Za-z]{49})");
  std::string user = NewPlaintext(SecretKind::kUser);
  std::string service = NewPlaintext(SecretKind::kServiceUser);

  EXPECT_TRUE(std::regex_match(user, scanner)) << "user token shape";
  EXPECT_TRUE(std::regex_match(service, scanner)) << "service token shape";
  EXPECT_EQ(user.rfind("wdn_user_", 0), 0u);
  EXPECT_EQ(service.rfind("wdn_svc_", 0), 0u);
  EXPECT_EQ(user.size(), 58u);
  EXPECT_EQ(service.size(), 57u);
}

// Fresh secrets do not repeat, and neither do their digests.
TEST(TokenSecretTest, ThousandSecretsAreUnique) {
  std::unordered_set<std::string> plaintexts;
  std::unordered_set<std::string> digests;
  for (int i = 0; i < 1000; ++i) {
    absl::StatusOr<IssuedSecret> issued = Generate(SecretKind::kUser);
    ASSERT_TRUE(issued.ok());
    digests.insert(issued->digest());
    plaintexts.insert(issued->TakePlaintext());
  }
  EXPECT_EQ(plaintexts.size(), 1000u);
  EXPECT_EQ(digests.size(), 1000u);
}

// Every single-character substitution after the prefix is caught by the
// checksum or the alphabet check, so a typo never reaches a lookup.
TEST(TokenSecretTest, EverySubstitutionIsRejected) {
  for (SecretKind kind : {SecretKind::kUser, SecretKind::kServiceUser}) {
    std::string valid = NewPlaintext(kind);
    size_t body_start = valid.find('_', 4) + 1;
    for (size_t i = body_start; i < valid.size(); ++i) {
      for (char c : kDigits) {
        if (c == valid[i]) continue;
        std::string typo = valid;
        typo[i] = c;
        SCOPED_TRACE(testing::Message() << "position " << i);
        ExpectMalformed(typo, "checksum mismatch");
      }
      std::string bad_char = valid;
      bad_char[i] = '-';
      ExpectMalformed(bad_char, "invalid character");
    }
  }
}

// Anything but one of the two prefixes, spelt exactly, is rejected.
TEST(TokenSecretTest, RejectsUnknownPrefix) {
  std::string valid = NewPlaintext(SecretKind::kUser);
  std::string_view rest = std::string_view(valid).substr(9);
  for (std::string_view prefix :
       {"wdn_usr_", "WDN_user_", "wdn_user", "xdn_user_", "wdn_svc-", ""}) {
    SCOPED_TRACE(prefix);
    ExpectMalformed(std::string(prefix) + std::string(rest), "unknown prefix");
  }
  ExpectMalformed("", "unknown prefix");
  ExpectMalformed(" " + valid, "unknown prefix");
}

// Truncated, extended or padded secrets are rejected; nothing is trimmed.
TEST(TokenSecretTest, RejectsWrongLength) {
  std::string valid = NewPlaintext(SecretKind::kServiceUser);
  ExpectMalformed(valid.substr(0, valid.size() - 1), "wrong length");
  ExpectMalformed(valid + "0", "wrong length");
  ExpectMalformed(valid + "\n", "wrong length");
  ExpectMalformed(valid + " ", "wrong length");
  ExpectMalformed("wdn_svc_", "wrong length");
}

// The checksum covers the prefix: relabelling a service-user secret as a
// user secret does not make a valid user token.
TEST(TokenSecretTest, ChecksumCoversPrefix) {
  std::string service = NewPlaintext(SecretKind::kServiceUser);
  ExpectMalformed("wdn_user_" + service.substr(8), "checksum mismatch");
}

// Characters outside 0-9A-Za-z are rejected, including non-ASCII bytes.
TEST(TokenSecretTest, RejectsInvalidCharacters) {
  std::string valid = NewPlaintext(SecretKind::kUser);
  for (char c : {'_', '+', '/', '=', ' ', '\0', '\x80', '\xff'}) {
    std::string bad = valid;
    bad[20] = c;
    SCOPED_TRACE(static_cast<int>(c));
    ExpectMalformed(bad, "invalid character");
  }
}

// Digest comparison: equal, unequal, and unequal length.
TEST(TokenSecretTest, DigestsEqual) {
  absl::StatusOr<IssuedSecret> a = Generate(SecretKind::kUser);
  absl::StatusOr<IssuedSecret> b = Generate(SecretKind::kUser);
  ASSERT_TRUE(a.ok() && b.ok());

  EXPECT_TRUE(DigestsEqual(a->digest(), std::string(a->digest())));
  EXPECT_FALSE(DigestsEqual(a->digest(), b->digest()));
  EXPECT_FALSE(DigestsEqual(a->digest(), a->digest().substr(0, 31)));
  EXPECT_FALSE(DigestsEqual(a->digest(), ""));
  std::string last_bit_flipped = a->digest();
  last_bit_flipped.back() ^= 1;
  EXPECT_FALSE(DigestsEqual(a->digest(), last_bit_flipped));
}

}  // namespace
}  // namespace warden::secrets
