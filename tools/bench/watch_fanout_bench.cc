// What the change stream costs TokenService as followers are added: the
// real token_service binary runs in a child process with a fresh synced
// data dir, N Watch followers (each on its own HTTP/2 connection, as N
// sidecars would be) read every change, and writers create items. For each
// N it reports write throughput, write latency, TokenService's CPU per
// write (user + system time of its process over the timed window, divided
// by the writes acknowledged in it) and delivery latency: from a write
// being sent to a follower receiving its change, over every (write,
// follower) pair.
//
//   watch_fanout_bench --token-service=PATH [--followers=0,1,4,16,64]
//       [--writers=16] [--seconds=10] [--rate=0] [--out=FILE]
//
// --rate=0 runs the writers closed loop (each sends its next write when the
// last is acknowledged: the most TokenService accepts); --rate=R paces all
// writers together at R writes per second, so delivery latency is seen
// without a write queue in front of it. Appends a markdown table to --out.

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/notification.h"
#include "grpcpp/grpcpp.h"
#include "warden/changes/v1/change_stream_service.grpc.pb.h"
#include "warden/directory/v1/directory_service.grpc.pb.h"

namespace {

using SteadyClock = std::chrono::steady_clock;
using warden::changes::v1::ChangeStreamService;
using warden::changes::v1::WatchRequest;
using warden::changes::v1::WatchResponse;
using warden::directory::v1::DirectoryService;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "watch_fanout_bench: %s\n", what.c_str());
  std::exit(1);
}

std::string ReadLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    Die("cannot find a free port");
  }
  close(fd);
  return ntohs(address.sin_port);
}

// User + system CPU seconds of process `pid` so far.
double CpuSeconds(pid_t pid) {
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string all((std::istreambuf_iterator<char>(stat)),
                  std::istreambuf_iterator<char>());
  // Fields after the command name, which ends with the last ')'.
  std::istringstream fields(all.substr(all.rfind(')') + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14 || i == 15) ticks += std::stod(field);
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::shared_ptr<grpc::Channel> OwnChannel(const std::string& target) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(),
                                   args);
}

// A Watch stream that notes when each change arrives. Reads happen on
// gRPC's threads one at a time; `arrivals` is read only after Stop().
class Follower : public grpc::ClientReadReactor<WatchResponse> {
 public:
  void Start(ChangeStreamService::Stub* stub, const std::string& bearer,
             int64_t after_revision, int index) {
    context_.AddMetadata("authorization", absl::StrCat("Bearer ", bearer));
    request_.set_after_revision(after_revision);
    request_.set_follower_name(absl::StrCat("fanout-", index));
    stub->async()->Watch(&context_, &request_, this);
    StartRead(&response_);
    StartCall();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    const auto now = SteadyClock::now();
    for (const auto& change : response_.changes()) {
      arrivals.emplace_back(change.revision(), now);
    }
    StartRead(&response_);
  }
  void OnDone(const grpc::Status& status) override {
    final_status = status;
    done_.Notify();
  }
  void Stop() {
    context_.TryCancel();
    done_.WaitForNotification();
  }

  std::vector<std::pair<int64_t, SteadyClock::time_point>> arrivals;
  grpc::Status final_status;

 private:
  grpc::ClientContext context_;
  WatchRequest request_;
  WatchResponse response_;
  absl::Notification done_;
};

struct Write {
  int64_t revision;
  SteadyClock::time_point sent;
  SteadyClock::time_point acknowledged;
};

struct Options {
  std::string token_service;
  int writers = 16;
  double seconds = 10;
  double rate = 0;
};

double Percentile(std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1))];
}

// One TokenService process with `followers` followers; returns a table row.
std::string Measure(const Options& options, int followers) {
  char dir_template[] = "/tmp/fanout_bench_XXXXXX";
  if (mkdtemp(dir_template) == nullptr) Die("cannot make a temp dir");
  const std::string dir = dir_template;
  const std::string address = absl::StrCat("127.0.0.1:", FreePort());
  const std::string listen = absl::StrCat("--listen=", address);
  const std::string data = absl::StrCat("--data-dir=", dir, "/data");
  const std::string log = dir + "/token_service.log";
  pid_t pid = fork();
  if (pid == 0) {
    std::freopen(log.c_str(), "w", stderr);
    execl(options.token_service.c_str(), options.token_service.c_str(),
          listen.c_str(), data.c_str(), "--rate-limit-per-second=1000000",
          "--rate-limit-burst=1000000", "--log-level=warn",
          static_cast<char*>(nullptr));
    std::_Exit(127);
  }

  // Wait until it answers a write, which also gives the starting revision.
  auto directory = DirectoryService::NewStub(OwnChannel(address));
  std::string admin;
  int64_t start_revision = 0;
  for (int attempt = 0; attempt < 600 && start_revision == 0; ++attempt) {
    admin = ReadLine(dir + "/data/bootstrap-admin.token");
    if (!admin.empty()) {
      grpc::ClientContext context;
      context.AddMetadata("authorization", absl::StrCat("Bearer ", admin));
      context.set_deadline(std::chrono::system_clock::now() +
                           std::chrono::seconds(2));
      warden::directory::v1::CreateItemRequest request;
      request.set_type("inspection");
      request.set_name("warm-up");
      warden::directory::v1::CreateItemResponse response;
      if (directory->CreateItem(&context, request, &response).ok()) {
        start_revision = response.revision();
        break;
      }
    }
    if (waitpid(pid, nullptr, WNOHANG) == pid) Die("token_service exited");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (start_revision == 0) Die("token_service did not start: see " + log);
  const std::string replication =
      ReadLine(dir + "/data/bootstrap-sidecar.token");

  std::vector<std::unique_ptr<ChangeStreamService::Stub>> stubs;
  std::vector<std::unique_ptr<Follower>> watchers;
  for (int i = 0; i < followers; ++i) {
    stubs.push_back(ChangeStreamService::NewStub(OwnChannel(address)));
    watchers.push_back(std::make_unique<Follower>());
    watchers.back()->Start(stubs.back().get(), replication, start_revision, i);
  }
  // Let every stream open before timing.
  std::this_thread::sleep_for(std::chrono::seconds(1));

  std::atomic<bool> stop{false};
  std::atomic<int64_t> failures{0};
  std::vector<std::vector<Write>> writes(options.writers);
  std::vector<std::thread> threads;
  const auto begin = SteadyClock::now();
  const double cpu_begin = CpuSeconds(pid);
  for (int w = 0; w < options.writers; ++w) {
    threads.emplace_back([&, w] {
      auto stub = DirectoryService::NewStub(OwnChannel(address));
      const auto interval =
          options.rate > 0 ? std::chrono::duration_cast<SteadyClock::duration>(
                                 std::chrono::duration<double>(options.writers /
                                                               options.rate))
                           : SteadyClock::duration::zero();
      auto next = begin + interval * w / options.writers;
      for (int64_t n = 0; !stop.load(); ++n) {
        if (options.rate > 0) {
          std::this_thread::sleep_until(next);
          next += interval;
        }
        grpc::ClientContext context;
        context.AddMetadata("authorization", absl::StrCat("Bearer ", admin));
        warden::directory::v1::CreateItemRequest request;
        request.set_type("inspection");
        request.set_name(absl::StrCat("item ", w, ".", n));
        warden::directory::v1::CreateItemResponse response;
        const auto sent = SteadyClock::now();
        if (!stub->CreateItem(&context, request, &response).ok()) {
          ++failures;
          continue;
        }
        writes[w].push_back({response.revision(), sent, SteadyClock::now()});
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(options.seconds));
  const double cpu_end = CpuSeconds(pid);
  const auto end = SteadyClock::now();
  stop = true;
  for (auto& t : threads) t.join();
  // Let the followers receive the last writes.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  for (auto& f : watchers) f->Stop();
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
  std::filesystem::remove_all(dir);

  // Writes acknowledged inside the window; their latency and delivery.
  std::unordered_map<int64_t, SteadyClock::time_point> sent_at;
  std::vector<double> write_micros;
  for (const auto& per_writer : writes) {
    for (const auto& w : per_writer) {
      if (w.acknowledged > end) continue;
      sent_at[w.revision] = w.sent;
      write_micros.push_back(
          std::chrono::duration<double, std::micro>(w.acknowledged - w.sent)
              .count());
    }
  }
  std::vector<double> delivery_micros;
  int64_t missing = 0;
  for (const auto& f : watchers) {
    int64_t seen = 0;
    for (const auto& [revision, arrived] : f->arrivals) {
      auto it = sent_at.find(revision);
      if (it == sent_at.end()) continue;
      ++seen;
      delivery_micros.push_back(
          std::chrono::duration<double, std::micro>(arrived - it->second)
              .count());
    }
    missing += static_cast<int64_t>(sent_at.size()) - seen;
  }
  const double window = std::chrono::duration<double>(end - begin).count();
  const double count = static_cast<double>(write_micros.size());
  const double cpu_micros_per_write =
      count > 0 ? (cpu_end - cpu_begin) * 1e6 / count : 0;
  // Sorted once here: arguments of one call are evaluated in no set order.
  const double write_p50 = Percentile(write_micros, 0.5);
  const double write_p99 = Percentile(write_micros, 0.99);
  const double delivery_p50 = Percentile(delivery_micros, 0.5);
  const double delivery_p90 = Percentile(delivery_micros, 0.9);
  const double delivery_p99 = Percentile(delivery_micros, 0.99);
  const double delivery_max =
      delivery_micros.empty() ? 0.0 : delivery_micros.back();
  std::string row = absl::StrFormat(
      "| %d | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | "
      "%lld | %lld |",
      followers, count / window, write_p50, write_p99, cpu_micros_per_write,
      (cpu_end - cpu_begin) / window * 100, delivery_p50, delivery_p90,
      delivery_p99, delivery_max, static_cast<long long>(missing),
      static_cast<long long>(failures.load()));
  std::cerr << row << "\n";
  return row;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  std::vector<int> follower_counts = {0, 1, 4, 16, 64};
  std::string out;
  CLI::App cli{"Change-stream fan-out cost on TokenService"};
  cli.add_option("--token-service", options.token_service,
                 "Path of the token_service binary")
      ->required();
  cli.add_option("--followers", follower_counts, "Follower counts to run")
      ->delimiter(',');
  cli.add_option("--writers", options.writers, "Concurrent writers")
      ->check(CLI::Range(1, 256));
  cli.add_option("--seconds", options.seconds, "Timed window per count");
  cli.add_option("--rate", options.rate,
                 "Writes per second over all writers; 0 for closed loop");
  cli.add_option("--out", out, "Append the table to this file");
  CLI11_PARSE(cli, argc, argv);
  signal(SIGPIPE, SIG_IGN);

  std::ostringstream table;
  table << "\n"
        << (options.rate > 0
                ? absl::StrFormat("CreateItem paced at %.0f writes/s",
                                  options.rate)
                : std::string("CreateItem closed loop"))
        << ", " << options.writers << " writers, " << options.seconds
        << " s per row\n\n"
        << "| followers | writes/s | write p50 us | write p99 us | "
           "TokenService CPU us/write | TokenService CPU % | delivery p50 "
           "us | p90 us | p99 us | max us | missed | failed writes |\n"
        << "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (int followers : follower_counts) {
    table << Measure(options, followers) << "\n";
  }
  std::cout << table.str();
  if (!out.empty()) std::ofstream(out, std::ios::app) << table.str();
  return 0;
}
