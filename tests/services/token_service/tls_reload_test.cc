// Certificate rotation without a restart: TokenService watches its PEM
// files, and a connection opened after they change gets the new
// certificate.

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libs/server/tls.h"
#include "services/token_service/token_service_app.h"
#include "tests/support/certificates.h"
#include "tests/support/temp_dir.h"
#include "warden/token/v1/token_service.grpc.pb.h"

namespace warden::testing {
namespace {

namespace fs = std::filesystem;

class TlsReloadTest : public ::testing::Test {
 protected:
  // Makes NAME.pem/NAME.key for 127.0.0.1, signed by the test CA, with
  // common name NAME.
  void MakeServerCertificate(const std::string& name) {
    const std::string d = certs_dir_.path();
    std::ofstream(d + "/" + name + ".ext")
        << "subjectAltName=IP:127.0.0.1,DNS:localhost\n";
    for (const std::string& command : {
             absl::StrCat("openssl req -newkey rsa:2048 -nodes -keyout ", d,
                          "/", name, ".key -out ", d, "/", name,
                          ".csr -subj /CN=", name),
             absl::StrCat("openssl x509 -req -in ", d, "/", name, ".csr -CA ",
                          certs_.Path("ca.pem"), " -CAkey ",
                          certs_.Path("ca.key"), " -CAcreateserial -CAserial ",
                          d, "/ca.srl -out ", d, "/", name, ".pem -days 2 ",
                          "-extfile ", d, "/", name, ".ext")}) {
      ASSERT_EQ(std::system((command + " >/dev/null 2>&1").c_str()), 0)
          << command;
    }
  }

  // Puts NAME's certificate and key in place of the served files, each by
  // an atomic rename, as a Secret update or cert-manager would.
  void Install(const std::string& dir, const std::string& name) {
    for (const char* ext : {".key", ".pem"}) {
      fs::path next = fs::path(live_.path()) / (std::string("next") + ext);
      fs::copy_file(fs::path(dir) / (name + ext), next,
                    fs::copy_options::overwrite_existing);
      fs::rename(next, fs::path(live_.path()) / (std::string("live") + ext));
    }
  }

  // The common name of the certificate TokenService presents on a new
  // connection ("" if the handshake failed).
  std::string PresentedCommonName() {
    server::ClientTlsFiles files;
    files.ca_file = certs_.Path("ca.pem");
    auto credentials = server::MakeChannelCredentials(files);
    EXPECT_TRUE(credentials.ok()) << credentials.status();
    // A channel of its own, so no connection is shared with earlier ones.
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    auto channel = grpc::CreateCustomChannel(
        absl::StrCat("127.0.0.1:", app_->port()), *credentials, args);
    auto stub = token::v1::TokenService::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    token::v1::ListServiceUserTokensResponse response;
    // No credential: UNAUTHENTICATED, after a complete TLS handshake.
    grpc::Status status = stub->ListServiceUserTokens(
        &context, token::v1::ListServiceUserTokensRequest(), &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED)
        << status.error_message();
    auto auth = context.auth_context();
    if (auth == nullptr) return "";
    auto names = auth->FindPropertyValues("x509_common_name");
    return names.empty() ? "" : std::string(names.front().data(),
                                            names.front().size());
  }

  Certificates certs_;
  TempDir certs_dir_;
  TempDir live_;
  TempDir data_;
  FakeClock clock_{absl::FromUnixSeconds(1800000000)};
  std::unique_ptr<token_service::TokenServiceApp> app_;
};

TEST_F(TlsReloadTest, NewConnectionsGetTheReplacedCertificate) {
  MakeServerCertificate("rotated");
  // Certificate A: the "server" certificate of tests/support.
  Install(fs::path(certs_.Path("server.pem")).parent_path().string(),
          "server");

  token_service::TokenServiceConfig config;
  config.listen_address = "127.0.0.1:0";
  config.data_dir = data_.path();
  config.shutdown_grace = absl::Seconds(1);
  config.tls.cert_file = live_.Sub("live.pem");
  config.tls.key_file = live_.Sub("live.key");
  config.tls.reload_seconds = 1;
  auto app = token_service::TokenServiceApp::Start(config, &clock_);
  ASSERT_TRUE(app.ok()) << app.status();
  app_ = *std::move(app);
  ASSERT_EQ(PresentedCommonName(), "server");

  // Certificate B replaces A's files; the running server picks it up at
  // its next check of the files. The wait is bounded generously: a server
  // that never reloads fails here.
  Install(certs_dir_.path(), "rotated");
  std::string seen;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    seen = PresentedCommonName();
    if (seen == "rotated") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_EQ(seen, "rotated");
}

TEST_F(TlsReloadTest, ReloadIntervalMustBePositive) {
  server::ServerTlsFiles files;
  files.cert_file = certs_.Path("server.pem");
  files.key_file = certs_.Path("server.key");
  files.reload_seconds = 0;
  auto made = server::MakeServerCredentials(files);
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(
      absl::StrContains(made.status().message(), "--tls-reload-seconds"));
}

}  // namespace
}  // namespace warden::testing
