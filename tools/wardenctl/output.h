// How wardenctl prints: aligned tables and "field: value" blocks for people,
// protobuf JSON for scripts. Everything goes to stdout except notices, which
// go to stderr so that `--json` output stays parseable.
#ifndef WARDEN_TOOLS_WARDENCTL_OUTPUT_H_
#define WARDEN_TOOLS_WARDENCTL_OUTPUT_H_

#include <string>
#include <utility>
#include <vector>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"

namespace warden::wardenctl {

// Columns padded to their widest cell, two spaces apart, a header row in
// capitals. An empty table prints "(none)".
class Table {
 public:
  explicit Table(std::vector<std::string> headers)
      : headers_(std::move(headers)) {}

  // REQUIRES: row.size() == number of headers.
  void AddRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }

  void Print() const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// Prints "name: value" lines with the values aligned; empty values print
// as "-".
void PrintFields(
    const std::vector<std::pair<std::string, std::string>>& fields);

// Prints `message` as protobuf JSON (lowerCamelCase names, defaults
// omitted, as grpcurl prints it), indented, on stdout. `compact` prints it
// on one line (for streams: one JSON document per line).
void PrintJson(const google::protobuf::Message& message, bool compact = false);

// RFC 3339 in UTC, or "-" when unset.
std::string FormatTime(const google::protobuf::Timestamp& time,
                       bool has_time = true);

// An enum value without its type prefix, lowercase: TOKEN_STATE_ACTIVE ->
// "active"; "-" for the zero value.
std::string EnumLabel(const google::protobuf::EnumDescriptor* type, int value);

// Strings joined with ", ", or "-" when empty.
std::string JoinOrDash(const std::vector<std::string>& values);

// Prints a notice (warnings, hints) to stderr.
void Notice(const std::string& text);

}  // namespace warden::wardenctl

#endif  // WARDEN_TOOLS_WARDENCTL_OUTPUT_H_
