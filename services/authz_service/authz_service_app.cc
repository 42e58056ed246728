#include "services/authz_service/authz_service_app.h"

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
  std::unique_ptr<AuthzServiceApp> app(new AuthzServiceApp());
  app->config_ = config;
  app->clock_ = clock;

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
                                     grpc::InsecureChannelCredentials());
  app->waiters_ = std::make_unique<RevisionWaiters>();
  app->usage_ = std::make_unique<UsageReporter>(
      channel, credential, config.usage_flush_interval, &app->index_);
  FollowerOptions follower;
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
  app->handlers_ = std::make_unique<AuthzHandlers>(std::move(deps));

  server::GrpcServerOptions options;
  options.listen_address = config.listen_address;
  options.services = {app->handlers_.get()};
  auto started = server::GrpcServer::Start(options);
  if (!started.ok()) return started.status();
  app->server_ = std::move(*started);
  app->server_->SetServing(false);

  app->follower_->Start();
  app->usage_->Start();
  app->health_thread_ = std::thread([raw = app.get()] { raw->WatchHealth(); });
  log->info("listening on port {}, following TokenService at {}",
            app->server_->port(), config.token_service_address);
  return app;
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
  server_->Shutdown(config_.shutdown_grace);
  waiters_->Stop();
  follower_->Stop();
  usage_->Stop();
}

AuthzServiceApp::~AuthzServiceApp() { Shutdown(); }

}  // namespace warden::authz_service
