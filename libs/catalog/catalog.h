#ifndef WARDEN_LIBS_CATALOG_CATALOG_H_
#define WARDEN_LIBS_CATALOG_CATALOG_H_

// The permission catalog: which permissions and item types exist. The
// default is deploy/config/permission_catalog.json, compiled in; operators may
// load their own file instead.

#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "warden/model/v1/model.pb.h"

namespace warden::catalog {

// Organization-level permissions the services themselves enforce. Every
// catalog must define them.
inline constexpr absl::string_view kApiTokens = "platform.api_tokens";
inline constexpr absl::string_view kUsers = "platform.users";
inline constexpr absl::string_view kGroups = "platform.groups";
inline constexpr absl::string_view kPermissionSets = "platform.permission_sets";
inline constexpr absl::string_view kContent = "platform.content";
inline constexpr absl::string_view kActivityLog = "platform.activity_log";
inline constexpr absl::string_view kAccessReview = "platform.access_review";
inline constexpr absl::string_view kReplication = "platform.replication";
inline constexpr absl::string_view kOrganizations = "platform.organizations";

// Parses and validates a catalog in protobuf JSON form: names are unique and
// look like "area.action" (lowercase letters, digits, '_' and one or more
// dots), item permissions name a declared item type and a level, the
// permissions above are present. INVALID_ARGUMENT says what is wrong.
absl::StatusOr<model::v1::PermissionCatalog> ParseCatalog(
    absl::string_view json);

// Reads and parses a catalog file. NOT_FOUND if it cannot be read.
absl::StatusOr<model::v1::PermissionCatalog> LoadCatalogFile(
    const std::string& path);

// The catalog built into the binary.
const model::v1::PermissionCatalog& DefaultCatalog();

// Fast lookups over one catalog. Immutable after construction, so safe to
// share between threads.
class CatalogIndex {
 public:
  explicit CatalogIndex(model::v1::PermissionCatalog catalog);

  // The permission with this name, or nullptr if the catalog has none.
  const model::v1::Permission* Find(absl::string_view name) const;
  bool IsItemType(absl::string_view type) const;
  // Every permission name, sorted.
  const std::vector<std::string>& names() const { return names_; }
  const model::v1::PermissionCatalog& catalog() const { return catalog_; }

 private:
  model::v1::PermissionCatalog catalog_;
  absl::flat_hash_map<std::string, int> by_name_;
  absl::flat_hash_set<std::string> item_types_;
  std::vector<std::string> names_;
};

}  // namespace warden::catalog

#endif  // WARDEN_LIBS_CATALOG_CATALOG_H_
