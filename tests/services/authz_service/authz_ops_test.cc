// AuthzService operations: mutual TLS to a TokenService that requires client
// certificates for the change stream, the sidecar's Prometheus metrics, and
// TokenService's follower gauges. Both run in this process on loopback
// ports; certificates are made with openssl.

#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "libs/ids/ids.h"
#include "libs/store/records.h"
#include "libs/tokens/token_registry.h"
#include "services/authz_service/authz_service_app.h"
#include "services/token_service/token_service_app.h"
#include "tests/support/certificates.h"
#include "tests/support/prometheus_text.h"
#include "tests/support/temp_dir.h"
#include "warden/authz/v1/authz_service.grpc.pb.h"

namespace warden::testing {
namespace {

namespace zv1 = authz::v1;

// Scrapes http://127.0.0.1:<port>/metrics and parses it.
std::map<std::string, double> Scrape(int port) {
  std::map<std::string, double> samples;
  httplib::Client client("127.0.0.1", port);
  auto response = client.Get("/metrics");
  EXPECT_TRUE(response);
  if (!response) return samples;
  EXPECT_EQ(response->status, 200);
  std::string bad_line;
  EXPECT_TRUE(ParsePrometheusText(response->body, &samples, &bad_line))
      << bad_line;
  return samples;
}

class AuthzOpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    token_service::TokenServiceConfig config;
    config.listen_address = "127.0.0.1:0";
    config.data_dir = data_.path();
    config.sync = false;
    config.shutdown_grace = absl::Seconds(1);
    config.metrics_listen_address = "127.0.0.1:0";
    config.tls.cert_file = certs_.Path("server.pem");
    config.tls.key_file = certs_.Path("server.key");
    config.tls.client_ca_file = certs_.Path("ca.pem");
    auto app = token_service::TokenServiceApp::Start(config, &clock_);
    ASSERT_TRUE(app.ok()) << app.status();
    ts_ = *std::move(app);
    credential_file_ = sidecar_dir_.Sub("sidecar.token");
    std::string token;
    std::ifstream(data_.Sub(token_service::kBootstrapSidecarTokenFile)) >>
        token;
    std::ofstream(credential_file_) << token << "\n";
    auto admin = ts_->registry().Authenticate(
        ReadFile(data_.Sub(token_service::kBootstrapAdminTokenFile)));
    ASSERT_TRUE(admin.ok()) << admin.status();
    org_ = admin->organization_id();
  }

  void TearDown() override {
    if (sidecar_ != nullptr) sidecar_->Shutdown();
    sidecar_.reset();
    if (ts_ != nullptr) ts_->Shutdown();
  }

  static std::string ReadFile(const std::string& path) {
    std::string text;
    std::ifstream(path) >> text;
    return text;
  }

  // Starts a sidecar presenting `client` ("" for no client certificate)
  // over TLS to TokenService.
  void StartSidecar(const std::string& client) {
    authz_service::AuthzServiceConfig config;
    config.listen_address = "127.0.0.1:0";
    config.token_service_address = absl::StrCat("127.0.0.1:", ts_->port());
    config.credential_file = credential_file_;
    config.metrics_listen_address = "127.0.0.1:0";
    config.usage_flush_interval = absl::Hours(1);
    config.shutdown_grace = absl::Milliseconds(200);
    config.reconnect_initial_backoff = absl::Milliseconds(20);
    config.upstream_tls.ca_file = certs_.Path("ca.pem");
    if (!client.empty()) {
      config.upstream_tls.cert_file = certs_.Path(client + ".pem");
      config.upstream_tls.key_file = certs_.Path(client + ".key");
    }
    auto app = authz_service::AuthzServiceApp::Start(config, &clock_);
    ASSERT_TRUE(app.ok()) << app.status();
    sidecar_ = *std::move(app);
    authz_ = zv1::AuthzService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", sidecar_->port()),
        grpc::InsecureChannelCredentials()));
  }

  static std::unique_ptr<grpc::ClientContext> Deadline(int seconds = 20) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::seconds(seconds));
    return context;
  }

  grpc::Status Check(const std::string& subject_id,
                     const std::string& permission, const std::string& item,
                     int64_t revision, zv1::CheckResponse* response) {
    zv1::CheckRequest request;
    request.mutable_subject()->set_subject_id(subject_id);
    request.set_permission(permission);
    request.set_item_id(item);
    request.set_min_revision(revision);
    auto context = Deadline();
    return authz_->Check(context.get(), request, response);
  }

  // Writes records to TokenService's store in one transaction; its revision.
  int64_t Put(const std::vector<model::v1::Record>& records) {
    auto written = ts_->store().Write("test.setup", [&](store::WriteTxn& txn) {
      absl::Status status;
      for (size_t i = 0; status.ok() && i < records.size(); ++i) {
        status = store::PutRecord(txn, records[i]);
      }
      return status;
    });
    EXPECT_TRUE(written.ok()) << written.status();
    return written.value_or(0);
  }

  Certificates certs_;
  TempDir data_;
  TempDir sidecar_dir_;
  FakeClock clock_{absl::FromUnixSeconds(1800000000)};
  std::unique_ptr<token_service::TokenServiceApp> ts_;
  std::string credential_file_;
  std::string org_;
  std::unique_ptr<authz_service::AuthzServiceApp> sidecar_;
  std::unique_ptr<zv1::AuthzService::Stub> authz_;
};

// A sidecar with a client certificate from TokenService's client CA loads
// the snapshot, follows writes, counts its decisions by reason and exports
// its revision; TokenService counts it as a follower.
TEST_F(AuthzOpsTest, SidecarWithClientCertificateConvergesAndIsObservable) {
  StartSidecar("sidecar");

  model::v1::PermissionSet set;
  set.set_id(ids::NewId(ids::kPermissionSet));
  set.set_organization_id(org_);
  set.set_name("Viewers");
  set.add_permissions("templates.view");
  model::v1::User user;
  user.set_id(ids::NewId(ids::kUser));
  user.set_organization_id(org_);
  user.set_email(absl::StrCat(user.id(), "@example.com"));
  user.set_display_name("Viewer");
  user.set_status(model::v1::USER_STATUS_ACTIVE);
  user.set_permission_set_id(set.id());
  model::v1::Item granted;
  granted.set_id(ids::NewId(ids::kItem));
  granted.set_organization_id(org_);
  granted.set_type("template");
  granted.set_name("Granted");
  model::v1::Item other = granted;
  other.set_id(ids::NewId(ids::kItem));
  other.set_name("Other");
  model::v1::Grant grant;
  grant.set_id(ids::NewId(ids::kGrant));
  grant.set_organization_id(org_);
  grant.set_item_id(granted.id());
  grant.mutable_grantee()->set_user_id(user.id());
  grant.mutable_grantee()->set_grantee_organization_id(org_);
  grant.set_level(model::v1::ACCESS_LEVEL_VIEW);
  const int64_t revision =
      Put({store::Wrap(set), store::Wrap(user), store::Wrap(granted),
           store::Wrap(other), store::Wrap(grant)});

  // Two allows, one deny for want of a grant, one for an unknown item.
  // The revision can only arrive through the Watch stream after the
  // snapshot, so the sidecar is following TokenService live.
  zv1::CheckResponse response;
  for (int i = 0; i < 2; ++i) {
    grpc::Status status =
        Check(user.id(), "templates.view", granted.id(), revision, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_TRUE(response.allowed());
  }
  ASSERT_TRUE(
      Check(user.id(), "templates.view", other.id(), revision, &response)
          .ok());
  EXPECT_EQ(response.reason(), model::v1::DECISION_REASON_NO_ACCESS);
  ASSERT_TRUE(Check(user.id(), "templates.view",
                    ids::NewId(ids::kItem), revision, &response)
                  .ok());
  EXPECT_EQ(response.reason(), model::v1::DECISION_REASON_ITEM_NOT_FOUND);

  ASSERT_GT(sidecar_->metrics_port(), 0);
  auto samples = Scrape(sidecar_->metrics_port());
  EXPECT_EQ(samples[R"(warden_authz_decisions_total{outcome="allow",reason="allowed"})"],
            2);
  EXPECT_EQ(samples[R"(warden_authz_decisions_total{outcome="deny",reason="no_access"})"],
            1);
  EXPECT_EQ(samples[R"(warden_authz_decisions_total{outcome="deny",reason="item_not_found"})"],
            1);
  EXPECT_EQ(samples[R"(warden_authz_decisions_total{outcome="deny",reason="permission_missing"})"],
            0);
  EXPECT_EQ(samples["warden_authz_replica_revision"],
            ts_->store().committed_revision());
  EXPECT_EQ(samples["warden_authz_snapshots_loaded_total"], 1);
  EXPECT_GE(samples["warden_authz_replica_lag_seconds"], 0);
  EXPECT_EQ(samples[std::string("warden_grpc_requests_total{method=\"") +
                    "/warden.authz.v1.AuthzService/Check\",code=\"OK\"}"],
            4);

  // The sidecar's Watch call may be answered before TokenService has
  // counted the follower in; wait for it, bounded.
  auto upstream = Scrape(ts_->metrics_port());
  for (int i = 0; i < 200 && upstream["warden_change_stream_followers"] < 1;
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    upstream = Scrape(ts_->metrics_port());
  }
  EXPECT_EQ(upstream["warden_change_stream_followers"], 1);
  EXPECT_EQ(upstream.count("warden_change_stream_max_follower_lag_revisions"),
            1u);

  // Usage reports go over the same mutual-TLS channel.
  tokens::Caller as_user;
  as_user.set_organization_id(org_);
  as_user.set_kind(model::v1::SUBJECT_KIND_USER);
  as_user.set_subject_id(user.id());
  as_user.set_display_name(user.display_name());
  auto token = ts_->registry().CreateUserToken(as_user, "script", 0, "");
  ASSERT_TRUE(token.ok()) << token.status();
  zv1::AuthenticateRequest authenticate;
  authenticate.set_token(token->secret);
  authenticate.set_min_revision(ts_->store().committed_revision());
  zv1::AuthenticateResponse authenticated;
  auto context = Deadline();
  grpc::Status status =
      authz_->Authenticate(context.get(), authenticate, &authenticated);
  ASSERT_TRUE(status.ok()) << status.error_message();
  absl::Status flushed = sidecar_->usage().Flush();
  EXPECT_TRUE(flushed.ok()) << flushed;
  samples = Scrape(sidecar_->metrics_port());
  EXPECT_EQ(samples[R"(warden_authz_usage_batches_total{result="sent"})"], 1);
  EXPECT_EQ(samples[R"(warden_authz_usage_batches_total{result="failed"})"],
            0);
  EXPECT_EQ(samples["warden_authz_usage_reports_total"], 1);
}

// Without a client certificate, or with one from another CA, TokenService
// refuses the change stream: the sidecar never loads a snapshot, and every
// decision is UNAVAILABLE rather than answered from an empty replica.
TEST_F(AuthzOpsTest, SidecarWithoutAcceptedCertificateNeverServes) {
  for (const std::string client : {"", "stranger"}) {
    SCOPED_TRACE(client.empty() ? "no client certificate" : client);
    StartSidecar(client);
    // Let the follower be refused a few times (the counter only moves once
    // a stream has ended), bounded so a broken follower fails the test.
    double reconnects = 0;
    for (int i = 0; i < 400 && reconnects < 3; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
      reconnects =
          Scrape(sidecar_->metrics_port())["warden_authz_reconnects_total"];
    }
    ASSERT_GE(reconnects, 3);
    auto samples = Scrape(sidecar_->metrics_port());
    EXPECT_EQ(samples["warden_authz_snapshots_loaded_total"], 0);
    EXPECT_EQ(samples["warden_authz_replica_revision"], 0);

    zv1::CheckResponse response;
    grpc::Status status =
        Check(ids::NewId(ids::kUser), "templates.view",
              ids::NewId(ids::kItem), 0, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
        << status.error_message();
    sidecar_->Shutdown();
    sidecar_.reset();
  }
}

// Plaintext to a TokenService on another machine, and a listener other
// machines can reach, each need their explicit flag.
TEST_F(AuthzOpsTest, RemoteAddressesNeedConsent) {
  authz_service::AuthzServiceConfig config;
  config.listen_address = "127.0.0.1:0";
  // Refused before any connection is tried; the name never resolves.
  config.token_service_address = "tokenservice.invalid:50051";
  config.credential_file = credential_file_;
  auto refused = authz_service::AuthzServiceApp::Start(config, &clock_);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("--allow-plaintext-upstream"),
            absl::string_view::npos);

  config.token_service_address = absl::StrCat("127.0.0.1:", ts_->port());
  config.listen_address = "0.0.0.0:0";
  refused = authz_service::AuthzServiceApp::Start(config, &clock_);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("--allow-remote-callers"),
            absl::string_view::npos);

  config.upstream_tls.ca_file = certs_.Path("missing.pem");
  config.listen_address = "127.0.0.1:0";
  refused = authz_service::AuthzServiceApp::Start(config, &clock_);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("missing.pem"),
            absl::string_view::npos);
}

}  // namespace
}  // namespace warden::testing
