// Integration tests of AuthzService (the sidecar) following TokenService,
// both in this process on loopback ports, sharing one fake clock. Writes go
// through TokenService's RPCs (or straight to its store for bulk models);
// every check after a write passes the write's revision as min_revision, so
// no test waits on time.

#include <fstream>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "libs/access/reference_check.h"
#include "libs/ids/ids.h"
#include "libs/index/replica_index.h"
#include "libs/store/records.h"
#include "libs/tokens/token_registry.h"
#include "libs/tokens/token_rules.h"
#include "services/authz_service/authz_service_app.h"
#include "tests/services/token_service/test_server.h"
#include "warden/access/v1/access_service.grpc.pb.h"
#include "warden/authz/v1/authz_service.grpc.pb.h"
#include "warden/changes/v1/change_stream_service.grpc.pb.h"
#include "warden/directory/v1/directory_service.grpc.pb.h"
#include "warden/token/v1/token_service.grpc.pb.h"

namespace warden::testing {
namespace {

namespace zv1 = authz::v1;
namespace dv1 = directory::v1;
namespace tv1 = token::v1;
using model::v1::DecisionReason;

std::string AuthFailureOf(const grpc::ClientContext& context) {
  auto it = context.GetServerTrailingMetadata().find("warden-auth-failure");
  if (it == context.GetServerTrailingMetadata().end()) return "";
  return std::string(it->second.data(), it->second.size());
}

class AuthzServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto admin = ts_.app().registry().Authenticate(ts_.admin_token());
    ASSERT_TRUE(admin.ok()) << admin.status();
    admin_ = *admin;
    org_ = admin_.organization_id();
    tokens_ = tv1::TokenService::NewStub(ts_.channel());
    directory_ = dv1::DirectoryService::NewStub(ts_.channel());
    credential_file_ = absl::StrCat(dir_.path(), "/sidecar.token");
    std::ofstream(credential_file_) << ts_.sidecar_token() << "\n";
    StartSidecar();
  }

  void TearDown() override {
    if (sidecar_ != nullptr) sidecar_->Shutdown();
  }

  void StartSidecar() {
    authz_service::AuthzServiceConfig config;
    config.listen_address = "127.0.0.1:0";
    config.token_service_address = ts_.address();
    config.credential_file = credential_file_;
    config.max_staleness = absl::Seconds(30);
    // Tests flush explicitly.
    config.usage_flush_interval = absl::Hours(1);
    config.shutdown_grace = absl::Milliseconds(200);
    config.reconnect_initial_backoff = absl::Milliseconds(50);
    auto app = authz_service::AuthzServiceApp::Start(config, &ts_.clock());
    ASSERT_TRUE(app.ok()) << app.status();
    sidecar_ = *std::move(app);
    authz_ = zv1::AuthzService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", sidecar_->port()),
        grpc::InsecureChannelCredentials()));
    WaitFor(ts_.app().store().committed_revision());
  }

  void StopSidecar() {
    sidecar_->Shutdown();
    sidecar_.reset();
  }

  static std::unique_ptr<grpc::ClientContext> Deadline(int seconds = 20) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::seconds(seconds));
    return context;
  }

  // The sidecar's status once it has applied `revision`.
  zv1::GetReplicaStatusResponse WaitFor(int64_t revision,
                                        bool digest = false) {
    zv1::GetReplicaStatusRequest request;
    request.set_min_revision(revision);
    request.set_include_digest(digest);
    zv1::GetReplicaStatusResponse response;
    auto context = Deadline();
    grpc::Status status =
        authz_->GetReplicaStatus(context.get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  // Authenticate on the sidecar at `revision`; the auth failure name, or
  // "" when it authenticates.
  std::string SidecarAuth(const std::string& token, int64_t revision,
                          zv1::AuthenticateResponse* out = nullptr) {
    zv1::AuthenticateRequest request;
    request.set_token(token);
    request.set_min_revision(revision);
    zv1::AuthenticateResponse response;
    auto context = Deadline();
    grpc::Status status = authz_->Authenticate(context.get(), request,
                                               &response);
    if (out != nullptr) *out = response;
    if (status.ok()) {
      EXPECT_GE(response.revision(), revision);
      return "";
    }
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED)
        << status.error_message();
    return AuthFailureOf(*context);
  }

  zv1::CheckResponse SidecarCheckId(const std::string& subject_id,
                                    const std::string& permission,
                                    const std::string& item_id,
                                    int64_t revision) {
    zv1::CheckRequest request;
    request.mutable_subject()->set_subject_id(subject_id);
    request.set_permission(permission);
    request.set_item_id(item_id);
    request.set_min_revision(revision);
    zv1::CheckResponse response;
    auto context = Deadline();
    grpc::Status status = authz_->Check(context.get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_GE(response.revision(), revision);
    return response;
  }

  // Writes records to TokenService's store in one transaction; its revision.
  int64_t Put(const std::vector<model::v1::Record>& records) {
    auto written = ts_.app().store().Write(
        "test.setup", [&](store::WriteTxn& txn) -> absl::Status {
          for (const auto& record : records) {
            auto status = store::PutRecord(txn, record);
            if (!status.ok()) return status;
          }
          return absl::OkStatus();
        });
    EXPECT_TRUE(written.ok()) << written.status();
    return written.ok() ? *written : 0;
  }

  model::v1::PermissionSet NewSet(std::vector<std::string> permissions) {
    model::v1::PermissionSet set;
    set.set_id(ids::NewId(ids::kPermissionSet));
    set.set_organization_id(org_);
    set.set_name(absl::StrCat("Set ", set.id().substr(4, 6)));
    for (auto& p : permissions) set.add_permissions(p);
    return set;
  }

  model::v1::User NewUser(const std::string& set_id) {
    model::v1::User user;
    user.set_id(ids::NewId(ids::kUser));
    user.set_organization_id(org_);
    user.set_email(absl::StrCat(user.id(), "@example.com"));
    user.set_display_name(absl::StrCat("User ", user.id().substr(4, 6)));
    user.set_status(model::v1::USER_STATUS_ACTIVE);
    user.set_permission_set_id(set_id);
    return user;
  }

  model::v1::Item NewItem(const std::string& type) {
    model::v1::Item item;
    item.set_id(ids::NewId(ids::kItem));
    item.set_organization_id(org_);
    item.set_type(type);
    item.set_name(absl::StrCat("Item ", item.id().substr(4, 6)));
    return item;
  }

  // A user token for `user`, created by the registry; secret and id.
  std::pair<std::string, std::string> UserToken(const model::v1::User& user) {
    tokens::Caller as_user;
    as_user.set_organization_id(org_);
    as_user.set_kind(model::v1::SUBJECT_KIND_USER);
    as_user.set_subject_id(user.id());
    as_user.set_display_name(user.display_name());
    auto created =
        ts_.app().registry().CreateUserToken(as_user, "script", 0, "");
    EXPECT_TRUE(created.ok()) << created.status();
    return {created->secret, created->details.token.id()};
  }

  // A service-user token with `set`, which the admin may revoke,
  // regenerate and delete; secret and id.
  std::pair<std::string, std::string> ServiceToken(
      const model::v1::PermissionSet& set) {
    auto created = ts_.app().registry().CreateServiceUserToken(
        admin_, absl::StrCat("Export ", ++service_tokens_), 0, {set.id()},
        "");
    EXPECT_TRUE(created.ok()) << created.status();
    return {created->secret, created->details.token.id()};
  }

  int service_tokens_ = 0;
  TempDir dir_;
  TestTokenService ts_;
  tokens::Caller admin_;
  std::string org_;
  std::string credential_file_;
  std::unique_ptr<tv1::TokenService::Stub> tokens_;
  std::unique_ptr<dv1::DirectoryService::Stub> directory_;
  std::unique_ptr<authz_service::AuthzServiceApp> sidecar_;
  std::unique_ptr<zv1::AuthzService::Stub> authz_;
};

// Revoke, regenerate and delete of a token, each reflected by the sidecar
// in the first answer that asks for the write's revision.
TEST_F(AuthzServiceTest, TokenLifecycleIsReflectedAtTheWriteRevision) {
  auto set = NewSet({"templates.view"});
  auto user = NewUser(set.id());
  Put({store::Wrap(set), store::Wrap(user)});
  auto [secret, token_id] = ServiceToken(set);
  zv1::AuthenticateResponse who;
  EXPECT_EQ(SidecarAuth(secret, ts_.app().store().committed_revision(), &who),
            "");
  EXPECT_EQ(who.subject().kind(), model::v1::SUBJECT_KIND_SERVICE_USER);

  tv1::RevokeTokenRequest revoke;
  revoke.set_token_id(token_id);
  tv1::RevokeTokenResponse revoked;
  auto c1 = ts_.Context(ts_.admin_token());
  ASSERT_TRUE(tokens_->RevokeToken(c1.get(), revoke, &revoked).ok());
  EXPECT_EQ(SidecarAuth(secret, revoked.revision()), "revoked");

  // Regenerating the revoked token: the old secret is unknown, the new one
  // works.
  tv1::RegenerateTokenRequest regenerate;
  regenerate.set_token_id(token_id);
  tv1::RegenerateTokenResponse regenerated;
  auto c2 = ts_.Context(ts_.admin_token());
  grpc::Status status =
      tokens_->RegenerateToken(c2.get(), regenerate, &regenerated);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(SidecarAuth(secret, regenerated.revision()), "unknown");
  EXPECT_EQ(SidecarAuth(regenerated.secret(), regenerated.revision()), "");

  // Only a revoked token can be deleted.
  auto c3 = ts_.Context(ts_.admin_token());
  ASSERT_TRUE(tokens_->RevokeToken(c3.get(), revoke, &revoked).ok());
  EXPECT_EQ(SidecarAuth(regenerated.secret(), revoked.revision()), "revoked");
  tv1::DeleteTokenRequest remove;
  remove.set_token_id(token_id);
  tv1::DeleteTokenResponse removed;
  auto c4 = ts_.Context(ts_.admin_token());
  ASSERT_TRUE(tokens_->DeleteToken(c4.get(), remove, &removed).ok());
  EXPECT_EQ(SidecarAuth(regenerated.secret(), removed.revision()), "unknown");
}

// Directory writes through DirectoryService: a group removal, a site move,
// a grant removal and a deactivation each change the next answer.
TEST_F(AuthzServiceTest, DirectoryChangesAreReflectedAtTheWriteRevision) {
  auto set = NewSet({"templates.view"});
  auto user = NewUser(set.id());
  auto item = NewItem("template");
  model::v1::Group group;
  group.set_id(ids::NewId(ids::kGroup));
  group.set_organization_id(org_);
  group.set_name("Inspectors");
  model::v1::GroupMember member;
  member.set_organization_id(org_);
  member.set_group_id(group.id());
  member.set_user_id(user.id());
  model::v1::Site top, other, below;
  for (auto* site : {&top, &other, &below}) {
    site->set_id(ids::NewId(ids::kSite));
    site->set_organization_id(org_);
    site->set_name(absl::StrCat("Site ", site->id().substr(4, 6)));
  }
  below.set_parent_site_id(top.id());
  model::v1::SiteMember at_top;
  at_top.set_organization_id(org_);
  at_top.set_site_id(top.id());
  at_top.set_user_id(user.id());
  Put({store::Wrap(set), store::Wrap(user), store::Wrap(item),
       store::Wrap(group), store::Wrap(member), store::Wrap(top),
       store::Wrap(other), store::Wrap(below), store::Wrap(at_top)});
  auto [secret, token_id] = UserToken(user);

  auto grant = [&](model::v1::Grantee grantee) {
    dv1::CreateGrantRequest request;
    request.set_item_id(item.id());
    *request.mutable_grantee() = grantee;
    request.set_level(model::v1::ACCESS_LEVEL_VIEW);
    dv1::CreateGrantResponse response;
    auto context = ts_.Context(ts_.admin_token());
    grpc::Status status =
        directory_->CreateGrant(context.get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  };
  auto check = [&](int64_t revision) {
    return SidecarCheckId(user.id(), "templates.view", item.id(), revision)
        .reason();
  };

  // Through the group only.
  model::v1::Grantee to_group;
  to_group.set_group_id(group.id());
  auto by_group = grant(to_group);
  EXPECT_EQ(check(by_group.revision()), model::v1::DECISION_REASON_ALLOWED);
  dv1::RemoveGroupMemberRequest leave;
  leave.set_group_id(group.id());
  leave.set_user_id(user.id());
  dv1::RemoveGroupMemberResponse left;
  auto c1 = ts_.Context(ts_.admin_token());
  ASSERT_TRUE(directory_->RemoveGroupMember(c1.get(), leave, &left).ok());
  EXPECT_EQ(check(left.revision()), model::v1::DECISION_REASON_NO_ACCESS);

  // Through the site below the user's site, until it moves away.
  model::v1::Grantee to_site;
  to_site.set_site_id(below.id());
  auto by_site = grant(to_site);
  EXPECT_EQ(check(by_site.revision()), model::v1::DECISION_REASON_ALLOWED);
  dv1::UpdateSiteRequest move;
  move.set_site_id(below.id());
  move.set_parent_site_id(other.id());
  move.mutable_update_mask()->add_paths("parent_site_id");
  dv1::UpdateSiteResponse moved;
  auto c2 = ts_.Context(ts_.admin_token());
  grpc::Status move_status = directory_->UpdateSite(c2.get(), move, &moved);
  ASSERT_TRUE(move_status.ok()) << move_status.error_message();
  EXPECT_EQ(check(moved.revision()), model::v1::DECISION_REASON_NO_ACCESS);

  // Directly, until the grant is removed.
  model::v1::Grantee to_user;
  to_user.set_user_id(user.id());
  auto direct = grant(to_user);
  EXPECT_EQ(check(direct.revision()), model::v1::DECISION_REASON_ALLOWED);
  dv1::DeleteGrantRequest revoke;
  revoke.set_grant_id(direct.grant().id());
  dv1::DeleteGrantResponse revoked;
  auto c3 = ts_.Context(ts_.admin_token());
  ASSERT_TRUE(directory_->DeleteGrant(c3.get(), revoke, &revoked).ok());
  EXPECT_EQ(check(revoked.revision()), model::v1::DECISION_REASON_NO_ACCESS);

  // Deactivation ends the user's decisions and token.
  auto again = grant(to_user);
  EXPECT_EQ(check(again.revision()), model::v1::DECISION_REASON_ALLOWED);
  dv1::DeactivateUserRequest deactivate;
  deactivate.set_user_id(user.id());
  dv1::DeactivateUserResponse deactivated;
  auto c4 = ts_.Context(ts_.admin_token());
  ASSERT_TRUE(
      directory_->DeactivateUser(c4.get(), deactivate, &deactivated).ok());
  EXPECT_EQ(check(deactivated.revision()),
            model::v1::DECISION_REASON_SUBJECT_INACTIVE);
  std::string failure = SidecarAuth(secret, deactivated.revision());
  EXPECT_TRUE(failure == "owner_inactive" || failure == "revoked") << failure;
}

// The guarantee, many times over: a revoke acknowledged at R is denied by
// any answer with min_revision = R, and a grant created at R is honoured.
TEST_F(AuthzServiceTest, EveryAcknowledgedWriteIsReflectedAtItsRevision) {
  auto set = NewSet({"templates.view"});
  auto user = NewUser(set.id());
  auto item = NewItem("template");
  Put({store::Wrap(set), store::Wrap(user), store::Wrap(item)});
  for (int round = 0; round < 60; ++round) {
    auto [secret, token_id] = ServiceToken(set);
    EXPECT_EQ(SidecarAuth(secret, ts_.app().store().committed_revision()), "");
    tv1::RevokeTokenRequest revoke;
    revoke.set_token_id(token_id);
    tv1::RevokeTokenResponse revoked;
    auto context = ts_.Context(ts_.admin_token());
    ASSERT_TRUE(tokens_->RevokeToken(context.get(), revoke, &revoked).ok());
    ASSERT_EQ(SidecarAuth(secret, revoked.revision()), "revoked")
        << "round " << round;

    dv1::CreateGrantRequest create;
    create.set_item_id(item.id());
    create.mutable_grantee()->set_user_id(user.id());
    create.set_level(model::v1::ACCESS_LEVEL_VIEW);
    dv1::CreateGrantResponse created;
    auto c1 = ts_.Context(ts_.admin_token());
    ASSERT_TRUE(directory_->CreateGrant(c1.get(), create, &created).ok());
    ASSERT_TRUE(SidecarCheckId(user.id(), "templates.view", item.id(),
                               created.revision())
                    .allowed())
        << "round " << round;
    dv1::DeleteGrantRequest remove;
    remove.set_grant_id(created.grant().id());
    dv1::DeleteGrantResponse removed;
    auto c2 = ts_.Context(ts_.admin_token());
    ASSERT_TRUE(directory_->DeleteGrant(c2.get(), remove, &removed).ok());
    ASSERT_FALSE(SidecarCheckId(user.id(), "templates.view", item.id(),
                                removed.revision())
                     .allowed())
        << "round " << round;
  }
}

// The digest of TokenService's snapshot and of TokenService's records as
// the sidecar holds them, at the snapshot's revision.
std::pair<int64_t, std::string> SnapshotDigest(TestTokenService& ts) {
  auto stub = changes::v1::ChangeStreamService::NewStub(ts.channel());
  auto context = ts.Context(ts.sidecar_token());
  changes::v1::SnapshotRequest request;
  auto reader = stub->Snapshot(context.get(), request);
  changes::v1::SnapshotResponse chunk;
  std::vector<model::v1::Record> records;
  int64_t revision = 0;
  while (reader->Read(&chunk)) {
    revision = chunk.revision();
    for (const auto& record : chunk.records()) records.push_back(record);
    if (chunk.last()) break;
  }
  context->TryCancel();
  reader->Finish().ok();
  return {revision, index::RecordsDigest(records)};
}

TEST_F(AuthzServiceTest, ReplicaDigestEqualsTokenServiceSnapshotDigest) {
  auto set = NewSet({"templates.view", "templates.edit"});
  auto user = NewUser(set.id());
  auto item = NewItem("template");
  Put({store::Wrap(set), store::Wrap(user), store::Wrap(item)});
  UserToken(user);
  auto [revision, digest] = SnapshotDigest(ts_);
  ASSERT_GT(revision, 0);
  auto status = WaitFor(revision, /*digest=*/true);
  EXPECT_EQ(status.revision(), revision);
  EXPECT_EQ(status.digest(), digest);
  EXPECT_FALSE(status.stale());
}

// A sidecar restart loads a new snapshot; a TokenService restart is
// followed by a resumed watch that misses nothing.
TEST_F(AuthzServiceTest, ConvergesAcrossRestartsOfEitherSide) {
  auto set = NewSet({"templates.view"});
  auto user = NewUser(set.id());
  Put({store::Wrap(set), store::Wrap(user)});
  auto [secret, token_id] = ServiceToken(set);
  StopSidecar();
  auto [other_secret, other_id] = ServiceToken(set);
  StartSidecar();
  EXPECT_EQ(SidecarAuth(other_secret, ts_.app().store().committed_revision()),
            "");

  ts_.Restart();
  tv1::RevokeTokenRequest revoke;
  revoke.set_token_id(token_id);
  tv1::RevokeTokenResponse revoked;
  auto context = ts_.Context(ts_.admin_token());
  ASSERT_TRUE(tokens_->RevokeToken(context.get(), revoke, &revoked).ok());
  EXPECT_EQ(SidecarAuth(secret, revoked.revision()), "revoked");
  EXPECT_EQ(SidecarAuth(other_secret, revoked.revision()), "");
  auto [revision, digest] = SnapshotDigest(ts_);
  EXPECT_EQ(WaitFor(revision, true).digest(), digest);
}

// Changes compacted while the follower was away: the resumed watch is
// answered OUT_OF_RANGE and the follower takes a new snapshot. The writes
// and the compaction happen on the store while TokenService is down, so the
// follower cannot have seen them through the in-memory ring.
TEST_F(AuthzServiceTest, CompactionPastAnAbsentFollowerForcesASnapshot) {
  auto set = NewSet({"templates.view"});
  Put({store::Wrap(set)});
  auto [secret, token_id] = ServiceToken(set);
  EXPECT_EQ(SidecarAuth(secret, ts_.app().store().committed_revision()), "");
  int64_t snapshots = sidecar_->lag().snapshots_loaded;
  ts_.Stop();
  int64_t committed = 0;
  {
    store::StoreOptions options;
    options.path = absl::StrCat(ts_.data_dir(), "/db");
    options.clock = &ts_.clock();
    auto opened = store::Store::Open(options);
    ASSERT_TRUE(opened.ok()) << opened.status();
    auto written = (*opened)->Write(
        "test.away", [&](store::WriteTxn& txn) -> absl::Status {
          auto token = store::GetRecord<model::v1::Token>(
              txn, store::Table::kTokens, store::OrgKey(org_, token_id));
          if (!token.ok()) return token.status();
          model::v1::Token revoked = **token;
          revoked.set_state(model::v1::TOKEN_STATE_REVOKED);
          return store::Put(txn, revoked);
        });
    ASSERT_TRUE(written.ok()) << written.status();
    // The store always keeps the latest change; a second write lets the
    // revoke's change go.
    auto item = NewItem("template");
    auto second = (*opened)->Write("test.away", [&](store::WriteTxn& txn) {
      return store::PutRecord(txn, store::Wrap(item));
    });
    ASSERT_TRUE(second.ok()) << second.status();
    committed = *second;
    ASSERT_TRUE((*opened)->CompactChangesBefore(committed).ok());
  }
  ts_.Restart();
  EXPECT_EQ(SidecarAuth(secret, committed), "revoked");
  EXPECT_GT(sidecar_->lag().snapshots_loaded, snapshots);
  auto [revision, digest] = SnapshotDigest(ts_);
  EXPECT_EQ(WaitFor(revision, true).digest(), digest);
}

// Staleness runs on the injected clock: silence past the limit fails
// closed, and the replica serves again once TokenService is back.
TEST_F(AuthzServiceTest, StaleReplicaFailsClosedAndRecovers) {
  auto set = NewSet({"templates.view"});
  auto user = NewUser(set.id());
  Put({store::Wrap(set), store::Wrap(user)});
  auto [secret, token_id] = ServiceToken(set);
  EXPECT_EQ(SidecarAuth(secret, ts_.app().store().committed_revision()), "");

  ts_.Stop();
  ts_.clock().Advance(absl::Seconds(31));
  zv1::AuthenticateRequest request;
  request.set_token(secret);
  zv1::AuthenticateResponse response;
  auto context = Deadline();
  grpc::Status status = authz_->Authenticate(context.get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(WaitFor(0).stale());

  ts_.Restart();
  // The first message after reconnecting ends the staleness.
  int64_t after = Put({store::Wrap(NewItem("template"))});
  auto fresh = WaitFor(after);
  EXPECT_FALSE(fresh.stale());
  EXPECT_EQ(SidecarAuth(secret, after), "");
}

// Sidecar uses move the token's last use in TokenService, and the local use
// is forgotten once the replica shows it.
TEST_F(AuthzServiceTest, UsageIsReportedAndLocalUsesPruned) {
  auto set = NewSet({"templates.view"});
  auto user = NewUser(set.id());
  Put({store::Wrap(set), store::Wrap(user)});
  auto [secret, token_id] = ServiceToken(set);
  ts_.clock().Advance(absl::Hours(2));
  // The clock jump makes the replica stale until TokenService's next
  // message; a write brings one.
  WaitFor(Put({store::Wrap(NewItem("template"))}));
  absl::Time used_at = ts_.clock().Now();
  EXPECT_EQ(SidecarAuth(secret, ts_.app().store().committed_revision()), "");
  EXPECT_EQ(sidecar_->usage().local_use_count(), 1u);
  sidecar_->usage().Prune(*sidecar_->index().Current());
  EXPECT_EQ(sidecar_->usage().local_use_count(), 1u) << "not yet reported";

  ASSERT_TRUE(sidecar_->usage().Flush().ok());
  tv1::GetTokenRequest get;
  get.set_token_id(token_id);
  tv1::GetTokenResponse got;
  auto context = ts_.Context(ts_.admin_token());
  ASSERT_TRUE(tokens_->GetToken(context.get(), get, &got).ok());
  EXPECT_EQ(tokens::FromProto(got.token().token().last_used_at()), used_at);

  WaitFor(ts_.app().store().committed_revision());
  sidecar_->usage().Prune(*sidecar_->index().Current());
  EXPECT_EQ(sidecar_->usage().local_use_count(), 0u);
}

// Check, BatchCheck and Explain answer a token that does not authenticate
// as TokenService's AccessService does: a deny naming the failure, with
// the same explanation.
TEST_F(AuthzServiceTest, TokenFailuresAreDeniesLikeAccessService) {
  auto set = NewSet({"templates.view"});
  auto user = NewUser(set.id());
  auto item = NewItem("template");
  Put({store::Wrap(set), store::Wrap(user), store::Wrap(item)});
  auto [secret, token_id] = ServiceToken(set);
  tv1::RevokeTokenRequest revoke;
  revoke.set_token_id(token_id);
  tv1::RevokeTokenResponse revoked;
  auto c0 = ts_.Context(ts_.admin_token());
  ASSERT_TRUE(tokens_->RevokeToken(c0.get(), revoke, &revoked).ok());
  auto access = access::v1::AccessService::NewStub(ts_.channel());

  for (const std::string& token : {secret, std::string("not-a-token")}) {
    SCOPED_TRACE(token);
    zv1::CheckRequest check;
    check.mutable_subject()->set_token(token);
    check.set_permission("templates.view");
    check.set_item_id(item.id());
    check.set_min_revision(revoked.revision());
    zv1::CheckResponse checked;
    auto c1 = Deadline();
    ASSERT_TRUE(authz_->Check(c1.get(), check, &checked).ok());
    EXPECT_FALSE(checked.allowed());
    EXPECT_EQ(checked.reason(), model::v1::DECISION_REASON_SUBJECT_INACTIVE);

    access::v1::ExplainRequest ask;
    ask.mutable_question()->set_token(token);
    ask.mutable_question()->set_permission("templates.view");
    ask.mutable_question()->set_item_id(item.id());
    access::v1::ExplainResponse reference;
    auto c2 = ts_.Context(ts_.admin_token());
    grpc::Status asked = access->Explain(c2.get(), ask, &reference);
    ASSERT_TRUE(asked.ok()) << asked.error_message();
    EXPECT_EQ(checked.auth_failure(), reference.auth_failure());

    zv1::ExplainRequest explain;
    *explain.mutable_subject() = check.subject();
    explain.set_permission("templates.view");
    explain.set_item_id(item.id());
    explain.set_min_revision(revoked.revision());
    zv1::ExplainResponse explained;
    auto c3 = Deadline();
    ASSERT_TRUE(authz_->Explain(c3.get(), explain, &explained).ok());
    EXPECT_EQ(explained.auth_failure(), reference.auth_failure());
    EXPECT_EQ(explained.explanation().SerializeAsString(),
              reference.explanation().SerializeAsString())
        << explained.explanation().DebugString() << "\nvs\n"
        << reference.explanation().DebugString();
  }

  // Authenticate and Authorize take the token as the caller's credential.
  zv1::AuthorizeRequest authorize;
  authorize.set_token("not-a-token");
  authorize.set_permission("templates.view");
  authorize.set_item_id(item.id());
  zv1::AuthorizeResponse authorized;
  auto c4 = Deadline();
  grpc::Status status = authz_->Authorize(c4.get(), authorize, &authorized);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(AuthFailureOf(*c4), "malformed");
}

// Bad input: each check of a batch fails alone; whole-request errors say
// what to fix.
TEST_F(AuthzServiceTest, BadInputIsRejectedWithClearErrors) {
  auto set = NewSet({"templates.view"});
  auto user = NewUser(set.id());
  auto item = NewItem("template");
  int64_t revision =
      Put({store::Wrap(set), store::Wrap(user), store::Wrap(item)});

  zv1::BatchCheckRequest batch;
  batch.set_min_revision(revision);
  auto add = [&](const std::string& id, const std::string& subject,
                 const std::string& permission, const std::string& item_id) {
    auto* check = batch.add_checks();
    check->set_correlation_id(id);
    if (!subject.empty()) check->mutable_subject()->set_subject_id(subject);
    check->set_permission(permission);
    check->set_item_id(item_id);
  };
  add("ok", user.id(), "templates.view", item.id());
  add("unknown-permission", user.id(), "templates.fly", item.id());
  add("bad-item", user.id(), "templates.view", "itm_nope");
  add("org-permission-with-item", user.id(), "platform.users", item.id());
  add("no-subject", "", "templates.view", item.id());
  add("unknown-subject", ids::NewId(ids::kUser), "templates.view", item.id());
  zv1::BatchCheckResponse results;
  auto c1 = Deadline();
  grpc::Status status = authz_->BatchCheck(c1.get(), batch, &results);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(results.results_size(), 6);
  EXPECT_EQ(results.results(0).correlation_id(), "ok");
  EXPECT_EQ(results.results(0).error_code(), 0);
  EXPECT_EQ(results.results(0).reason(), model::v1::DECISION_REASON_NO_ACCESS);
  for (int i = 1; i < 5; ++i) {
    EXPECT_EQ(results.results(i).error_code(),
              static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT))
        << results.results(i).correlation_id();
    EXPECT_FALSE(results.results(i).error_message().empty());
    EXPECT_FALSE(results.results(i).allowed());
  }
  EXPECT_EQ(results.results(5).error_code(),
            static_cast<int>(grpc::StatusCode::NOT_FOUND));

  // Whole-batch errors.
  for (int size : {0, 1001}) {
    zv1::BatchCheckRequest sized;
    for (int i = 0; i < size; ++i) {
      auto* check = sized.add_checks();
      check->set_correlation_id(absl::StrCat(i));
      check->mutable_subject()->set_subject_id(user.id());
      check->set_permission("templates.view");
      check->set_item_id(item.id());
    }
    zv1::BatchCheckResponse response;
    auto context = Deadline();
    EXPECT_EQ(authz_->BatchCheck(context.get(), sized, &response).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT)
        << size;
  }
  zv1::BatchCheckRequest duplicated;
  duplicated.add_checks()->set_correlation_id("same");
  duplicated.add_checks()->set_correlation_id("same");
  zv1::BatchCheckResponse response;
  auto c2 = Deadline();
  EXPECT_EQ(authz_->BatchCheck(c2.get(), duplicated, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  // ListAccessible: unknown type, and a permission of another type.
  for (const auto& [type, permission] :
       std::vector<std::pair<std::string, std::string>>{
           {"spaceship", "templates.view"}, {"asset", "templates.view"}}) {
    zv1::ListAccessibleRequest list;
    list.mutable_subject()->set_subject_id(user.id());
    list.set_item_type(type);
    list.set_permission(permission);
    zv1::ListAccessibleResponse listed;
    auto context = Deadline();
    grpc::Status listed_status =
        authz_->ListAccessible(context.get(), list, &listed);
    EXPECT_EQ(listed_status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << type;
    EXPECT_FALSE(listed_status.error_message().empty());
  }

  // Authenticate: empty and malformed tokens, a negative min_revision.
  zv1::AuthenticateRequest empty;
  zv1::AuthenticateResponse who;
  auto c3 = Deadline();
  EXPECT_EQ(authz_->Authenticate(c3.get(), empty, &who).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(SidecarAuth("wdn_user_short", 0), "malformed");
  zv1::AuthenticateRequest negative;
  negative.set_token("wdn_user_x");
  negative.set_min_revision(-1);
  auto c4 = Deadline();
  EXPECT_EQ(authz_->Authenticate(c4.get(), negative, &who).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

// The property: on random models and random writes, the sidecar's Check,
// BatchCheck, Explain and ListAccessible agree with TokenService's
// reference decision at the same revision.
class AuthzPropertyTest : public AuthzServiceTest,
                          public ::testing::WithParamInterface<uint32_t> {};

TEST_P(AuthzPropertyTest, AgreesWithTheReferenceDecision) {
  std::mt19937 random(GetParam());
  auto pick = [&](auto& v) -> auto& {
    return v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(random)];
  };
  auto chance = [&](int percent) {
    return std::uniform_int_distribution<int>(0, 99)(random) < percent;
  };
  const std::vector<std::string> types = {"template", "asset"};
  const std::vector<std::string> permissions = {
      "templates.view", "templates.edit", "templates.manage", "assets.view",
      "assets.manage", "platform.users"};
  std::vector<model::v1::Record> records;
  std::vector<model::v1::PermissionSet> sets;
  for (int i = 0; i < 3; ++i) {
    std::vector<std::string> chosen;
    for (const auto& p : permissions) {
      if (chance(60)) chosen.push_back(p);
    }
    sets.push_back(NewSet(chosen));
    records.push_back(store::Wrap(sets.back()));
  }
  std::vector<model::v1::User> users;
  for (int i = 0; i < 5; ++i) {
    users.push_back(NewUser(pick(sets).id()));
    if (i == 4) users.back().set_status(model::v1::USER_STATUS_DEACTIVATED);
    records.push_back(store::Wrap(users.back()));
  }
  std::vector<model::v1::Group> groups;
  for (int i = 0; i < 2; ++i) {
    model::v1::Group group;
    group.set_id(ids::NewId(ids::kGroup));
    group.set_organization_id(org_);
    group.set_name(absl::StrCat("Group ", i));
    groups.push_back(group);
    records.push_back(store::Wrap(group));
    for (const auto& user : users) {
      if (!chance(40)) continue;
      model::v1::GroupMember member;
      member.set_organization_id(org_);
      member.set_group_id(group.id());
      member.set_user_id(user.id());
      records.push_back(store::Wrap(member));
    }
  }
  std::vector<model::v1::Site> sites;
  for (int i = 0; i < 4; ++i) {
    model::v1::Site site;
    site.set_id(ids::NewId(ids::kSite));
    site.set_organization_id(org_);
    site.set_name(absl::StrCat("Site ", i));
    if (!sites.empty() && chance(70)) site.set_parent_site_id(pick(sites).id());
    sites.push_back(site);
    records.push_back(store::Wrap(site));
    for (const auto& user : users) {
      if (!chance(25)) continue;
      model::v1::SiteMember member;
      member.set_organization_id(org_);
      member.set_site_id(site.id());
      member.set_user_id(user.id());
      records.push_back(store::Wrap(member));
    }
  }
  std::vector<model::v1::Item> items;
  for (int i = 0; i < 6; ++i) {
    items.push_back(NewItem(pick(types)));
    records.push_back(store::Wrap(items.back()));
  }
  auto random_grant = [&]() {
    model::v1::Grant grant;
    grant.set_id(ids::NewId(ids::kGrant));
    grant.set_organization_id(org_);
    if (chance(20)) {
      grant.set_item_type(pick(types));
    } else {
      grant.set_item_id(pick(items).id());
    }
    switch (std::uniform_int_distribution<int>(0, 3)(random)) {
      case 0:
        grant.mutable_grantee()->set_user_id(pick(users).id());
        break;
      case 1:
        grant.mutable_grantee()->set_group_id(pick(groups).id());
        break;
      case 2:
        grant.mutable_grantee()->set_site_id(pick(sites).id());
        break;
      default:
        grant.mutable_grantee()->set_organization_id(org_);
        break;
    }
    grant.set_level(static_cast<model::v1::AccessLevel>(
        std::uniform_int_distribution<int>(1, 3)(random)));
    return grant;
  };
  std::vector<model::v1::Grant> grants;
  for (int i = 0; i < 8; ++i) {
    grants.push_back(random_grant());
    records.push_back(store::Wrap(grants.back()));
  }
  Put(records);

  access::ReferenceDecider reference(&ts_.clock());
  auto compare = [&](int64_t revision) {
    auto view = ts_.app().store().Read();
    ASSERT_EQ(view->revision(), revision);
    zv1::BatchCheckRequest batch;
    batch.set_min_revision(revision);
    std::vector<access::SubjectRef> refs;
    std::vector<std::pair<std::string, std::string>> questions;
    for (const auto& user : users) {
      access::SubjectRef ref;
      ref.organization_id = org_;
      ref.kind = model::v1::SUBJECT_KIND_USER;
      ref.subject_id = user.id();
      for (const auto& permission : permissions) {
        std::vector<std::string> targets = {""};
        if (permission != "platform.users") {
          targets.clear();
          for (const auto& item : items) targets.push_back(item.id());
        }
        for (const auto& item_id : targets) {
          auto* check = batch.add_checks();
          check->set_correlation_id(absl::StrCat(batch.checks_size()));
          check->mutable_subject()->set_subject_id(user.id());
          check->set_permission(permission);
          check->set_item_id(item_id);
          refs.push_back(ref);
          questions.emplace_back(permission, item_id);
        }
      }
    }
    zv1::BatchCheckResponse results;
    auto context = Deadline();
    grpc::Status status = authz_->BatchCheck(context.get(), batch, &results);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_EQ(results.revision(), revision);
    for (size_t i = 0; i < refs.size(); ++i) {
      const auto& [permission, item_id] = questions[i];
      auto expected = reference.Check(*view, refs[i], permission, item_id);
      ASSERT_TRUE(expected.ok()) << expected.status();
      const auto& got = results.results(static_cast<int>(i));
      ASSERT_EQ(got.error_code(), 0) << got.error_message();
      EXPECT_EQ(got.reason(), expected->reason)
          << refs[i].subject_id << " " << permission << " " << item_id;

      // Explain: the same explanation.
      if (item_id.empty() || i % 3 != 0) continue;
      auto explained = reference.Explain(*view, refs[i], permission, item_id);
      ASSERT_TRUE(explained.ok());
      zv1::ExplainRequest explain;
      explain.mutable_subject()->set_subject_id(refs[i].subject_id);
      explain.set_permission(permission);
      explain.set_item_id(item_id);
      explain.set_min_revision(revision);
      zv1::ExplainResponse response;
      auto c = Deadline();
      ASSERT_TRUE(authz_->Explain(c.get(), explain, &response).ok());
      // The whole explanation, summary and via_id included, field for
      // field: both build it with libs/decision from the same facts.
      const auto& mine = response.explanation();
      EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
          mine, *explained))
          << mine.DebugString() << "\nvs reference\n"
          << explained->DebugString();
    }

    // ListAccessible for every user, type and item permission.
    for (const auto& ref : std::vector<access::SubjectRef>(
             refs.begin(), refs.end())) {
      for (const auto& permission : permissions) {
        if (permission == "platform.users") continue;
        auto page = reference.ListAccessible(*view, ref, permission, 1000, "");
        ASSERT_TRUE(page.ok()) << page.status();
        std::vector<std::string> want;
        for (const auto& item : page->items) want.push_back(item.id());
        zv1::ListAccessibleRequest list;
        list.mutable_subject()->set_subject_id(ref.subject_id);
        list.set_permission(permission);
        list.set_item_type(permission.substr(0, 1) == "t" ? "template"
                                                          : "asset");
        list.set_page_size(1000);
        list.set_min_revision(revision);
        zv1::ListAccessibleResponse listed;
        auto c = Deadline();
        ASSERT_TRUE(authz_->ListAccessible(c.get(), list, &listed).ok());
        std::vector<std::string> have(listed.item_ids().begin(),
                                      listed.item_ids().end());
        EXPECT_EQ(have, want) << ref.subject_id << " " << permission;
      }
      break;  // one user per revision keeps the test fast
    }
  };

  compare(ts_.app().store().committed_revision());
  // Random writes, each compared at its revision.
  for (int step = 0; step < 12; ++step) {
    int64_t revision = 0;
    switch (std::uniform_int_distribution<int>(0, 3)(random)) {
      case 0: {  // a new grant
        grants.push_back(random_grant());
        revision = Put({store::Wrap(grants.back())});
        break;
      }
      case 1: {  // a grant removed
        if (grants.empty()) continue;
        auto& victim = pick(grants);
        auto removed = ts_.app().store().Write(
            "test.remove", [&](store::WriteTxn& txn) {
              return store::DeleteRecord(txn, store::Wrap(victim));
            });
        ASSERT_TRUE(removed.ok()) << removed.status();
        revision = *removed;
        victim = grants.back();
        grants.pop_back();
        break;
      }
      case 2: {  // a site moves under another (or to the top)
        auto& site = pick(sites);
        auto& parent = pick(sites);
        bool cycle = false;
        for (std::string at = parent.id(); !at.empty();) {
          if (at == site.id()) cycle = true;
          std::string next;
          for (const auto& s : sites) {
            if (s.id() == at) next = s.parent_site_id();
          }
          at = cycle ? "" : next;
        }
        site.set_parent_site_id(cycle ? "" : parent.id());
        revision = Put({store::Wrap(site)});
        break;
      }
      default: {  // a user changes permission set or status
        auto& user = pick(users);
        user.set_permission_set_id(pick(sets).id());
        user.set_status(chance(30) ? model::v1::USER_STATUS_DEACTIVATED
                                   : model::v1::USER_STATUS_ACTIVE);
        revision = Put({store::Wrap(user)});
        break;
      }
    }
    SCOPED_TRACE(absl::StrCat("step ", step));
    compare(revision);
    if (HasFatalFailure()) return;
  }
}

INSTANTIATE_TEST_SUITE_P(FixedSeeds, AuthzPropertyTest,
                         ::testing::Values(1u, 7u, 42u));

}  // namespace
}  // namespace warden::testing
