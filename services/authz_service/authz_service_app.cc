#include "services/authz_service/authz_service_app.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "libs/server/logging.h"

namespace warden::authz_service {

absl::StatusOr<std::unique_ptr<AuthzServiceApp>> AuthzServiceApp::Start(
    const AuthzServiceConfig& config, const Clock* clock) {
  auto log = server::Logger("authz_service");
  if (config.token_service_address.empty()) {
    return absl::InvalidArgumentError(
        "the TokenService address (--token-service) is required");
  }
  if (!server::IsLoopbackAddress(config.listen_address)) {
    if (!config.allow_remote_callers) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--listen ", config.listen_address,
          " is reachable from other machines, and AuthzService answers "
          "anyone who connects: listen on 127.0.0.1, or set "
          "--allow-remote-callers when a NetworkPolicy keeps other callers "
          "out (as for Kubernetes probes on the pod IP)"));
    }
    log->warn("listening on {}, reachable from other machines: only a "
              "network policy keeps callers other than the local "
              "microservice out",
              config.listen_address);
  }
  const server::ClientTlsFiles& tls = config.upstream_tls;
  std::shared_ptr<grpc::ChannelCredentials> channel_credentials;
  if (!tls.ca_file.empty() || !tls.cert_file.empty() ||
      !tls.key_file.empty()) {
    auto made = server::MakeChannelCredentials(tls);
    if (!made.ok()) return made.status();
    channel_credentials = *std::move(made);
  } else if (!server::IsLoopbackAddress(config.token_service_address)) {
    if (!config.allow_plaintext_upstream) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--token-service ", config.token_service_address,
          " is on another machine: set --tls-ca (and --tls-client-cert and "
          "--tls-client-key for mutual TLS), or --allow-plaintext-upstream "
          "to replicate tokens unencrypted"));
    }
    log->warn("following TokenService at {} over plaintext: token hashes "
              "and grants cross the network unencrypted",
              config.token_service_address);
  }
  if (channel_credentials == nullptr) {
    channel_credentials = grpc::InsecureChannelCredentials();
  }

  std::unique_ptr<AuthzServiceApp> app(new AuthzServiceApp());
  app->config_ = config;
  app->clock_ = clock;
  app->metrics_ = std::make_unique<metrics::Registry>();

  // The credential, never logged.
  std::string credential = config.credential;
  if (credential.empty()) {
    std::ifstream file(config.credential_file);
    std::stringstream contents;
    contents << file.rdbuf();
    if (!file) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot read the credential file '", config.credential_file, "'"));
    }
    credential = std::string(absl::StripAsciiWhitespace(contents.str()));
    if (credential.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the credential file '", config.credential_file, "' is empty"));
    }
  }

  auto channel = grpc::CreateChannel(config.token_service_address,
                                     channel_credentials);
  app->waiters_ = std::make_unique<RevisionWaiters>();
  app->usage_ = std::make_unique<UsageReporter>(
      channel, credential, config.usage_flush_interval, &app->index_);
  app->usage_->ExportMetrics(*app->metrics_);
  FollowerOptions follower;
  follower.metrics = app->metrics_.get();
  follower.credential = credential;
  follower.follower_name = config.follower_name;
  follower.initial_backoff = config.reconnect_initial_backoff;
  RevisionWaiters* waiters = app->waiters_.get();
  app->follower_ = std::make_unique<ChangeFollower>(
      follower, channel, &app->index_, clock,
      [waiters](int64_t revision) { waiters->Notify(revision); });

  HandlerDeps deps;
  deps.index = &app->index_;
  deps.usage = app->usage_.get();
  deps.waiters = app->waiters_.get();
  deps.clock = clock;
  ChangeFollower* follower_ptr = app->follower_.get();
  deps.lag = [follower_ptr] { return follower_ptr->lag(); };
  deps.max_staleness = config.max_staleness;
  deps.metrics = app->metrics_.get();
  app->handlers_ = std::make_unique<AuthzHandlers>(std::move(deps));

  server::GrpcServerOptions options;
  options.listen_address = config.listen_address;
  options.health_listen_address = config.health_listen_address;
  options.services = {app->handlers_.get()};
  options.observer.registry = app->metrics_.get();
  // A line per decision would drown the sidecar's log; per-method counts
  // and latencies are in the metrics.
  options.observer.access_log_level = "debug";
  auto started = server::GrpcServer::Start(options);
  if (!started.ok()) return started.status();
  app->server_ = std::move(*started);
  app->server_->SetServing(false);
  app->ExportReplicaMetrics();
  if (!config.metrics_listen_address.empty()) {
    auto endpoint = metrics::MetricsEndpoint::Start(
        config.metrics_listen_address, app->metrics_.get());
    if (!endpoint.ok()) return endpoint.status();
    app->metrics_endpoint_ = *std::move(endpoint);
    log->info("metrics on http://{}/metrics", config.metrics_listen_address);
  }

  app->follower_->Start();
  app->usage_->Start();
  app->health_thread_ = std::thread([raw = app.get()] { raw->WatchHealth(); });
  log->info("listening on port {}, following TokenService at {}",
            app->server_->port(), config.token_service_address);
  return app;
}

void AuthzServiceApp::ExportReplicaMetrics() {
  auto& registry = *metrics_;
  auto& applied = registry.GetGauge(
      "warden_authz_replica_revision",
      "Revision of TokenService's store the replica reflects.");
  auto& committed = registry.GetGauge(
      "warden_authz_committed_revision",
      "Latest revision TokenService announced as committed.");
  auto& lag_revisions = registry.GetGauge(
      "warden_authz_replica_lag_revisions",
      "Committed revisions the replica has not applied yet.");
  auto& lag_seconds = registry.GetGauge(
      "warden_authz_replica_lag_seconds",
      "Seconds since the last message from TokenService (-1 before the "
      "first); decisions fail past --max-staleness.");
  // Runs at scrape time on the endpoint's thread; Shutdown stops the
  // endpoint before the follower.
  registry.AddCollector([this, &applied, &committed, &lag_revisions,
                         &lag_seconds] {
    if (follower_ == nullptr) return;
    Lag lag = follower_->lag();
    applied.Set(static_cast<double>(lag.applied_revision));
    committed.Set(static_cast<double>(lag.committed_revision));
    lag_revisions.Set(static_cast<double>(
        std::max<int64_t>(0, lag.committed_revision - lag.applied_revision)));
    lag_seconds.Set(lag.last_message.has_value()
                        ? absl::ToDoubleSeconds(clock_->Now() -
                                                *lag.last_message)
                        : -1.0);
  });
}

// Health follows staleness: NOT_SERVING until the first snapshot and
// whenever TokenService has been silent longer than max_staleness.
void AuthzServiceApp::WatchHealth() {
  auto log = server::Logger("authz_service");
  bool serving = false;
  absl::Time last_report = absl::InfinitePast();
  while (true) {
    {
      absl::MutexLock lock(&mutex_);
      auto stopping = [this]() ABSL_SHARED_LOCKS_REQUIRED(mutex_) {
        return stopping_;
      };
      mutex_.AwaitWithTimeout(absl::Condition(&stopping),
                              absl::Milliseconds(500));
      if (stopping_) return;
    }
    Lag lag = follower_->lag();
    absl::Time now = clock_->Now();
    auto fresh = CheckFresh(lag, index_.Current()->loaded(),
                            config_.max_staleness, now);
    if (fresh.ok() != serving) {
      serving = fresh.ok();
      server_->SetServing(serving);
      if (serving) {
        log->info("serving at revision {}", lag.applied_revision);
      } else {
        log->warn("not serving: {}", std::string(fresh.message()));
      }
    }
    if (now - last_report >= absl::Seconds(60)) {
      last_report = now;
      log->info("replica lag: applied {} of {} committed revisions, {} since "
                "the last message",
                lag.applied_revision, lag.committed_revision,
                lag.last_message.has_value()
                    ? absl::FormatDuration(now - *lag.last_message)
                    : std::string("no message yet"));
    }
  }
}

void AuthzServiceApp::Shutdown() {
  {
    absl::MutexLock lock(&mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  if (health_thread_.joinable()) health_thread_.join();
  metrics_endpoint_.reset();
  // Start may have failed before the server started.
  if (server_ != nullptr) server_->Shutdown(config_.shutdown_grace);
  waiters_->Stop();
  follower_->Stop();
  usage_->Stop();
}

AuthzServiceApp::~AuthzServiceApp() { Shutdown(); }

}  // namespace warden::authz_service
