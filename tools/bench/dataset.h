#ifndef WARDEN_TOOLS_BENCH_DATASET_H_
#define WARDEN_TOOLS_BENCH_DATASET_H_

// Synthetic organizations for the AuthzService benchmarks, produced directly
// as model.v1 Records: the bulk path a sidecar takes on a cold start, where
// the records of a snapshot are handed to ReplicaIndex::LoadSnapshot in one
// go. Nothing here goes through TokenService or the store; the records are
// shaped as TokenService stores them (valid ids, digests, timestamps), so
// the index cannot tell them from a replicated snapshot.
//
// The shape follows the platform's tenants: organization sizes fall off
// like a power law (a few large tenants, many small ones); users hold one
// of four permission sets and a handful of tokens; groups and a site tree
// three to five levels deep (region > area > site > zone > room); items of
// the catalog's five types placed on sites; grants spread over users,
// groups, sites, the whole organization, service users and users of other
// organizations; type-wide rules per organization.
//
// Besides the random bulk, every dataset holds one planted "probe" per
// decision path, so benchmarks measure a named path rather than whatever a
// random draw hits. Probe items carry as many unrelated grants as the
// average item, with the reaching grant last (the worst position).
//
// Generation is deterministic for a given spec and seed. Not thread-safe;
// the result is a plain value.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "warden/model/v1/model.pb.h"

namespace warden::bench {

// How big a dataset is. Counts are totals over all organizations.
struct DatasetSpec {
  std::string name;
  int organizations = 0;
  int64_t users = 0;
  // Tokens of users and service users together.
  int64_t tokens = 0;
  int64_t items = 0;
  // Grants on single items; type-wide rules come on top (a few per
  // organization).
  int64_t grants = 0;
  // Roughly one group per this many users, one site per this many users.
  int users_per_group = 25;
  int users_per_site = 10;
  uint64_t seed = 1;

  // Knobs for growth measurements; the defaults keep the shape above.
  // Groups every user belongs to (the probe user too, its group probe
  // reaching it through the last of them); 0 for one to three at random
  // and exactly one for the probe user.
  int groups_per_user = 0;
  // Depth of every organization's site tree; 0 for 3, 4 or 5 by
  // organization.
  int site_depth = 0;
  // Grants on each probe item, the reaching one last; -1 for the average
  // grants per item.
  int64_t probe_item_grants = -1;
};

// "small" (1k users), "medium" (10k users) or "large" (100k users, 1M
// tokens, 1M items, 10M grants). INVALID_ARGUMENT for another name.
absl::StatusOr<DatasetSpec> SpecNamed(absl::string_view name);

// One planted question: may `subject_id` use `permission` on `item_id`.
struct Probe {
  std::string subject_id;
  std::string permission;
  std::string item_id;
  // What the index must answer; benchmarks verify it once before timing.
  bool allowed = false;
};

struct Dataset {
  DatasetSpec spec;
  // Every record of the snapshot, the permission catalog first.
  std::vector<model::v1::Record> records;
  // The time the tokens' last uses are relative to; decide at this time.
  absl::Time now;

  // Plaintext secrets of active tokens of active users (a sample, for
  // Authenticate); every other token has a digest without a known secret.
  std::vector<std::string> token_secrets;

  // The largest organization, which holds the probe user.
  std::string probe_organization_id;
  // Access for a user of the largest organization, one per path.
  Probe direct;       // a grant to the user
  Probe group;        // a grant to one of the user's groups
  Probe nested_site;  // a grant to a leaf site below the user's region
  Probe rule;         // a type-wide rule, no grant on the item
  Probe cross_org;    // an item of another organization shared with them
  Probe denied;       // an item none of the item's grants reach
  // ListAccessible: a type the user reaches through a rule (every item of
  // the type in the organization) and one reached only through grants.
  std::string list_subject_id;
  std::string list_rule_type;
  std::string list_rule_permission;
  std::string list_grant_type;
  std::string list_grant_permission;

  // Counts of what was generated, for per-record memory figures.
  int64_t user_count = 0;
  int64_t service_user_count = 0;
  int64_t token_count = 0;
  int64_t item_count = 0;
  int64_t grant_count = 0;  // rules included
  int64_t membership_count = 0;
  int64_t group_count = 0;
  int64_t site_count = 0;
};

// Generates the dataset for `spec`. INTERNAL if a token secret cannot be
// issued (the random source failed).
absl::StatusOr<Dataset> Generate(const DatasetSpec& spec);

// A change that re-shares `item_id` of `organization_id` with `user_id` at
// `revision`, as TokenService would emit for a new grant: for benchmarks of
// applying changes. The grant id is fresh for each `serial`.
model::v1::ChangeRecord GrantChange(int64_t revision, int64_t serial,
                                    absl::string_view organization_id,
                                    absl::string_view item_id,
                                    absl::string_view user_id);

}  // namespace warden::bench

#endif  // WARDEN_TOOLS_BENCH_DATASET_H_
