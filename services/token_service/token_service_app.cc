#include "services/token_service/token_service_app.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/message_differencer.h"
#include "libs/ids/ids.h"
#include "libs/metrics/metrics.h"
#include "libs/server/logging.h"
#include "libs/store/records.h"
#include "libs/tokens/token_rules.h"
#include "services/token_service/access_handlers.h"
#include "services/token_service/change_stream_handlers.h"
#include "services/token_service/directory_handlers.h"
#include "services/token_service/token_handlers.h"

namespace warden::token_service {
namespace {

// Writes a credential to a new file readable only by this process's user.
absl::Status WriteCredentialFile(const std::string& path,
                                 const std::string& secret) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::UnavailableError(absl::StrCat("cannot create ", path));
  }
  ::fchmod(fd, 0600);
  std::string line = secret + "\n";
  bool ok = ::write(fd, line.data(), line.size()) ==
                static_cast<ssize_t>(line.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

// Stores the catalog when it differs from the stored one, so followers
// learn of the change through the change stream.
absl::Status StoreCatalog(store::Store& store,
                          const model::v1::PermissionCatalog& catalog) {
  auto revision = store.Write("catalog.load", [&](store::WriteTxn& txn)
                                                  -> absl::Status {
    auto stored = store::GetRecord<model::v1::PermissionCatalog>(
        txn, store::Table::kCatalog, "catalog");
    if (!stored.ok()) return stored.status();
    if (stored->has_value() &&
        google::protobuf::util::MessageDifferencer::Equals(**stored,
                                                           catalog)) {
      return absl::OkStatus();
    }
    return store::Put(txn, catalog);
  });
  return revision.status();
}

// First start: the operators' organization with its admin, and a
// service-user token with only platform.replication for the sidecars.
absl::Status Bootstrap(const TokenServiceConfig& config,
                       const model::v1::PermissionCatalog& catalog,
                       store::Store& store, tokens::TokenRegistry& registry) {
  auto log = server::Logger("token_service");
  auto created = registry.CreateOrganization(
      nullptr, catalog, config.bootstrap_org_name,
      config.bootstrap_admin_email, config.bootstrap_admin_name,
      /*operators=*/true);
  if (!created.ok()) return created.status();
  const std::string admin_path = (std::filesystem::path(config.data_dir) /
                                  kBootstrapAdminTokenFile)
                                     .string();
  auto written = WriteCredentialFile(admin_path, created->admin_token.secret);
  if (!written.ok()) return written;

  // The replication permission set, then the sidecars' token, created by
  // the new admin as any admin would.
  model::v1::PermissionSet replication;
  replication.set_id(ids::NewId("pset"));
  replication.set_organization_id(created->organization.id());
  replication.set_name("Replication");
  replication.add_permissions(std::string(catalog::kReplication));
  auto stored = store.Write("permission_set.create",
                            [&](store::WriteTxn& txn) {
                              return store::Put(txn, replication);
                            });
  if (!stored.ok()) return stored.status();
  auto admin = registry.Authenticate(created->admin_token.secret);
  if (!admin.ok()) return admin.status();
  auto sidecar = registry.CreateServiceUserToken(
      *admin, "AuthzService sidecars", 180, {replication.id()}, "");
  if (!sidecar.ok()) return sidecar.status();
  const std::string sidecar_path = (std::filesystem::path(config.data_dir) /
                                    kBootstrapSidecarTokenFile)
                                       .string();
  written = WriteCredentialFile(sidecar_path, sidecar->secret);
  if (!written.ok()) return written;

  log->info("bootstrapped organization {} ({}) with admin {}; admin token in "
            "{}, sidecar token in {}",
            created->organization.name(), created->organization.id(),
            created->admin.email(), admin_path, sidecar_path);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<TokenServiceApp>> TokenServiceApp::Start(
    const TokenServiceConfig& config, const Clock* clock) {
  auto log = server::Logger("token_service");
  if (config.data_dir.empty()) {
    return absl::InvalidArgumentError("--data-dir is required");
  }
  std::error_code error;
  std::filesystem::create_directories(config.data_dir, error);
  if (error) {
    return absl::UnavailableError(absl::StrCat(
        "cannot create data directory ", config.data_dir, ": ",
        error.message()));
  }
  ::chmod(config.data_dir.c_str(), 0700);

  std::shared_ptr<grpc::ServerCredentials> credentials;
  if (!config.tls.cert_file.empty() || !config.tls.key_file.empty()) {
    auto made = server::MakeServerCredentials(config.tls);
    if (!made.ok()) return made.status();
    credentials = *std::move(made);
  } else if (!server::IsLoopbackAddress(config.listen_address)) {
    if (!config.allow_plaintext) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--listen ", config.listen_address,
          " is reachable from other machines: set --tls-cert and --tls-key, "
          "or --allow-plaintext to accept unencrypted traffic"));
    }
    log->warn("serving plaintext on {}: tokens cross the network unencrypted",
              config.listen_address);
  }
  SetCallerLimits(config.caller_limits, clock);
  SetReplicationNeedsClientCertificate(!config.tls.client_ca_file.empty());

  std::unique_ptr<TokenServiceApp> app(new TokenServiceApp());
  app->config_ = config;
  app->clock_ = clock;
  app->metrics_ = std::make_unique<metrics::Registry>();

  model::v1::PermissionCatalog catalog = catalog::DefaultCatalog();
  if (!config.catalog_file.empty()) {
    auto loaded = catalog::LoadCatalogFile(config.catalog_file);
    if (!loaded.ok()) return loaded.status();
    catalog = *std::move(loaded);
  }
  app->catalog_ = std::make_unique<catalog::CatalogIndex>(catalog);

  store::StoreOptions options;
  options.path = (std::filesystem::path(config.data_dir) / "db").string();
  options.clock = clock;
  options.sync = config.sync;
  auto opened = store::Store::Open(options);
  if (!opened.ok()) return opened.status();
  app->store_ = *std::move(opened);
  app->registry_ =
      std::make_unique<tokens::TokenRegistry>(app->store_.get(), clock);

  bool empty = app->store_->committed_revision() == 0;
  auto stored = StoreCatalog(*app->store_, catalog);
  if (!stored.ok()) return stored;
  if (empty) {
    auto bootstrapped =
        Bootstrap(config, catalog, *app->store_, *app->registry_);
    if (!bootstrapped.ok()) return bootstrapped;
  }

  app->services_.push_back(
      std::make_unique<TokenHandlers>(app->registry_.get()));
  app->services_.push_back(std::make_unique<AccessHandlers>(
      app->store_.get(), app->registry_.get(), clock));
  app->directory_ = std::make_unique<directory::Directory>(
      app->store_.get(), app->registry_.get());
  app->services_.push_back(std::make_unique<DirectoryHandlers>(
      app->directory_.get(), app->registry_.get()));

  // The change stream starts after the bootstrap, which followers read in
  // their snapshot or from the change log.
  app->change_hub_ = std::make_unique<stream::ChangeHub>(app->store_.get(),
                                                         config.change_hub);
  app->change_retention_ = std::make_unique<stream::ChangeRetention>(
      app->store_.get(), clock, config.change_retention);
  ChangeStreamOptions stream_options;
  stream_options.progress_interval = config.change_progress_interval;
  auto change_stream = std::make_unique<ChangeStreamHandlers>(
      app->registry_.get(), app->store_.get(), app->change_hub_.get(), clock,
      stream_options);
  app->change_stream_ = change_stream.get();
  app->services_.push_back(std::move(change_stream));

  server::GrpcServerOptions server_options;
  server_options.listen_address = config.listen_address;
  server_options.credentials = credentials;
  server_options.health_listen_address = config.health_listen_address;
  server_options.observer.registry = app->metrics_.get();
  for (const auto& service : app->services_) {
    server_options.services.push_back(service.get());
  }
  auto server = server::GrpcServer::Start(server_options);
  if (!server.ok()) return server.status();
  app->server_ = *std::move(server);
  if (!config.metrics_listen_address.empty()) {
    app->ExportMetrics();
    auto endpoint = metrics::MetricsEndpoint::Start(
        config.metrics_listen_address, app->metrics_.get());
    if (!endpoint.ok()) return endpoint.status();
    app->metrics_endpoint_ = *std::move(endpoint);
    log->info("metrics on http://{}/metrics", config.metrics_listen_address);
  }
  log->info("TokenService serving at revision {}",
            app->store_->committed_revision());
  return app;
}

void TokenServiceApp::ExportMetrics() {
  auto& registry = *metrics_;
  auto& revision = registry.GetGauge("warden_store_committed_revision",
                                     "Latest committed revision.");
  auto& commits = registry.GetGauge(
      "warden_store_commits", "Writes committed under a revision, since start.");
  auto& groups = registry.GetGauge(
      "warden_store_commit_groups",
      "Synced RocksDB writes (group commits), since start.");
  auto& failed = registry.GetGauge(
      "warden_store_failed_commit_groups",
      "Group commits that failed (disk full, I/O error), since start.");
  auto& live_bytes = registry.GetGauge(
      "warden_rocksdb_live_data_bytes", "RocksDB's estimate of live data.");
  auto& sst_bytes = registry.GetGauge("warden_rocksdb_sst_files_bytes",
                                      "Size of RocksDB's table files.");
  auto& memtable_bytes =
      registry.GetGauge("warden_rocksdb_memtable_bytes",
                        "Size of RocksDB's memtables, active and unflushed.");
  auto& oldest = registry.GetGauge(
      "warden_change_log_oldest_revision",
      "Lowest revision still in the change log; followers behind it must "
      "take a new snapshot.");
  auto& ring = registry.GetGauge("warden_change_ring_records",
                                 "Change records held in memory for followers.");
  auto& followers = registry.GetGauge(
      "warden_change_stream_followers",
      "Open Watch streams (AuthzService sidecars and other followers).");
  auto& follower_lag = registry.GetGauge(
      "warden_change_stream_max_follower_lag_revisions",
      "Revisions between the latest commit and the furthest-behind open "
      "Watch stream's last sent revision.");
  // The collector runs at scrape time, on the endpoint's thread; Shutdown
  // stops the endpoint before it closes the store.
  registry.AddCollector([this, &revision, &commits, &groups, &failed,
                         &live_bytes, &sst_bytes, &memtable_bytes, &oldest,
                         &ring, &followers, &follower_lag] {
    if (store_ == nullptr) return;
    revision.Set(store_->committed_revision());
    auto stats = store_->stats();
    commits.Set(stats.commits);
    groups.Set(stats.groups);
    failed.Set(stats.failed_groups);
    live_bytes.Set(
        store_->IntProperty("rocksdb.estimate-live-data-size").value_or(0));
    sst_bytes.Set(
        store_->IntProperty("rocksdb.total-sst-files-size").value_or(0));
    memtable_bytes.Set(
        store_->IntProperty("rocksdb.cur-size-all-mem-tables").value_or(0));
    oldest.Set(store_->oldest_retained_revision());
    if (change_hub_ != nullptr) ring.Set(change_hub_->stats().ring_records);
    if (change_stream_ != nullptr) {
      auto stream = change_stream_->follower_stats();
      followers.Set(static_cast<double>(stream.followers));
      follower_lag.Set(static_cast<double>(stream.max_lag_revisions));
    }
  });
}

void TokenServiceApp::Shutdown() {
  metrics_endpoint_.reset();
  // Watch streams never end on their own; end them before the server waits
  // for calls in flight.
  if (change_stream_ != nullptr) change_stream_->Shutdown();
  if (server_ != nullptr) {
    server_->Shutdown(config_.shutdown_grace);
    server_.reset();
  }
  // The handlers stay in services_ but are never called again.
  change_stream_ = nullptr;
  change_retention_.reset();
  change_hub_.reset();
  if (store_ != nullptr) {
    store_.reset();
    server::Logger("token_service")->info("store closed");
  }
}

TokenServiceApp::~TokenServiceApp() { Shutdown(); }

}  // namespace warden::token_service
