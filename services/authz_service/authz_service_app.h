#ifndef WARDEN_SERVICES_AUTHZ_SERVICE_AUTHZ_SERVICE_APP_H_
#define WARDEN_SERVICES_AUTHZ_SERVICE_AUTHZ_SERVICE_APP_H_

// AuthzService assembled: the replica index, the change-stream follower that
// fills it, the usage reporter, the handlers and the server. Used by main()
// and by integration tests, which run it in-process on port 0.

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/clock/clock.h"
#include "libs/index/replica_index.h"
#include "libs/metrics/metrics.h"
#include "libs/server/grpc_server.h"
#include "libs/server/tls.h"
#include "services/authz_service/authz_handlers.h"
#include "services/authz_service/change_follower.h"
#include "services/authz_service/revision_waiters.h"
#include "services/authz_service/usage_reporter.h"

namespace warden::authz_service {

struct AuthzServiceConfig {
  // gRPC listen address: localhost, beside the one microservice that calls
  // it; port 0 picks a free one. The listener is plaintext and its RPCs take
  // no credential, because the microservice in the same pod or host is the
  // only caller: TLS on loopback would protect nothing, and every call would
  // pay a handshake on the decision path.
  std::string listen_address = "127.0.0.1:50061";
  // A listen address other machines can reach is refused unless this is
  // set (and then logged as a warning): anyone who can connect can ask
  // about any token. Kubernetes pods set it so the kubelet's gRPC probes
  // reach the pod IP; a NetworkPolicy must then keep other callers out.
  bool allow_remote_callers = false;
  // TokenService, host:port.
  std::string token_service_address;
  // TLS to TokenService: the CA its certificate chains to, and this
  // sidecar's client certificate and key (mutual TLS: TokenService with a
  // client CA serves the change stream and usage reports only to clients
  // with a certificate). Plaintext when none is set.
  server::ClientTlsFiles upstream_tls;
  // Plaintext to a TokenService address other machines can reach is refused
  // unless this is set (and then logged as a warning): the change stream
  // carries every token hash and grant.
  bool allow_plaintext_upstream = false;
  // Prometheus metrics over HTTP ("host:port"); none when empty.
  std::string metrics_listen_address;
  // A port serving only grpc.health.v1 ("host:port"), for Kubernetes probes
  // on the pod IP while --listen stays on localhost; none when empty.
  std::string health_listen_address;
  // A file holding the service-user token with platform.replication.
  std::string credential_file;
  // The token itself; when set, credential_file is not read (tests).
  std::string credential;
  // Decisions fail closed after this long without a message from
  // TokenService. 30 s rides out a TokenService restart or rolling update
  // (progress messages resume within seconds) while a revoke can never be
  // ignored for longer than this.
  absl::Duration max_staleness = absl::Seconds(30);
  // How often token uses are reported to TokenService.
  absl::Duration usage_flush_interval = absl::Seconds(10);
  // The name TokenService's logs show for this follower.
  std::string follower_name = "authz_service";
  // The first wait before reconnecting to TokenService; doubles up to 10 s.
  absl::Duration reconnect_initial_backoff = absl::Milliseconds(100);
  absl::Duration shutdown_grace = absl::Seconds(5);
};

// Thread-safe.
class AuthzServiceApp {
 public:
  // Starts following TokenService and serving. Does not wait for the first
  // snapshot: until it is loaded the server is NOT_SERVING and decisions
  // are UNAVAILABLE. `clock` decides token expiry and staleness (the time
  // since TokenService's last message); not owned, must outlive the app.
  // INVALID_ARGUMENT for a missing address, an unreadable credential or TLS
  // file, or a remote address without its allow flag; UNAVAILABLE if an
  // address cannot be bound.
  static absl::StatusOr<std::unique_ptr<AuthzServiceApp>> Start(
      const AuthzServiceConfig& config, const Clock* clock);

  ~AuthzServiceApp();
  // Stops serving, the follower and the reporter (with a last usage flush).
  void Shutdown();

  int port() const { return server_->port(); }
  const index::ReplicaIndex& index() const { return index_; }
  UsageReporter& usage() { return *usage_; }
  Lag lag() const { return follower_->lag(); }
  // This app's metrics: decisions, replica lag, usage reports, and the
  // per-method request metrics.
  metrics::Registry& metrics() { return *metrics_; }
  // The metrics port, or 0 without a metrics endpoint.
  int metrics_port() const {
    return metrics_endpoint_ == nullptr ? 0 : metrics_endpoint_->port();
  }

 private:
  AuthzServiceApp() = default;
  void WatchHealth();
  // Registers the replica gauges, read from the follower at scrape time.
  void ExportReplicaMetrics();

  AuthzServiceConfig config_;
  const Clock* clock_ = nullptr;
  // Declared before everything that keeps counters from it.
  std::unique_ptr<metrics::Registry> metrics_;
  std::unique_ptr<metrics::MetricsEndpoint> metrics_endpoint_;
  index::ReplicaIndex index_;
  std::unique_ptr<RevisionWaiters> waiters_;
  std::unique_ptr<UsageReporter> usage_;
  std::unique_ptr<ChangeFollower> follower_;
  std::unique_ptr<AuthzHandlers> handlers_;
  std::unique_ptr<server::GrpcServer> server_;
  std::thread health_thread_;

  absl::Mutex mutex_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
};

}  // namespace warden::authz_service

#endif  // WARDEN_SERVICES_AUTHZ_SERVICE_AUTHZ_SERVICE_APP_H_
