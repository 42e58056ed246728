#ifndef WARDEN_TESTS_SUPPORT_CERTIFICATES_H_
#define WARDEN_TESTS_SUPPORT_CERTIFICATES_H_

#include <string>

#include "tests/support/temp_dir.h"

namespace warden::testing {

// Certificates made with the openssl command line in a temp dir: a CA
// ("ca"), a server certificate for 127.0.0.1 and localhost ("server"), a
// client certificate from that CA ("sidecar"), one from another CA
// ("stranger", CA "other-ca"), and an expired one from the right CA
// ("expired"). Each NAME has NAME.pem and NAME.key. A failing openssl
// command fails the current test.
class Certificates {
 public:
  Certificates();
  Certificates(const Certificates&) = delete;
  Certificates& operator=(const Certificates&) = delete;

  // The path of `file`, for example "ca.pem" or "sidecar.key".
  std::string Path(const std::string& file) const { return dir_.Sub(file); }

 private:
  TempDir dir_;
};

}  // namespace warden::testing

#endif  // WARDEN_TESTS_SUPPORT_CERTIFICATES_H_
