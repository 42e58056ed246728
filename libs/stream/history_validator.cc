#include "libs/stream/history_validator.h"

#include "absl/strings/str_cat.h"

namespace warden::stream {

WatchHistoryValidator::WatchHistoryValidator(int64_t after_revision)
    : position_(after_revision) {}

absl::Status WatchHistoryValidator::Add(
    const changes::v1::WatchResponse& response) {
  const int64_t message = messages_++;
  auto broken = [&](const auto&... parts) {
    return absl::FailedPreconditionError(
        absl::StrCat("watch message ", message, ": ", parts...));
  };

  if (response.committed_revision() < committed_) {
    return broken("committed_revision went back from ", committed_, " to ",
                  response.committed_revision());
  }
  committed_ = response.committed_revision();

  if (response.changes().empty()) {
    // A progress message claims the follower is current up to it.
    if (response.committed_revision() > position_) {
      return broken("progress at committed_revision ",
                    response.committed_revision(),
                    " but changes were received only up to ", position_);
    }
    ++progress_messages_;
    return absl::OkStatus();
  }

  for (const model::v1::ChangeRecord& change : response.changes()) {
    if (change.revision() <= position_) {
      return broken("revision ", change.revision(),
                    " repeated or out of order after ", position_,
                    " (duplicate or split change record)");
    }
    if (change.revision() != position_ + 1) {
      return broken("gap: revision ", change.revision(), " follows ",
                    position_);
    }
    if (change.changes().empty() || change.action().empty() ||
        !change.has_committed_at()) {
      return broken("change record at revision ", change.revision(),
                    " is incomplete (split or truncated)");
    }
    position_ = change.revision();
    ++changes_;
  }
  if (response.committed_revision() < position_) {
    return broken("committed_revision ", response.committed_revision(),
                  " is below the last change sent, ", position_);
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> ValidateWatchHistory(
    int64_t after_revision,
    const std::vector<changes::v1::WatchResponse>& responses) {
  WatchHistoryValidator validator(after_revision);
  for (const changes::v1::WatchResponse& response : responses) {
    absl::Status status = validator.Add(response);
    if (!status.ok()) return status;
  }
  return validator.position();
}

}  // namespace warden::stream
