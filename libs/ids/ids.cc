#include "libs/ids/ids.h"

#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace warden::ids {
namespace {

constexpr std::string_view kBase32Digits = "abcdefghijklmnopqrstuvwxyz234567";
constexpr size_t kRandomChars = 20;
// 20 characters of 5 bits each; the last 4 bits of the 13th byte are unused.
constexpr size_t kRandomBytes = (kRandomChars * 5 + 7) / 8;

bool IsBase32Digit(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '2' && c <= '7');
}

}  // namespace

std::string NewId(std::string_view prefix) {
  std::array<unsigned char, kRandomBytes> random;
  if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) {
    std::fputs("warden: OpenSSL RAND_bytes failed while making a record id\n",
               stderr);
    std::abort();
  }

  // Read the bytes as one bit stream, five bits per character.
  std::string id(prefix);
  id += '_';
  uint32_t bits = 0;
  int bit_count = 0;
  size_t next_byte = 0;
  for (size_t i = 0; i < kRandomChars; ++i) {
    if (bit_count < 5) {
      bits = (bits << 8) | random[next_byte++];
      bit_count += 8;
    }
    bit_count -= 5;
    id.push_back(kBase32Digits[(bits >> bit_count) & 0x1f]);
  }
  return id;
}

bool IsValidId(std::string_view id, std::string_view prefix) {
  if (id.size() != prefix.size() + 1 + kRandomChars) return false;
  if (!id.starts_with(prefix) || id[prefix.size()] != '_') return false;
  std::string_view random = id.substr(prefix.size() + 1);
  return std::all_of(random.begin(), random.end(), IsBase32Digit);
}

absl::Status ValidateId(std::string_view field, std::string_view id,
                        std::string_view prefix) {
  if (IsValidId(id, prefix)) return absl::OkStatus();
  if (id.empty()) {
    return absl::InvalidArgumentError(std::string(field) + " is required");
  }
  return absl::InvalidArgumentError(
      std::string(field) + " must look like " + std::string(prefix) +
      "_ followed by 20 lowercase letters or digits 2-7");
}

}  // namespace warden::ids
