// Integration tests of TokenService's token RPCs through gRPC, against a
// real server on a loopback port with RocksDB in a temp dir.

#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "libs/store/records.h"
#include "libs/tokens/token_registry.h"
#include "libs/tokens/token_rules.h"
#include "tests/services/token_service/test_server.h"
#include "tests/support/temp_dir.h"
#include "warden/token/v1/token_service.grpc.pb.h"

namespace warden::testing {
namespace {

using token::v1::TokenService;
namespace tv1 = token::v1;

class TokenServiceTest : public ::testing::Test {
 protected:
  TokenServiceTest() { Connect(); }

  void Connect() { stub_ = TokenService::NewStub(server_.channel()); }

  // Creates a service-user token as `caller`; fails the test on error.
  tv1::CreateServiceUserTokenResponse CreateServiceToken(
      const std::string& name, int days = 0,
      const std::string& caller = "") {
    tv1::CreateServiceUserTokenRequest request;
    request.set_name(name);
    request.set_inactivity_days(days);
    tv1::CreateServiceUserTokenResponse response;
    auto context =
        server_.Context(caller.empty() ? server_.admin_token() : caller);
    grpc::Status status =
        stub_->CreateServiceUserToken(context.get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    secrets_.push_back(response.secret());
    return response;
  }

  grpc::Status Authenticate(const std::string& secret,
                            tv1::AuthenticateResponse* response,
                            std::string* failure = nullptr) {
    tv1::AuthenticateRequest request;
    request.set_token(secret);
    grpc::ClientContext context;
    grpc::Status status = stub_->Authenticate(&context, request, response);
    if (failure != nullptr) {
      auto it = context.GetServerTrailingMetadata().find("warden-auth-failure");
      *failure = it == context.GetServerTrailingMetadata().end()
                     ? ""
                     : std::string(it->second.data(), it->second.size());
    }
    return status;
  }

  // The reason a secret fails to authenticate, or "ok".
  std::string AuthOutcome(const std::string& secret) {
    tv1::AuthenticateResponse response;
    std::string failure;
    grpc::Status status = Authenticate(secret, &response, &failure);
    if (status.ok()) return "ok";
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    return failure;
  }

  grpc::Status Revoke(const std::string& token_id) {
    tv1::RevokeTokenRequest request;
    request.set_token_id(token_id);
    tv1::RevokeTokenResponse response;
    auto context = server_.Context(server_.admin_token());
    return stub_->RevokeToken(context.get(), request, &response);
  }

  grpc::Status Regenerate(const std::string& token_id,
                          tv1::RegenerateTokenResponse* response) {
    tv1::RegenerateTokenRequest request;
    request.set_token_id(token_id);
    auto context = server_.Context(server_.admin_token());
    grpc::Status status = stub_->RegenerateToken(context.get(), request,
                                                 response);
    if (status.ok()) secrets_.push_back(response->secret());
    return status;
  }

  grpc::Status Delete(const std::string& token_id) {
    tv1::DeleteTokenRequest request;
    request.set_token_id(token_id);
    tv1::DeleteTokenResponse response;
    auto context = server_.Context(server_.admin_token());
    return stub_->DeleteToken(context.get(), request, &response);
  }

  grpc::Status Get(const std::string& token_id, const std::string& caller,
                   tv1::GetTokenResponse* response) {
    tv1::GetTokenRequest request;
    request.set_token_id(token_id);
    auto context = server_.Context(caller);
    return stub_->GetToken(context.get(), request, response);
  }

  TestTokenService server_;
  std::unique_ptr<TokenService::Stub> stub_;
  std::vector<std::string> secrets_;
};

// A service-user token goes through its whole life: create, use, edit,
// revoke, regenerate, revoke, delete.
TEST_F(TokenServiceTest, ServiceUserTokenLifecycle) {
  auto created = CreateServiceToken("Power BI export");
  EXPECT_TRUE(absl::StartsWith(created.secret(), "wdn_svc_"));
  EXPECT_EQ(created.token().token().inactivity_days(), 45);
  EXPECT_EQ(created.token().token().state(), model::v1::TOKEN_STATE_ACTIVE);
  EXPECT_TRUE(created.token().token().secret_digest().empty());
  EXPECT_EQ(created.service_user().name(), "Power BI export");
  EXPECT_GE(created.service_user().permission_set_ids_size(), 2)
      << "all permission sets by default";
  EXPECT_GT(created.revision(), 0);
  const std::string id = created.token().token().id();

  tv1::AuthenticateResponse auth;
  ASSERT_TRUE(Authenticate(created.secret(), &auth).ok());
  EXPECT_EQ(auth.subject().kind(), model::v1::SUBJECT_KIND_SERVICE_USER);
  EXPECT_EQ(auth.subject().display_name(), "Power BI export");
  EXPECT_FALSE(auth.subject().login_allowed());
  EXPECT_EQ(auth.subject().token_id(), id);

  // Edit the name and window.
  tv1::UpdateServiceUserTokenRequest update;
  update.set_token_id(id);
  update.set_name("Power BI nightly export");
  update.set_inactivity_days(180);
  update.mutable_update_mask()->add_paths("name");
  update.mutable_update_mask()->add_paths("inactivity_days");
  tv1::UpdateServiceUserTokenResponse updated;
  {
    auto context = server_.Context(server_.admin_token());
    ASSERT_TRUE(stub_->UpdateServiceUserToken(context.get(), update, &updated)
                    .ok());
  }
  EXPECT_EQ(updated.token().token().name(), "Power BI nightly export");
  EXPECT_EQ(updated.token().token().inactivity_days(), 180);
  ASSERT_TRUE(Authenticate(created.secret(), &auth).ok());
  EXPECT_EQ(auth.subject().display_name(), "Power BI nightly export");

  // Revoke: the very next Authenticate fails.
  ASSERT_TRUE(Revoke(id).ok());
  EXPECT_EQ(AuthOutcome(created.secret()), "revoked");

  // Regenerate: a new secret works, the old one never again.
  tv1::RegenerateTokenResponse regenerated;
  ASSERT_TRUE(Regenerate(id, &regenerated).ok());
  EXPECT_NE(regenerated.secret(), created.secret());
  EXPECT_EQ(regenerated.token().token().generation(), 2);
  EXPECT_EQ(AuthOutcome(regenerated.secret()), "ok");
  EXPECT_EQ(AuthOutcome(created.secret()), "unknown");

  // Delete only after revoke; then it is gone for good.
  grpc::Status active_delete = Delete(id);
  EXPECT_EQ(active_delete.error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(absl::StrContains(active_delete.error_message(), "active"));
  ASSERT_TRUE(Revoke(id).ok());
  ASSERT_TRUE(Delete(id).ok());
  tv1::GetTokenResponse got;
  EXPECT_EQ(Get(id, server_.admin_token(), &got).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Regenerate(id, &regenerated).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(AuthOutcome(regenerated.secret()), "unknown");

  // The service user went with the token.
  auto view = server_.app().store().Read();
  auto service_user = store::GetRecord<model::v1::ServiceUser>(
      *view, store::Table::kServiceUsers,
      store::OrgKey(created.service_user().organization_id(),
                    created.service_user().id()));
  ASSERT_TRUE(service_user.ok());
  EXPECT_FALSE(service_user->has_value());
}

// Each step the state machine forbids answers FAILED_PRECONDITION naming the
// current state and what is allowed next, and writes nothing.
TEST_F(TokenServiceTest, IllegalStepsAreRejected) {
  auto created = CreateServiceToken("Workato");
  const std::string id = created.token().token().id();
  tv1::RegenerateTokenResponse regenerated;

  int64_t before = server_.app().store().committed_revision();
  grpc::Status status = Regenerate(id, &regenerated);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(absl::StrContains(status.error_message(), "token is active"))
      << status.error_message();
  EXPECT_TRUE(absl::StrContains(status.error_message(), "revoked"));
  EXPECT_EQ(Delete(id).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(server_.app().store().committed_revision(), before);

  ASSERT_TRUE(Revoke(id).ok());
  status = Revoke(id);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(absl::StrContains(status.error_message(), "token is revoked"));

  tv1::UpdateServiceUserTokenRequest update;
  update.set_token_id(id);
  update.set_name("renamed");
  update.mutable_update_mask()->add_paths("name");
  tv1::UpdateServiceUserTokenResponse updated;
  auto context = server_.Context(server_.admin_token());
  status = stub_->UpdateServiceUserToken(context.get(), update, &updated);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

// 64 concurrent creates race for the organization's last free service-user
// slot: exactly one wins.
TEST_F(TokenServiceTest, ConcurrentCreatesRespectTheServiceUserLimit) {
  // The bootstrap already holds one active service-user token (sidecars).
  for (int i = 0; i < 18; ++i) CreateServiceToken("integration " +
                                                  std::to_string(i));
  std::atomic<int> ok{0}, exhausted{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 64; ++i) {
    threads.emplace_back([&, i] {
      tv1::CreateServiceUserTokenRequest request;
      request.set_name("racer " + std::to_string(i));
      tv1::CreateServiceUserTokenResponse response;
      auto context = server_.Context(server_.admin_token());
      grpc::Status status =
          stub_->CreateServiceUserToken(context.get(), request, &response);
      if (status.ok()) {
        ++ok;
      } else if (status.error_code() ==
                 grpc::StatusCode::RESOURCE_EXHAUSTED) {
        ++exhausted;
      } else {
        ++other;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(exhausted.load(), 63);
  EXPECT_EQ(other.load(), 0);
}

// Regenerating a revoked token makes it active again, so it is refused when
// the limit is already reached.
TEST_F(TokenServiceTest, RegenerateAtTheLimitIsRefused) {
  std::vector<std::string> ids;
  for (int i = 0; i < 19; ++i) {
    ids.push_back(CreateServiceToken("t" + std::to_string(i)).token()
                      .token().id());
  }
  ASSERT_TRUE(Revoke(ids[0]).ok());
  CreateServiceToken("takes the freed slot");
  tv1::RegenerateTokenResponse regenerated;
  grpc::Status status = Regenerate(ids[0], &regenerated);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_TRUE(absl::StrContains(status.error_message(), "20"));
}

// A user has at most 10 active user tokens per organization; revoked ones do
// not count.
TEST_F(TokenServiceTest, UserTokenLimitAndLifecycle) {
  // The bootstrap admin starts with one user token.
  std::vector<std::string> ids;
  for (int i = 0; i < 9; ++i) {
    tv1::CreateUserTokenRequest request;
    request.set_name("script " + std::to_string(i));
    tv1::CreateUserTokenResponse response;
    auto context = server_.Context(server_.admin_token());
    ASSERT_TRUE(stub_->CreateUserToken(context.get(), request, &response).ok());
    EXPECT_TRUE(absl::StartsWith(response.secret(), "wdn_user_"));
    secrets_.push_back(response.secret());
    ids.push_back(response.token().token().id());
  }
  tv1::CreateUserTokenRequest request;
  request.set_name("one too many");
  tv1::CreateUserTokenResponse response;
  {
    auto context = server_.Context(server_.admin_token());
    EXPECT_EQ(stub_->CreateUserToken(context.get(), request, &response)
                  .error_code(),
              grpc::StatusCode::RESOURCE_EXHAUSTED);
  }
  ASSERT_TRUE(Revoke(ids[0]).ok());
  {
    auto context = server_.Context(server_.admin_token());
    ASSERT_TRUE(
        stub_->CreateUserToken(context.get(), request, &response).ok());
  }
  tv1::AuthenticateResponse auth;
  ASSERT_TRUE(Authenticate(response.secret(), &auth).ok());
  EXPECT_EQ(auth.subject().kind(), model::v1::SUBJECT_KIND_USER);
  EXPECT_TRUE(auth.subject().login_allowed());

  // The owner lists their own tokens, page by page.
  std::set<std::string> listed;
  std::string page_token;
  do {
    tv1::ListUserTokensRequest list;
    list.set_page_size(4);
    list.set_page_token(page_token);
    tv1::ListUserTokensResponse page;
    auto context = server_.Context(server_.admin_token());
    ASSERT_TRUE(stub_->ListUserTokens(context.get(), list, &page).ok());
    EXPECT_LE(page.tokens_size(), 4);
    for (const auto& view : page.tokens()) listed.insert(view.token().id());
    page_token = page.next_page_token();
  } while (!page_token.empty());
  EXPECT_EQ(listed.size(), 11u);

  ASSERT_TRUE(Delete(ids[0]).ok());
}

// A token unused for its inactivity window expires, for each window. Each
// window gets its own server, since moving the clock that far also expires
// the admin's own token.
TEST(TokenExpiryTest, InactivityExpiryAtEachWindow) {
  for (int days : {31, 45, 60, 180}) {
    SCOPED_TRACE(days);
    TestTokenService server;
    auto stub = TokenService::NewStub(server.channel());
    tv1::CreateServiceUserTokenRequest request;
    request.set_name("window");
    request.set_inactivity_days(days);
    tv1::CreateServiceUserTokenResponse created;
    auto context = server.Context(server.admin_token());
    ASSERT_TRUE(
        stub->CreateServiceUserToken(context.get(), request, &created).ok());

    auto authenticates = [&] {
      tv1::AuthenticateRequest auth;
      auth.set_token(created.secret());
      tv1::AuthenticateResponse subject;
      grpc::ClientContext auth_context;
      return stub->Authenticate(&auth_context, auth, &subject).ok();
    };
    server.clock().Advance(absl::Hours(24) * days - absl::Seconds(1));
    EXPECT_TRUE(authenticates());
    server.clock().Advance(absl::Seconds(1));
    EXPECT_FALSE(authenticates());
  }
}

// A use reported by a sidecar moves the inactivity window forward.
TEST_F(TokenServiceTest, ReportedUseExtendsTheWindow) {
  auto used = CreateServiceToken("used daily", 31);
  server_.clock().Advance(absl::Hours(24) * 30);
  tv1::ReportTokenUsageRequest report;
  auto* usage = report.add_usages();
  usage->set_organization_id(used.token().token().organization_id());
  usage->set_token_id(used.token().token().id());
  usage->set_generation(1);
  *usage->mutable_used_at() = tokens::ToProto(server_.clock().Now());
  // A report for a dead generation changes nothing.
  auto* stale = report.add_usages();
  *stale = *usage;
  stale->set_generation(7);
  tv1::ReportTokenUsageResponse reported;
  auto context = server_.Context(server_.sidecar_token());
  ASSERT_TRUE(stub_->ReportTokenUsage(context.get(), report, &reported).ok());
  EXPECT_EQ(reported.applied(), 1);
  EXPECT_GT(reported.revision(), 0);
  server_.clock().Advance(absl::Hours(24) * 30);
  EXPECT_EQ(AuthOutcome(used.secret()), "ok");
  server_.clock().Advance(absl::Hours(24) * 2);
  EXPECT_EQ(AuthOutcome(used.secret()), "expired");

  // An empty batch is bad input.
  tv1::ReportTokenUsageRequest empty;
  context = server_.Context(server_.sidecar_token());
  EXPECT_EQ(stub_->ReportTokenUsage(context.get(), empty, &reported)
                .error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

// Missing, malformed and unknown credentials are UNAUTHENTICATED; valid but
// insufficient ones are PERMISSION_DENIED.
TEST_F(TokenServiceTest, CallersAreAuthenticatedAndAuthorized) {
  tv1::ListServiceUserTokensRequest request;
  tv1::ListServiceUserTokensResponse response;
  for (const std::string& token :
       {std::string(""), std::string("not-a-token"),
        std::string("wdn_svc_") + std::string(49, 'A')}) {
    auto context = server_.Context(token);
    EXPECT_EQ(stub_->ListServiceUserTokens(context.get(), request, &response)
                  .error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  // The sidecars' token holds only platform.replication.
  auto context = server_.Context(server_.sidecar_token());
  grpc::Status status =
      stub_->ListServiceUserTokens(context.get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(absl::StrContains(status.error_message(), "platform.api_tokens"));
}

// Bad input gets INVALID_ARGUMENT (or NOT_FOUND) with a message naming the
// field, and nothing is written.
TEST_F(TokenServiceTest, BadInputIsRejectedWithoutWriting) {
  int64_t before = server_.app().store().committed_revision();
  struct Case {
    std::string name;
    int days;
    std::vector<std::string> sets;
    grpc::StatusCode code;
    std::string mentions;
  };
  std::vector<Case> cases = {
      {"", 0, {}, grpc::StatusCode::INVALID_ARGUMENT, "name"},
      {std::string(101, 'x'), 0, {}, grpc::StatusCode::INVALID_ARGUMENT,
       "100"},
      {" padded", 0, {}, grpc::StatusCode::INVALID_ARGUMENT, "white space"},
      {"ok", 30, {}, grpc::StatusCode::INVALID_ARGUMENT, "inactivity_days"},
      {"ok", 0, {"nope"}, grpc::StatusCode::INVALID_ARGUMENT,
       "permission_set_ids"},
      {"ok", 0, {"pset_aaaaaaaaaaaaaaaaaaaa"}, grpc::StatusCode::NOT_FOUND,
       "permission set"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.mentions);
    tv1::CreateServiceUserTokenRequest request;
    request.set_name(c.name);
    request.set_inactivity_days(c.days);
    for (const auto& set : c.sets) request.add_permission_set_ids(set);
    tv1::CreateServiceUserTokenResponse response;
    auto context = server_.Context(server_.admin_token());
    grpc::Status status =
        stub_->CreateServiceUserToken(context.get(), request, &response);
    EXPECT_EQ(status.error_code(), c.code);
    EXPECT_TRUE(absl::StrContains(status.error_message(), c.mentions))
        << status.error_message();
  }

  tv1::ListServiceUserTokensRequest list;
  list.set_page_size(501);
  tv1::ListServiceUserTokensResponse listed;
  auto context = server_.Context(server_.admin_token());
  EXPECT_EQ(stub_->ListServiceUserTokens(context.get(), list, &listed)
                .error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  list.set_page_size(10);
  list.set_page_token("garbage");
  context = server_.Context(server_.admin_token());
  EXPECT_EQ(stub_->ListServiceUserTokens(context.get(), list, &listed)
                .error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  tv1::GetTokenResponse got;
  EXPECT_EQ(Get("tok_bad", server_.admin_token(), &got).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Get("tok_aaaaaaaaaaaaaaaaaaaa", server_.admin_token(), &got)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);

  tv1::UpdateServiceUserTokenRequest update;
  update.set_token_id("tok_aaaaaaaaaaaaaaaaaaaa");
  update.mutable_update_mask()->add_paths("state");
  tv1::UpdateServiceUserTokenResponse updated;
  context = server_.Context(server_.admin_token());
  EXPECT_EQ(stub_->UpdateServiceUserToken(context.get(), update, &updated)
                .error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  EXPECT_EQ(server_.app().store().committed_revision(), before);
}

// A repeated request id does not create a second token or show a secret
// twice.
TEST_F(TokenServiceTest, RequestIdMakesCreateIdempotent) {
  tv1::CreateServiceUserTokenRequest request;
  request.set_name("retry-safe");
  request.set_request_id("create-42");
  tv1::CreateServiceUserTokenResponse first, second;
  auto context = server_.Context(server_.admin_token());
  ASSERT_TRUE(
      stub_->CreateServiceUserToken(context.get(), request, &first).ok());
  request.set_name("retry-safe 2");
  context = server_.Context(server_.admin_token());
  grpc::Status status =
      stub_->CreateServiceUserToken(context.get(), request, &second);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_TRUE(absl::StrContains(status.error_message(),
                                first.token().token().id()));
  EXPECT_TRUE(second.secret().empty());
}

// Everything survives a restart of the server.
TEST_F(TokenServiceTest, RestartKeepsEverything) {
  auto kept = CreateServiceToken("survivor");
  auto revoked = CreateServiceToken("stays revoked");
  ASSERT_TRUE(Revoke(revoked.token().token().id()).ok());
  int64_t revision = server_.app().store().committed_revision();

  server_.Restart();
  Connect();
  EXPECT_EQ(server_.app().store().committed_revision(), revision);
  EXPECT_EQ(AuthOutcome(kept.secret()), "ok");
  EXPECT_EQ(AuthOutcome(revoked.secret()), "revoked");
  EXPECT_EQ(AuthOutcome(server_.admin_token()), "ok");
}

// An admin of one organization can neither see nor touch another's tokens.
TEST_F(TokenServiceTest, OrganizationsAreIsolated) {
  auto a_token = CreateServiceToken("org A integration");

  auto admin = server_.app().registry().Authenticate(server_.admin_token());
  ASSERT_TRUE(admin.ok());
  auto org_b = server_.app().registry().CreateOrganization(
      &*admin, server_.app().catalog().catalog(), "Org B", "b@example.com",
      "B Admin", false);
  ASSERT_TRUE(org_b.ok()) << org_b.status();
  const std::string b_admin = org_b->admin_token.secret;
  secrets_.push_back(b_admin);

  tv1::GetTokenResponse got;
  EXPECT_EQ(Get(a_token.token().token().id(), b_admin, &got).error_code(),
            grpc::StatusCode::NOT_FOUND);
  tv1::RevokeTokenRequest revoke;
  revoke.set_token_id(a_token.token().token().id());
  tv1::RevokeTokenResponse revoked;
  auto context = server_.Context(b_admin);
  EXPECT_EQ(stub_->RevokeToken(context.get(), revoke, &revoked).error_code(),
            grpc::StatusCode::NOT_FOUND);

  tv1::ListServiceUserTokensRequest list;
  tv1::ListServiceUserTokensResponse listed;
  context = server_.Context(b_admin);
  ASSERT_TRUE(stub_->ListServiceUserTokens(context.get(), list, &listed).ok());
  EXPECT_EQ(listed.tokens_size(), 0);
  EXPECT_EQ(AuthOutcome(a_token.secret()), "ok");

  // A person in two organizations has separate tokens in each.
  auto b_token = CreateServiceToken("org B integration", 0, b_admin);
  tv1::AuthenticateResponse auth;
  ASSERT_TRUE(Authenticate(b_token.secret(), &auth).ok());
  EXPECT_EQ(auth.subject().organization_id(),
            org_b->organization.id());
}

// Deactivating or removing a user ends their tokens for good.
TEST_F(TokenServiceTest, InactiveOwnersTokensStopForGood) {
  auto admin = server_.app().registry().Authenticate(server_.admin_token());
  ASSERT_TRUE(admin.ok());
  auto set_status = [&](model::v1::UserStatus status) {
    auto revision = server_.app().store().Write(
        "user.status", [&](store::WriteTxn& txn) -> absl::Status {
          auto user = store::GetRecord<model::v1::User>(
              txn, store::Table::kUsers,
              store::OrgKey(admin->organization_id(), admin->subject_id()));
          if (!user.ok()) return user.status();
          (*user)->set_status(status);
          auto put = store::Put(txn, **user);
          if (!put.ok()) return put;
          if (status != model::v1::USER_STATUS_ACTIVE) {
            return tokens::EndUserTokens(txn, admin->organization_id(),
                                         admin->subject_id());
          }
          return absl::OkStatus();
        });
    ASSERT_TRUE(revision.ok()) << revision.status();
  };
  set_status(model::v1::USER_STATUS_DEACTIVATED);
  EXPECT_EQ(AuthOutcome(server_.admin_token()), "owner_inactive");
  set_status(model::v1::USER_STATUS_ACTIVE);
  EXPECT_EQ(AuthOutcome(server_.admin_token()), "owner_inactive");
}

// No secret issued by the server ever reaches its data directory.
TEST_F(TokenServiceTest, SecretsNeverReachTheDataDirectory) {
  for (int i = 0; i < 5; ++i) {
    auto created = CreateServiceToken("scan " + std::to_string(i));
    ASSERT_TRUE(Revoke(created.token().token().id()).ok());
    tv1::RegenerateTokenResponse regenerated;
    ASSERT_TRUE(Regenerate(created.token().token().id(), &regenerated).ok());
  }
  secrets_.push_back(server_.admin_token());
  secrets_.push_back(server_.sidecar_token());
  server_.Stop();  // flush memtables into SST files too
  std::string stored = ReadAllFiles(server_.data_dir() + "/db");
  ASSERT_FALSE(stored.empty());
  for (const auto& secret : secrets_) {
    ASSERT_FALSE(secret.empty());
    EXPECT_EQ(stored.find(secret), std::string::npos);
    // Nor the random part alone, without its prefix.
    EXPECT_EQ(stored.find(secret.substr(secret.find('_', 4) + 1, 30)),
              std::string::npos);
  }
}

}  // namespace
}  // namespace warden::testing
