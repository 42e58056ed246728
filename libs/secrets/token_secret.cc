#include "libs/secrets/token_secret.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

#include "absl/status/status.h"

namespace warden::secrets {
namespace {

constexpr std::string_view kBase62Digits =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

// 62^43 > 2^256 and 62^6 > 2^32, so these widths hold any value of the
// random body and of a CRC-32 without overflow.
constexpr size_t kRandomBytes = 32;
constexpr size_t kBodyChars = 43;
constexpr size_t kChecksumChars = 6;

struct KindPrefix {
  SecretKind kind;
  std::string_view prefix;
};
constexpr std::array<KindPrefix, 2> kPrefixes = {{
    {SecretKind::kUser, "wdn_user_"},
    {SecretKind::kServiceUser, "wdn_svc_"},
}};

std::string_view PrefixOf(SecretKind kind) {
  for (const KindPrefix& entry : kPrefixes) {
    if (entry.kind == kind) return entry.prefix;
  }
  return {};
}

bool IsBase62Digit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
         (c >= 'a' && c <= 'z');
}

// Writes the big-endian number in `bytes` in base62, zero-padded to exactly
// `width` digits. REQUIRES: the number is below 62^width.
std::string EncodeBase62(std::string_view bytes, size_t width) {
  std::string number(bytes);
  std::string digits(width, '0');

  // Long division by 62, once per output digit, least significant first.
  for (size_t i = width; i > 0; --i) {
    uint32_t remainder = 0;
    for (char& byte : number) {
      uint32_t acc = (remainder << 8) | static_cast<unsigned char>(byte);
      byte = static_cast<char>(acc / 62);
      remainder = acc % 62;
    }
    digits[i - 1] = kBase62Digits[remainder];
  }

  // The working copy held the random body of a secret.
  OPENSSL_cleanse(number.data(), number.size());
  return digits;
}

std::string Checksum(std::string_view prefix_and_body) {
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(prefix_and_body.data()),
              static_cast<uInt>(prefix_and_body.size()));
  const char be[4] = {
      static_cast<char>((crc >> 24) & 0xff),
      static_cast<char>((crc >> 16) & 0xff),
      static_cast<char>((crc >> 8) & 0xff),
      static_cast<char>(crc & 0xff),
  };
  return EncodeBase62(std::string_view(be, sizeof(be)), kChecksumChars);
}

absl::StatusOr<std::string> Digest(std::string_view secret) {
  // Every presented token is digested, so the algorithm is fetched from the
  // provider once per process and the context reused per thread: an
  // implicit fetch and a fresh context cost more than the hash itself.
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  struct ContextDeleter {
    void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
  };
  thread_local std::unique_ptr<EVP_MD_CTX, ContextDeleter> context(
      EVP_MD_CTX_new());
  std::string digest(EVP_MAX_MD_SIZE, '\0');
  unsigned int size = 0;
  if (sha256 == nullptr || context == nullptr ||
      EVP_DigestInit_ex2(context.get(), sha256, nullptr) != 1 ||
      EVP_DigestUpdate(context.get(), secret.data(), secret.size()) != 1 ||
      EVP_DigestFinal_ex(context.get(),
                         reinterpret_cast<unsigned char*>(digest.data()),
                         &size) != 1) {
    return absl::InternalError("SHA-256 of a token secret failed");
  }
  digest.resize(size);
  return digest;
}

absl::Status Malformed(std::string_view what) {
  return absl::InvalidArgumentError("malformed token: " + std::string(what));
}

}  // namespace

IssuedSecret::IssuedSecret(SecretKind kind, std::string plaintext,
                           std::string digest)
    : kind_(kind),
      plaintext_(std::move(plaintext)),
      digest_(std::move(digest)) {}

std::string IssuedSecret::TakePlaintext() {
  return std::exchange(plaintext_, std::string());
}

absl::StatusOr<IssuedSecret> Generate(SecretKind kind) {
  std::string_view prefix = PrefixOf(kind);
  if (prefix.empty()) return absl::InternalError("unknown secret kind");

  // Fail closed: no fallback to a weaker source if the CSPRNG is unhappy.
  std::array<unsigned char, kRandomBytes> random;
  if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) {
    return absl::InternalError("random source failed to make a token secret");
  }
  std::string body = EncodeBase62(
      std::string_view(reinterpret_cast<const char*>(random.data()),
                       random.size()),
      kBodyChars);
  OPENSSL_cleanse(random.data(), random.size());

  // Sized up front so that no stale copy of the secret is left behind by a
  // reallocation.
  std::string secret;
  secret.reserve(prefix.size() + kBodyChars + kChecksumChars);
  secret.append(prefix).append(body);
  OPENSSL_cleanse(body.data(), body.size());
  secret += Checksum(secret);

  absl::StatusOr<std::string> digest = Digest(secret);
  if (!digest.ok()) return digest.status();
  return IssuedSecret(kind, std::move(secret), *std::move(digest));
}

absl::StatusOr<ParsedSecret> Parse(std::string_view presented) {
  // The messages below name the fault only: `presented` may be a real
  // secret with a typo, and errors end up in logs.
  const KindPrefix* match = nullptr;
  for (const KindPrefix& entry : kPrefixes) {
    if (presented.starts_with(entry.prefix)) match = &entry;
  }
  if (match == nullptr) return Malformed("unknown prefix");
  if (presented.size() != match->prefix.size() + kBodyChars + kChecksumChars) {
    return Malformed("wrong length");
  }
  std::string_view rest = presented.substr(match->prefix.size());
  if (!std::all_of(rest.begin(), rest.end(), IsBase62Digit)) {
    return Malformed("invalid character");
  }
  std::string_view checked =
      presented.substr(0, presented.size() - kChecksumChars);
  if (Checksum(checked) != presented.substr(checked.size())) {
    return Malformed("checksum mismatch");
  }

  absl::StatusOr<std::string> digest = Digest(presented);
  if (!digest.ok()) return digest.status();
  return ParsedSecret{match->kind, *std::move(digest)};
}

bool DigestsEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace warden::secrets
