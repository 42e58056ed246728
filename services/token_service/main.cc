// TokenService: the source of truth for API tokens and the access model.

#include <cstdlib>
#include <iostream>

#include "CLI/CLI.hpp"
#include "absl/time/time.h"
#include "libs/clock/clock.h"
#include "libs/failpoint/failpoint.h"
#include "libs/server/config_sources.h"
#include "libs/server/grpc_server.h"
#include "libs/server/logging.h"
#include "services/token_service/token_service_app.h"

int main(int argc, char** argv) {
  warden::token_service::TokenServiceConfig config;
  std::string log_level = "info";
  std::string log_format = "text";
  int grace_seconds = 10;
  std::string retention_age = "168h";
  std::string progress_interval = "1s";

  CLI::App cli{"TokenService: stores API tokens, users, groups, sites, "
               "permission sets, items and grants in RocksDB, and streams "
               "every change to AuthzService sidecars."};
  cli.add_option("--listen", config.listen_address,
                 "gRPC listen address, host:port")
      ->capture_default_str();
  cli.add_option("--data-dir", config.data_dir,
                 "Directory for the RocksDB store (in db/) and, at first "
                 "start, the bootstrap credential files")
      ->required();
  cli.add_option("--permission-catalog", config.catalog_file,
                 "Permission catalog JSON file; the built-in catalog when "
                 "empty");
  cli.add_option("--bootstrap-org-name", config.bootstrap_org_name,
                 "Name of the operators' organization created at first start")
      ->capture_default_str();
  cli.add_option("--bootstrap-admin-email", config.bootstrap_admin_email,
                 "E-mail of the first admin, created at first start")
      ->capture_default_str();
  cli.add_option("--bootstrap-admin-name", config.bootstrap_admin_name,
                 "Display name of the first admin")
      ->capture_default_str();
  cli.add_option("--log-level", log_level,
                 "trace, debug, info, warn or error")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  cli.add_option("--log-format", log_format, "text or json")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "json"}));
  cli.add_option("--shutdown-grace-seconds", grace_seconds,
                 "How long SIGTERM waits for calls in flight")
      ->capture_default_str()
      ->check(CLI::Range(0, 3600));
  cli.add_option("--change-retention-revisions",
                 config.change_retention.max_revisions,
                 "Change records kept for followers to resume from, counted "
                 "back from the latest revision")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  cli.add_option("--change-retention-age", retention_age,
                 "Change records older than this are dropped, for example "
                 "168h or 30m")
      ->capture_default_str();
  cli.add_option("--change-progress-interval", progress_interval,
                 "How often an idle Watch stream sends a progress message, "
                 "for example 1s or 500ms")
      ->capture_default_str();
  cli.add_option("--max-follower-lag", config.change_hub.max_follower_lag,
                 "A follower further behind than this many revisions is cut "
                 "off and must take a new snapshot")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  cli.add_option("--change-ring-records", config.change_hub.ring_max_records,
                 "Recent change records kept in memory for followers")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{10000000}));
  cli.add_option("--tls-cert", config.tls.cert_file,
                 "PEM certificate chain for TLS; reloaded when it changes");
  cli.add_option("--tls-key", config.tls.key_file,
                 "PEM private key for --tls-cert");
  cli.add_option("--tls-client-ca", config.tls.client_ca_file,
                 "PEM CA bundle for client certificates. When set, the change "
                 "stream and usage reports need a client certificate from "
                 "this CA (mutual TLS for AuthzService sidecars)");
  cli.add_option("--tls-reload-seconds", config.tls.reload_seconds,
                 "Seconds between checks of the --tls-* files for rotated "
                 "certificates; connections opened after a check use them")
      ->capture_default_str()
      ->check(CLI::Range(1u, 86400u));
  cli.add_flag("--allow-plaintext", config.allow_plaintext,
               "Serve without TLS on an address other machines can reach");
  cli.add_option("--metrics-listen", config.metrics_listen_address,
                 "host:port for Prometheus metrics over HTTP (/metrics); "
                 "none when empty")
      ->capture_default_str();
  cli.add_option("--health-listen", config.health_listen_address,
                 "host:port for a plaintext gRPC port serving only "
                 "grpc.health.v1, for Kubernetes gRPC probes (they cannot "
                 "use TLS); none when empty");
  cli.add_option("--rate-limit-per-second",
                 config.caller_limits.calls_per_second,
                 "Calls per second one authenticated caller may make")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 1e9));
  cli.add_option("--rate-limit-burst", config.caller_limits.burst,
                 "Calls one caller may make in a burst above its rate")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 1e9));
  warden::server::AddConfigSources(cli);
  CLI11_PARSE(cli, argc, argv);
  config.shutdown_grace = absl::Seconds(grace_seconds);
  if (!absl::ParseDuration(retention_age, &config.change_retention.max_age) ||
      config.change_retention.max_age <= absl::ZeroDuration()) {
    std::cerr << "--change-retention-age: expected a positive duration such "
                 "as 168h, got \"" << retention_age << "\"\n";
    return 2;
  }
  if (!absl::ParseDuration(progress_interval,
                           &config.change_progress_interval) ||
      config.change_progress_interval < absl::Milliseconds(10)) {
    std::cerr << "--change-progress-interval: expected a duration of at "
                 "least 10ms such as 1s, got \"" << progress_interval
              << "\"\n";
    return 2;
  }

  auto logging = warden::server::ConfigureLogging(log_level, log_format);
  if (!logging.ok()) {
    std::cerr << "invalid configuration: " << logging.message() << "\n";
    return 2;
  }
  auto log = warden::server::Logger("token_service");
  std::string failpoints;
  auto armed = warden::failpoint::ConfigureFromEnvironment(&failpoints);
  if (!armed.ok()) {
    std::cerr << "WARDEN_FAILPOINTS: " << armed.message() << "\n";
    return 2;
  }
  if (!failpoints.empty()) {
    log->warn("failpoints armed for a fault test: {}", failpoints);
  }

  warden::server::BlockTerminationSignals();
  warden::SystemClock clock;
  auto app = warden::token_service::TokenServiceApp::Start(config, &clock);
  if (!app.ok()) {
    log->error("cannot start: {}", app.status().ToString());
    return 1;
  }
  std::string signal = warden::server::WaitForTerminationSignal();
  log->info("{} received: draining calls and closing the store", signal);
  (*app)->Shutdown();
  log->info("stopped");
  return 0;
}
