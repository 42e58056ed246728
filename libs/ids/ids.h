#ifndef WARDEN_LIBS_IDS_IDS_H_
#define WARDEN_LIBS_IDS_IDS_H_

// Server-assigned record ids: "<prefix>_" followed by 20 characters of the
// lowercase RFC 4648 base32 alphabet (a-z, 2-7), carrying 100 random bits,
// e.g. "tok_k3v7q2m5x4a6b2c7d3e4".
//
// Ids are not secrets and may appear in logs, URLs and errors. They are
// random rather than sequential so they reveal nothing about how many
// records exist and cannot be guessed by walking a counter; at 100 bits a
// collision is not expected in the life of the service. They never contain
// "/", which the store uses to separate key parts.
//
// All functions are safe to call from several threads.

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace warden::ids {

// The prefix of each record type's ids.
inline constexpr std::string_view kOrganization = "org";
inline constexpr std::string_view kPermissionSet = "pset";
inline constexpr std::string_view kUser = "usr";
inline constexpr std::string_view kServiceUser = "svc";
inline constexpr std::string_view kToken = "tok";
inline constexpr std::string_view kGroup = "grp";
inline constexpr std::string_view kSite = "site";
inline constexpr std::string_view kItem = "item";
inline constexpr std::string_view kGrant = "grant";

// Returns a fresh id with the given prefix.
// REQUIRES: `prefix` is one of the constants above.
// Aborts the process if OpenSSL's random source fails: an id made without
// it could repeat and overwrite another record, and that source failing
// means the host cannot issue token secrets either.
std::string NewId(std::string_view prefix);

// Whether `id` is exactly "<prefix>_" followed by 20 characters from a-z and
// 2-7. Nothing is trimmed or case-folded.
bool IsValidId(std::string_view id, std::string_view prefix);

// For request validation: OK if IsValidId(id, prefix), otherwise
// INVALID_ARGUMENT naming `field`, e.g. "token_id is required" or
// "token_id must look like tok_ followed by 20 lowercase letters or digits
// 2-7". The message does not repeat `id`.
absl::Status ValidateId(std::string_view field, std::string_view id,
                        std::string_view prefix);

}  // namespace warden::ids

#endif  // WARDEN_LIBS_IDS_IDS_H_
