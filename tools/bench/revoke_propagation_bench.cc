// Measures how long a revoke takes to reach connected AuthzService sidecars:
// the time from TokenService acknowledging RevokeToken (the RPC returning)
// to each sidecar denying the token without min_revision, i.e. what a
// caller that does not pass the revision sees. TokenService and N sidecars
// (each a full AuthzServiceApp with its own change-stream follower and gRPC
// connection) run in this process on loopback ports with real clocks and a
// synced store in a fresh temp dir.
//
// Usage: revoke_propagation_bench [--sidecars=1,16] [--revokes=200]
//                                 [--poll=rpc|view] [--out=FILE]
//
// After each revoke one thread polls, round robin, every sidecar that still
// accepts the token, until all deny. --poll=rpc asks each sidecar's
// Authenticate RPC; --poll=view asks the sidecar's published replica view
// in-process (what its Authenticate handler answers from), which keeps a
// busy poller from taking the CPU the followers need when there are many
// sidecars on few cores. Prints, per sidecar count, the median, p90, p99
// and max over every (revoke, sidecar) pair and over the last sidecar of
// each revoke, in microseconds.

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "grpcpp/grpcpp.h"
#include "libs/clock/clock.h"
#include "libs/server/logging.h"
#include "services/authz_service/authz_service_app.h"
#include "services/token_service/token_service_app.h"
#include "warden/authz/v1/authz_service.grpc.pb.h"
#include "warden/token/v1/token_service.grpc.pb.h"

namespace {

using SteadyClock = std::chrono::steady_clock;

std::string ReadLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

std::unique_ptr<grpc::ClientContext> Context(const std::string& bearer) {
  auto c = std::make_unique<grpc::ClientContext>();
  if (!bearer.empty()) {
    c->AddMetadata("authorization", absl::StrCat("Bearer ", bearer));
  }
  c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return c;
}

struct Distribution {
  std::vector<double> micros;

  std::string Summary() {
    std::sort(micros.begin(), micros.end());
    auto at = [&](double q) {
      return micros[static_cast<size_t>(
          q * static_cast<double>(micros.size() - 1))];
    };
    std::ostringstream out;
    out << "samples " << micros.size() << " median_us " << at(0.5) << " p90_us "
        << at(0.9) << " p99_us " << at(0.99) << " max_us " << micros.back();
    return out.str();
  }
};

struct Run {
  Distribution each;  // every (revoke, sidecar) pair
  Distribution last;  // the slowest sidecar of each revoke
};

// One TokenService and `sidecars` sidecars; `revokes` timed revokes.
absl::StatusOr<Run> Measure(int sidecars, int revokes, bool poll_rpc) {
  char dir_template[] = "/tmp/revoke_bench_XXXXXX";
  if (mkdtemp(dir_template) == nullptr) {
    return absl::InternalError("cannot make a temp dir");
  }
  const std::string dir = dir_template;
  warden::SystemClock clock;

  warden::token_service::TokenServiceConfig ts_config;
  ts_config.listen_address = "127.0.0.1:0";
  ts_config.data_dir = dir;
  // The bench is one caller issuing thousands of calls; it measures
  // propagation, not the per-caller limit.
  ts_config.caller_limits.calls_per_second = 1e6;
  ts_config.caller_limits.burst = 1e6;
  auto ts = warden::token_service::TokenServiceApp::Start(ts_config, &clock);
  if (!ts.ok()) return ts.status();
  const std::string ts_address = absl::StrCat("127.0.0.1:", (*ts)->port());
  const std::string admin_token =
      ReadLine(dir + "/" + warden::token_service::kBootstrapAdminTokenFile);

  std::vector<std::unique_ptr<warden::authz_service::AuthzServiceApp>> apps;
  std::vector<std::unique_ptr<warden::authz::v1::AuthzService::Stub>> authz;
  for (int i = 0; i < sidecars; ++i) {
    warden::authz_service::AuthzServiceConfig sc_config;
    sc_config.listen_address = "127.0.0.1:0";
    sc_config.token_service_address = ts_address;
    sc_config.credential_file =
        dir + "/" + warden::token_service::kBootstrapSidecarTokenFile;
    sc_config.follower_name = absl::StrCat("bench-sidecar-", i);
    auto app = warden::authz_service::AuthzServiceApp::Start(sc_config, &clock);
    if (!app.ok()) return app.status();
    authz.push_back(warden::authz::v1::AuthzService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", (*app)->port()),
                            grpc::InsecureChannelCredentials())));
    apps.push_back(std::move(*app));
  }
  auto tokens = warden::token::v1::TokenService::NewStub(
      grpc::CreateChannel(ts_address, grpc::InsecureChannelCredentials()));

  // Whether sidecar `s` still accepts `secret`; an error for an answer
  // other than OK or UNAUTHENTICATED.
  auto accepts = [&](int s, const std::string& secret) -> absl::StatusOr<bool> {
    if (!poll_rpc) {
      return apps[s]
          ->index()
          .Current()
          ->ResolveToken(secret, clock.Now(), nullptr)
          .active;
    }
    warden::authz::v1::AuthenticateRequest poll;
    poll.set_token(secret);
    warden::authz::v1::AuthenticateResponse who;
    auto c = Context("");
    grpc::Status status = authz[s]->Authenticate(c.get(), poll, &who);
    if (status.ok()) return true;
    if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) return false;
    return absl::UnavailableError(status.error_message());
  };

  Run run;
  for (int i = 0; i < revokes; ++i) {
    warden::token::v1::CreateUserTokenRequest create;
    create.set_name(absl::StrCat("bench ", i));
    warden::token::v1::CreateUserTokenResponse created;
    auto c1 = Context(admin_token);
    grpc::Status status = tokens->CreateUserToken(c1.get(), create, &created);
    if (!status.ok()) return absl::UnavailableError(status.error_message());

    // Every sidecar knows the token before the revoke is timed.
    for (int s = 0; s < sidecars; ++s) {
      warden::authz::v1::AuthenticateRequest known;
      known.set_token(created.secret());
      known.set_min_revision(created.revision());
      warden::authz::v1::AuthenticateResponse who;
      auto c2 = Context("");
      status = authz[s]->Authenticate(c2.get(), known, &who);
      if (!status.ok()) return absl::UnavailableError(status.error_message());
    }

    warden::token::v1::RevokeTokenRequest revoke;
    revoke.set_token_id(created.token().token().id());
    warden::token::v1::RevokeTokenResponse revoked;
    auto c3 = Context(admin_token);
    status = tokens->RevokeToken(c3.get(), revoke, &revoked);
    if (!status.ok()) return absl::UnavailableError(status.error_message());
    const auto acknowledged = SteadyClock::now();

    std::vector<int> pending(sidecars);
    for (int s = 0; s < sidecars; ++s) pending[s] = s;
    double slowest = 0;
    while (!pending.empty()) {
      std::vector<int> still;
      for (int s : pending) {
        auto accepted = accepts(s, created.secret());
        if (!accepted.ok()) return accepted.status();
        if (*accepted) {
          still.push_back(s);
          continue;
        }
        const double micros = std::chrono::duration<double, std::micro>(
                                  SteadyClock::now() - acknowledged)
                                  .count();
        run.each.micros.push_back(micros);
        slowest = std::max(slowest, micros);
      }
      pending = std::move(still);
    }
    run.last.micros.push_back(slowest);
  }
  for (auto& app : apps) app->Shutdown();
  (*ts)->Shutdown();
  std::filesystem::remove_all(dir);
  return run;
}

int Fail(const std::string& what) {
  std::cerr << "revoke_propagation_bench: " << what << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> sidecar_counts = {1};
  int revokes = 200;
  std::string poll = "rpc";
  std::string out;
  CLI::App cli{"Time from a revoke's acknowledgement to sidecars' denies"};
  cli.add_option("--sidecars", sidecar_counts,
                 "Sidecar counts to run, one fresh setup each")
      ->delimiter(',')
      ->check(CLI::Range(1, 256));
  cli.add_option("--revokes", revokes, "Revokes to time per sidecar count")
      ->check(CLI::Range(1, 100000));
  cli.add_option("--poll", poll, "How sidecars are asked: rpc or view")
      ->check(CLI::IsMember({"rpc", "view"}));
  cli.add_option("--out", out, "Also write the result to this file");
  CLI11_PARSE(cli, argc, argv);
  warden::server::ConfigureLogging("warn", "text").IgnoreError();

  std::ostringstream result;
  result << "revoke acknowledged -> sidecar denies (in-process TokenService "
            "and sidecars, loopback, synced store; polled without "
            "min_revision via "
         << (poll == "rpc" ? "the sidecar's Authenticate RPC"
                           : "the sidecar's replica view")
         << ")\n";
  for (int sidecars : sidecar_counts) {
    auto run = Measure(sidecars, revokes, poll == "rpc");
    if (!run.ok()) return Fail(run.status().ToString());
    result << "sidecars " << sidecars << " revokes " << revokes << "\n"
           << "  each_sidecar " << run->each.Summary() << "\n"
           << "  last_sidecar " << run->last.Summary() << "\n";
    std::cerr << "sidecars " << sidecars << " done\n";
  }
  std::cout << result.str();
  if (!out.empty()) std::ofstream(out, std::ios::app) << result.str();
  return 0;
}
