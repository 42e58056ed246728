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
    std::string line = absl::StrFormat(
        "{\"time\":\"%s.%06dZ\",\"level\":\"%s\",\"logger\":\"%s\","
        "\"msg\":\"%s\"}\n",
        stamp, static_cast<int>(micros % 1000000),
        spdlog::level::to_string_view(msg.level).data(),
        JsonEscape(absl::string_view(msg.logger_name.data(),
                                    msg.logger_name.size())),
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
    logger.set_formatter(std::make_unique<spdlog::pattern_formatter>(
        "%Y-%m-%dT%H:%M:%S.%fZ %^%-5l%$ [%n] %v",
        spdlog::pattern_time_type::utc));
  }
}

}  // namespace

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
