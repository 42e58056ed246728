#include "libs/server/grpc_server.h"

#include <signal.h>

#include <chrono>

#include "absl/strings/str_cat.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "libs/server/logging.h"

namespace warden::server {

absl::StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Start(
    const GrpcServerOptions& options) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(
      options.listen_address,
      options.credentials ? options.credentials
                          : grpc::InsecureServerCredentials(),
      &port);
  builder.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             options.max_concurrent_streams);
  for (grpc::Service* service : options.services) {
    builder.RegisterService(service);
  }
  CallObserverOptions observer = options.observer;
  if (observer.registry == nullptr) {
    observer.registry = &metrics::DefaultRegistry();
  }
  std::vector<
      std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
  interceptors.push_back(MakeCallObserverFactory(observer));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", options.listen_address,
        ": the address is invalid or already in use"));
  }
  Logger("server")->info("listening on {} (port {})", options.listen_address,
                         port);

  std::unique_ptr<grpc::Server> health_server;
  int health_port = 0;
  if (!options.health_listen_address.empty()) {
    // No services registered: the builder adds only the default health
    // service (and the reflection plugin's), and no call observer, so
    // probes stay out of the access log and the request metrics.
    grpc::ServerBuilder health_builder;
    health_builder.AddListeningPort(options.health_listen_address,
                                    grpc::InsecureServerCredentials(),
                                    &health_port);
    health_server = health_builder.BuildAndStart();
    if (health_server == nullptr || health_port == 0) {
      server->Shutdown();
      return absl::UnavailableError(absl::StrCat(
          "cannot listen for health probes on ",
          options.health_listen_address,
          ": the address is invalid or already in use"));
    }
    Logger("server")->info("health probes on {} (port {}), plaintext",
                           options.health_listen_address, health_port);
  }
  return std::unique_ptr<GrpcServer>(
      new GrpcServer(std::move(server), port, std::move(health_server),
                     health_port));
}

GrpcServer::GrpcServer(std::unique_ptr<grpc::Server> server, int port,
                       std::unique_ptr<grpc::Server> health_server,
                       int health_port)
    : server_(std::move(server)),
      port_(port),
      health_server_(std::move(health_server)),
      health_port_(health_port) {
  SetServing(true);
}

GrpcServer::~GrpcServer() { Shutdown(absl::Seconds(5)); }

void GrpcServer::SetServing(bool serving) {
  for (grpc::Server* server : {server_.get(), health_server_.get()}) {
    if (server == nullptr) continue;
    if (auto* health = server->GetHealthCheckService()) {
      health->SetServingStatus(serving);
    }
  }
}

void GrpcServer::Shutdown(absl::Duration grace) {
  SetServing(false);
  server_->Shutdown(std::chrono::system_clock::now() +
                    absl::ToChronoMicroseconds(grace));
  server_->Wait();
  // The probe port goes last, answering NOT_SERVING while calls drain.
  if (health_server_ != nullptr) {
    health_server_->Shutdown(std::chrono::system_clock::now());
    health_server_->Wait();
  }
}

void GrpcServer::Wait() { server_->Wait(); }

namespace {
sigset_t TerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}
}  // namespace

void BlockTerminationSignals() {
  sigset_t set = TerminationSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

std::string WaitForTerminationSignal() {
  sigset_t set = TerminationSignals();
  int signal_number = 0;
  sigwait(&set, &signal_number);
  return signal_number == SIGTERM ? "SIGTERM" : "SIGINT";
}

}  // namespace warden::server
