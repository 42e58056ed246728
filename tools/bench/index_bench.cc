// In-process microbenchmarks of AuthzService's replica index on one thread:
// Authenticate (resolve a presented token), Check along each decision path,
// ListAccessible's first page of 100 and applying one change.
//
//   index_bench --dataset=large [--grants=N] [google benchmark flags]
//
// The dataset (see dataset.h) is generated and loaded with LoadSnapshot
// before any benchmark runs. Every probe's answer is verified once first,
// so a benchmark never times a wrong answer.
//
// Check is measured two ways: with the subject already resolved (the
// decision alone), and with the subject resolved by id on every call, which
// is what one Check RPC does.

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/index/replica_index.h"
#include "tools/bench/dataset.h"

namespace warden::bench {
namespace {

struct State {
  Dataset data;
  index::ReplicaIndex index;
  std::shared_ptr<const index::ReplicaView> view;
  index::Principal probe_principal;
};
State* g = nullptr;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "index_bench: %s\n", what.c_str());
  std::exit(1);
}

void Verify(const Probe& p, absl::string_view path) {
  auto principal =
      g->view->ResolveSubjectId(p.subject_id, g->data.now, nullptr);
  if (!principal.ok()) Die(std::string(principal.status().message()));
  auto decision = g->view->Check(*principal, p.permission, p.item_id);
  if (!decision.ok()) Die(std::string(decision.status().message()));
  if (decision->allowed != p.allowed) {
    Die(absl::StrCat("probe ", path, " answered ", decision->allowed,
                     ", expected ", p.allowed, " (reason ",
                     model::v1::DecisionReason_Name(decision->reason), ")"));
  }
}

void BM_Authenticate(benchmark::State& state) {
  const auto& secrets = g->data.token_secrets;
  size_t i = 0;
  for (auto _ : state) {
    index::Principal p =
        g->view->ResolveToken(secrets[i], g->data.now, nullptr);
    if (!p.active) state.SkipWithError("a sample token did not authenticate");
    benchmark::DoNotOptimize(p);
    if (++i == secrets.size()) i = 0;
  }
}

// The decision alone, subject resolved once.
void BM_Check(benchmark::State& state, const Probe* probe) {
  for (auto _ : state) {
    auto decision =
        g->view->Check(g->probe_principal, probe->permission, probe->item_id);
    benchmark::DoNotOptimize(decision);
  }
}

// What one Check RPC computes: resolve the subject by id, then decide.
void BM_CheckBySubjectId(benchmark::State& state, const Probe* probe) {
  for (auto _ : state) {
    auto principal =
        g->view->ResolveSubjectId(probe->subject_id, g->data.now, nullptr);
    auto decision =
        g->view->Check(*principal, probe->permission, probe->item_id);
    benchmark::DoNotOptimize(decision);
  }
}

void BM_ListAccessible(benchmark::State& state, bool rule) {
  const auto& d = g->data;
  const std::string& type = rule ? d.list_rule_type : d.list_grant_type;
  const std::string& permission =
      rule ? d.list_rule_permission : d.list_grant_permission;
  size_t items = 0;
  for (auto _ : state) {
    auto page =
        g->view->ListAccessible(g->probe_principal, type, permission, 100, "");
    if (!page.ok()) state.SkipWithError("ListAccessible failed");
    items = page->item_ids.size();
    benchmark::DoNotOptimize(page);
  }
  state.counters["page_items"] = static_cast<double>(items);
}

// One change (a new grant) applied and published as a new view, as the
// follower does for each batch the stream delivers.
void BM_ApplyChange(benchmark::State& state) {
  const auto& d = g->data;
  int64_t revision = g->index.Current()->revision();
  int64_t serial = 0;
  const std::string& org = d.probe_organization_id;
  for (auto _ : state) {
    std::vector<model::v1::ChangeRecord> batch = {GrantChange(
        ++revision, ++serial, org, d.direct.item_id, d.direct.subject_id)};
    auto applied = g->index.Apply(batch);
    if (!applied.ok()) state.SkipWithError("Apply failed");
  }
}

}  // namespace
}  // namespace warden::bench

int main(int argc, char** argv) {
  using namespace warden::bench;
  std::string dataset = "small";
  int64_t grants = -1;
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    if (std::strncmp(argv[i], "--dataset=", 10) == 0) {
      dataset = argv[i] + 10;
    } else if (std::strncmp(argv[i], "--grants=", 9) == 0) {
      if (!absl::SimpleAtoi(argv[i] + 9, &grants)) Die("bad --grants");
    } else {
      rest.push_back(argv[i]);
    }
  }
  auto spec = SpecNamed(dataset);
  if (!spec.ok()) Die(std::string(spec.status().message()));
  if (grants >= 0) spec->grants = grants;

  g = new State();
  absl::Time start = absl::Now();
  auto data = Generate(*spec);
  if (!data.ok()) Die(std::string(data.status().message()));
  g->data = std::move(*data);
  absl::Time generated = absl::Now();
  auto loaded = g->index.LoadSnapshot(1, g->data.records);
  if (!loaded.ok()) Die(std::string(loaded.message()));
  std::fprintf(stderr,
               "dataset %s: %zu records (%lld users, %lld tokens, %lld items, "
               "%lld grants); generated in %s, loaded in %s\n",
               dataset.c_str(), g->data.records.size(),
               static_cast<long long>(g->data.user_count),
               static_cast<long long>(g->data.token_count),
               static_cast<long long>(g->data.item_count),
               static_cast<long long>(g->data.grant_count),
               absl::FormatDuration(generated - start).c_str(),
               absl::FormatDuration(absl::Now() - generated).c_str());
  // The records are not needed once loaded; free them.
  std::vector<warden::model::v1::Record>().swap(g->data.records);
  g->view = g->index.Current();

  const auto& d = g->data;
  Verify(d.direct, "direct");
  Verify(d.group, "group");
  Verify(d.nested_site, "nested_site");
  Verify(d.rule, "rule");
  Verify(d.cross_org, "cross_org");
  Verify(d.denied, "denied");
  auto principal =
      g->view->ResolveSubjectId(d.direct.subject_id, d.now, nullptr);
  if (!principal.ok()) Die("probe subject does not resolve");
  g->probe_principal = *principal;

  benchmark::RegisterBenchmark("Authenticate", BM_Authenticate);
  struct Path {
    const char* name;
    const Probe* probe;
  };
  const Path paths[] = {{"direct", &d.direct},           {"group", &d.group},
                        {"nested_site", &d.nested_site}, {"rule", &d.rule},
                        {"cross_org", &d.cross_org},     {"denied", &d.denied}};
  for (const auto& path : paths) {
    benchmark::RegisterBenchmark((std::string("Check/") + path.name).c_str(),
                                 BM_Check, path.probe);
  }
  for (const auto& path : paths) {
    benchmark::RegisterBenchmark(
        (std::string("CheckBySubjectId/") + path.name).c_str(),
        BM_CheckBySubjectId, path.probe);
  }
  benchmark::RegisterBenchmark("ListAccessible/first100/rule",
                               BM_ListAccessible, true);
  benchmark::RegisterBenchmark("ListAccessible/first100/grants",
                               BM_ListAccessible, false);
  benchmark::RegisterBenchmark("ApplyChange/one_grant", BM_ApplyChange);

  int bench_argc = static_cast<int>(rest.size());
  benchmark::Initialize(&bench_argc, rest.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
