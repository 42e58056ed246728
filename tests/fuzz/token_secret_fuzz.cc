// Fuzzes secrets::Parse with arbitrary bytes. It must never crash, and when
// it accepts a string that string must be exactly the documented format
// (libs/secrets/token_secret.h): a known prefix, 43 base62 body characters,
// and 6 base62 characters of the CRC-32 of prefix + body; the digest must
// be the 32-byte SHA-256 of the whole string. The format is checked here
// independently of the parser, so a parser that accepts too much fails.

#include <openssl/sha.h>
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <string>
#include <string_view>

#include "libs/secrets/token_secret.h"

namespace {

constexpr std::string_view kDigits =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
constexpr size_t kBodyLength = 43;
constexpr size_t kChecksumLength = 6;

void Fail(const char* what) {
  std::fprintf(stderr, "token_secret_fuzz: %s\n", what);
  std::abort();
}

// The CRC-32 of `text` in base62, left-padded with '0' to 6 characters.
std::string Base62Crc(std::string_view text) {
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(text.data()),
              static_cast<uInt>(text.size()));
  std::string out(kChecksumLength, '0');
  uint64_t value = crc;
  for (size_t i = kChecksumLength; i-- > 0 && value > 0;) {
    out[i] = kDigits[value % 62];
    value /= 62;
  }
  return out;
}

void CheckAccepted(std::string_view input,
                   const warden::secrets::ParsedSecret& parsed) {
  std::string_view prefix;
  if (input.substr(0, 9) == "wdn_user_") {
    prefix = input.substr(0, 9);
    if (parsed.kind != warden::secrets::SecretKind::kUser) {
      Fail("user prefix parsed as another kind");
    }
  } else if (input.substr(0, 8) == "wdn_svc_") {
    prefix = input.substr(0, 8);
    if (parsed.kind != warden::secrets::SecretKind::kServiceUser) {
      Fail("service-user prefix parsed as another kind");
    }
  } else {
    Fail("accepted a secret without a known prefix");
  }

  if (input.size() != prefix.size() + kBodyLength + kChecksumLength) {
    Fail("accepted a secret of the wrong length");
  }
  std::string_view rest = input.substr(prefix.size());
  if (rest.find_first_not_of(kDigits) != std::string_view::npos) {
    Fail("accepted a character outside base62");
  }
  std::string_view signed_part = input.substr(0, input.size() - 6);
  if (Base62Crc(signed_part) != input.substr(input.size() - 6)) {
    Fail("accepted a secret whose checksum does not match");
  }

  if (parsed.digest.size() != SHA256_DIGEST_LENGTH) {
    Fail("digest is not 32 bytes");
  }
  unsigned char expected[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(),
         expected);
  if (parsed.digest !=
      std::string_view(reinterpret_cast<const char*>(expected),
                       sizeof(expected))) {
    Fail("digest is not the SHA-256 of the secret");
  }
  if (!warden::secrets::DigestsEqual(parsed.digest, parsed.digest)) {
    Fail("a digest differs from itself");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<warden::secrets::ParsedSecret> parsed =
      warden::secrets::Parse(input);
  if (parsed.ok()) {
    CheckAccepted(input, *parsed);
  } else if (parsed.status().code() != absl::StatusCode::kInvalidArgument) {
    Fail("a malformed secret gave a code other than INVALID_ARGUMENT");
  } else if (input.size() >= 8 && input.substr(0, 4) == "wdn_" &&
             parsed.status().message().find(absl::string_view(
                 input.data(), input.size())) != absl::string_view::npos) {
    // The error may be logged; it must not carry what was presented.
    Fail("the error message repeats the presented secret");
  }

  // Comparing the input with a digest must not read past either.
  std::string_view half = input.substr(0, size / 2);
  bool equal = warden::secrets::DigestsEqual(half, input.substr(size / 2));
  if (equal != (half == input.substr(size / 2))) {
    Fail("DigestsEqual disagrees with ==");
  }
  return 0;
}
