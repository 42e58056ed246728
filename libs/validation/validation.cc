#include "libs/validation/validation.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace warden::validation {
namespace {

// Counts the code points of valid UTF-8 without control characters; returns
// -1 for anything else.
int CountPrintableCodePoints(absl::string_view s) {
  int count = 0;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    int length;
    uint32_t code_point;
    if (c < 0x80) {
      length = 1;
      code_point = c;
    } else if ((c & 0xE0) == 0xC0) {
      length = 2;
      code_point = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      length = 3;
      code_point = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      length = 4;
      code_point = c & 0x07;
    } else {
      return -1;
    }
    if (i + length > s.size()) return -1;
    for (int k = 1; k < length; ++k) {
      unsigned char next = static_cast<unsigned char>(s[i + k]);
      if ((next & 0xC0) != 0x80) return -1;
      code_point = (code_point << 6) | (next & 0x3F);
    }
    // Overlong encodings, surrogates and out-of-range values are invalid.
    static constexpr uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code_point < kMinForLength[length] || code_point > 0x10FFFF ||
        (code_point >= 0xD800 && code_point <= 0xDFFF)) {
      return -1;
    }
    if (code_point < 0x20 || code_point == 0x7F ||
        (code_point >= 0x80 && code_point < 0xA0)) {
      return -1;
    }
    i += length;
    ++count;
  }
  return count;
}

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

}  // namespace

absl::Status ValidateName(absl::string_view field, absl::string_view value,
                          int max_chars) {
  if (value.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, " is required"));
  }
  int count = CountPrintableCodePoints(value);
  if (count < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, " must be valid UTF-8 text without control characters"));
  }
  if (count > max_chars) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, " must be at most ", max_chars, " characters, not ", count));
  }
  if (IsSpace(value.front()) || IsSpace(value.back())) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, " must not start or end with white space"));
  }
  return absl::OkStatus();
}

absl::Status ValidateEmail(absl::string_view field, absl::string_view value) {
  if (value.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, " is required"));
  }
  if (value.size() > 254) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " must be at most 254 characters"));
  }
  size_t at = value.find('@');
  bool shape_ok = at != absl::string_view::npos && at > 0 &&
                  at + 1 < value.size() &&
                  value.find('@', at + 1) == absl::string_view::npos;
  for (char c : value) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7F) shape_ok = false;
  }
  if (!shape_ok || CountPrintableCodePoints(value) < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, " must be an e-mail address like name@example.com"));
  }
  return absl::OkStatus();
}

absl::Status ValidateRequestId(absl::string_view field,
                               absl::string_view value) {
  if (value.size() > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " must be at most 64 characters"));
  }
  for (char c : value) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, " may contain only letters, digits, '_' and '-'"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<int> PageSize(int requested, int default_size, int max) {
  if (requested == 0) return default_size;
  if (requested < 0 || requested > max) {
    return absl::InvalidArgumentError(absl::StrCat(
        "page_size must be between 1 and ", max, ", or 0 for the default (",
        default_size, ")"));
  }
  return requested;
}

std::string EncodePageToken(absl::string_view scope,
                            absl::string_view last_key) {
  return absl::WebSafeBase64Escape(absl::StrCat(scope, "\n", last_key));
}

absl::StatusOr<std::string> DecodePageToken(absl::string_view scope,
                                            absl::string_view token) {
  if (token.empty()) return std::string();
  std::string decoded;
  std::string expected_prefix = absl::StrCat(scope, "\n");
  if (!absl::WebSafeBase64Unescape(token, &decoded) ||
      decoded.compare(0, expected_prefix.size(), expected_prefix) != 0 ||
      decoded.size() == expected_prefix.size()) {
    return absl::InvalidArgumentError(
        "page_token is not one this list returned; pass next_page_token "
        "from the previous response unchanged, or leave it empty");
  }
  return decoded.substr(expected_prefix.size());
}

}  // namespace warden::validation
