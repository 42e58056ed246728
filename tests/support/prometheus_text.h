#ifndef WARDEN_TESTS_SUPPORT_PROMETHEUS_TEXT_H_
#define WARDEN_TESTS_SUPPORT_PROMETHEUS_TEXT_H_

#include <map>
#include <string>

namespace warden::testing {

// Parses a /metrics body in the Prometheus text format into samples keyed
// by the series as written (`name{label="value",...}`). Checks every sample
// line against the format's grammar; returns false and sets `bad_line` at
// the first line that does not match.
bool ParsePrometheusText(const std::string& body,
                         std::map<std::string, double>* samples,
                         std::string* bad_line);

}  // namespace warden::testing

#endif  // WARDEN_TESTS_SUPPORT_PROMETHEUS_TEXT_H_
