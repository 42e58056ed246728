// gRPC load generator for the AuthzService benchmarks, on the callback API.
//
//   loadgen --target=127.0.0.1:PORT --rpc=noop|check|batch [--batch=100]
//           --probes=FILE (check, batch) --seconds=10
//           (--concurrency=N | --rate=CALLS_PER_SECOND)
//
// Closed loop (--concurrency): N calls in flight; each completion sends the
// next. Open loop (--rate): calls start on a fixed schedule whatever the
// server does, and latency counts from the scheduled start, so a stalled
// server shows up in the percentiles rather than slowing the sender down.
// Questions cycle through the probes file (one "subject permission item"
// per line, written by bench_server).
//
// Prints one line of key=value pairs: calls, throughput (calls/s),
// checks_per_second, latency percentiles in microseconds and errors by
// status code.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "grpcpp/grpcpp.h"
#include "warden/authz/v1/authz_service.grpc.pb.h"
#include "warden/bench/v1/noop_service.grpc.pb.h"

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "loadgen: %s\n", what.c_str());
  std::exit(1);
}

struct Options {
  std::string target;
  std::string rpc = "check";
  std::string probes;
  int batch = 100;
  double seconds = 10;
  int concurrency = 0;
  double rate = 0;
};

struct Question {
  std::string subject_id;
  std::string permission;
  std::string item_id;
};

// Latencies and outcomes, from every completion thread.
class Results {
 public:
  void Add(int64_t nanos, grpc::StatusCode code) {
    absl::MutexLock lock(&mutex_);
    if (code == grpc::StatusCode::OK) {
      latencies_.push_back(nanos);
    } else {
      ++errors_[code];
    }
  }
  std::vector<int64_t> TakeLatencies() {
    absl::MutexLock lock(&mutex_);
    return std::move(latencies_);
  }
  std::map<int, int64_t> errors() {
    absl::MutexLock lock(&mutex_);
    return errors_;
  }

 private:
  absl::Mutex mutex_;
  std::vector<int64_t> latencies_ ABSL_GUARDED_BY(mutex_);
  std::map<int, int64_t> errors_ ABSL_GUARDED_BY(mutex_);
};

// Sends one call of the chosen shape and calls `done` with its status.
class Caller {
 public:
  Caller(const Options& options, std::vector<Question> questions)
      : options_(options), questions_(std::move(questions)) {
    // Two connections: one HTTP/2 connection is served by one server
    // thread at a time for reads, which would cap the server on 2 cores.
    for (int i = 0; i < 2; ++i) {
      grpc::ChannelArguments args;
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
      auto channel = grpc::CreateCustomChannel(
          options.target, grpc::InsecureChannelCredentials(), args);
      noop_.push_back(warden::bench::v1::NoopService::NewStub(channel));
      authz_.push_back(warden::authz::v1::AuthzService::NewStub(channel));
    }
  }

  // Checks per call: `batch` for BatchCheck, one otherwise.
  int checks_per_call() const {
    return options_.rpc == "batch" ? options_.batch : 1;
  }

  void Call(uint64_t n, std::function<void(grpc::StatusCode)> done) {
    const Question& q = questions_[n % questions_.size()];
    const size_t channel = n % noop_.size();
    if (options_.rpc == "noop") {
      auto* call = new NoopCall;
      FillCheck(q, call->request.mutable_check());
      noop_[channel]->async()->Check(
          &call->context, &call->request, &call->response,
          [call, done = std::move(done)](grpc::Status status) {
            done(status.error_code());
            delete call;
          });
    } else if (options_.rpc == "check") {
      auto* call = new CheckCall;
      FillCheck(q, &call->request);
      authz_[channel]->async()->Check(
          &call->context, &call->request, &call->response,
          [call, done = std::move(done)](grpc::Status status) {
            done(status.error_code());
            delete call;
          });
    } else {
      auto* call = new BatchCall;
      for (int i = 0; i < options_.batch; ++i) {
        const Question& b = questions_[(n + i) % questions_.size()];
        auto* item = call->request.add_checks();
        item->set_correlation_id(absl::StrCat(i));
        item->mutable_subject()->set_subject_id(b.subject_id);
        item->set_permission(b.permission);
        item->set_item_id(b.item_id);
      }
      authz_[channel]->async()->BatchCheck(
          &call->context, &call->request, &call->response,
          [call, done = std::move(done)](grpc::Status status) {
            done(status.error_code());
            delete call;
          });
    }
  }

 private:
  struct NoopCall {
    grpc::ClientContext context;
    warden::bench::v1::CheckRequest request;
    warden::bench::v1::CheckResponse response;
  };
  struct CheckCall {
    grpc::ClientContext context;
    warden::authz::v1::CheckRequest request;
    warden::authz::v1::CheckResponse response;
  };
  struct BatchCall {
    grpc::ClientContext context;
    warden::authz::v1::BatchCheckRequest request;
    warden::authz::v1::BatchCheckResponse response;
  };
  static void FillCheck(const Question& q,
                        warden::authz::v1::CheckRequest* request) {
    request->mutable_subject()->set_subject_id(q.subject_id);
    request->set_permission(q.permission);
    request->set_item_id(q.item_id);
  }

  Options options_;
  std::vector<Question> questions_;
  std::vector<std::unique_ptr<warden::bench::v1::NoopService::Stub>> noop_;
  std::vector<std::unique_ptr<warden::authz::v1::AuthzService::Stub>> authz_;
};

std::vector<Question> ReadProbes(const Options& options) {
  std::vector<Question> out;
  if (options.rpc == "noop" && options.probes.empty()) {
    out.push_back({"usr_aaaaaaaaaaaaaaaaaaaa", "inspections.view",
                   "item_aaaaaaaaaaaaaaaaaaaa"});
    return out;
  }
  std::ifstream in(options.probes);
  Question q;
  while (in >> q.subject_id >> q.permission >> q.item_id) out.push_back(q);
  if (out.empty()) Die(absl::StrCat("no questions in '", options.probes, "'"));
  return out;
}

void RunClosed(const Options& options, Caller& caller, Results& results) {
  const auto deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(options.seconds));
  std::atomic<uint64_t> next{0};
  std::atomic<int> in_flight{options.concurrency};
  absl::Notification finished;
  // Each slot sends its next call from the previous one's completion.
  std::function<void()> send = [&] {
    const auto start = Clock::now();
    caller.Call(next++, [&, start](grpc::StatusCode code) {
      const auto end = Clock::now();
      results.Add((end - start).count(), code);
      if (end < deadline) {
        send();
      } else if (--in_flight == 0) {
        finished.Notify();
      }
    });
  };
  for (int i = 0; i < options.concurrency; ++i) send();
  finished.WaitForNotification();
}

void RunOpen(const Options& options, Caller& caller, Results& results) {
  const auto interval = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(1.0 / options.rate));
  const auto begin = Clock::now();
  const uint64_t total = static_cast<uint64_t>(options.rate * options.seconds);
  std::atomic<uint64_t> outstanding{total};
  absl::Notification finished;
  for (uint64_t n = 0; n < total; ++n) {
    const auto scheduled = begin + interval * n;
    std::this_thread::sleep_until(scheduled);
    caller.Call(n, [&, scheduled](grpc::StatusCode code) {
      results.Add((Clock::now() - scheduled).count(), code);
      if (--outstanding == 0) finished.Notify();
    });
  }
  if (total > 0) finished.WaitForNotification();
}

double Percentile(const std::vector<int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t i = static_cast<size_t>(p * (sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)] / 1000.0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* flag) -> const char* {
      size_t n = std::strlen(flag);
      return a.compare(0, n, flag) == 0 ? argv[i] + n : nullptr;
    };
    const char* v = nullptr;
    bool ok = true;
    if ((v = value("--target="))) {
      options.target = v;
    } else if ((v = value("--rpc="))) {
      options.rpc = v;
    } else if ((v = value("--probes="))) {
      options.probes = v;
    } else if ((v = value("--batch="))) {
      ok = absl::SimpleAtoi(v, &options.batch);
    } else if ((v = value("--seconds="))) {
      ok = absl::SimpleAtod(v, &options.seconds);
    } else if ((v = value("--concurrency="))) {
      ok = absl::SimpleAtoi(v, &options.concurrency);
    } else if ((v = value("--rate="))) {
      ok = absl::SimpleAtod(v, &options.rate);
    } else {
      Die(absl::StrCat("unknown flag ", a));
    }
    if (!ok) Die(absl::StrCat("bad value in ", a));
  }
  if (options.target.empty()) Die("--target is required");
  if (options.rpc != "noop" && options.rpc != "check" &&
      options.rpc != "batch") {
    Die("--rpc must be noop, check or batch");
  }
  if ((options.concurrency > 0) == (options.rate > 0)) {
    Die("give exactly one of --concurrency and --rate");
  }
  if (options.batch < 1 || options.batch > 1000) Die("--batch is 1 to 1000");

  Caller caller(options, ReadProbes(options));
  Results results;
  const auto begin = Clock::now();
  if (options.concurrency > 0) {
    RunClosed(options, caller, results);
  } else {
    RunOpen(options, caller, results);
  }
  const double elapsed =
      std::chrono::duration<double>(Clock::now() - begin).count();
  std::vector<int64_t> latencies = results.TakeLatencies();
  std::sort(latencies.begin(), latencies.end());
  const double ok_per_second = latencies.size() / elapsed;
  std::string errors;
  for (const auto& [code, count] : results.errors()) {
    absl::StrAppend(&errors, errors.empty() ? "" : ",", "code", code, ":",
                    count);
  }
  std::printf(
      "rpc=%s mode=%s concurrency=%d rate=%.0f calls=%zu seconds=%.2f "
      "throughput=%.0f checks_per_second=%.0f p50_us=%.1f p90_us=%.1f "
      "p99_us=%.1f p999_us=%.1f errors=%s\n",
      options.rpc.c_str(), options.concurrency > 0 ? "closed" : "open",
      options.concurrency, options.rate, latencies.size(), elapsed,
      ok_per_second, ok_per_second * caller.checks_per_call(),
      Percentile(latencies, 0.50), Percentile(latencies, 0.90),
      Percentile(latencies, 0.99), Percentile(latencies, 0.999),
      errors.empty() ? "none" : errors.c_str());
  return results.errors().empty() ? 0 : 2;
}
