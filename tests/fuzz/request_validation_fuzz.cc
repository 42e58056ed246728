// Fuzzes the request checks every handler runs before it touches the store:
// each function of libs/validation, ids::ValidateId for every record type,
// the inactivity-window check of libs/tokens/token_rules.h, and the
// permission catalog parser. Nothing may crash; every rejection must be
// INVALID_ARGUMENT; and each function's documented contract is checked
// against what it accepted, independently of its implementation.
//
// The gRPC handlers' own request checks live inside the handlers (they are
// not exposed as functions) and call exactly these helpers, so they are
// covered through them; driving the handlers themselves needs a store and
// is left to the integration tests.
//
// Input layout (FuzzedDataProvider): a selector byte picks the function,
// then its arguments are taken from the rest.

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/string_view.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "libs/catalog/catalog.h"
#include "libs/ids/ids.h"
#include "libs/tokens/token_rules.h"
#include "libs/validation/validation.h"

namespace {

namespace validation = warden::validation;
namespace ids = warden::ids;

void Fail(const char* what) {
  std::fprintf(stderr, "request_validation_fuzz: %s\n", what);
  std::abort();
}

void RequireOkOrInvalid(const absl::Status& status, const char* function) {
  if (!status.ok() && status.code() != absl::StatusCode::kInvalidArgument) {
    std::fprintf(stderr, "%s: %s\n", function, status.ToString().c_str());
    Fail("a rejection that is not INVALID_ARGUMENT");
  }
}

bool IsControl(unsigned char c) { return c < 0x20 || c == 0x7F; }

// Bytes that never occur in UTF-8: overlong lead bytes and beyond U+10FFFF.
bool NeverInUtf8(unsigned char c) {
  return c == 0xC0 || c == 0xC1 || c >= 0xF5;
}

void CheckName(FuzzedDataProvider& input) {
  int max_chars = input.ConsumeIntegralInRange<int>(1, 300);
  std::string value = input.ConsumeRemainingBytesAsString();
  absl::Status status = validation::ValidateName("name", value, max_chars);
  RequireOkOrInvalid(status, "ValidateName");
  if (!status.ok()) return;

  if (value.empty()) Fail("accepted an empty name");
  if (value.front() == ' ' || value.back() == ' ' || value.front() == '\t' ||
      value.back() == '\t') {
    Fail("accepted a name with leading or trailing white space");
  }
  int code_points = 0;
  for (char c : value) {
    auto byte = static_cast<unsigned char>(c);
    if (IsControl(byte)) Fail("accepted a control character in a name");
    if (NeverInUtf8(byte)) Fail("accepted a byte that is never UTF-8");
    if ((byte & 0xC0) != 0x80) ++code_points;
  }
  if (code_points > max_chars) Fail("accepted a name over the limit");
}

void CheckEmail(FuzzedDataProvider& input) {
  std::string value = input.ConsumeRemainingBytesAsString();
  absl::Status status = validation::ValidateEmail("email", value);
  RequireOkOrInvalid(status, "ValidateEmail");
  if (!status.ok()) return;

  if (value.size() > 254) Fail("accepted an e-mail over 254 characters");
  size_t at = value.find('@');
  if (at == std::string::npos || at == 0 || at + 1 == value.size() ||
      value.find('@', at + 1) != std::string::npos) {
    Fail("accepted an e-mail without exactly one inner '@'");
  }
  for (char c : value) {
    auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == 0x7F) Fail("accepted space or control");
    if (NeverInUtf8(byte)) Fail("accepted a byte that is never UTF-8");
  }
}

void CheckRequestId(FuzzedDataProvider& input) {
  std::string value = input.ConsumeRemainingBytesAsString();
  bool expected = value.size() <= 64;
  for (char c : value) {
    bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                   (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!allowed) expected = false;
  }
  absl::Status status = validation::ValidateRequestId("request_id", value);
  RequireOkOrInvalid(status, "ValidateRequestId");
  if (status.ok() != expected) Fail("ValidateRequestId disagrees with spec");
}

void CheckPageSize(FuzzedDataProvider& input) {
  int requested = input.ConsumeIntegral<int>();
  int max = input.ConsumeIntegralInRange<int>(1, 10000);
  int default_size = input.ConsumeIntegralInRange<int>(1, max);
  absl::StatusOr<int> size =
      validation::PageSize(requested, default_size, max);
  RequireOkOrInvalid(size.status(), "PageSize");
  if (requested == 0) {
    if (!size.ok() || *size != default_size) Fail("0 is not the default");
  } else if (requested < 0 || requested > max) {
    if (size.ok()) Fail("accepted a page size out of range");
  } else if (!size.ok() || *size != requested) {
    Fail("changed a page size in range");
  }
}

void CheckPageToken(FuzzedDataProvider& input) {
  std::string scope = input.ConsumeRandomLengthString(32);
  std::string other_scope = input.ConsumeRandomLengthString(32);
  std::string key = input.ConsumeRandomLengthString(128);
  std::string token = input.ConsumeRemainingBytesAsString();

  // Arbitrary tokens: rejected or decoded, never anything else.
  absl::StatusOr<std::string> decoded =
      validation::DecodePageToken(scope, token);
  RequireOkOrInvalid(decoded.status(), "DecodePageToken");
  if (decoded.ok() && token.empty() != decoded->empty()) {
    Fail("a non-empty token decoded to the first page or the reverse");
  }

  // A token this server made round-trips in its own list only.
  std::string made = validation::EncodePageToken(scope, key);
  absl::StatusOr<std::string> back = validation::DecodePageToken(scope, made);
  if (!key.empty() && (!back.ok() || *back != key)) {
    Fail("a page token did not round-trip");
  }
  if (scope != other_scope && scope.find('\n') == std::string::npos &&
      other_scope.find('\n') == std::string::npos &&
      validation::DecodePageToken(other_scope, made).ok()) {
    Fail("a page token of one list was accepted by another");
  }
}

void CheckId(FuzzedDataProvider& input) {
  static constexpr std::string_view kPrefixes[] = {
      ids::kOrganization, ids::kPermissionSet, ids::kUser,
      ids::kServiceUser,  ids::kToken,         ids::kGroup,
      ids::kSite,         ids::kItem,          ids::kGrant};
  std::string_view prefix = input.PickValueInArray(kPrefixes);
  std::string id = input.ConsumeRemainingBytesAsString();

  bool expected = id.size() == prefix.size() + 1 + 20 &&
                  id.compare(0, prefix.size(), prefix) == 0 &&
                  id[prefix.size()] == '_';
  for (size_t i = prefix.size() + 1; expected && i < id.size(); ++i) {
    char c = id[i];
    expected = (c >= 'a' && c <= 'z') || (c >= '2' && c <= '7');
  }
  absl::Status status = ids::ValidateId("some_id", id, prefix);
  RequireOkOrInvalid(status, "ValidateId");
  if (status.ok() != expected) Fail("ValidateId disagrees with the format");
  if (ids::IsValidId(id, prefix) != expected) {
    Fail("IsValidId disagrees with the format");
  }
  // The message may not repeat the id: it reads the same for any
  // malformed non-empty id. (Searching the message for the id would flag
  // an id that happens to spell part of the message.)
  if (!status.ok() && !id.empty() &&
      status.message() != ids::ValidateId("some_id", "?", prefix).message()) {
    Fail("the error depends on the rejected id");
  }
  if (!ids::IsValidId(ids::NewId(prefix), prefix)) {
    Fail("NewId made an id ValidateId rejects");
  }
}

void CheckInactivityDays(FuzzedDataProvider& input) {
  int days = input.ConsumeIntegral<int>();
  absl::Status status =
      warden::tokens::ValidateInactivityDays("inactivity_days", days);
  RequireOkOrInvalid(status, "ValidateInactivityDays");
  bool expected =
      days == 0 || days == 31 || days == 45 || days == 60 || days == 180;
  if (status.ok() != expected) Fail("inactivity window check is wrong");
}

void CheckCatalog(FuzzedDataProvider& input) {
  std::string json = input.ConsumeRemainingBytesAsString();
  absl::StatusOr<warden::model::v1::PermissionCatalog> catalog =
      warden::catalog::ParseCatalog(json);
  RequireOkOrInvalid(catalog.status(), "ParseCatalog");
  if (!catalog.ok()) return;

  // Every permission of an accepted catalog is found by name, once.
  warden::catalog::CatalogIndex index(*catalog);
  if (index.names().size() !=
      static_cast<size_t>(catalog->permissions_size())) {
    Fail("accepted a catalog with duplicate permission names");
  }
  for (const auto& permission : catalog->permissions()) {
    if (index.Find(permission.name()) == nullptr) {
      Fail("a permission of the catalog is not found by name");
    }
  }
  for (const char* required :
       {"platform.api_tokens", "platform.replication", "platform.users"}) {
    if (index.Find(required) == nullptr) {
      Fail("accepted a catalog without a required permission");
    }
  }

  // What was accepted, written back as JSON, is accepted again unchanged.
  std::string again;
  if (!google::protobuf::util::MessageToJsonString(*catalog, &again).ok()) {
    Fail("an accepted catalog cannot be written as JSON");
  }
  absl::StatusOr<warden::model::v1::PermissionCatalog> reparsed =
      warden::catalog::ParseCatalog(again);
  if (!reparsed.ok() ||
      !google::protobuf::util::MessageDifferencer::Equals(*catalog,
                                                          *reparsed)) {
    Fail("an accepted catalog does not survive a JSON round trip");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider input(data, size);
  switch (input.ConsumeIntegralInRange<int>(0, 7)) {
    case 0: CheckName(input); break;
    case 1: CheckEmail(input); break;
    case 2: CheckRequestId(input); break;
    case 3: CheckPageSize(input); break;
    case 4: CheckPageToken(input); break;
    case 5: CheckId(input); break;
    case 6: CheckInactivityDays(input); break;
    case 7: CheckCatalog(input); break;
  }
  return 0;
}
