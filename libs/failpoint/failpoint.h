#ifndef WARDEN_LIBS_FAILPOINT_FAILPOINT_H_
#define WARDEN_LIBS_FAILPOINT_FAILPOINT_H_

// Named fault-injection points for crash and fault tests. Code that can
// fail in interesting ways calls Evaluate("<point>") at that spot; tests arm
// a point with an action, in-process with Configure() or for a real binary
// with the WARDEN_FAILPOINTS environment variable, which TokenService reads
// once at start:
//
//   WARDEN_FAILPOINTS="store.before_log=error,store.after_commit=crash@20"
//
// Each entry is <point>=<action>[@<n>]: the action fires from the n-th time
// the point is reached on (the first time when @<n> is absent).
//   crash  the process kills itself with SIGKILL on the spot: nothing is
//          flushed, no destructor runs, exactly like kill -9.
//   error  the operation at the point fails with the status the caller
//          documents for it (for the store: UNAVAILABLE, the write failed).
//   off    disarms the point.
//
// Unarmed (always, in production) a point costs one relaxed atomic load.
// Only the points in KnownPoints() can be armed, so a typo in a test fails
// loudly instead of testing nothing.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace warden::failpoint {

// The points compiled into the binaries, with what each one means.
//
// store.before_log      a group of writes is built but not yet handed to
//                       RocksDB (nothing reached the write-ahead log).
// store.after_commit    the group is durable, no writer has been told and
//                       no follower has seen it.
// store.before_publish  the group is durable and the writers have their
//                       revisions (their replies go out), but the change
//                       was not published to the change stream. "crash"
//                       waits briefly for the replies to leave, then kills.
struct PointInfo {
  std::string_view name;
  // Whether "error" makes sense at this point.
  bool can_fail;
};
const std::vector<PointInfo>& KnownPoints();

enum class Action { kNone, kCrash, kError };

// Arms the points in `spec` (the syntax above; an empty spec arms nothing)
// after disarming every point. INVALID_ARGUMENT, and nothing armed, for an
// unknown point or action, a malformed entry, or "error" at a point that
// cannot fail. Thread-safe; meant to be called before the armed code runs.
absl::Status Configure(std::string_view spec);

// Configure(getenv("WARDEN_FAILPOINTS")) when the variable is set; OK and
// nothing armed otherwise. Returns the spec it armed in `armed`.
absl::Status ConfigureFromEnvironment(std::string* armed);

// Disarms every point. Thread-safe.
void DisarmAll();

// What the code at `point` must do now: kNone unless the point is armed and
// its countdown has run out. Counts the hit. kCrash is returned only to
// points that must do something first (see Crash); other callers use Hit.
// Thread-safe.
Action Evaluate(std::string_view point);

// Evaluate, with kCrash carried out on the spot. Returns OK, or for kError
// UNAVAILABLE "failpoint <point>: injected failure".
absl::Status Hit(std::string_view point);

// The status an armed "error" point makes its caller return.
absl::Status InjectedError(std::string_view point);

// Kills the process with SIGKILL. Never returns.
[[noreturn]] void Crash(std::string_view point);

// How often `point` was reached while armed; for tests.
int64_t HitsForTest(std::string_view point);

}  // namespace warden::failpoint

#endif  // WARDEN_LIBS_FAILPOINT_FAILPOINT_H_
