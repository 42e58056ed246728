#ifndef WARDEN_TESTS_SERVICES_TOKEN_SERVICE_TEST_SERVER_H_
#define WARDEN_TESTS_SERVICES_TOKEN_SERVICE_TEST_SERVER_H_

#include <memory>
#include <string>

#include "grpcpp/grpcpp.h"
#include "libs/clock/clock.h"
#include "services/token_service/token_service_app.h"
#include "tests/support/temp_dir.h"

namespace warden::testing {

// TokenService running in this process on 127.0.0.1:0 with its store in a
// temp dir and a fake clock, bootstrapped with an operators' organization.
// Used by every TokenService integration test.
class TestTokenService {
 public:
  // Starts the service; fails the current test if it cannot.
  TestTokenService();
  ~TestTokenService();

  // Stops and starts the service again on the same data directory and the
  // same port. Used to show that state survives a restart.
  void Restart();
  void Stop();

  // The bootstrap admin's user token and the sidecars' service-user token.
  const std::string& admin_token() const { return admin_token_; }
  const std::string& sidecar_token() const { return sidecar_token_; }

  std::string address() const;
  std::shared_ptr<grpc::Channel> channel();
  // A client context carrying "authorization: Bearer <token>" (none when
  // `token` is empty) and a 30 s deadline.
  std::unique_ptr<grpc::ClientContext> Context(const std::string& token);

  FakeClock& clock() { return clock_; }
  token_service::TokenServiceApp& app() { return *app_; }
  const std::string& data_dir() const { return dir_.path(); }

 private:
  void StartApp();

  TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<token_service::TokenServiceApp> app_;
  std::shared_ptr<grpc::Channel> channel_;
  int port_ = 0;
  std::string admin_token_;
  std::string sidecar_token_;
};

}  // namespace warden::testing

#endif  // WARDEN_TESTS_SERVICES_TOKEN_SERVICE_TEST_SERVER_H_
