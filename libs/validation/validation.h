#ifndef WARDEN_LIBS_VALIDATION_VALIDATION_H_
#define WARDEN_LIBS_VALIDATION_VALIDATION_H_

// Checks shared by every API's request validation. Each returns OK or
// INVALID_ARGUMENT with a message that names the field and says what a valid
// value looks like. Messages never echo the rejected value, which may be a
// secret pasted into the wrong field.

#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace warden::validation {

// A display name: 1 to `max_chars` Unicode characters of valid UTF-8, no
// control characters, no leading or trailing white space.
absl::Status ValidateName(absl::string_view field, absl::string_view value,
                          int max_chars);

// An e-mail address: up to 254 characters, one '@' with text on both sides,
// no white space or control characters.
absl::Status ValidateEmail(absl::string_view field, absl::string_view value);

// An idempotency key: empty, or 1 to 64 characters of [A-Za-z0-9_-].
absl::Status ValidateRequestId(absl::string_view field, absl::string_view value);

// The page size to use: `requested` if in [1, max], `default_size` if 0,
// INVALID_ARGUMENT otherwise.
absl::StatusOr<int> PageSize(int requested, int default_size, int max);

// Opaque page tokens: the last key of the previous page, so the next page
// starts after it. DecodePageToken gives "" for an empty token and
// INVALID_ARGUMENT for one this server did not make for `scope` (a token of
// one list cannot page another).
std::string EncodePageToken(absl::string_view scope, absl::string_view last_key);
absl::StatusOr<std::string> DecodePageToken(absl::string_view scope,
                                            absl::string_view token);

}  // namespace warden::validation

#endif  // WARDEN_LIBS_VALIDATION_VALIDATION_H_
