// Measures how long a revoke takes to reach a connected AuthzService: the
// time from TokenService acknowledging RevokeToken (the RPC returning) to
// the sidecar denying the token on Authenticate without min_revision, i.e.
// what a caller that does not pass the revision sees. TokenService and one
// sidecar run in this process on loopback ports with real clocks and a
// synced store in a fresh temp dir.
//
// Usage: revoke_propagation_bench [--revokes=200] [--out=FILE]
// Prints the count, median, p90, p99 and max in microseconds.

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "libs/clock/clock.h"
#include "libs/server/logging.h"
#include "services/authz_service/authz_service_app.h"
#include "services/token_service/token_service_app.h"
#include "warden/authz/v1/authz_service.grpc.pb.h"
#include "warden/token/v1/token_service.grpc.pb.h"

namespace {

std::string ReadLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

int Fail(const std::string& what) {
  std::cerr << "revoke_propagation_bench: " << what << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  int revokes = 200;
  std::string out;
  CLI::App cli{"Time from a revoke's acknowledgement to a sidecar's deny"};
  cli.add_option("--revokes", revokes, "Revokes to time")
      ->check(CLI::Range(1, 100000));
  cli.add_option("--out", out, "Also write the result to this file");
  CLI11_PARSE(cli, argc, argv);
  warden::server::ConfigureLogging("warn", "text").IgnoreError();

  char dir_template[] = "/tmp/revoke_bench_XXXXXX";
  if (mkdtemp(dir_template) == nullptr) return Fail("cannot make a temp dir");
  std::string dir = dir_template;
  warden::SystemClock clock;

  warden::token_service::TokenServiceConfig ts_config;
  ts_config.listen_address = "127.0.0.1:0";
  ts_config.data_dir = dir;
  // The bench is one caller issuing thousands of calls; it measures
  // propagation, not the per-caller limit.
  ts_config.caller_limits.calls_per_second = 1e6;
  ts_config.caller_limits.burst = 1e6;
  auto ts = warden::token_service::TokenServiceApp::Start(ts_config, &clock);
  if (!ts.ok()) return Fail(ts.status().ToString());
  std::string ts_address = absl::StrCat("127.0.0.1:", (*ts)->port());
  std::string admin_token =
      ReadLine(dir + "/" + warden::token_service::kBootstrapAdminTokenFile);

  warden::authz_service::AuthzServiceConfig sc_config;
  sc_config.listen_address = "127.0.0.1:0";
  sc_config.token_service_address = ts_address;
  sc_config.credential_file =
      dir + "/" + warden::token_service::kBootstrapSidecarTokenFile;
  auto sidecar =
      warden::authz_service::AuthzServiceApp::Start(sc_config, &clock);
  if (!sidecar.ok()) return Fail(sidecar.status().ToString());

  auto tokens = warden::token::v1::TokenService::NewStub(
      grpc::CreateChannel(ts_address, grpc::InsecureChannelCredentials()));
  auto authz = warden::authz::v1::AuthzService::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", (*sidecar)->port()),
      grpc::InsecureChannelCredentials()));
  auto context = [](const std::string& bearer) {
    auto c = std::make_unique<grpc::ClientContext>();
    if (!bearer.empty()) {
      c->AddMetadata("authorization", absl::StrCat("Bearer ", bearer));
    }
    c->set_deadline(std::chrono::system_clock::now() +
                    std::chrono::seconds(30));
    return c;
  };

  std::vector<double> micros;
  for (int i = 0; i < revokes; ++i) {
    warden::token::v1::CreateUserTokenRequest create;
    create.set_name(absl::StrCat("bench ", i));
    warden::token::v1::CreateUserTokenResponse created;
    auto c1 = context(admin_token);
    grpc::Status status = tokens->CreateUserToken(c1.get(), create, &created);
    if (!status.ok()) return Fail(status.error_message());
    // The sidecar knows the token before the revoke is timed.
    warden::authz::v1::AuthenticateRequest known;
    known.set_token(created.secret());
    known.set_min_revision(created.revision());
    warden::authz::v1::AuthenticateResponse who;
    auto c2 = context("");
    status = authz->Authenticate(c2.get(), known, &who);
    if (!status.ok()) return Fail(status.error_message());

    warden::token::v1::RevokeTokenRequest revoke;
    revoke.set_token_id(created.token().token().id());
    warden::token::v1::RevokeTokenResponse revoked;
    auto c3 = context(admin_token);
    status = tokens->RevokeToken(c3.get(), revoke, &revoked);
    if (!status.ok()) return Fail(status.error_message());
    auto acknowledged = std::chrono::steady_clock::now();
    warden::authz::v1::AuthenticateRequest poll;
    poll.set_token(created.secret());
    while (true) {
      auto c4 = context("");
      status = authz->Authenticate(c4.get(), poll, &who);
      if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) break;
      if (!status.ok()) return Fail(status.error_message());
    }
    micros.push_back(std::chrono::duration<double, std::micro>(
                         std::chrono::steady_clock::now() - acknowledged)
                         .count());
  }
  (*sidecar)->Shutdown();
  (*ts)->Shutdown();
  std::filesystem::remove_all(dir);

  std::sort(micros.begin(), micros.end());
  auto at = [&](double q) {
    size_t i = static_cast<size_t>(q * static_cast<double>(micros.size() - 1));
    return micros[i];
  };
  std::ostringstream result;
  result << "revoke propagation to 1 connected sidecar (in-process, "
            "loopback, synced store; Authenticate polled without "
            "min_revision)\n"
         << "revokes " << micros.size() << "\n"
         << "median_us " << at(0.5) << "\n"
         << "p90_us " << at(0.9) << "\n"
         << "p99_us " << at(0.99) << "\n"
         << "max_us " << micros.back() << "\n";
  std::cout << result.str();
  if (!out.empty()) std::ofstream(out) << result.str();
  return 0;
}
