// wardenctl: the admin command line for warden's TokenService.

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/impl/codegen/proto_utils.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/strings/str_format.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/wrappers.pb.h"
#include "tools/wardenctl/output.h"
#include "tools/wardenctl/session.h"

namespace warden::wardenctl {
namespace {

constexpr char kFooter[] = R"(Environment:
  WARDEN_ADDRESS      TokenService address (--address)
  WARDEN_TOKEN_FILE   file holding the credential (--token-file)
  WARDEN_TOKEN        the credential itself (--token); prefer a file, since
                      a command line is visible to other local users
  WARDEN_TLS_CA, WARDEN_TLS_CLIENT_CERT, WARDEN_TLS_CLIENT_KEY,
  WARDEN_TLS_SERVER_NAME
                      TLS to TokenService (--tls-ca and the others)

Global flags go before the command; with the same name after it, a flag
means the command's own (explain --token is the token asked about).

Exit codes:
  0  ok
  1  any other error
  2  usage error, or the server rejected the input (INVALID_ARGUMENT)
  3  not found (NOT_FOUND)
  4  authentication or permission problem (UNAUTHENTICATED,
     PERMISSION_DENIED)
  5  precondition, limit or conflict (FAILED_PRECONDITION,
     RESOURCE_EXHAUSTED, ALREADY_EXISTS, ABORTED, OUT_OF_RANGE)
  6  server unavailable (UNAVAILABLE, DEADLINE_EXCEEDED)

Output: tables for people; --json prints the response as protobuf JSON
(lowerCamelCase names, default values left out). Errors go to stderr.
A new secret is printed once, when it is made, and never again.)";

// grpc.health.v1 without its generated code: HealthCheckRequest is one
// string field 1 and HealthCheckResponse one enum field 1, which is how
// StringValue and Int32Value encode too.
std::string HealthStatus(Session& session, std::string* error) {
  grpc::TemplatedGenericStub<google::protobuf::StringValue,
                             google::protobuf::Int32Value>
      stub(session.channel());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::milliseconds(static_cast<int64_t>(
                           session.options().timeout_seconds * 1000)));
  grpc::CompletionQueue queue;
  google::protobuf::StringValue request;
  google::protobuf::Int32Value response;
  grpc::Status status;
  auto call = stub.PrepareUnaryCall(&context, "/grpc.health.v1.Health/Check",
                                    request, &queue);
  call->StartCall();
  call->Finish(&response, &status, &queue);
  void* tag = nullptr;
  bool ok = false;
  queue.Next(&tag, &ok);
  queue.Shutdown();
  while (queue.Next(&tag, &ok)) {
  }
  if (!status.ok()) {
    *error = status.error_message();
    return "UNREACHABLE";
  }
  switch (response.value()) {
    case 1:
      return "SERVING";
    case 2:
      return "NOT_SERVING";
    default:
      return "UNKNOWN";
  }
}

// Where a bootstrap credential file is and whether it is usable. Reads only
// its metadata: the secret is never read or shown.
std::string DescribeCredentialFile(const std::filesystem::path& path) {
  struct stat info;
  if (::stat(path.c_str(), &info) != 0) return "missing";
  std::string mode = absl::StrFormat("%04o", info.st_mode & 07777);
  if ((info.st_mode & 077) != 0) {
    return "present, mode " + mode + " (others can read it: chmod 600)";
  }
  return "present, mode " + mode;
}

int BootstrapInfo(Session& session, const std::string& data_dir) {
  const std::filesystem::path dir(data_dir);
  const auto admin = dir / "bootstrap-admin.token";
  const auto sidecar = dir / "bootstrap-sidecar.token";
  std::string error;
  const std::string health = HealthStatus(session, &error);

  if (session.json()) {
    google::protobuf::Struct out;
    auto& fields = *out.mutable_fields();
    fields["adminTokenFile"].set_string_value(admin.string());
    fields["adminTokenFileState"].set_string_value(
        DescribeCredentialFile(admin));
    fields["sidecarTokenFile"].set_string_value(sidecar.string());
    fields["sidecarTokenFileState"].set_string_value(
        DescribeCredentialFile(sidecar));
    fields["address"].set_string_value(session.options().address);
    fields["health"].set_string_value(health);
    PrintJson(out);
  } else {
    PrintFields({
        {"admin token file",
         admin.string() + " (" + DescribeCredentialFile(admin) + ")"},
        {"sidecar token file",
         sidecar.string() + " (" + DescribeCredentialFile(sidecar) + ")"},
        {"server", session.options().address},
        {"health", error.empty() ? health : health + ": " + error},
    });
    std::cout << "\nTokenService writes these files on its first start "
                 "with an empty data\ndirectory. Pass the admin file to "
                 "wardenctl with --token-file (or\nWARDEN_TOKEN_FILE); give "
                 "the sidecar file only to AuthzService sidecars.\n";
  }
  if (health == "SERVING") return kExitOk;
  return health == "UNREACHABLE" ? kExitUnavailable : kExitOther;
}

int Main(int argc, char** argv) {
  CLI::App app{
      "wardenctl: administer warden's TokenService: tokens, users, groups, "
      "sites, permission sets, items, grants, access checks and the change "
      "stream."};
  app.footer(kFooter);
  app.require_subcommand(1);
  app.fallthrough();

  GlobalOptions options;
  app.add_option("--address", options.address, "TokenService host:port")
      ->envname("WARDEN_ADDRESS")
      ->capture_default_str();
  app.add_option("--token-file", options.token_file,
                 "File whose first line is the credential")
      ->envname("WARDEN_TOKEN_FILE");
  app.add_option("--token", options.token,
                 "The credential itself; wins over --token-file")
      ->envname("WARDEN_TOKEN");
  app.add_flag("--json", options.json,
               "Print the response as protobuf JSON, for scripts");
  app.add_option("--timeout", options.timeout_seconds,
                 "Seconds to wait for each call")
      ->capture_default_str();
  app.add_option("--tls-ca", options.tls_ca_file,
                 "PEM CA bundle to verify TokenService's certificate with; "
                 "plaintext when not set")
      ->envname("WARDEN_TLS_CA");
  app.add_option("--tls-client-cert", options.tls_client_cert_file,
                 "PEM client certificate, for a TokenService that asks for "
                 "one (the change stream with mutual TLS)")
      ->envname("WARDEN_TLS_CLIENT_CERT");
  app.add_option("--tls-client-key", options.tls_client_key_file,
                 "PEM private key for --tls-client-cert")
      ->envname("WARDEN_TLS_CLIENT_KEY");
  app.add_option("--tls-server-name", options.tls_server_name,
                 "Name to verify in the server's certificate when it is not "
                 "the host of --address")
      ->envname("WARDEN_TLS_SERVER_NAME");

  Action action;
  std::string data_dir = "data/token";
  auto* bootstrap = app.add_subcommand(
      "bootstrap-info",
      "Show where the bootstrap credential files are and whether the server "
      "is healthy");
  bootstrap->add_option("--data-dir", data_dir, "TokenService's --data-dir")
      ->capture_default_str();
  bootstrap->callback([&] {
    action = [&](Session& session) { return BootstrapInfo(session, data_dir); };
  });
  AddTokenCommands(app, &action);
  AddDirectoryCommands(app, &action);
  AddAccessCommands(app, &action);
  AddStreamCommands(app, &action);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Help and version print and succeed; every other parse error is a
    // usage error, whatever code CLI11 would pick.
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  if (!action) {
    std::cerr << app.help();
    return kExitUsage;
  }
  Session session(options);
  if (absl::Status connected = session.Connect(); !connected.ok()) {
    std::cerr << "error: " << connected.message() << "\n";
    return kExitUsage;
  }
  return action(session);
}

}  // namespace
}  // namespace warden::wardenctl

int main(int argc, char** argv) { return warden::wardenctl::Main(argc, argv); }
