// TLS, mutual TLS for the change stream and usage reports, metrics and the
// caller limits, against a real TokenService on a loopback port.

#include <cstdlib>
#include <regex>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "libs/server/tls.h"
#include "services/token_service/token_service_app.h"
#include "tests/support/temp_dir.h"
#include "warden/changes/v1/change_stream_service.grpc.pb.h"
#include "warden/token/v1/token_service.grpc.pb.h"

namespace warden::testing {
namespace {

namespace tv1 = token::v1;

// Runs a shell command, failing the test if it fails.
void Run(const std::string& command) {
  ASSERT_EQ(std::system((command + " >/dev/null 2>&1").c_str()), 0) << command;
}

// Certificates made with openssl: a CA, a server certificate for
// 127.0.0.1, a client certificate from that CA, one from another CA, and an
// expired one from the right CA.
class Certificates {
 public:
  Certificates() {
    const std::string d = dir_.path();
    auto make_ca = [&](const std::string& name) {
      Run(absl::StrCat("openssl req -x509 -newkey rsa:2048 -nodes -keyout ", d,
                       "/", name, ".key -out ", d, "/", name,
                       ".pem -days 2 -subj /CN=", name));
    };
    auto make_cert = [&](const std::string& name, const std::string& ca,
                         const std::string& days, const std::string& ext) {
      Run(absl::StrCat("openssl req -newkey rsa:2048 -nodes -keyout ", d, "/",
                       name, ".key -out ", d, "/", name, ".csr -subj /CN=",
                       name));
      std::ofstream(d + "/" + name + ".ext") << ext;
      Run(absl::StrCat("openssl x509 -req -in ", d, "/", name, ".csr -CA ", d,
                       "/", ca, ".pem -CAkey ", d, "/", ca,
                       ".key -CAcreateserial -out ", d, "/", name,
                       ".pem -days ", days, " -extfile ", d, "/", name,
                       ".ext"));
    };
    make_ca("ca");
    make_ca("other-ca");
    make_cert("server", "ca", "2",
              "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
    make_cert("sidecar", "ca", "2", "extendedKeyUsage=clientAuth\n");
    make_cert("stranger", "other-ca", "2", "extendedKeyUsage=clientAuth\n");
    make_cert("expired", "ca", "-1", "extendedKeyUsage=clientAuth\n");
  }
  std::string Path(const std::string& file) const { return dir_.Sub(file); }

 private:
  TempDir dir_;
};

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
  const std::regex sample(
      R"(^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? [-+0-9.eEInfa]+$)");
  std::map<std::string, double> samples;
  for (absl::string_view line : absl::StrSplit(response->body, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    std::string text(line);
    ASSERT_TRUE(std::regex_match(text, sample)) << text;
    size_t space = text.rfind(' ');
    samples[text.substr(0, space)] = std::stod(text.substr(space + 1));
  }
  EXPECT_EQ(samples[R"(warden_grpc_requests_total{method="/warden.token.v1.TokenService/ListServiceUserTokens",code="OK"})"],
            3);
  EXPECT_EQ(samples[R"(warden_grpc_requests_total{method="/warden.token.v1.TokenService/GetToken",code="UNAUTHENTICATED"})"],
            1);
  EXPECT_EQ(samples[R"(warden_grpc_request_seconds_count{method="/warden.token.v1.TokenService/ListServiceUserTokens"})"],
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
