// Fuzzes the sidecar's apply step (libs/index ReplicaIndex::Apply) with
// decoded change records: arbitrary records, operations and revisions, in
// batches as the change follower hands them over. Nothing may crash, and
// Apply must keep its contract: a batch that does not continue the current
// revision without a gap is refused with FAILED_PRECONDITION; a refused
// batch publishes nothing; an accepted one ends at the last revision it
// continued to; repeating an applied batch changes nothing; and the
// published view's digest is that of its records.
//
// Input layout: the first byte is the snapshot revision; then batches, each
// two bytes of length (big-endian) and that many bytes of a
// warden.changes.v1.WatchResponse whose changes are the batch.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include "absl/time/time.h"
#include "google/protobuf/stubs/logging.h"
#include "libs/catalog/catalog.h"
#include "libs/index/replica_index.h"
#include "warden/changes/v1/change_stream_service.pb.h"
#include "warden/model/v1/model.pb.h"

namespace {

using warden::index::ReplicaIndex;
using warden::index::ReplicaView;
using warden::model::v1::ChangeRecord;

// Inputs with invalid UTF-8 in string fields are refused by the parser,
// which also logs each one; that is expected here and only slows the run.
[[maybe_unused]] const bool kQuietProtobuf = [] {
  google::protobuf::SetLogHandler(nullptr);
  return true;
}();

void Fail(const char* what) {
  std::fprintf(stderr, "index_apply_fuzz: %s\n", what);
  std::abort();
}

// Where a batch should leave a replica at `revision`, or -1 if the batch
// has a gap and must be refused.
int64_t ExpectedRevision(int64_t revision,
                         const std::vector<ChangeRecord>& batch) {
  for (const ChangeRecord& change : batch) {
    if (change.revision() <= revision) continue;  // a repeat is skipped
    if (change.revision() != revision + 1) return -1;
    revision = change.revision();
  }
  return revision;
}

// Reads every part of a published view, so broken indexes show up here.
void ExerciseView(const ReplicaView& view) {
  if (view.Digest() != warden::index::RecordsDigest(view.Records())) {
    Fail("the view's digest is not the digest of its records");
  }
  view.Counts();
  auto no_local_use = [](absl::string_view) {
    return std::optional<warden::index::LocalUse>();
  };
  view.ResolveToken("wdn_user_not-a-real-token", absl::UnixEpoch(),
                    no_local_use);
  for (const auto& record : view.Records()) {
    if (!record.has_token()) continue;
    view.FindToken(record.token().id());
    auto principal = view.ResolveSubjectId(record.token().subject_id(),
                                           absl::UnixEpoch(), no_local_use);
    if (principal.ok()) {
      view.Check(*principal, "platform.api_tokens", "").IgnoreError();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;

  // A replica as a fresh sidecar has it after its first snapshot.
  ReplicaIndex index;
  warden::model::v1::Record catalog;
  *catalog.mutable_catalog() = warden::catalog::DefaultCatalog();
  if (!index.LoadSnapshot(data[0], {catalog}).ok()) {
    Fail("the snapshot of the default catalog was refused");
  }

  for (size_t i = 1; i < size;) {
    // Two bytes of length, big-endian, then the message.
    size_t length = data[i++];
    if (i < size) length = (length << 8) | data[i++];
    if (length > size - i) length = size - i;
    warden::changes::v1::WatchResponse message;
    if (!message.ParseFromArray(data + i, static_cast<int>(length))) break;
    i += length;
    std::vector<ChangeRecord> batch(message.changes().begin(),
                                    message.changes().end());

    std::shared_ptr<const ReplicaView> before = index.Current();
    int64_t expected = ExpectedRevision(before->revision(), batch);
    absl::Status status = index.Apply(batch);
    std::shared_ptr<const ReplicaView> after = index.Current();

    if (!status.ok()) {
      if (status.code() != absl::StatusCode::kFailedPrecondition &&
          status.code() != absl::StatusCode::kInvalidArgument) {
        Fail("Apply failed with an unexpected code");
      }
      if (after != before) Fail("a refused batch was published");
      continue;
    }
    if (expected < 0) Fail("a batch with a gap was applied");
    if (after->revision() != expected) Fail("applied to the wrong revision");
    if (after->revision() != before->revision() && after == before) {
      Fail("the revision moved without a new view");
    }

    // A resumed stream repeats what was applied; that is a no-op.
    if (!index.Apply(batch).ok() || index.Current() != after) {
      Fail("repeating an applied batch changed the replica");
    }
  }
  // Once per input: reading everything costs more than applying.
  ExerciseView(*index.Current());
  return 0;
}
