// How in-process Check and ListAccessible grow with the shape of the data:
// one axis at a time, four points each, on the "small" dataset otherwise.
//
//   memberships   groups every user belongs to: 1, 4, 16, 64
//                 (Check along the group path: the reaching group is the
//                 probe user's last)
//   item_grants   grants on the probe item: 10, 100, 1000, 10000
//                 (Check along the direct path: the reaching grant is last)
//   site_depth    levels of every site tree: 3, 6, 12, 24
//                 (Check along the nested-site path: a grant to a leaf,
//                 the user a member of its region)
//   org_users     one organization of 500, 2000, 8000 or 32000 users with
//                 5 items per user and 5 grants per item
//                 (Check along the direct path)
//
// For each point: Check (subject resolved once), CheckBySubjectId (resolved
// on every call, as one Check RPC does) and ListAccessible's first page of
// 100 inspections the probe user reaches through grants. Datasets are
// generated and loaded outside the timed loops, one at a time, in the order
// the benchmarks run.
//
//   growth_bench [google benchmark flags]

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "libs/index/replica_index.h"
#include "tools/bench/dataset.h"

namespace warden::bench {
namespace {

struct Point {
  std::string axis;
  int64_t value = 0;
  DatasetSpec spec;
  // Which probe Check follows on this axis.
  Probe Dataset::*probe = &Dataset::direct;
};

struct Loaded {
  const Point* point = nullptr;
  Dataset data;
  index::ReplicaIndex index;
  std::shared_ptr<const index::ReplicaView> view;
  index::Principal principal;
};
std::unique_ptr<Loaded> g_loaded;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "growth_bench: %s\n", what.c_str());
  std::exit(1);
}

// The point's dataset, generated and loaded unless it already is; its
// probe answer verified once.
Loaded& Load(const Point& point) {
  if (g_loaded != nullptr && g_loaded->point == &point) return *g_loaded;
  g_loaded.reset();
  auto loaded = std::make_unique<Loaded>();
  loaded->point = &point;
  auto data = Generate(point.spec);
  if (!data.ok()) Die(std::string(data.status().message()));
  loaded->data = std::move(*data);
  auto status = loaded->index.LoadSnapshot(1, loaded->data.records);
  if (!status.ok()) Die(std::string(status.message()));
  std::vector<model::v1::Record>().swap(loaded->data.records);
  loaded->view = loaded->index.Current();
  const Probe& probe = loaded->data.*point.probe;
  auto principal = loaded->view->ResolveSubjectId(probe.subject_id,
                                                  loaded->data.now, nullptr);
  if (!principal.ok()) Die(std::string(principal.status().message()));
  auto decision =
      loaded->view->Check(*principal, probe.permission, probe.item_id);
  if (!decision.ok() || decision->allowed != probe.allowed) {
    Die(absl::StrCat(point.axis, "=", point.value, ": probe answered wrong"));
  }
  loaded->principal = *principal;
  g_loaded = std::move(loaded);
  return *g_loaded;
}

void BM_Check(benchmark::State& state, const Point* point) {
  Loaded& l = Load(*point);
  const Probe& probe = l.data.*point->probe;
  for (auto _ : state) {
    auto decision = l.view->Check(l.principal, probe.permission, probe.item_id);
    benchmark::DoNotOptimize(decision);
  }
}

void BM_CheckBySubjectId(benchmark::State& state, const Point* point) {
  Loaded& l = Load(*point);
  const Probe& probe = l.data.*point->probe;
  for (auto _ : state) {
    auto principal =
        l.view->ResolveSubjectId(probe.subject_id, l.data.now, nullptr);
    auto decision = l.view->Check(*principal, probe.permission, probe.item_id);
    benchmark::DoNotOptimize(decision);
  }
}

void BM_ListAccessible(benchmark::State& state, const Point* point) {
  Loaded& l = Load(*point);
  size_t items = 0;
  for (auto _ : state) {
    auto page = l.view->ListAccessible(l.principal, l.data.list_grant_type,
                                       l.data.list_grant_permission, 100, "");
    if (!page.ok()) state.SkipWithError("ListAccessible failed");
    items = page->item_ids.size();
    benchmark::DoNotOptimize(page);
  }
  state.counters["page_items"] = static_cast<double>(items);
}

std::vector<Point> Points() {
  DatasetSpec base = *SpecNamed("small");
  std::vector<Point> points;
  for (int groups : {1, 4, 16, 64}) {
    Point p{"memberships", groups, base, &Dataset::group};
    p.spec.groups_per_user = groups;
    points.push_back(p);
  }
  for (int grants : {10, 100, 1000, 10000}) {
    Point p{"item_grants", grants, base, &Dataset::direct};
    p.spec.probe_item_grants = grants;
    points.push_back(p);
  }
  for (int depth : {3, 6, 12, 24}) {
    Point p{"site_depth", depth, base, &Dataset::nested_site};
    p.spec.site_depth = depth;
    points.push_back(p);
  }
  for (int users : {500, 2000, 8000, 32000}) {
    Point p{"org_users", users, base, &Dataset::direct};
    p.spec.organizations = 1;
    p.spec.users = users;
    p.spec.tokens = 2 * int64_t{users};
    p.spec.items = 5 * int64_t{users};
    p.spec.grants = 25 * int64_t{users};
    points.push_back(p);
  }
  return points;
}

}  // namespace
}  // namespace warden::bench

int main(int argc, char** argv) {
  using namespace warden::bench;
  static const std::vector<Point> points = Points();
  for (const Point& p : points) {
    const std::string suffix = absl::StrCat("/", p.axis, ":", p.value);
    benchmark::RegisterBenchmark(("Check" + suffix).c_str(), BM_Check, &p);
    benchmark::RegisterBenchmark(("CheckBySubjectId" + suffix).c_str(),
                                 BM_CheckBySubjectId, &p);
    benchmark::RegisterBenchmark(("ListAccessible" + suffix).c_str(),
                                 BM_ListAccessible, &p);
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  g_loaded.reset();
  return 0;
}
