// Fuzzes what a follower decodes from the change stream: arbitrary bytes as
// a warden.changes.v1.WatchResponse sequence, a model.v1.ChangeRecord and a
// model.v1.Record, run through the stream's history validator
// (libs/stream/history_validator.h) and the record digest the sidecar
// compares with TokenService (libs/index RecordsDigest). Nothing may crash,
// and the validator must accept exactly the histories its contract allows:
// checked here by an independent model of the promises.
//
// Input layout: the first byte picks the mode, the rest is the message.
// Mode 0 (and any unknown mode): WatchResponses, as length-prefixed
// messages (two length bytes each) following one byte of start revision.
// Mode 1: one ChangeRecord, wrapped as the stream would send it.
// Mode 2: one Record.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "google/protobuf/stubs/logging.h"
#include "libs/index/replica_index.h"
#include "libs/stream/history_validator.h"
#include "warden/changes/v1/change_stream_service.pb.h"
#include "warden/model/v1/model.pb.h"

namespace {

using warden::changes::v1::WatchResponse;
using warden::model::v1::ChangeRecord;
using warden::model::v1::Record;

// Inputs with invalid UTF-8 in string fields are refused by the parser,
// which also logs each one; that is expected here and only slows the run.
[[maybe_unused]] const bool kQuietProtobuf = [] {
  google::protobuf::SetLogHandler(nullptr);
  return true;
}();

void Fail(const char* what) {
  std::fprintf(stderr, "change_record_fuzz: %s\n", what);
  std::abort();
}

// The stream's promises, stated directly (see change_stream_service.proto):
// revisions after the start once each, in order, without gaps; change
// records whole; committed_revision never going back and never below what
// was sent; progress messages only when the follower is current.
bool HistoryKeepsPromises(int64_t after,
                          const std::vector<WatchResponse>& responses) {
  int64_t position = after;
  int64_t committed = 0;
  for (const WatchResponse& response : responses) {
    if (response.committed_revision() < committed) return false;
    committed = response.committed_revision();
    if (response.changes_size() == 0) {
      if (committed > position) return false;
      continue;
    }
    for (const ChangeRecord& change : response.changes()) {
      if (change.revision() <= position) return false;
      if (change.revision() != position + 1) return false;
      if (change.changes_size() == 0 || change.action().empty() ||
          !change.has_committed_at()) {
        return false;
      }
      position = change.revision();
    }
    if (committed < position) return false;
  }
  return true;
}

void CheckHistory(int64_t after, const std::vector<WatchResponse>& history) {
  absl::StatusOr<int64_t> last =
      warden::stream::ValidateWatchHistory(after, history);
  if (!last.ok() &&
      last.status().code() != absl::StatusCode::kFailedPrecondition) {
    Fail("a broken history gave a code other than FAILED_PRECONDITION");
  }
  if (last.ok() != HistoryKeepsPromises(after, history)) {
    std::fprintf(stderr, "validator: %s\n", last.status().ToString().c_str());
    Fail("the validator disagrees with the stream's promises");
  }
  if (!last.ok()) return;

  int64_t changes = 0;
  for (const WatchResponse& response : history) {
    changes += response.changes_size();
  }
  if (*last != after + changes) Fail("the validator lost count");
}

void FuzzStream(const uint8_t* data, size_t size) {
  if (size == 0) return;
  const int64_t after = data[0];
  std::vector<WatchResponse> history;
  for (size_t i = 1; i < size;) {
    // Two bytes of length, big-endian, then the message.
    size_t length = data[i++];
    if (i < size) length = (length << 8) | data[i++];
    if (length > size - i) length = size - i;
    WatchResponse response;
    if (!response.ParseFromArray(data + i, static_cast<int>(length))) return;
    history.push_back(std::move(response));
    i += length;
  }
  CheckHistory(after, history);
}

void FuzzChangeRecord(const uint8_t* data, size_t size) {
  ChangeRecord change;
  if (!change.ParseFromArray(data, static_cast<int>(size))) return;

  WatchResponse response;
  *response.add_changes() = change;
  response.set_committed_revision(change.revision());
  // Seen from the revision before it, as a follower resuming there would.
  int64_t after = change.revision() == INT64_MIN ? 0 : change.revision() - 1;
  CheckHistory(after, {response});
  // The same record again, from where the first one left off, is a repeat.
  CheckHistory(change.revision(), {response});
}

void FuzzRecord(const uint8_t* data, size_t size) {
  Record record;
  if (!record.ParseFromArray(data, static_cast<int>(size))) return;

  // The digest the sidecar and TokenService compare must not depend on how
  // the bytes arrived: a reserialized record digests the same.
  std::string bytes;
  if (!record.SerializeToString(&bytes)) return;
  Record again;
  if (!again.ParseFromString(bytes)) Fail("a record does not reparse");
  if (warden::index::RecordsDigest({record}) !=
      warden::index::RecordsDigest({again})) {
    Fail("a reserialized record digests differently");
  }
  if (warden::index::RecordsDigest({record, again}) ==
      warden::index::RecordsDigest({record})) {
    Fail("a repeated record does not change the digest");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  switch (data[0]) {
    case 1: FuzzChangeRecord(data + 1, size - 1); break;
    case 2: FuzzRecord(data + 1, size - 1); break;
    default: FuzzStream(data + 1, size - 1); break;
  }
  return 0;
}
