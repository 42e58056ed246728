#ifndef WARDEN_SERVICES_TOKEN_SERVICE_ACCESS_HANDLERS_H_
#define WARDEN_SERVICES_TOKEN_SERVICE_ACCESS_HANDLERS_H_

#include "libs/access/reference_check.h"
#include "libs/clock/clock.h"
#include "libs/store/store.h"
#include "libs/tokens/token_registry.h"
#include "warden/access/v1/access_service.grpc.pb.h"

namespace warden::token_service {

// The gRPC face of the reference decision (libs/access): authenticates the
// caller, checks that it may ask about the subject (itself always; others of
// its organization with platform.access_review), and answers from one read
// view, whose revision goes back with the answer. Synchronous API: each
// answer reads RocksDB and may take a while for a subject with many grants.
// Thread-safe.
class AccessHandlers final : public access::v1::AccessService::Service {
 public:
  // None owned; all must outlive the handlers.
  AccessHandlers(store::Store* store, tokens::TokenRegistry* registry,
                 const Clock* clock);

  grpc::Status Check(grpc::ServerContext* context,
                     const access::v1::CheckRequest* request,
                     access::v1::CheckResponse* response) override;
  grpc::Status Explain(grpc::ServerContext* context,
                       const access::v1::ExplainRequest* request,
                       access::v1::ExplainResponse* response) override;

 private:
  template <typename Response, typename Decide, typename Failed>
  grpc::Status Answer(grpc::ServerContext* context,
                      const access::v1::AccessQuestion& question,
                      Response* response, Decide decide, Failed failed);

  store::Store* store_;
  tokens::TokenRegistry* registry_;
  access::ReferenceDecider decider_;
};

}  // namespace warden::token_service

#endif  // WARDEN_SERVICES_TOKEN_SERVICE_ACCESS_HANDLERS_H_
