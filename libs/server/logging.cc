#include "libs/server/logging.h"

#include <chrono>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "spdlog/pattern_formatter.h"
#include "spdlog/sinks/stdout_sinks.h"

namespace warden::server {
namespace {

thread_local std::string current_request_id;

// "%*" in the text pattern: "request_id=ID " inside a request, else nothing.
class RequestIdFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg&, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    if (current_request_id.empty()) return;
    static constexpr absl::string_view kKey = "request_id=";
    dest.append(kKey.data(), kKey.data() + kKey.size());
    dest.append(current_request_id.data(),
                current_request_id.data() + current_request_id.size());
    dest.push_back(' ');
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<RequestIdFlag>();
  }
};

// Writes each record as one JSON object per line.
class JsonFormatter : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg,
              spdlog::memory_buf_t& dest) override {
    auto since_epoch = msg.time.time_since_epoch();
    auto micros =
        std::chrono::duration_cast<std::chrono::microseconds>(since_epoch)
            .count();
    std::time_t seconds = static_cast<std::time_t>(micros / 1000000);
    std::tm utc;
    gmtime_r(&seconds, &utc);
    char stamp[32];
    std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &utc);
    // The request id is checked to be plain ASCII (call_observer.cc) but
    // escaped anyway: a log line must stay one JSON object.
    std::string request_id =
        current_request_id.empty()
            ? ""
            : absl::StrCat("\"request_id\":\"",
                           JsonEscape(current_request_id), "\",");
    std::string line = absl::StrFormat(
        "{\"time\":\"%s.%06dZ\",\"level\":\"%s\",\"logger\":\"%s\","
        "%s\"msg\":\"%s\"}\n",
        stamp, static_cast<int>(micros % 1000000),
        spdlog::level::to_string_view(msg.level).data(),
        JsonEscape(absl::string_view(msg.logger_name.data(),
                                    msg.logger_name.size())),
        request_id,
        JsonEscape(absl::string_view(msg.payload.data(), msg.payload.size())));
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

struct LogSettings {
  spdlog::level::level_enum level = spdlog::level::info;
  bool json = false;
};

absl::Mutex settings_mutex;
LogSettings& Settings() ABSL_EXCLUSIVE_LOCKS_REQUIRED(settings_mutex) {
  static LogSettings settings;
  return settings;
}

void Apply(spdlog::logger& logger, const LogSettings& settings) {
  logger.set_level(settings.level);
  if (settings.json) {
    logger.set_formatter(std::make_unique<JsonFormatter>());
  } else {
    auto formatter = std::make_unique<spdlog::pattern_formatter>(
        spdlog::pattern_time_type::utc);
    formatter->add_flag<RequestIdFlag>('*').set_pattern(
        "%Y-%m-%dT%H:%M:%S.%fZ %^%-5l%$ [%n] %*%v");
    logger.set_formatter(std::move(formatter));
  }
}

}  // namespace

ScopedRequestId::ScopedRequestId(absl::string_view request_id)
    : previous_(std::move(current_request_id)) {
  current_request_id.assign(request_id.data(), request_id.size());
}

ScopedRequestId::~ScopedRequestId() {
  current_request_id = std::move(previous_);
}

const std::string& CurrentRequestId() { return current_request_id; }

std::string JsonEscape(absl::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += absl::StrFormat("\\u%04x", static_cast<int>(c));
        } else {
          out += c;
        }
    }
  }
  return out;
}

absl::Status ConfigureLogging(absl::string_view level, absl::string_view format) {
  LogSettings settings;
  if (level == "trace") {
    settings.level = spdlog::level::trace;
  } else if (level == "debug") {
    settings.level = spdlog::level::debug;
  } else if (level == "info") {
    settings.level = spdlog::level::info;
  } else if (level == "warn") {
    settings.level = spdlog::level::warn;
  } else if (level == "error") {
    settings.level = spdlog::level::err;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "log level '", level, "' is not one of trace, debug, info, warn, "
        "error"));
  }
  if (format == "json") {
    settings.json = true;
  } else if (format != "text") {
    return absl::InvalidArgumentError(
        absl::StrCat("log format '", format, "' is not one of text, json"));
  }

  absl::MutexLock lock(&settings_mutex);
  Settings() = settings;
  spdlog::apply_all([&](std::shared_ptr<spdlog::logger> logger) {
    Apply(*logger, settings);
  });
  return absl::OkStatus();
}

std::shared_ptr<spdlog::logger> Logger(const std::string& component) {
  absl::MutexLock lock(&settings_mutex);
  if (auto existing = spdlog::get(component)) return existing;
  auto logger = std::make_shared<spdlog::logger>(
      component, std::make_shared<spdlog::sinks::stderr_sink_mt>());
  Apply(*logger, Settings());
  logger->flush_on(spdlog::level::info);
  spdlog::register_logger(logger);
  return logger;
}

}  // namespace warden::server
