#include "libs/server/tls.h"

#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"

namespace warden::server {
namespace {

absl::Status CheckReadable(absl::string_view setting, const std::string& path) {
  if (path.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(setting, " is required"));
  }
  if (::access(path.c_str(), R_OK) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(setting, " names ", path, ", which cannot be read"));
  }
  return absl::OkStatus();
}

absl::Status CheckReloadInterval(unsigned int seconds) {
  if (seconds == 0) {
    return absl::InvalidArgumentError(
        "--tls-reload-seconds must be at least 1");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerTlsFiles& files) {
  for (auto status : {CheckReadable("--tls-cert", files.cert_file),
                      CheckReadable("--tls-key", files.key_file),
                      CheckReloadInterval(files.reload_seconds)}) {
    if (!status.ok()) return status;
  }
  if (!files.client_ca_file.empty()) {
    auto readable = CheckReadable("--tls-client-ca", files.client_ca_file);
    if (!readable.ok()) return readable;
  }
  auto provider =
      std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
          files.key_file, files.cert_file, files.client_ca_file,
          files.reload_seconds);
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (files.client_ca_file.empty()) {
    options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  } else {
    options.watch_root_certs();
    // Management clients need no certificate; the change stream and usage
    // reports check for a verified one themselves.
    options.set_cert_request_type(
        GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  }
  return grpc::experimental::TlsServerCredentials(options);
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>>
MakeChannelCredentials(const ClientTlsFiles& files) {
  for (auto status : {CheckReadable("--tls-ca", files.ca_file),
                      CheckReloadInterval(files.reload_seconds)}) {
    if (!status.ok()) return status;
  }
  if (files.cert_file.empty() != files.key_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls-client-cert and --tls-client-key go together: set both or "
        "neither");
  }
  if (!files.cert_file.empty()) {
    for (auto status : {CheckReadable("--tls-client-cert", files.cert_file),
                        CheckReadable("--tls-client-key", files.key_file)}) {
      if (!status.ok()) return status;
    }
  }
  auto provider =
      std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
          files.key_file, files.cert_file, files.ca_file,
          files.reload_seconds);
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(provider);
  options.watch_root_certs();
  if (!files.cert_file.empty()) options.watch_identity_key_cert_pairs();
  options.set_verify_server_certs(true);
  return grpc::experimental::TlsCredentials(options);
}

bool HasVerifiedClientCertificate(const grpc::ServerContextBase& context) {
  auto auth = context.auth_context();
  if (auth == nullptr) return false;
  auto security = auth->FindPropertyValues("transport_security_type");
  // "tls" from the TLS credentials used here, "ssl" from the older SSL ones.
  if (security.empty() ||
      (security.front() != "tls" && security.front() != "ssl")) {
    return false;
  }
  // With REQUEST_..._AND_VERIFY, a presented certificate that does not chain
  // to the client CA fails the handshake, so a certificate here is verified.
  return !auth->FindPropertyValues("x509_pem_cert").empty();
}

bool IsLoopbackAddress(const std::string& address) {
  return absl::StartsWith(address, "127.") ||
         absl::StartsWith(address, "localhost:") ||
         absl::StartsWith(address, "[::1]:") ||
         absl::StartsWith(address, "unix:");
}

}  // namespace warden::server
