#include "tests/support/prometheus_text.h"

#include <regex>

#include "absl/strings/str_split.h"

namespace warden::testing {

bool ParsePrometheusText(const std::string& body,
                         std::map<std::string, double>* samples,
                         std::string* bad_line) {
  static const std::regex* const kSample = new std::regex(
      // name, optional {label="value",...}, one space, a number.
      R"(^[a-zA-Z_:][a-zA-Z0-9_:]*)"
      R"((\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? [-+0-9.eEInfa]+$)");
  for (absl::string_view line : absl::StrSplit(body, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    std::string text(line);
    if (!std::regex_match(text, *kSample)) {
      *bad_line = text;
      return false;
    }
    size_t space = text.rfind(' ');
    (*samples)[text.substr(0, space)] = std::stod(text.substr(space + 1));
  }
  return true;
}

}  // namespace warden::testing
