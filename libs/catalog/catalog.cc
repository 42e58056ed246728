#include "libs/catalog/catalog.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"

namespace warden::catalog {

extern const char kDefaultCatalogJson[];  // generated from the JSON file

namespace {

bool IsPermissionName(absl::string_view name) {
  if (name.empty() || name.size() > 100) return false;
  if (name.front() == '.' || name.back() == '.') return false;
  bool has_dot = false;
  char previous = 0;
  for (char c : name) {
    if (c == '.') {
      if (previous == '.') return false;
      has_dot = true;
    } else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '_')) {
      return false;
    }
    previous = c;
  }
  return has_dot;
}

}  // namespace

absl::StatusOr<model::v1::PermissionCatalog> ParseCatalog(
    absl::string_view json) {
  model::v1::PermissionCatalog catalog;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto parsed = google::protobuf::util::JsonStringToMessage(
      std::string(json), &catalog, options);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("permission catalog is not valid JSON for ",
                     "PermissionCatalog: ", parsed.message().as_string()));
  }

  absl::flat_hash_set<std::string> types;
  for (const auto& type : catalog.item_types()) {
    if (type.empty() || !IsPermissionName(absl::StrCat("x.", type))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "item type '", type, "' must be lowercase letters, digits or _"));
    }
    if (!types.insert(type).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("item type '", type, "' is listed twice"));
    }
  }

  absl::flat_hash_set<std::string> names;
  for (const auto& permission : catalog.permissions()) {
    const std::string& name = permission.name();
    if (!IsPermissionName(name)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "permission name '", name,
          "' must be dotted lowercase words, like templates.view"));
    }
    if (!names.insert(name).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("permission '", name, "' is listed twice"));
    }
    if (permission.item_type().empty()) {
      if (permission.required_level() !=
          model::v1::ACCESS_LEVEL_UNSPECIFIED) {
        return absl::InvalidArgumentError(absl::StrCat(
            "permission '", name,
            "' has a required_level but no item_type; organization-level "
            "permissions take neither"));
      }
      continue;
    }
    if (!types.contains(permission.item_type())) {
      return absl::InvalidArgumentError(
          absl::StrCat("permission '", name, "' names item type '",
                       permission.item_type(),
                       "', which is not in item_types"));
    }
    if (permission.required_level() == model::v1::ACCESS_LEVEL_UNSPECIFIED) {
      return absl::InvalidArgumentError(absl::StrCat(
          "item permission '", name,
          "' needs a required_level: ACCESS_LEVEL_VIEW, _EDIT or _MANAGE"));
    }
  }

  for (absl::string_view required :
       {kApiTokens, kUsers, kGroups, kPermissionSets, kContent, kActivityLog,
        kAccessReview, kReplication, kOrganizations}) {
    if (!names.contains(required)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "permission catalog must define '", required,
          "', which the services enforce"));
    }
  }
  return catalog;
}

absl::StatusOr<model::v1::PermissionCatalog> LoadCatalogFile(
    const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot read permission catalog file ", path));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  auto catalog = ParseCatalog(buffer.str());
  if (!catalog.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", catalog.status().message()));
  }
  return catalog;
}

const model::v1::PermissionCatalog& DefaultCatalog() {
  static const model::v1::PermissionCatalog* catalog = [] {
    auto parsed = ParseCatalog(kDefaultCatalogJson);
    // The default is checked by a unit test; a broken one is a build bug.
    if (!parsed.ok()) std::abort();
    return new model::v1::PermissionCatalog(*std::move(parsed));
  }();
  return *catalog;
}

CatalogIndex::CatalogIndex(model::v1::PermissionCatalog catalog)
    : catalog_(std::move(catalog)) {
  for (int i = 0; i < catalog_.permissions_size(); ++i) {
    by_name_[catalog_.permissions(i).name()] = i;
    names_.push_back(catalog_.permissions(i).name());
  }
  std::sort(names_.begin(), names_.end());
  for (const auto& type : catalog_.item_types()) item_types_.insert(type);
}

const model::v1::Permission* CatalogIndex::Find(absl::string_view name) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return nullptr;
  return &catalog_.permissions(it->second);
}

bool CatalogIndex::IsItemType(absl::string_view type) const {
  return item_types_.contains(type);
}

}  // namespace warden::catalog
