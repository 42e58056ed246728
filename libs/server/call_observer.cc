#include "libs/server/call_observer.h"

#include <openssl/rand.h>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "libs/server/logging.h"

namespace warden::server {
namespace {

struct CallFacts {
  std::string request_id;
  std::string organization_id;
  std::string subject_id;
  std::string token_id;
};

// Facts about calls in progress, keyed by their server context.
class CallTable {
 public:
  void Begin(const grpc::ServerContextBase* context, std::string request_id) {
    absl::MutexLock lock(&mutex_);
    calls_[context].request_id = std::move(request_id);
  }
  void Note(const grpc::ServerContextBase* context, const std::string& org,
            const std::string& subject, const std::string& token) {
    absl::MutexLock lock(&mutex_);
    auto it = calls_.find(context);
    if (it == calls_.end()) return;
    it->second.organization_id = org;
    it->second.subject_id = subject;
    it->second.token_id = token;
  }
  std::string RequestId(const grpc::ServerContextBase* context) {
    absl::MutexLock lock(&mutex_);
    auto it = calls_.find(context);
    return it == calls_.end() ? "" : it->second.request_id;
  }
  CallFacts End(const grpc::ServerContextBase* context) {
    absl::MutexLock lock(&mutex_);
    auto node = calls_.extract(context);
    return node.empty() ? CallFacts() : std::move(node.mapped());
  }

 private:
  absl::Mutex mutex_;
  absl::flat_hash_map<const grpc::ServerContextBase*, CallFacts> calls_
      ABSL_GUARDED_BY(mutex_);
};

CallTable& Calls() {
  static CallTable* table = new CallTable();
  return *table;
}

std::string NewRequestId() {
  unsigned char bytes[8];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    return absl::StrCat(absl::GetCurrentTimeNanos());
  }
  return absl::BytesToHexString(absl::string_view(
      reinterpret_cast<const char*>(bytes), sizeof(bytes)));
}

// A caller-supplied id is kept only when short and plain, since it is
// copied into logs.
bool IsUsableRequestId(absl::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

const char* CodeName(grpc::StatusCode code) {
  static const char* const kNames[] = {
      "OK",
      "CANCELLED",
      "UNKNOWN",
      "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED",
      "NOT_FOUND",
      "ALREADY_EXISTS",
      "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED",
      "FAILED_PRECONDITION",
      "ABORTED",
      "OUT_OF_RANGE",
      "UNIMPLEMENTED",
      "INTERNAL",
      "UNAVAILABLE",
      "DATA_LOSS",
      "UNAUTHENTICATED"};
  int index = static_cast<int>(code);
  return index >= 0 && index <= 16 ? kNames[index] : "UNKNOWN";
}

class CallObserver : public grpc::experimental::Interceptor {
 public:
  CallObserver(grpc::experimental::ServerRpcInfo* info,
               const CallObserverOptions& options)
      : info_(info), options_(options), start_(absl::Now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using Hook = grpc::experimental::InterceptionHookPoints;
    bool received_metadata =
        methods->QueryInterceptionHookPoint(Hook::POST_RECV_INITIAL_METADATA);
    if (received_metadata) {
      std::string request_id;
      auto* metadata = methods->GetRecvInitialMetadata();
      auto it = metadata->find(kRequestIdMetadata);
      if (it != metadata->end()) {
        request_id.assign(it->second.data(), it->second.size());
      }
      if (!IsUsableRequestId(request_id)) request_id = NewRequestId();
      request_id_ = request_id;
      Calls().Begin(info_->server_context(), std::move(request_id));
    }
    if (methods->QueryInterceptionHookPoint(
            Hook::PRE_SEND_INITIAL_METADATA) &&
        !request_id_.empty()) {
      methods->GetSendInitialMetadata()->emplace(kRequestIdMetadata,
                                                 request_id_);
    }
    if (methods->QueryInterceptionHookPoint(Hook::PRE_SEND_STATUS)) {
      Finish(methods->GetSendStatus().error_code());
    }
    if (received_metadata) {
      // In the synchronous server, proceeding past the received metadata
      // (and request message) runs the handler on this thread before
      // Proceed returns, so every line the handler logs carries the id. In
      // a callback or async server the handler runs later and elsewhere;
      // the scope then ends here and leaks onto no other request.
      ScopedRequestId scope(request_id_);
      methods->Proceed();
      return;
    }
    methods->Proceed();
  }

 private:
  void Finish(grpc::StatusCode code) {
    double seconds = absl::ToDoubleSeconds(absl::Now() - start_);
    std::string method = info_->method();
    const char* code_name = CodeName(code);
    if (options_.registry != nullptr) {
      options_.registry
          ->GetCounter("warden_grpc_requests_total",
                       "RPCs handled, by method and status code.",
                       {{"method", method}, {"code", code_name}})
          .Increment();
      options_.registry
          ->GetHistogram("warden_grpc_request_seconds",
                         "RPC handling time, by method.",
                         {{"method", method}})
          .Observe(seconds);
    }
    CallFacts facts = Calls().End(info_->server_context());
    // The log pattern puts the request id on the line (a prefix in text, a
    // field in JSON), as on every other line about the request.
    ScopedRequestId scope(facts.request_id.empty() ? request_id_
                                                   : facts.request_id);
    auto log = Logger("access");
    auto level = options_.access_log_level == "debug" ? spdlog::level::debug
                                                      : spdlog::level::info;
    if (log->should_log(level)) {
      log->log(level,
               "method={} code={} organization={} subject={} "
               "token_id={} latency_ms={:.3f}",
               method, code_name,
               facts.organization_id.empty() ? "-" : facts.organization_id,
               facts.subject_id.empty() ? "-" : facts.subject_id,
               facts.token_id.empty() ? "-" : facts.token_id,
               seconds * 1000);
    }
  }

  grpc::experimental::ServerRpcInfo* info_;
  const CallObserverOptions& options_;
  absl::Time start_;
  std::string request_id_;
};

class CallObserverFactory
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit CallObserverFactory(CallObserverOptions options)
      : options_(std::move(options)) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new CallObserver(info, options_);
  }

 private:
  CallObserverOptions options_;
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeCallObserverFactory(const CallObserverOptions& options) {
  return std::make_unique<CallObserverFactory>(options);
}

void NoteCaller(const grpc::ServerContextBase* context,
                const std::string& organization_id,
                const std::string& subject_id, const std::string& token_id) {
  Calls().Note(context, organization_id, subject_id, token_id);
}

std::string RequestIdOf(const grpc::ServerContextBase* context) {
  return Calls().RequestId(context);
}

}  // namespace warden::server
