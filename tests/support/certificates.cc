#include "tests/support/certificates.h"

#include <cstdlib>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace warden::testing {
namespace {

// Runs a shell command, failing the test if it fails.
void Run(const std::string& command) {
  EXPECT_EQ(std::system((command + " >/dev/null 2>&1").c_str()), 0)
      << command;
}

}  // namespace

Certificates::Certificates() {
  const std::string d = dir_.path();
  auto make_ca = [&](const std::string& name) {
    Run(absl::StrCat("openssl req -x509 -newkey rsa:2048 -nodes -keyout ", d,
                     "/", name, ".key -out ", d, "/", name,
                     ".pem -days 2 -subj /CN=", name));
  };
  auto make_cert = [&](const std::string& name, const std::string& ca,
                       const std::string& days, const std::string& ext) {
    Run(absl::StrCat("openssl req -newkey rsa:2048 -nodes -keyout ", d, "/",
                     name, ".key -out ", d, "/", name, ".csr -subj /CN=",
                     name));
    std::ofstream(d + "/" + name + ".ext") << ext;
    Run(absl::StrCat("openssl x509 -req -in ", d, "/", name, ".csr -CA ", d,
                     "/", ca, ".pem -CAkey ", d, "/", ca,
                     ".key -CAcreateserial -out ", d, "/", name,
                     ".pem -days ", days, " -extfile ", d, "/", name,
                     ".ext"));
  };
  make_ca("ca");
  make_ca("other-ca");
  make_cert("server", "ca", "2", "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  make_cert("sidecar", "ca", "2", "extendedKeyUsage=clientAuth\n");
  make_cert("stranger", "other-ca", "2", "extendedKeyUsage=clientAuth\n");
  make_cert("expired", "ca", "-1", "extendedKeyUsage=clientAuth\n");
}

}  // namespace warden::testing
