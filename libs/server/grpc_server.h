#ifndef WARDEN_LIBS_SERVER_GRPC_SERVER_H_
#define WARDEN_LIBS_SERVER_GRPC_SERVER_H_

// The server setup both services share: gRPC server reflection, the standard
// grpc.health.v1.Health service (also on a plaintext probe port if asked),
// listening, and a graceful stop that drains calls in flight.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "libs/server/call_observer.h"

namespace warden::server {

struct GrpcServerOptions {
  // "host:port"; port 0 picks a free port (see GrpcServer::port()).
  std::string listen_address;
  // Credentials for the listening port; insecure when null.
  std::shared_ptr<grpc::ServerCredentials> credentials;
  // "host:port" of a second, plaintext port that serves only
  // grpc.health.v1.Health with the same status, for Kubernetes' gRPC
  // probes, which cannot speak TLS; none when empty. Health status is not a
  // secret, and no other service is reachable there.
  std::string health_listen_address;
  // Services to serve. Not owned; must outlive the server.
  std::vector<grpc::Service*> services;
  // Largest request accepted, in bytes.
  int max_receive_message_bytes = 16 * 1024 * 1024;
  // Calls one client connection may have in flight. More wait in the
  // client (HTTP/2 flow control) rather than queue in this process, so the
  // memory an overloaded server holds for calls stays bounded.
  int max_concurrent_streams = 256;
  // Request ids, per-method metrics and the access log (see
  // call_observer.h). Metrics go to the default registry when null.
  CallObserverOptions observer;
};

// A running gRPC server. Thread-safe.
class GrpcServer {
 public:
  // Builds and starts the server. UNAVAILABLE if the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<GrpcServer>> Start(
      const GrpcServerOptions& options);

  ~GrpcServer();

  // The port actually bound.
  int port() const { return port_; }
  // The health port actually bound; 0 without health_listen_address.
  int health_port() const { return health_port_; }

  // Sets every service's health status (SERVING or NOT_SERVING).
  void SetServing(bool serving);

  // Marks the server NOT_SERVING, stops accepting calls, waits up to `grace`
  // for calls in flight, then cancels the rest. Idempotent.
  void Shutdown(absl::Duration grace);

  // Blocks until Shutdown has completed.
  void Wait();

 private:
  GrpcServer(std::unique_ptr<grpc::Server> server, int port,
             std::unique_ptr<grpc::Server> health_server, int health_port);

  std::unique_ptr<grpc::Server> server_;
  int port_;
  std::unique_ptr<grpc::Server> health_server_;  // May be null.
  int health_port_;
};

// Blocks until the process receives SIGTERM or SIGINT and returns the signal
// name. Call BlockTerminationSignals first, from main, before starting any
// thread, so that every thread leaves these signals to this call.
void BlockTerminationSignals();
std::string WaitForTerminationSignal();

}  // namespace warden::server

#endif  // WARDEN_LIBS_SERVER_GRPC_SERVER_H_
