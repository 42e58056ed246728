#ifndef WARDEN_LIBS_SECRETS_TOKEN_SECRET_H_
#define WARDEN_LIBS_SECRETS_TOKEN_SECRET_H_

// API-token secrets: the only place that makes, reads, digests or compares
// them. Nothing else in the code base builds or takes apart a secret; callers
// keep only the digest, and hand the plaintext to the caller exactly once.
//
// Format (57 or 58 ASCII characters, no separators beyond the prefix):
//
//   <prefix><body><checksum>
//   prefix    "wdn_user_" (user token) or "wdn_svc_" (service-user token)
//   body      32 bytes from OpenSSL's CSPRNG as one big-endian number,
//             written in base62 with leading zeros to exactly 43 characters
//   checksum  CRC-32 (the zlib one) of prefix + body, base62, 6 characters
//
// base62 digits are 0-9, then A-Z, then a-z. The prefix lets secret scanners
// find leaked tokens and tell their kind; the checksum lets them (and Parse)
// discard lookalikes without a lookup. A scanner should match
//
//   \bwdn_(user|svc)_[0-9A-Za-z]{49}\b
//
// The checksum is an integrity check against typos and truncation, not a
// MAC: anyone can compute it, so passing it says nothing about validity.
//
// All functions are safe to call from several threads.

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace warden::secrets {

// Whom a token acts as; named in the secret by its prefix.
enum class SecretKind {
  kUser,         // "wdn_user_"
  kServiceUser,  // "wdn_svc_"
};

class IssuedSecret;

// Makes a fresh secret of the given kind.
// Returns INTERNAL if the random source or the digest fails; never returns a
// secret made from anything weaker.
absl::StatusOr<IssuedSecret> Generate(SecretKind kind);

// A newly made secret. It holds the only copy of the plaintext that will
// ever exist on the server side.
//
// The plaintext must be moved into a CreateToken or RegenerateToken
// response and nowhere else: never logged, stored, put into an error, or
// copied into a record. To make slips harder the class cannot be copied,
// has no operator<<, no AbslStringify and no fmt formatter, and gives up
// the plaintext only through TakePlaintext().
//
// Not safe for concurrent use; it is a value owned by one request.
class IssuedSecret {
 public:
  IssuedSecret(IssuedSecret&&) = default;
  IssuedSecret& operator=(IssuedSecret&&) = default;
  IssuedSecret(const IssuedSecret&) = delete;
  IssuedSecret& operator=(const IssuedSecret&) = delete;
  ~IssuedSecret() = default;

  SecretKind kind() const { return kind_; }

  // SHA-256 of the whole secret, 32 raw bytes: what the token record keeps
  // and what Parse() returns for the same secret.
  const std::string& digest() const { return digest_; }

  // Hands over the plaintext and leaves this object without it (a second
  // call returns an empty string). Call it once, when filling the response.
  std::string TakePlaintext();

 private:
  friend absl::StatusOr<IssuedSecret> Generate(SecretKind kind);

  IssuedSecret(SecretKind kind, std::string plaintext, std::string digest);

  SecretKind kind_;
  std::string plaintext_;
  std::string digest_;
};

// What a well-formed presented secret tells before any lookup.
struct ParsedSecret {
  SecretKind kind;
  // SHA-256 of the presented string, 32 raw bytes; the key to look up the
  // token by. Compare stored digests with DigestsEqual().
  std::string digest;
};

// Checks that `presented` is a well-formed secret (prefix, exact length,
// alphabet, checksum, in that order) and digests it. Nothing is trimmed or
// case-folded: the string must be exactly what Generate() produced.
//
// Returns INVALID_ARGUMENT saying what is wrong ("unknown prefix", "wrong
// length", "invalid character", "checksum mismatch"); the message never
// contains any part of `presented`, so it may be logged or returned to the
// caller. Returns INTERNAL if the digest fails.
//
// A well-formed secret may still be unknown; only the lookup by digest can
// tell.
absl::StatusOr<ParsedSecret> Parse(std::string_view presented);

// Whether two digests are equal, in time that depends only on their length
// (lengths are not secret). False when the lengths differ.
bool DigestsEqual(std::string_view a, std::string_view b);

}  // namespace warden::secrets

#endif  // WARDEN_LIBS_SECRETS_TOKEN_SECRET_H_
