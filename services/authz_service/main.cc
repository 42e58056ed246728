// AuthzService: the authorization sidecar beside each microservice.

#include <iostream>

#include "CLI/CLI.hpp"
#include "libs/clock/clock.h"
#include "libs/server/config_sources.h"
#include "libs/server/grpc_server.h"
#include "libs/server/logging.h"
#include "services/authz_service/authz_service_app.h"

int main(int argc, char** argv) {
  warden::authz_service::AuthzServiceConfig config;
  std::string log_level = "info";
  std::string log_format = "text";
  int max_staleness_seconds = 30;
  int flush_seconds = 10;

  CLI::App cli{"AuthzService: answers authentication and authorization "
               "questions for the microservice beside it from an in-memory "
               "replica of TokenService, kept current by the change stream. "
               "Listen on localhost only: its RPCs take no credential."};
  cli.add_option("--listen", config.listen_address,
                 "gRPC listen address, host:port. Plaintext and without "
                 "credentials, for the microservice beside it: keep it on "
                 "localhost")
      ->capture_default_str();
  cli.add_flag("--allow-remote-callers", config.allow_remote_callers,
               "Accept a --listen address other machines can reach (for "
               "Kubernetes probes on the pod IP; a NetworkPolicy must keep "
               "other callers out)");
  cli.add_option("--token-service", config.token_service_address,
                 "TokenService address, host:port")
      ->required();
  cli.add_option("--credential-file", config.credential_file,
                 "File holding a service-user token with "
                 "platform.replication (TokenService writes one to "
                 "<data_dir>/bootstrap-sidecar.token)")
      ->required();
  cli.add_option("--tls-ca", config.upstream_tls.ca_file,
                 "PEM CA bundle TokenService's certificate must chain to; "
                 "TLS to TokenService when set");
  cli.add_option("--tls-client-cert", config.upstream_tls.cert_file,
                 "PEM client certificate chain presented to TokenService "
                 "(mutual TLS); reloaded when it changes");
  cli.add_option("--tls-client-key", config.upstream_tls.key_file,
                 "PEM private key for --tls-client-cert");
  cli.add_option("--tls-reload-seconds", config.upstream_tls.reload_seconds,
                 "Seconds between checks of the --tls-* files for rotated "
                 "certificates; connections opened after a check use them")
      ->capture_default_str()
      ->check(CLI::Range(1u, 86400u));
  cli.add_flag("--allow-plaintext-upstream", config.allow_plaintext_upstream,
               "Follow a TokenService on another machine without TLS");
  cli.add_option("--metrics-listen", config.metrics_listen_address,
                 "host:port for Prometheus metrics over HTTP (/metrics); "
                 "none when empty")
      ->capture_default_str();
  cli.add_option("--health-listen", config.health_listen_address,
                 "host:port serving only grpc.health.v1, for Kubernetes "
                 "probes on the pod IP while --listen stays on localhost; "
                 "none when empty");
  cli.add_option("--log-level", log_level, "trace, debug, info, warn or error")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  cli.add_option("--log-format", log_format, "text or json")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "json"}));
  cli.add_option("--max-staleness", max_staleness_seconds,
                 "Seconds without a message from TokenService after which "
                 "every decision fails with UNAVAILABLE")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  cli.add_option("--usage-flush-interval", flush_seconds,
                 "Seconds between token-usage reports to TokenService")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  warden::server::AddConfigSources(cli);
  CLI11_PARSE(cli, argc, argv);
  config.max_staleness = absl::Seconds(max_staleness_seconds);
  config.usage_flush_interval = absl::Seconds(flush_seconds);

  auto logging = warden::server::ConfigureLogging(log_level, log_format);
  if (!logging.ok()) {
    std::cerr << "invalid configuration: " << logging.message() << "\n";
    return 2;
  }
  auto log = warden::server::Logger("authz_service");

  warden::server::BlockTerminationSignals();
  warden::SystemClock clock;
  auto app = warden::authz_service::AuthzServiceApp::Start(config, &clock);
  if (!app.ok()) {
    log->error("cannot start: {}", app.status().ToString());
    return 1;
  }
  std::string signal = warden::server::WaitForTerminationSignal();
  log->info("{} received: draining calls and reporting token uses", signal);
  (*app)->Shutdown();
  log->info("stopped");
  return 0;
}
