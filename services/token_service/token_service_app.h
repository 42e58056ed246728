#ifndef WARDEN_SERVICES_TOKEN_SERVICE_TOKEN_SERVICE_APP_H_
#define WARDEN_SERVICES_TOKEN_SERVICE_TOKEN_SERVICE_APP_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "libs/catalog/catalog.h"
#include "libs/clock/clock.h"
#include "libs/directory/directory.h"
#include "libs/server/grpc_server.h"
#include "libs/store/store.h"
#include "libs/metrics/metrics.h"
#include "libs/server/tls.h"
#include "libs/stream/change_hub.h"
#include "libs/stream/change_retention.h"
#include "libs/tokens/token_registry.h"
#include "services/token_service/caller_auth.h"

namespace warden::token_service {

struct TokenServiceConfig {
  // gRPC listen address; port 0 picks a free one.
  std::string listen_address = "127.0.0.1:50051";
  // Holds the RocksDB directory ("db") and the bootstrap credential files.
  std::string data_dir;
  // A permission catalog JSON file; empty for the built-in catalog.
  std::string catalog_file;
  // The organization, admin and e-mail created at first start.
  std::string bootstrap_org_name = "Operators";
  std::string bootstrap_admin_email = "admin@example.com";
  std::string bootstrap_admin_name = "Administrator";
  // How long a stop waits for calls in flight.
  absl::Duration shutdown_grace = absl::Seconds(10);
  // Sync every commit to disk. Off only in tests that do not need it.
  bool sync = true;
  // TLS for the listening port, from PEM files reloaded while running;
  // plaintext when no certificate is given. With a client CA, the change
  // stream and usage reports need a client certificate from that CA.
  server::ServerTlsFiles tls;
  // Plaintext is refused on an address other machines can reach unless
  // this is set (and then logged as a warning).
  bool allow_plaintext = false;
  // Prometheus metrics over HTTP ("host:port"); none when empty.
  std::string metrics_listen_address;
  // A plaintext port serving only grpc.health.v1 ("host:port"), for probes
  // that cannot speak TLS; none when empty.
  std::string health_listen_address;
  // Per-caller rate and the slow-down for peers with bad credentials.
  CallerLimits caller_limits;
  // The change stream: the in-memory ring and follower lag limit, how long
  // the change log is kept, and how often an idle Watch sends progress.
  stream::ChangeHubOptions change_hub;
  stream::ChangeRetentionOptions change_retention;
  absl::Duration change_progress_interval = absl::Seconds(1);
};

// Files the first start writes, readable only by the service's user.
inline constexpr char kBootstrapAdminTokenFile[] = "bootstrap-admin.token";
inline constexpr char kBootstrapSidecarTokenFile[] = "bootstrap-sidecar.token";

// TokenService assembled: the store, the domain modules on it, the gRPC
// handlers and the server. Used by main() and by integration tests, which run
// it in-process on port 0. Thread-safe.
class ChangeStreamHandlers;

class TokenServiceApp {
 public:
  // Opens the store, loads the catalog, bootstraps an empty store (the
  // operators' organization and admin, and a service-user token for
  // AuthzService sidecars, each written to a file in data_dir), and starts
  // serving. `clock` is not owned and must outlive the app.
  static absl::StatusOr<std::unique_ptr<TokenServiceApp>> Start(
      const TokenServiceConfig& config, const Clock* clock);

  // Stops serving (draining calls in flight) and closes the store.
  ~TokenServiceApp();
  void Shutdown();

  int port() const { return server_->port(); }
  metrics::Registry& metrics() { return *metrics_; }
  // The metrics port, or 0 without a metrics endpoint.
  int metrics_port() const {
    return metrics_endpoint_ == nullptr ? 0 : metrics_endpoint_->port();
  }
  store::Store& store() { return *store_; }
  tokens::TokenRegistry& registry() { return *registry_; }
  const catalog::CatalogIndex& catalog() const { return *catalog_; }
  stream::ChangeHub& change_hub() { return *change_hub_; }
  stream::ChangeRetention& change_retention() { return *change_retention_; }

 private:
  TokenServiceApp() = default;
  // Registers gauges read from the store and change hub at scrape time.
  void ExportMetrics();

  TokenServiceConfig config_;
  const Clock* clock_ = nullptr;
  // This app's metrics (request counts and latencies, store figures), and
  // the endpoint serving them.
  std::unique_ptr<metrics::Registry> metrics_;
  std::unique_ptr<metrics::MetricsEndpoint> metrics_endpoint_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<catalog::CatalogIndex> catalog_;
  std::unique_ptr<tokens::TokenRegistry> registry_;
  std::unique_ptr<directory::Directory> directory_;
  std::unique_ptr<stream::ChangeHub> change_hub_;
  std::unique_ptr<stream::ChangeRetention> change_retention_;
  // Owned by services_.
  ChangeStreamHandlers* change_stream_ = nullptr;
  std::vector<std::unique_ptr<grpc::Service>> services_;
  std::unique_ptr<server::GrpcServer> server_;
};

}  // namespace warden::token_service

#endif  // WARDEN_SERVICES_TOKEN_SERVICE_TOKEN_SERVICE_APP_H_
