// Servers for the gRPC benchmarks, and the cold-start measurement.
//
//   bench_server --service=noop
//       NoopService (protos/warden/bench/v1) on libs/server's GrpcServer:
//       the ceiling for one unary call.
//   bench_server --service=authz --dataset=NAME [--grants=N]
//       AuthzService's real handlers (AuthzHandlers) on the same GrpcServer,
//       over a replica loaded from a generated dataset instead of from
//       TokenService's stream, and always fresh. Writes the probe questions
//       to --probes=FILE for loadgen.
//   bench_server --coldstart --dataset=NAME [--grants=N]
//       Serializes the dataset as a snapshot arrives (one Record message
//       each), then times what the follower does with it: parse every
//       record into a vector and LoadSnapshot. Prints time and memory.
//
// Servers listen on 127.0.0.1, print "PORT <n>" on stdout once serving and
// stop on SIGTERM or SIGINT.

#include <malloc.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/clock/clock.h"
#include "libs/index/replica_index.h"
#include "libs/server/grpc_server.h"
#include "services/authz_service/authz_handlers.h"
#include "tools/bench/dataset.h"
#include "warden/bench/v1/noop_service.grpc.pb.h"

namespace warden::bench {
namespace {

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "bench_server: %s\n", what.c_str());
  std::exit(1);
}

class NoopHandlers final : public v1::NoopService::CallbackService {
 public:
  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const v1::CheckRequest*,
                                  v1::CheckResponse*) override {
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

// Memory of this process from /proc/self/status, in bytes.
int64_t ProcStatusBytes(const char* field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  const size_t length = std::strlen(field);
  while (std::getline(status, line)) {
    if (line.compare(0, length, field) == 0 && line[length] == ':') {
      int64_t kb = 0;
      std::string number = line.substr(length + 1);
      number.erase(number.find("kB"));
      absl::SimpleAtoi(number, &kb);
      return kb * 1024;
    }
  }
  return -1;
}

absl::StatusOr<Dataset> Make(const std::string& name, int64_t grants) {
  auto spec = SpecNamed(name);
  if (!spec.ok()) return spec.status();
  if (grants >= 0) spec->grants = grants;
  return Generate(*spec);
}

// Parses every serialized record and loads them, as ChangeFollower does
// with a snapshot's chunks. Returns the seconds taken.
double LoadFrom(const std::vector<std::string>& wire,
                index::ReplicaIndex& index) {
  absl::Time start = absl::Now();
  std::vector<model::v1::Record> records(wire.size());
  for (size_t i = 0; i < wire.size(); ++i) {
    if (!records[i].ParseFromString(wire[i])) Die("a record does not parse");
  }
  auto loaded = index.LoadSnapshot(1, records);
  if (!loaded.ok()) Die(std::string(loaded.message()));
  return absl::ToDoubleSeconds(absl::Now() - start);
}

int ColdStart(const std::string& name, int64_t grants) {
  const int64_t idle_rss = ProcStatusBytes("VmRSS");
  auto data = Make(name, grants);
  if (!data.ok()) Die(std::string(data.status().message()));
  // The snapshot as it arrives, grouped by what each record is, so memory
  // can be attributed per kind.
  enum Kind { kTokens, kSubjects, kItems, kGrants, kOther, kKinds };
  const char* kind_names[] = {"token", "subject", "item", "grant", "other"};
  std::vector<std::string> wire[kKinds];
  int64_t counts[kKinds] = {};
  for (const auto& r : data->records) {
    Kind kind = r.has_token() ? kTokens
                : r.has_user() || r.has_service_user() ||
                        r.has_group_member() || r.has_site_member()
                    ? kSubjects
                : r.has_item()  ? kItems
                : r.has_grant() ? kGrants
                                : kOther;
    wire[kind].push_back(r.SerializeAsString());
    if (!r.has_group_member() && !r.has_site_member()) ++counts[kind];
  }
  const int64_t total_records = static_cast<int64_t>(data->records.size());
  Dataset summary = std::move(*data);
  std::vector<model::v1::Record>().swap(summary.records);
  malloc_trim(0);

  // Bytes per record kind: load that kind alone (plus the catalog,
  // organizations, sets, groups and sites it refers to) into a fresh index.
  for (int kind = 0; kind < kOther; ++kind) {
    std::vector<std::string> part = wire[kOther];
    part.insert(part.end(), wire[kind].begin(), wire[kind].end());
    malloc_trim(0);
    const int64_t before = ProcStatusBytes("VmRSS");
    int64_t after = 0;
    int64_t base = 0;
    {
      index::ReplicaIndex alone;
      LoadFrom(part, alone);
      malloc_trim(0);
      after = ProcStatusBytes("VmRSS");
    }
    malloc_trim(0);
    {
      index::ReplicaIndex other_only;
      const int64_t b = ProcStatusBytes("VmRSS");
      LoadFrom(wire[kOther], other_only);
      malloc_trim(0);
      base = ProcStatusBytes("VmRSS") - b;
    }
    malloc_trim(0);
    std::printf("bytes_per_%s %.0f\n", kind_names[kind],
                static_cast<double>(after - before - base) /
                    std::max<int64_t>(1, counts[kind]));
  }

  // The whole snapshot: time, the resident size it adds and its peak (the
  // parsed records and the index exist together for a moment).
  std::vector<std::string> all;
  for (auto& part : wire) {
    for (auto& bytes : part) all.push_back(std::move(bytes));
    std::vector<std::string>().swap(part);
  }
  malloc_trim(0);
  const int64_t before = ProcStatusBytes("VmRSS");
  index::ReplicaIndex index;
  const double seconds = LoadFrom(all, index);
  malloc_trim(0);
  const int64_t after = ProcStatusBytes("VmRSS");
  const int64_t peak = ProcStatusBytes("VmHWM");
  auto counts_now = index.Current()->Counts();
  std::printf("records %lld\n", static_cast<long long>(total_records));
  std::printf("users %zu\ntokens %zu\nitems %zu\ngrants %zu\n",
              counts_now.users, counts_now.tokens, counts_now.items,
              counts_now.grants);
  std::printf("load_seconds %.3f\n", seconds);
  // What a sidecar holding this replica would be resident at: an idle
  // process plus the index.
  std::printf("index_bytes %lld\n", static_cast<long long>(after - before));
  std::printf("sidecar_rss_bytes %lld\n",
              static_cast<long long>(idle_rss + after - before));
  std::printf("process_peak_bytes %lld\n", static_cast<long long>(peak));
  return 0;
}

class FreshClock : public Clock {
 public:
  explicit FreshClock(absl::Time now) : offset_(now - absl::Now()) {}
  // The dataset's time, advancing with the wall clock.
  absl::Time Now() const override { return absl::Now() + offset_; }

 private:
  absl::Duration offset_;
};

int Serve(const std::string& service, const std::string& name, int64_t grants,
          const std::string& probes_path) {
  server::BlockTerminationSignals();
  std::unique_ptr<Dataset> data;
  index::ReplicaIndex index;
  std::unique_ptr<FreshClock> clock;
  std::unique_ptr<authz_service::RevisionWaiters> waiters;
  std::unique_ptr<authz_service::UsageReporter> usage;
  std::unique_ptr<grpc::Service> handlers;
  if (service == "noop") {
    handlers = std::make_unique<NoopHandlers>();
  } else if (service == "authz") {
    auto made = Make(name, grants);
    if (!made.ok()) Die(std::string(made.status().message()));
    data = std::make_unique<Dataset>(std::move(*made));
    auto loaded = index.LoadSnapshot(1, data->records);
    if (!loaded.ok()) Die(std::string(loaded.message()));
    std::vector<model::v1::Record>().swap(data->records);
    malloc_trim(0);
    std::ofstream probes(probes_path);
    for (const Probe* p : {&data->direct, &data->group, &data->nested_site,
                           &data->rule, &data->cross_org, &data->denied}) {
      probes << p->subject_id << " " << p->permission << " " << p->item_id
             << "\n";
    }
    if (!probes) Die("cannot write --probes");
    clock = std::make_unique<FreshClock>(data->now);
    waiters = std::make_unique<authz_service::RevisionWaiters>();
    // Never started: Checks by subject id record no token use.
    usage = std::make_unique<authz_service::UsageReporter>(
        grpc::CreateChannel("127.0.0.1:1", grpc::InsecureChannelCredentials()),
        "", absl::Hours(1), &index);
    authz_service::HandlerDeps deps;
    deps.index = &index;
    deps.usage = usage.get();
    deps.waiters = waiters.get();
    deps.clock = clock.get();
    const Clock* c = clock.get();
    deps.lag = [c] {
      authz_service::Lag lag;
      lag.applied_revision = 1;
      lag.committed_revision = 1;
      lag.last_message = c->Now();
      lag.snapshots_loaded = 1;
      return lag;
    };
    handlers = std::make_unique<authz_service::AuthzHandlers>(std::move(deps));
  } else {
    Die("--service must be noop or authz");
  }
  server::GrpcServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.services = {handlers.get()};
  auto server = server::GrpcServer::Start(options);
  if (!server.ok()) Die(std::string(server.status().message()));
  std::printf("PORT %d\n", (*server)->port());
  std::fflush(stdout);
  server::WaitForTerminationSignal();
  (*server)->Shutdown(absl::Seconds(1));
  if (waiters) waiters->Stop();
  return 0;
}

}  // namespace
}  // namespace warden::bench

int main(int argc, char** argv) {
  std::string service;
  std::string dataset = "small";
  std::string probes = "probes.txt";
  int64_t grants = -1;
  bool coldstart = false;
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    if (std::strncmp(a, "--service=", 10) == 0) {
      service = a + 10;
    } else if (std::strncmp(a, "--dataset=", 10) == 0) {
      dataset = a + 10;
    } else if (std::strncmp(a, "--probes=", 9) == 0) {
      probes = a + 9;
    } else if (std::strncmp(a, "--grants=", 9) == 0) {
      if (!absl::SimpleAtoi(a + 9, &grants)) warden::bench::Die("bad --grants");
    } else if (std::strcmp(a, "--coldstart") == 0) {
      coldstart = true;
    } else {
      warden::bench::Die(absl::StrCat("unknown flag ", a));
    }
  }
  if (coldstart) return warden::bench::ColdStart(dataset, grants);
  return warden::bench::Serve(service, dataset, grants, probes);
}
