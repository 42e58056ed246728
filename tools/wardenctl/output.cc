#include "tools/wardenctl/output.h"

#include <algorithm>
#include <cctype>
#include <iostream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"

namespace warden::wardenctl {

void Table::Print() const {
  if (rows_.empty()) {
    std::cout << "(none)\n";
    return;
  }
  std::vector<size_t> widths(headers_.size(), 0);
  for (size_t i = 0; i < headers_.size(); ++i) {
    widths[i] = headers_[i].size();
    for (const auto& row : rows_)
      widths[i] = std::max(widths[i], row[i].size());
  }
  auto print_row = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      // No padding after the last column: lines carry no trailing blanks.
      if (i + 1 < row.size())
        line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    std::cout << line << "\n";
  };
  std::vector<std::string> upper;
  for (const auto& header : headers_) {
    upper.push_back(absl::AsciiStrToUpper(header));
  }
  print_row(upper);
  for (const auto& row : rows_) print_row(row);
}

void PrintFields(
    const std::vector<std::pair<std::string, std::string>>& fields) {
  size_t width = 0;
  for (const auto& [name, value] : fields) width = std::max(width, name.size());
  for (const auto& [name, value] : fields) {
    std::cout << name << ":" << std::string(width - name.size() + 1, ' ')
              << (value.empty() ? "-" : value) << "\n";
  }
}

void PrintJson(const google::protobuf::Message& message, bool compact) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = !compact;
  std::string json;
  auto status =
      google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) {
    // Only reachable with a descriptor mismatch; say so rather than print
    // half a document.
    std::cerr << "error: cannot print the response as JSON: "
              << status.ToString() << "\n";
    return;
  }
  // The library ends indented output with a newline, compact without.
  if (json.empty() || json.back() != '\n') json += '\n';
  std::cout << json;
}

std::string FormatTime(const google::protobuf::Timestamp& time, bool has_time) {
  if (!has_time || (time.seconds() == 0 && time.nanos() == 0)) return "-";
  google::protobuf::Timestamp seconds_only;
  seconds_only.set_seconds(time.seconds());
  return google::protobuf::util::TimeUtil::ToString(seconds_only);
}

std::string EnumLabel(const google::protobuf::EnumDescriptor* type, int value) {
  if (value == 0) return "-";
  const auto* enum_value = type->FindValueByNumber(value);
  if (enum_value == nullptr) return std::to_string(value);

  // Every value starts with the type's name in upper snake case and "_".
  std::string prefix;
  for (char c : type->name()) {
    if (std::isupper(static_cast<unsigned char>(c)) && !prefix.empty()) {
      prefix += '_';
    }
    prefix += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  prefix += '_';
  std::string name = enum_value->name();
  if (name.rfind(prefix, 0) == 0) name = name.substr(prefix.size());
  return absl::AsciiStrToLower(name);
}

std::string JoinOrDash(const std::vector<std::string>& values) {
  return values.empty() ? "-" : absl::StrJoin(values, ", ");
}

void Notice(const std::string& text) { std::cerr << text << "\n"; }

}  // namespace warden::wardenctl
