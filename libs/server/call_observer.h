#ifndef WARDEN_LIBS_SERVER_CALL_OBSERVER_H_
#define WARDEN_LIBS_SERVER_CALL_OBSERVER_H_

// Watches every RPC a server handles: gives it a request id (the caller's
// "x-request-id" metadata, or a new one, echoed back in the initial
// metadata), counts it by method and status code, times it, and writes one
// access-log line with who called (never a secret). Synchronous handlers
// run inside a ScopedRequestId (logging.h), so every line they log carries
// the request id.

#include <memory>
#include <string>

#include "grpcpp/grpcpp.h"
#include "grpcpp/support/server_interceptor.h"
#include "libs/metrics/metrics.h"

namespace warden::server {

inline constexpr char kRequestIdMetadata[] = "x-request-id";

struct CallObserverOptions {
  // Where the request counters and latency histograms go. Not owned.
  metrics::Registry* registry = nullptr;
  // Access-log level: "info" for management services, "debug" for the
  // high-volume decision path, where a line per call would drown the log.
  std::string access_log_level = "info";
};

// Creates one observer per call. Register with
// ServerBuilder::experimental().SetInterceptorCreators.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeCallObserverFactory(const CallObserverOptions& options);

// Who is calling, for the access log: set by handlers once the caller is
// authenticated. Thread-safe; the entry lives until the call ends.
void NoteCaller(const grpc::ServerContextBase* context,
                const std::string& organization_id,
                const std::string& subject_id, const std::string& token_id);

// The request id of a call in progress ("" outside an observed call), for
// log lines about the request.
std::string RequestIdOf(const grpc::ServerContextBase* context);

}  // namespace warden::server

#endif  // WARDEN_LIBS_SERVER_CALL_OBSERVER_H_
