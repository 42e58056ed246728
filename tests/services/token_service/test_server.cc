#include "tests/services/token_service/test_server.h"

#include <chrono>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"

namespace warden::testing {
namespace {

std::string ReadCredential(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

}  // namespace

TestTokenService::TestTokenService()
    : clock_(absl::FromUnixSeconds(1800000000)) {
  StartApp();
  admin_token_ = ReadCredential(
      dir_.Sub(token_service::kBootstrapAdminTokenFile));
  sidecar_token_ = ReadCredential(
      dir_.Sub(token_service::kBootstrapSidecarTokenFile));
  EXPECT_FALSE(admin_token_.empty());
  EXPECT_FALSE(sidecar_token_.empty());
}

TestTokenService::~TestTokenService() { Stop(); }

void TestTokenService::StartApp() {
  token_service::TokenServiceConfig config;
  // A restart keeps the port, so followers (AuthzService) reconnect to it.
  config.listen_address = absl::StrCat("127.0.0.1:", port_);
  config.data_dir = dir_.path();
  config.shutdown_grace = absl::Seconds(1);
  // The fake clock stands still, so rate-limit buckets would never refill;
  // the limits have tests of their own.
  config.caller_limits.calls_per_second = 1e9;
  config.caller_limits.burst = 1e9;
  auto app = token_service::TokenServiceApp::Start(config, &clock_);
  ASSERT_TRUE(app.ok()) << app.status();
  app_ = *std::move(app);
  port_ = app_->port();
  channel_ = grpc::CreateChannel(address(), grpc::InsecureChannelCredentials());
}

void TestTokenService::Stop() {
  channel_.reset();
  app_.reset();
}

void TestTokenService::Restart() {
  Stop();
  StartApp();
}

std::string TestTokenService::address() const {
  return absl::StrCat("127.0.0.1:", port_);
}

std::shared_ptr<grpc::Channel> TestTokenService::channel() { return channel_; }

std::unique_ptr<grpc::ClientContext> TestTokenService::Context(
    const std::string& token) {
  auto context = std::make_unique<grpc::ClientContext>();
  if (!token.empty()) {
    context->AddMetadata("authorization", absl::StrCat("Bearer ", token));
  }
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(30));
  return context;
}

}  // namespace warden::testing
