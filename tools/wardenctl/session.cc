#include "tools/wardenctl/session.h"

#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "tools/wardenctl/output.h"

namespace warden::wardenctl {
namespace {

// The gRPC name of a status code, as grpcurl and the server's docs use it.
std::string CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return absl::StrCat("CODE_", static_cast<int>(code));
  }
}

}  // namespace

int ExitCodeFor(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return kExitOk;
    case grpc::StatusCode::INVALID_ARGUMENT:
      return kExitUsage;
    case grpc::StatusCode::NOT_FOUND:
      return kExitNotFound;
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::PERMISSION_DENIED:
      return kExitAuth;
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::OUT_OF_RANGE:
      return kExitConflict;
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return kExitUnavailable;
    default:
      return kExitOther;
  }
}

absl::Status Session::Connect() {
  if (options_.tls_ca_file.empty()) {
    if (!options_.tls_client_cert_file.empty() ||
        !options_.tls_client_key_file.empty() ||
        !options_.tls_server_name.empty()) {
      return absl::InvalidArgumentError(
          "--tls-client-cert, --tls-client-key and --tls-server-name need "
          "--tls-ca (WARDEN_TLS_CA), the CA that signed TokenService's "
          "certificate");
    }
    channel_ = grpc::CreateChannel(options_.address,
                                   grpc::InsecureChannelCredentials());
    return absl::OkStatus();
  }
  if (options_.tls_client_cert_file.empty() !=
      options_.tls_client_key_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls-client-cert and --tls-client-key go together: set both or "
        "neither");
  }
  grpc::SslCredentialsOptions tls;
  struct File {
    const char* flag;
    const std::string& path;
    std::string* contents;
  };
  for (const File& file :
       {File{"--tls-ca", options_.tls_ca_file, &tls.pem_root_certs},
        File{"--tls-client-cert", options_.tls_client_cert_file,
             &tls.pem_cert_chain},
        File{"--tls-client-key", options_.tls_client_key_file,
             &tls.pem_private_key}}) {
    if (file.path.empty()) continue;
    std::ifstream in(file.path, std::ios::binary);
    std::ostringstream contents;
    contents << in.rdbuf();
    if (!in || contents.str().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot read ", file.flag, " file ", file.path,
          " (a PEM file is expected)"));
    }
    *file.contents = contents.str();
  }
  grpc::ChannelArguments arguments;
  if (!options_.tls_server_name.empty()) {
    arguments.SetSslTargetNameOverride(options_.tls_server_name);
  }
  channel_ = grpc::CreateCustomChannel(
      options_.address, grpc::SslCredentials(tls), arguments);
  return absl::OkStatus();
}

absl::StatusOr<std::string> Session::Credential() {
  if (credential_loaded_) return credential_;
  std::string secret = options_.token;
  if (secret.empty() && !options_.token_file.empty()) {
    std::ifstream file(options_.token_file);
    if (!file) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot read the token file ", options_.token_file,
                       "; check --token-file / WARDEN_TOKEN_FILE"));
    }
    std::getline(file, secret);
  }
  secret = std::string(absl::StripAsciiWhitespace(secret));
  if (secret.empty()) {
    return absl::InvalidArgumentError(
        "no credential: pass --token-file FILE (or set WARDEN_TOKEN_FILE), "
        "or --token / WARDEN_TOKEN");
  }
  credential_ = std::move(secret);
  credential_loaded_ = true;
  return credential_;
}

std::unique_ptr<grpc::ClientContext> Session::NewContext(int* exit_code,
                                                         bool streaming) {
  auto credential = Credential();
  if (!credential.ok()) {
    std::cerr << "error: " << credential.status().message() << "\n";
    *exit_code = kExitUsage;
    return nullptr;
  }
  auto context = std::make_unique<grpc::ClientContext>();
  context->AddMetadata("authorization", absl::StrCat("Bearer ", *credential));
  if (!streaming) {
    context->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::milliseconds(static_cast<int64_t>(
                              options_.timeout_seconds * 1000)));
  }
  return context;
}

int Session::Unary(const std::function<grpc::Status(grpc::ClientContext*)>& rpc,
                   const google::protobuf::Message& response,
                   const std::function<void()>& print_human) {
  int exit_code = kExitOk;
  auto context = NewContext(&exit_code);
  if (context == nullptr) return exit_code;
  grpc::Status status = rpc(context.get());
  if (!status.ok()) return Fail(status, context.get());
  if (options_.json) {
    PrintJson(response);
  } else {
    print_human();
  }
  return kExitOk;
}

int Session::Fail(const grpc::Status& status,
                  const grpc::ClientContext* context) {
  std::cerr << "error: " << CodeName(status.error_code()) << ": "
            << status.error_message() << "\n";
  if (context != nullptr) {
    const auto& trailers = context->GetServerTrailingMetadata();
    auto reason = trailers.find("warden-auth-failure");
    if (reason != trailers.end()) {
      std::cerr << "the credential did not authenticate: "
                << std::string(reason->second.data(), reason->second.size())
                << "\n";
    }
  }
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
    std::cerr << "is TokenService running at " << options_.address
              << "? (--address / WARDEN_ADDRESS)\n";
  }
  return ExitCodeFor(status.error_code());
}

}  // namespace warden::wardenctl
