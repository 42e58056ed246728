// TLS, mutual TLS for the change stream and usage reports, metrics and the
// caller limits, against a real TokenService on a loopback port.

#include <fstream>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "libs/server/tls.h"
#include "services/token_service/token_service_app.h"
#include "tests/support/certificates.h"
#include "tests/support/prometheus_text.h"
#include "tests/support/temp_dir.h"
#include "warden/changes/v1/change_stream_service.grpc.pb.h"
#include "warden/token/v1/token_service.grpc.pb.h"

namespace warden::testing {
namespace {

namespace tv1 = token::v1;

class TransportSecurityTest : public ::testing::Test {
 protected:
  void StartService(bool with_tls) {
    token_service::TokenServiceConfig config;
    config.listen_address = "127.0.0.1:0";
    config.data_dir = data_.path();
    config.shutdown_grace = absl::Seconds(1);
    config.metrics_listen_address = "127.0.0.1:0";
    if (with_tls) {
      config.tls.cert_file = certs_.Path("server.pem");
      config.tls.key_file = certs_.Path("server.key");
      config.tls.client_ca_file = certs_.Path("ca.pem");
    }
    auto app = token_service::TokenServiceApp::Start(config, &clock_);
    ASSERT_TRUE(app.ok()) << app.status();
    app_ = *std::move(app);
    std::ifstream in(data_.Sub(token_service::kBootstrapSidecarTokenFile));
    std::getline(in, sidecar_token_);
    std::ifstream admin(data_.Sub(token_service::kBootstrapAdminTokenFile));
    std::getline(admin, admin_token_);
  }

  // A TLS channel presenting `client` ("" for no client certificate).
  std::shared_ptr<grpc::Channel> TlsChannel(const std::string& client) {
    server::ClientTlsFiles files;
    files.ca_file = certs_.Path("ca.pem");
    if (!client.empty()) {
      files.cert_file = certs_.Path(client + ".pem");
      files.key_file = certs_.Path(client + ".key");
    }
    auto credentials = server::MakeChannelCredentials(files);
    EXPECT_TRUE(credentials.ok()) << credentials.status();
    return grpc::CreateChannel(absl::StrCat("127.0.0.1:", app_->port()),
                               *credentials);
  }

  // Reports one use over `channel` with the sidecars' token.
  grpc::Status ReportUsage(std::shared_ptr<grpc::Channel> channel) {
    auto stub = tv1::TokenService::NewStub(channel);
    tv1::ReportTokenUsageRequest request;
    auto* usage = request.add_usages();
    usage->set_organization_id("org_aaaaaaaaaaaaaaaaaaaa");
    usage->set_token_id("tok_aaaaaaaaaaaaaaaaaaaa");
    usage->set_generation(1);
    tv1::ReportTokenUsageResponse response;
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + sidecar_token_);
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    return stub->ReportTokenUsage(&context, request, &response);
  }

  Certificates certs_;
  TempDir data_;
  FakeClock clock_{absl::FromUnixSeconds(1800000000)};
  std::unique_ptr<token_service::TokenServiceApp> app_;
  std::string sidecar_token_;
  std::string admin_token_;
};

// Only a client certificate from the configured CA may report usage (and
// follow the change stream); a wrong CA or an expired certificate fails the
// handshake; management calls need no certificate.
TEST_F(TransportSecurityTest, MutualTlsGuardsReplication) {
  StartService(/*with_tls=*/true);
  grpc::Status with_certificate = ReportUsage(TlsChannel("sidecar"));
  EXPECT_TRUE(with_certificate.ok()) << with_certificate.error_message();

  grpc::Status no_certificate = ReportUsage(TlsChannel(""));
  EXPECT_EQ(no_certificate.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(absl::StrContains(no_certificate.error_message(),
                                "client certificate"));

  EXPECT_EQ(ReportUsage(TlsChannel("stranger")).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(ReportUsage(TlsChannel("expired")).error_code(),
            grpc::StatusCode::UNAVAILABLE);

  auto watch = changes::v1::ChangeStreamService::NewStub(TlsChannel(""));
  changes::v1::SnapshotRequest snapshot;
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer " + sidecar_token_);
  auto reader = watch->Snapshot(&context, snapshot);
  changes::v1::SnapshotResponse chunk;
  while (reader->Read(&chunk)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);

  auto tokens = tv1::TokenService::NewStub(TlsChannel(""));
  tv1::ListServiceUserTokensRequest list;
  tv1::ListServiceUserTokensResponse listed;
  grpc::ClientContext admin;
  admin.AddMetadata("authorization", "Bearer " + admin_token_);
  EXPECT_TRUE(tokens->ListServiceUserTokens(&admin, list, &listed).ok());

  // Plaintext clients cannot talk to a TLS port at all.
  auto plain = grpc::CreateChannel(absl::StrCat("127.0.0.1:", app_->port()),
                                   grpc::InsecureChannelCredentials());
  EXPECT_EQ(ReportUsage(plain).error_code(), grpc::StatusCode::UNAVAILABLE);
}

// Plaintext on an address other machines can reach needs explicit consent.
TEST_F(TransportSecurityTest, PlaintextOffLoopbackNeedsConsent) {
  token_service::TokenServiceConfig config;
  config.listen_address = "0.0.0.0:0";
  config.data_dir = data_.path();
  auto refused = token_service::TokenServiceApp::Start(config, &clock_);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(refused.status().message(), "--tls-cert"));

  config.tls.cert_file = certs_.Path("missing.pem");
  config.tls.key_file = certs_.Path("server.key");
  auto missing = token_service::TokenServiceApp::Start(config, &clock_);
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(absl::StrContains(missing.status().message(), "missing.pem"));
}

// The metrics endpoint serves well-formed Prometheus text with request
// counts by method and code, latency histograms and store figures.
TEST_F(TransportSecurityTest, MetricsAreScrapable) {
  StartService(/*with_tls=*/false);
  auto stub = tv1::TokenService::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", app_->port()),
      grpc::InsecureChannelCredentials()));
  for (int i = 0; i < 3; ++i) {
    tv1::ListServiceUserTokensRequest list;
    tv1::ListServiceUserTokensResponse listed;
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + admin_token_);
    ASSERT_TRUE(stub->ListServiceUserTokens(&context, list, &listed).ok());
  }
  tv1::GetTokenRequest bad;
  tv1::GetTokenResponse got;
  grpc::ClientContext context;
  EXPECT_FALSE(stub->GetToken(&context, bad, &got).ok());
  // Every response carries a request id.
  EXPECT_EQ(context.GetServerInitialMetadata().count("x-request-id"), 1u);

  httplib::Client client("127.0.0.1", app_->metrics_port());
  auto response = client.Get("/metrics");
  ASSERT_TRUE(response);
  ASSERT_EQ(response->status, 200);
  std::map<std::string, double> samples;
  std::string bad_line;
  ASSERT_TRUE(ParsePrometheusText(response->body, &samples, &bad_line))
      << bad_line;
  EXPECT_EQ(samples[std::string("warden_grpc_requests_total{method=\"") +
                    "/warden.token.v1.TokenService/ListServiceUserTokens\",code=\"OK\"}"],
            3);
  EXPECT_EQ(samples[std::string("warden_grpc_requests_total{method=\"") +
                    "/warden.token.v1.TokenService/GetToken\",code=\"UNAUTHENTICATED\"}"],
            1);
  EXPECT_EQ(samples[std::string("warden_grpc_request_seconds_count{method=\"") +
                    "/warden.token.v1.TokenService/ListServiceUserTokens\"}"],
            3);
  EXPECT_EQ(samples["warden_store_committed_revision"],
            app_->store().committed_revision());
  EXPECT_GT(samples["warden_store_commit_groups"], 0);
}

// One caller over its rate gets RESOURCE_EXHAUSTED, not the others.
TEST_F(TransportSecurityTest, CallersAreRateLimited) {
  token_service::TokenServiceConfig config;
  config.listen_address = "127.0.0.1:0";
  config.data_dir = data_.path();
  config.caller_limits.calls_per_second = 1;
  config.caller_limits.burst = 5;
  auto app = token_service::TokenServiceApp::Start(config, &clock_);
  ASSERT_TRUE(app.ok()) << app.status();
  std::string admin_token;
  std::ifstream(data_.Sub(token_service::kBootstrapAdminTokenFile)) >>
      admin_token;
  auto stub = tv1::TokenService::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", (*app)->port()),
      grpc::InsecureChannelCredentials()));
  auto list = [&](const std::string& token) {
    tv1::ListUserTokensRequest request;
    tv1::ListUserTokensResponse response;
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + token);
    return stub->ListUserTokens(&context, request, &response).error_code();
  };
  for (int i = 0; i < 5; ++i) EXPECT_EQ(list(admin_token), grpc::StatusCode::OK);
  EXPECT_EQ(list(admin_token), grpc::StatusCode::RESOURCE_EXHAUSTED);
  clock_.Advance(absl::Seconds(2));
  EXPECT_EQ(list(admin_token), grpc::StatusCode::OK);
}

}  // namespace
}  // namespace warden::testing
