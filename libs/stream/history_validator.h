#ifndef WARDEN_LIBS_STREAM_HISTORY_VALIDATOR_H_
#define WARDEN_LIBS_STREAM_HISTORY_VALIDATOR_H_

// Checks what a follower received from Watch against the stream's promises:
// every revision after the start exactly once, in order, with no gaps; each
// change record whole within one message; progress messages only when the
// follower is current. Used by tests and crash tests, and usable by a
// follower to refuse a broken stream instead of applying it.

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "warden/changes/v1/change_stream_service.pb.h"

namespace warden::stream {

// Checks one Watch stream message by message. Not thread-safe.
class WatchHistoryValidator {
 public:
  // `after_revision` is the revision Watch was called with.
  explicit WatchHistoryValidator(int64_t after_revision);

  // Checks the next message. FAILED_PRECONDITION describing the first
  // broken promise; after an error the validator's state is unspecified.
  absl::Status Add(const changes::v1::WatchResponse& response);

  // The last revision received (the start revision before any change).
  int64_t position() const { return position_; }
  // Change records and progress messages seen.
  int64_t changes() const { return changes_; }
  int64_t progress_messages() const { return progress_messages_; }

 private:
  int64_t position_;
  int64_t committed_ = 0;
  int64_t changes_ = 0;
  int64_t progress_messages_ = 0;
  int64_t messages_ = 0;
};

// Checks a whole recorded stream; returns the last revision received.
absl::StatusOr<int64_t> ValidateWatchHistory(
    int64_t after_revision,
    const std::vector<changes::v1::WatchResponse>& responses);

}  // namespace warden::stream

#endif  // WARDEN_LIBS_STREAM_HISTORY_VALIDATOR_H_
