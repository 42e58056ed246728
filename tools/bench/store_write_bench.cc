// Measures synced write throughput of the store at several numbers of
// concurrent writers, to show what group commit buys: every writer waits for
// its write to be on disk, and writers that arrive while a sync is in
// progress share the next one.
//
// Usage: store_write_bench --dir=DIR [--writes=2000] [--clients=1,8,32]
// Prints one line per concurrency: clients, writes, seconds, writes/s,
// and the speed-up over one client.

#include <atomic>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "libs/clock/clock.h"
#include "libs/ids/ids.h"
#include "libs/store/records.h"
#include "libs/store/store.h"

namespace {

// One token-sized record per write, like a token create.
absl::Status WriteOneToken(warden::store::WriteTxn& txn, int client, int i) {
  warden::model::v1::Token token;
  token.set_id(warden::ids::NewId("tok"));
  token.set_organization_id("org_benchmarkbenchmark");
  token.set_kind(warden::model::v1::TOKEN_KIND_SERVICE_USER);
  token.set_name("bench " + std::to_string(client) + "/" + std::to_string(i));
  token.set_subject_id(warden::ids::NewId("svc"));
  token.set_state(warden::model::v1::TOKEN_STATE_ACTIVE);
  // Unique, as real digests are: the digest index rejects duplicates.
  token.set_secret_digest(token.id() + "-digest-padding");
  token.set_inactivity_days(45);
  return warden::store::Put(txn, token);
}

double Run(const std::string& dir, int clients, int writes) {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  warden::SystemClock clock;
  warden::store::StoreOptions options;
  options.path = dir;
  options.clock = &clock;
  options.sync = true;
  auto store = warden::store::Store::Open(options);
  if (!store.ok()) {
    std::cerr << store.status() << "\n";
    std::exit(1);
  }
  std::atomic<int> failures{0};
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      for (int i = 0; i < writes / clients; ++i) {
        auto revision = (*store)->Write("bench", [&](auto& txn) {
          return WriteOneToken(txn, c, i);
        });
        if (!revision.ok()) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  double seconds = std::chrono::duration<double>(
                       std::chrono::steady_clock::now() - start)
                       .count();
  if (failures > 0) {
    std::cerr << failures << " writes failed\n";
    std::exit(1);
  }
  return (writes / clients) * clients / seconds;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir;
  int writes = 2000;
  std::vector<int> clients = {1, 8, 32};
  CLI::App cli{"Synced store write throughput by number of writers"};
  cli.add_option("--dir", dir, "Scratch directory (deleted and recreated)")
      ->required();
  cli.add_option("--writes", writes, "Writes per run")->capture_default_str();
  cli.add_option("--clients", clients, "Concurrent writers per run")
      ->delimiter(',');
  CLI11_PARSE(cli, argc, argv);

  double single = 0;
  for (int n : clients) {
    double rate = Run(dir + "/run", n, writes);
    if (single == 0) single = rate;
    std::cout << "clients=" << n << " writes_per_second=" << rate
              << " speedup_over_first=" << rate / single << "\n";
  }
  std::filesystem::remove_all(dir + "/run");
  return 0;
}
