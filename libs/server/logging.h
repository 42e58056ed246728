#ifndef WARDEN_LIBS_SERVER_LOGGING_H_
#define WARDEN_LIBS_SERVER_LOGGING_H_

// Process-wide logging setup shared by both services: one named spdlog
// logger per component, human-readable or JSON lines on stderr. A line
// written while a thread handles a request carries that request's id
// ("request_id=..." in text, a "request_id" field in JSON).

#include <memory>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "spdlog/spdlog.h"

namespace warden::server {

// Sets the level ("trace", "debug", "info", "warn", "error") and format
// ("text" or "json") of every logger, present and future. INVALID_ARGUMENT
// names the setting and the accepted values.
absl::Status ConfigureLogging(absl::string_view level, absl::string_view format);

// The logger of one component ("store", "token_service", "access", ...),
// created on first use with the configured level and format. Thread-safe.
std::shared_ptr<spdlog::logger> Logger(const std::string& component);

// Escapes a string for use inside a JSON string literal.
std::string JsonEscape(absl::string_view s);

// Makes every line this thread logs carry `request_id` until the scope
// ends, then restores the previous id ("" for none). Set around a request's
// handler (libs/server/call_observer.cc does). Loggers format on the
// calling thread, so the id is the one of the request being handled there.
// Not movable; create and destroy on the same thread.
class ScopedRequestId {
 public:
  explicit ScopedRequestId(absl::string_view request_id);
  ~ScopedRequestId();
  ScopedRequestId(const ScopedRequestId&) = delete;
  ScopedRequestId& operator=(const ScopedRequestId&) = delete;

 private:
  std::string previous_;
};

// The request id this thread is handling, "" when none.
const std::string& CurrentRequestId();

}  // namespace warden::server

#endif  // WARDEN_LIBS_SERVER_LOGGING_H_
