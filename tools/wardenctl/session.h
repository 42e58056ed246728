// What every wardenctl command shares: the global options, the connection to
// TokenService with the caller's credential, the exit codes scripts rely on,
// and the one place a unary call is made, its outcome printed and its status
// turned into an exit code.
#ifndef WARDEN_TOOLS_WARDENCTL_SESSION_H_
#define WARDEN_TOOLS_WARDENCTL_SESSION_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/message.h"

namespace warden::wardenctl {

// Exit codes. Stable: scripts branch on them, and --help lists them.
enum ExitCode : int {
  kExitOk = 0,
  kExitOther = 1,        // anything not below (INTERNAL, UNKNOWN, ...)
  kExitUsage = 2,        // bad flags, or INVALID_ARGUMENT from the server
  kExitNotFound = 3,     // NOT_FOUND
  kExitAuth = 4,         // UNAUTHENTICATED, PERMISSION_DENIED
  kExitConflict = 5,     // FAILED_PRECONDITION, RESOURCE_EXHAUSTED,
                         // ALREADY_EXISTS, ABORTED, OUT_OF_RANGE
  kExitUnavailable = 6,  // UNAVAILABLE, DEADLINE_EXCEEDED
};

// The exit code for a gRPC status.
int ExitCodeFor(grpc::StatusCode code);

// Flags that apply to every command.
struct GlobalOptions {
  std::string address = "127.0.0.1:50051";
  std::string token_file;
  std::string token;
  bool json = false;
  double timeout_seconds = 10;
  // TLS: verify the server against this PEM CA bundle; plaintext when
  // empty (a TokenService on loopback).
  std::string tls_ca_file;
  // A client certificate and key (PEM), for a server that asks for one.
  std::string tls_client_cert_file;
  std::string tls_client_key_file;
  // The name to verify in the server's certificate, when it is not the
  // host of --address (for example through a port-forward).
  std::string tls_server_name;
};

// One wardenctl run against one server. Not thread-safe; a run is one
// thread.
class Session {
 public:
  explicit Session(const GlobalOptions& options) : options_(options) {}

  const GlobalOptions& options() const { return options_; }
  bool json() const { return options_.json; }

  // Makes the channel to options().address: TLS when --tls-ca is set,
  // else plaintext. INVALID_ARGUMENT naming the flag when a TLS file
  // cannot be read or the TLS flags do not go together. Called once,
  // before any command runs.
  absl::Status Connect();

  // The channel Connect made.
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }

  // The credential: --token / WARDEN_TOKEN, else the first line of
  // --token-file / WARDEN_TOKEN_FILE. INVALID_ARGUMENT when neither is set
  // or the file cannot be read. Never printed.
  absl::StatusOr<std::string> Credential();

  // A context carrying the credential and a deadline of
  // options().timeout_seconds (none when `streaming`). On error prints it
  // and returns nullptr with *exit_code set.
  std::unique_ptr<grpc::ClientContext> NewContext(int* exit_code,
                                                  bool streaming = false);

  // Makes one unary call. On OK prints `response` as protobuf JSON when
  // --json was given, else runs `print_human`, and returns 0. On error
  // prints the status (and the server's auth-failure reason) to stderr and
  // returns its exit code.
  int Unary(const std::function<grpc::Status(grpc::ClientContext*)>& rpc,
            const google::protobuf::Message& response,
            const std::function<void()>& print_human);

  // Prints a failed call to stderr and returns its exit code.
  int Fail(const grpc::Status& status, const grpc::ClientContext* context);

 private:
  GlobalOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  bool credential_loaded_ = false;
  std::string credential_;
};

// Fetches every page of a list RPC, merged into *all (up to `limit`
// entries when limit > 0; `count` tells how many a page holds). `page`
// makes one call for a page token. Returns the exit code like
// Session::Unary, printing nothing on success.
template <typename Response>
int ListAll(
    Session& session,
    const std::function<grpc::Status(
        grpc::ClientContext*, const std::string& page_token, Response*)>& page,
    const std::function<int(const Response&)>& count, int limit,
    Response* all) {
  std::string page_token;
  do {
    int exit_code = kExitOk;
    auto context = session.NewContext(&exit_code);
    if (context == nullptr) return exit_code;
    Response one;
    grpc::Status status = page(context.get(), page_token, &one);
    if (!status.ok()) return session.Fail(status, context.get());
    page_token = one.next_page_token();
    all->MergeFrom(one);
  } while (!page_token.empty() && (limit <= 0 || count(*all) < limit));
  all->set_next_page_token(page_token);
  return kExitOk;
}

// Where a parsed command puts the work it will do once parsing succeeded.
using Action = std::function<int(Session&)>;

// Registers each command group on `app`. A subcommand's callback stores its
// work in *action.
void AddTokenCommands(CLI::App& app, Action* action);
void AddDirectoryCommands(CLI::App& app, Action* action);
void AddAccessCommands(CLI::App& app, Action* action);
void AddStreamCommands(CLI::App& app, Action* action);

}  // namespace warden::wardenctl

#endif  // WARDEN_TOOLS_WARDENCTL_SESSION_H_
