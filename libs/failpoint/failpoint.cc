#include "libs/failpoint/failpoint.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"

namespace warden::failpoint {
namespace {

absl::string_view ToAbsl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

struct Armed {
  Action action = Action::kNone;
  // The hit (1-based) from which the action fires.
  int64_t fire_from = 1;
  int64_t hits = 0;
};

struct Registry {
  // Read without the mutex on every Evaluate: zero means nothing is armed.
  std::atomic<int> armed_points{0};
  absl::Mutex mutex;
  absl::flat_hash_map<std::string, Armed> points ABSL_GUARDED_BY(mutex);
};

Registry& Points() {
  static Registry* registry = new Registry();
  return *registry;
}

const PointInfo* Find(absl::string_view name) {
  for (const PointInfo& point : KnownPoints()) {
    if (ToAbsl(point.name) == name) return &point;
  }
  return nullptr;
}

std::string KnownNames() {
  std::string names;
  for (const PointInfo& point : KnownPoints()) {
    absl::StrAppend(&names, names.empty() ? "" : ", ", ToAbsl(point.name));
  }
  return names;
}

}  // namespace

const std::vector<PointInfo>& KnownPoints() {
  static const auto* points = new std::vector<PointInfo>{
      {"store.before_log", true},
      {"store.after_commit", true},
      {"store.before_publish", false},
  };
  return *points;
}

absl::Status Configure(std::string_view spec) {
  absl::flat_hash_map<std::string, Armed> parsed;
  for (absl::string_view entry :
       absl::StrSplit(ToAbsl(spec), ',', absl::SkipWhitespace())) {
    entry = absl::StripAsciiWhitespace(entry);
    std::pair<absl::string_view, absl::string_view> name_action =
        absl::StrSplit(entry, absl::MaxSplits('=', 1));
    absl::string_view name = name_action.first;
    absl::string_view action = name_action.second;
    const PointInfo* point = Find(name);
    if (point == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("failpoint \"", name, "\" does not exist; known: ",
                       KnownNames()));
    }
    Armed armed;
    std::pair<absl::string_view, absl::string_view> action_count =
        absl::StrSplit(action, absl::MaxSplits('@', 1));
    if (!action_count.second.empty() &&
        (!absl::SimpleAtoi(action_count.second, &armed.fire_from) ||
         armed.fire_from < 1)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "failpoint entry \"", entry,
          "\": the count after @ must be a positive integer"));
    }
    if (action_count.first == "crash") {
      armed.action = Action::kCrash;
    } else if (action_count.first == "error") {
      if (!point->can_fail) {
        return absl::InvalidArgumentError(
            absl::StrCat("failpoint ", name, " cannot fail, only crash"));
      }
      armed.action = Action::kError;
    } else if (action_count.first == "off") {
      continue;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "failpoint entry \"", entry,
          "\": expected <point>=crash|error|off[@<n>]"));
    }
    parsed[std::string(name)] = armed;
  }

  Registry& registry = Points();
  absl::MutexLock lock(&registry.mutex);
  registry.points = std::move(parsed);
  registry.armed_points.store(static_cast<int>(registry.points.size()),
                              std::memory_order_release);
  return absl::OkStatus();
}

absl::Status ConfigureFromEnvironment(std::string* armed) {
  armed->clear();
  const char* spec = std::getenv("WARDEN_FAILPOINTS");
  if (spec == nullptr) return absl::OkStatus();
  absl::Status configured = Configure(spec);
  if (configured.ok()) *armed = spec;
  return configured;
}

void DisarmAll() {
  absl::Status disarmed = Configure("");
  (void)disarmed;  // an empty spec always parses
}

Action Evaluate(std::string_view point) {
  Registry& registry = Points();
  if (registry.armed_points.load(std::memory_order_relaxed) == 0) {
    return Action::kNone;
  }
  absl::MutexLock lock(&registry.mutex);
  auto it = registry.points.find(ToAbsl(point));
  if (it == registry.points.end()) return Action::kNone;
  Armed& armed = it->second;
  ++armed.hits;
  return armed.hits >= armed.fire_from ? armed.action : Action::kNone;
}

absl::Status InjectedError(std::string_view point) {
  return absl::UnavailableError(
      absl::StrCat("failpoint ", ToAbsl(point), ": injected failure"));
}

absl::Status Hit(std::string_view point) {
  switch (Evaluate(point)) {
    case Action::kNone:
      return absl::OkStatus();
    case Action::kCrash:
      Crash(point);
    case Action::kError:
      return InjectedError(point);
  }
  return absl::OkStatus();
}

void Crash(std::string_view point) {
  // write(2), not a logger: nothing buffered may be flushed on the way out.
  std::string line =
      absl::StrCat("failpoint ", ToAbsl(point), ": crashing (SIGKILL)\n");
  ssize_t written = ::write(STDERR_FILENO, line.data(), line.size());
  (void)written;
  ::kill(::getpid(), SIGKILL);
  ::_exit(137);  // not reached
}

int64_t HitsForTest(std::string_view point) {
  Registry& registry = Points();
  absl::MutexLock lock(&registry.mutex);
  auto it = registry.points.find(ToAbsl(point));
  return it == registry.points.end() ? 0 : it->second.hits;
}

}  // namespace warden::failpoint
