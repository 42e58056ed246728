// The change stream served by TokenService, over gRPC on a loopback port:
// Snapshot, Watch, resumption, retention, authorization, slow followers.

#include <atomic>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "libs/catalog/catalog.h"
#include "libs/clock/clock.h"
#include "libs/ids/ids.h"
#include "libs/store/records.h"
#include "libs/stream/history_validator.h"
#include "services/token_service/token_service_app.h"
#include "tests/support/temp_dir.h"
#include "warden/changes/v1/change_stream_service.grpc.pb.h"
#include "warden/token/v1/token_service.grpc.pb.h"

namespace warden::token_service {
namespace {

using changes::v1::ChangeStreamService;
using changes::v1::SnapshotRequest;
using changes::v1::SnapshotResponse;
using changes::v1::WatchRequest;
using changes::v1::WatchResponse;

std::string ReadLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// What one Watch call received, and how it ended.
struct WatchResult {
  std::vector<WatchResponse> responses;
  grpc::Status status;
  int64_t position = 0;
};

class ChangeStreamTest : public ::testing::Test {
 protected:
  void Start(TokenServiceConfig config = Config()) {
    config.listen_address = "127.0.0.1:0";
    config.data_dir = dir_.Sub("data");
    config.sync = false;
    auto app = TokenServiceApp::Start(config, &clock_);
    ASSERT_TRUE(app.ok()) << app.status();
    app_ = *std::move(app);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", app_->port()),
                                   grpc::InsecureChannelCredentials());
    tokens_ = token::v1::TokenService::NewStub(channel_);
    stream_ = ChangeStreamService::NewStub(channel_);
    admin_ = ReadLine(dir_.Sub("data/bootstrap-admin.token"));
    sidecar_ = ReadLine(dir_.Sub("data/bootstrap-sidecar.token"));
    ASSERT_FALSE(admin_.empty());
    ASSERT_FALSE(sidecar_.empty());
  }

  static TokenServiceConfig Config() {
    TokenServiceConfig config;
    config.change_progress_interval = absl::Milliseconds(20);
    config.change_retention.interval = absl::ZeroDuration();
    return config;
  }

  static void Authorize(grpc::ClientContext* context,
                        const std::string& token) {
    if (!token.empty()) {
      context->AddMetadata("authorization", absl::StrCat("Bearer ", token));
    }
  }

  // The whole snapshot; fails the test on an error.
  std::vector<SnapshotResponse> Snapshot(int chunk_size) {
    grpc::ClientContext context;
    Authorize(&context, sidecar_);
    SnapshotRequest request;
    request.set_chunk_size(chunk_size);
    auto reader = stream_->Snapshot(&context, request);
    std::vector<SnapshotResponse> chunks;
    SnapshotResponse chunk;
    while (reader->Read(&chunk)) chunks.push_back(chunk);
    grpc::Status status = reader->Finish();
    EXPECT_TRUE(status.ok()) << status.error_message();
    return chunks;
  }

  // Opens a Watch from `after` with the sidecar's token.
  std::unique_ptr<grpc::ClientReader<WatchResponse>> OpenWatch(
      grpc::ClientContext* context, int64_t after,
      ChangeStreamService::Stub* stub = nullptr) {
    Authorize(context, sidecar_);
    WatchRequest request;
    request.set_after_revision(after);
    request.set_follower_name("test-follower");
    return (stub != nullptr ? stub : stream_.get())->Watch(context, request);
  }

  // Watches from `after` until a change at `until` or later was received
  // (then cancels), or until the stream ends. Publishes its position to
  // `progress` when given.
  WatchResult Watch(int64_t after, int64_t until,
                    const std::string& token = "",
                    std::atomic<int64_t>* progress = nullptr) {
    grpc::ClientContext context;
    Authorize(&context, token.empty() ? sidecar_ : token);
    WatchRequest request;
    request.set_after_revision(after);
    request.set_follower_name("test-follower");
    auto reader = stream_->Watch(&context, request);
    WatchResult result;
    result.position = after;
    WatchResponse response;
    while (reader->Read(&response)) {
      result.responses.push_back(response);
      if (!response.changes().empty()) {
        result.position =
            response.changes(response.changes_size() - 1).revision();
        if (progress != nullptr) progress->store(result.position);
      }
      if (result.position >= until) {
        context.TryCancel();
        break;
      }
    }
    result.status = reader->Finish();
    return result;
  }

  // Creates a user token for the admin and returns its response.
  token::v1::CreateUserTokenResponse CreateUserToken(const std::string& name) {
    grpc::ClientContext context;
    Authorize(&context, admin_);
    token::v1::CreateUserTokenRequest request;
    request.set_name(name);
    request.set_inactivity_days(45);
    token::v1::CreateUserTokenResponse response;
    grpc::Status status = tokens_->CreateUserToken(&context, request,
                                                   &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  int64_t RevokeToken(const std::string& id) {
    grpc::ClientContext context;
    Authorize(&context, admin_);
    token::v1::RevokeTokenRequest request;
    request.set_token_id(id);
    token::v1::RevokeTokenResponse response;
    grpc::Status status = tokens_->RevokeToken(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.revision();
  }

  // Commits an organization with a `bytes`-long name directly in the store,
  // to make large change records quickly.
  int64_t WriteLargeRecord(int bytes) {
    model::v1::Organization org;
    org.set_id(ids::NewId("org"));
    org.set_name(std::string(static_cast<size_t>(bytes), 'x'));
    auto revision =
        app_->store().Write("organization.create", [&](store::WriteTxn& txn) {
          return store::Put(txn, org);
        });
    EXPECT_TRUE(revision.ok()) << revision.status();
    return revision.ok() ? *revision : -1;
  }

  // Every received change equals the store's change record, byte for byte.
  void ExpectSameAsStore(const std::vector<WatchResponse>& responses) {
    for (const WatchResponse& response : responses) {
      for (const model::v1::ChangeRecord& change : response.changes()) {
        std::vector<model::v1::ChangeRecord> stored;
        ASSERT_TRUE(app_->store()
                        .ReadChanges(change.revision() - 1, 1, &stored)
                        .ok());
        ASSERT_EQ(stored.size(), 1u);
        EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
            stored[0], change))
            << "revision " << change.revision();
      }
    }
  }

  testing::TempDir dir_;
  FakeClock clock_{absl::FromUnixSeconds(1700000000)};
  std::unique_ptr<TokenServiceApp> app_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<token::v1::TokenService::Stub> tokens_;
  std::unique_ptr<ChangeStreamService::Stub> stream_;
  std::string admin_;
  std::string sidecar_;
};

// A snapshot is one revision in chunks of the requested size, last flagged
// once, holding every record table that has records.
TEST_F(ChangeStreamTest, SnapshotIsOneRevisionInChunks) {
  Start();
  std::vector<SnapshotResponse> chunks = Snapshot(2);
  ASSERT_GE(chunks.size(), 2u);
  const int64_t revision = chunks[0].revision();
  EXPECT_EQ(revision, app_->store().committed_revision());
  std::set<int> kinds;
  for (size_t i = 0; i < chunks.size(); ++i) {
    EXPECT_EQ(chunks[i].revision(), revision);
    EXPECT_EQ(chunks[i].last(), i + 1 == chunks.size());
    EXPECT_LE(chunks[i].records_size(), 2);
    EXPECT_GE(chunks[i].records_size(), 1);
    for (const auto& record : chunks[i].records()) {
      kinds.insert(record.record_case());
    }
  }
  EXPECT_TRUE(kinds.count(model::v1::Record::kCatalog));
  EXPECT_TRUE(kinds.count(model::v1::Record::kOrganization));
  EXPECT_TRUE(kinds.count(model::v1::Record::kPermissionSet));
  EXPECT_TRUE(kinds.count(model::v1::Record::kUser));
  EXPECT_TRUE(kinds.count(model::v1::Record::kServiceUser));
  EXPECT_TRUE(kinds.count(model::v1::Record::kToken));

  grpc::ClientContext context;
  Authorize(&context, sidecar_);
  SnapshotRequest request;
  request.set_chunk_size(10001);
  auto reader = stream_->Snapshot(&context, request);
  SnapshotResponse chunk;
  while (reader->Read(&chunk)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::INVALID_ARGUMENT);
}

// After a snapshot, Watch delivers every write made concurrently by several
// clients exactly once, in order, with no gaps and whole records.
TEST_F(ChangeStreamTest, WatchAfterSnapshotSeesEveryConcurrentWriteOnce) {
  Start();
  const int64_t snapshot = Snapshot(100)[0].revision();

  constexpr int kWriters = 4;
  constexpr int kRounds = 10;
  absl::Mutex mutex;
  std::set<int64_t> written;
  std::atomic<int64_t> until{std::numeric_limits<int64_t>::max()};
  WatchResult watched;
  std::thread watcher([&] {
    grpc::ClientContext context;
    auto reader = OpenWatch(&context, snapshot);
    WatchResponse response;
    int64_t position = snapshot;
    while (reader->Read(&response)) {
      watched.responses.push_back(response);
      if (!response.changes().empty()) {
        position = response.changes(response.changes_size() - 1).revision();
      }
      if (position >= until.load()) {
        context.TryCancel();
        break;
      }
    }
    watched.status = reader->Finish();
    watched.position = position;
  });

  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < kRounds; ++i) {
        auto created = CreateUserToken(absl::StrCat("writer ", w, " ", i));
        int64_t revoked = RevokeToken(created.token().token().id());
        absl::MutexLock lock(&mutex);
        written.insert(created.revision());
        written.insert(revoked);
      }
    });
  }
  for (std::thread& writer : writers) writer.join();
  until.store(app_->store().committed_revision());
  watcher.join();

  auto last = stream::ValidateWatchHistory(snapshot, watched.responses);
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_EQ(*last, until.load());
  ASSERT_EQ(written.size(), static_cast<size_t>(2 * kWriters * kRounds));
  std::set<int64_t> received;
  for (const WatchResponse& response : watched.responses) {
    for (const auto& change : response.changes()) {
      received.insert(change.revision());
    }
  }
  for (int64_t revision : written) EXPECT_TRUE(received.count(revision));
  ExpectSameAsStore(watched.responses);
}

// An idle stream sends progress messages carrying the revision the follower
// is current up to, and a change as soon as one commits.
TEST_F(ChangeStreamTest, ProgressMessagesWhenIdle) {
  Start();
  const int64_t current = app_->store().committed_revision();

  grpc::ClientContext context;
  auto reader = OpenWatch(&context, current);
  WatchResponse response;
  ASSERT_TRUE(reader->Read(&response));
  EXPECT_TRUE(response.changes().empty());
  EXPECT_EQ(response.committed_revision(), current);
  EXPECT_TRUE(response.has_sent_at());

  auto created = CreateUserToken("after progress");
  std::vector<WatchResponse> received;
  do {
    ASSERT_TRUE(reader->Read(&response));
    received.push_back(response);
  } while (response.changes().empty() ||
           response.changes(response.changes_size() - 1).revision() <
               created.revision());
  // Then, idle again, progress at the new revision.
  do {
    ASSERT_TRUE(reader->Read(&response));
    received.push_back(response);
  } while (!response.changes().empty());
  EXPECT_EQ(response.committed_revision(), created.revision());
  auto last = stream::ValidateWatchHistory(current, received);
  EXPECT_TRUE(last.ok()) << last.status();
  context.TryCancel();
  reader->Finish();
}

// Resuming from any delivered revision delivers exactly the rest.
TEST_F(ChangeStreamTest, ResumeFromAnyDeliveredRevision) {
  Start();
  const int64_t start = app_->store().committed_revision();
  for (int i = 0; i < 6; ++i) {
    RevokeToken(CreateUserToken(absl::StrCat("resume ", i)).token()
                    .token().id());
  }
  const int64_t end = app_->store().committed_revision();
  ASSERT_EQ(end, start + 12);

  for (int64_t from = 0; from < end; ++from) {
    SCOPED_TRACE(absl::StrCat("from ", from));
    WatchResult result = Watch(from, end);
    auto last = stream::ValidateWatchHistory(from, result.responses);
    ASSERT_TRUE(last.ok()) << last.status();
    EXPECT_EQ(*last, end);
    ExpectSameAsStore(result.responses);
  }
}

// A follower whose position was compacted away, and is no longer in memory,
// is told to take a new snapshot; so is one ahead of this store.
TEST_F(ChangeStreamTest, CompactedOrAheadPositionIsOutOfRange) {
  TokenServiceConfig config = Config();
  config.change_hub.ring_max_records = 4;
  config.change_retention.max_revisions = 3;
  Start(config);
  const int64_t follower = app_->store().committed_revision();
  for (int i = 0; i < 5; ++i) CreateUserToken(absl::StrCat("compact ", i));
  auto oldest = app_->change_retention().RunOnce();
  ASSERT_TRUE(oldest.ok()) << oldest.status();
  ASSERT_GT(*oldest, follower + 1);

  WatchResult compacted = Watch(follower, follower + 1);
  EXPECT_EQ(compacted.status.error_code(), grpc::OUT_OF_RANGE);
  EXPECT_TRUE(absl::StrContains(compacted.status.error_message(),
                                "take a new snapshot"))
      << compacted.status.error_message();
  EXPECT_TRUE(compacted.responses.empty());

  // The retained history is still served.
  WatchResult retained = Watch(*oldest - 1, app_->store().committed_revision());
  EXPECT_TRUE(stream::ValidateWatchHistory(*oldest - 1, retained.responses)
                  .ok());

  WatchResult ahead = Watch(app_->store().committed_revision() + 5,
                            std::numeric_limits<int64_t>::max());
  EXPECT_EQ(ahead.status.error_code(), grpc::OUT_OF_RANGE);
  EXPECT_TRUE(absl::StrContains(ahead.status.error_message(), "ahead"));
}

// Only replication tokens may read the stream.
TEST_F(ChangeStreamTest, NeedsAReplicationToken) {
  Start();

  // A service-user token whose only permission set lacks replication.
  model::v1::PermissionSet tokens_only;
  tokens_only.set_id(ids::NewId("pset"));
  auto admin = app_->registry().Authenticate(admin_);
  ASSERT_TRUE(admin.ok()) << admin.status();
  tokens_only.set_organization_id(admin->organization_id());
  tokens_only.set_name("Token managers");
  tokens_only.add_permissions(std::string(catalog::kApiTokens));
  ASSERT_TRUE(app_->store()
                  .Write("permission_set.create",
                         [&](store::WriteTxn& txn) {
                           return store::Put(txn, tokens_only);
                         })
                  .ok());
  auto issued = app_->registry().CreateServiceUserToken(
      *admin, "no replication", 45, {tokens_only.id()}, "");
  ASSERT_TRUE(issued.ok()) << issued.status();

  for (const std::string& token :
       {std::string("none"), issued->secret, std::string("bogus")}) {
    SCOPED_TRACE(token == issued->secret ? "no replication" : token);
    grpc::StatusCode expected = token == issued->secret
                                    ? grpc::PERMISSION_DENIED
                                    : grpc::UNAUTHENTICATED;
    std::string bearer = token == "none" ? "" : token;

    grpc::ClientContext snapshot_context;
    if (!bearer.empty()) Authorize(&snapshot_context, bearer);
    auto snapshot = stream_->Snapshot(&snapshot_context, SnapshotRequest());
    SnapshotResponse chunk;
    EXPECT_FALSE(snapshot->Read(&chunk));
    EXPECT_EQ(snapshot->Finish().error_code(), expected);

    grpc::ClientContext watch_context;
    if (!bearer.empty()) Authorize(&watch_context, bearer);
    auto watch = stream_->Watch(&watch_context, WatchRequest());
    WatchResponse response;
    EXPECT_FALSE(watch->Read(&response));
    EXPECT_EQ(watch->Finish().error_code(), expected);
  }
}

// No token secret ever appears in the stream: neither in the snapshot nor in
// any change, though every token's digest does.
TEST_F(ChangeStreamTest, NoSecretInStreamedBytes) {
  Start();
  std::vector<std::string> secrets = {admin_, sidecar_};
  for (int i = 0; i < 3; ++i) {
    auto created = CreateUserToken(absl::StrCat("secret ", i));
    secrets.push_back(created.secret());
    if (i == 0) RevokeToken(created.token().token().id());
  }
  const int64_t end = app_->store().committed_revision();

  std::string streamed;
  int tokens_with_digest = 0;
  for (const SnapshotResponse& chunk : Snapshot(3)) {
    streamed += chunk.SerializeAsString();
    for (const auto& record : chunk.records()) {
      if (record.has_token() && !record.token().secret_digest().empty()) {
        ++tokens_with_digest;
      }
    }
  }
  WatchResult history = Watch(0, end);
  ASSERT_TRUE(stream::ValidateWatchHistory(0, history.responses).ok());
  for (const WatchResponse& response : history.responses) {
    streamed += response.SerializeAsString();
  }

  EXPECT_GE(tokens_with_digest, 4);  // at least the active ones
  for (const std::string& secret : secrets) {
    ASSERT_FALSE(secret.empty());
    EXPECT_FALSE(absl::StrContains(streamed, secret));
  }
}

// Several followers at once: one that never reads does not hold up writers
// or the others, and is cut off once it falls too far behind.
TEST_F(ChangeStreamTest, SlowFollowerIsCutOffWithoutBlockingOthers) {
  TokenServiceConfig config = Config();
  config.change_hub.max_follower_lag = 50;
  Start(config);
  const int64_t start = app_->store().committed_revision();

  // The slow follower: small receive window, connected, then not reading.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 16 * 1024);
  auto slow_channel = grpc::CreateCustomChannel(
      absl::StrCat("127.0.0.1:", app_->port()),
      grpc::InsecureChannelCredentials(), args);
  auto slow_stub = ChangeStreamService::NewStub(slow_channel);
  grpc::ClientContext slow_context;
  auto slow = OpenWatch(&slow_context, start, slow_stub.get());
  WatchResponse first;
  ASSERT_TRUE(slow->Read(&first));  // connected: a progress message

  // Fast followers and writers, concurrently.
  constexpr int kWrites = 300;
  const int64_t end = start + kWrites;
  std::vector<WatchResult> fast(3);
  std::vector<std::atomic<int64_t>> positions(fast.size());
  std::vector<std::thread> threads;
  for (size_t f = 0; f < fast.size(); ++f) {
    positions[f].store(start);
    threads.emplace_back(
        [&, f] { fast[f] = Watch(start, end, "", &positions[f]); });
  }
  // Writers pace themselves to the fast followers (never to the slow one),
  // so only the slow one can fall behind.
  auto fast_followers_near = [&] {
    int64_t latest = app_->store().committed_revision();
    for (const auto& position : positions) {
      if (latest - position.load() > 10) return false;
    }
    return true;
  };
  std::vector<std::thread> writers;
  for (int w = 0; w < 3; ++w) {
    writers.emplace_back([&] {
      for (int i = 0; i < kWrites / 3; ++i) {
        while (!fast_followers_near()) absl::SleepFor(absl::Milliseconds(1));
        WriteLargeRecord(8 * 1024);
      }
    });
  }
  for (std::thread& writer : writers) writer.join();
  for (std::thread& thread : threads) thread.join();
  ASSERT_EQ(app_->store().committed_revision(), end);
  for (const WatchResult& result : fast) {
    auto last = stream::ValidateWatchHistory(start, result.responses);
    ASSERT_TRUE(last.ok()) << last.status();
    EXPECT_EQ(*last, end);
  }

  // Reading again, the slow follower gets what was in flight, then the
  // cut-off.
  std::vector<WatchResponse> slow_received = {first};
  WatchResponse response;
  while (slow->Read(&response)) slow_received.push_back(response);
  grpc::Status status = slow->Finish();
  EXPECT_EQ(status.error_code(), grpc::OUT_OF_RANGE) << status.error_message();
  EXPECT_TRUE(
      absl::StrContains(status.error_message(), "take a new snapshot"));
  auto slow_last = stream::ValidateWatchHistory(start, slow_received);
  ASSERT_TRUE(slow_last.ok()) << slow_last.status();
  EXPECT_LT(*slow_last, end - 50);
}

// Shutdown ends open Watch streams with UNAVAILABLE instead of waiting for
// them (the grace period here is far longer than any test).
TEST_F(ChangeStreamTest, ShutdownEndsWatchStreams) {
  TokenServiceConfig config = Config();
  config.shutdown_grace = absl::Hours(1);
  Start(config);

  grpc::ClientContext context;
  auto reader = OpenWatch(&context, app_->store().committed_revision());
  WatchResponse response;
  ASSERT_TRUE(reader->Read(&response));

  app_->Shutdown();
  while (reader->Read(&response)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::UNAVAILABLE);
}

}  // namespace
}  // namespace warden::token_service
