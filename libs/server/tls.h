#ifndef WARDEN_LIBS_SERVER_TLS_H_
#define WARDEN_LIBS_SERVER_TLS_H_

// TLS for TokenService and for the sidecars' channel to it, from PEM files
// that are watched and reloaded while the process runs, so certificates can
// be rotated without a restart.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"

namespace warden::server {

struct ServerTlsFiles {
  // The server's certificate chain and private key.
  std::string cert_file;
  std::string key_file;
  // CA bundle for client certificates. When set, clients may present a
  // certificate, which must chain to this CA or the handshake fails; calls
  // that need one check HasVerifiedClientCertificate.
  std::string client_ca_file;
  // Seconds between checks of the files for a new certificate or CA; a
  // connection opened after a check uses what it found.
  unsigned int reload_seconds = 60;
};

struct ClientTlsFiles {
  // CA bundle that the server's certificate must chain to.
  std::string ca_file;
  // This client's certificate chain and key, for mutual TLS; optional.
  std::string cert_file;
  std::string key_file;
  // As in ServerTlsFiles.
  unsigned int reload_seconds = 60;
};

// Server credentials, or INVALID_ARGUMENT naming a file that is missing or
// unreadable, a key without a certificate, or a reload interval of 0.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerTlsFiles& files);

// Channel credentials, with the same checks.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>>
MakeChannelCredentials(const ClientTlsFiles& files);

// True when the call came over TLS with a client certificate that chained to
// the configured client CA.
bool HasVerifiedClientCertificate(const grpc::ServerContextBase& context);

// True for addresses only this machine can reach (127.0.0.0/8, [::1],
// localhost, unix sockets), where plaintext is acceptable.
bool IsLoopbackAddress(const std::string& address);

}  // namespace warden::server

#endif  // WARDEN_LIBS_SERVER_TLS_H_
