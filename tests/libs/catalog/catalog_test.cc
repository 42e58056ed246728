#include "libs/catalog/catalog.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace warden::catalog {
namespace {

// The catalog built into the binary is valid and complete.
TEST(CatalogTest, DefaultCatalogIsValid) {
  const auto& catalog = DefaultCatalog();
  CatalogIndex index(catalog);
  ASSERT_NE(index.Find("platform.api_tokens"), nullptr);
  const auto* view = index.Find("templates.view");
  ASSERT_NE(view, nullptr);
  EXPECT_EQ(view->item_type(), "template");
  EXPECT_EQ(view->required_level(), model::v1::ACCESS_LEVEL_VIEW);
  EXPECT_TRUE(index.IsItemType("inspection"));
  EXPECT_FALSE(index.IsItemType("spaceship"));
  EXPECT_EQ(index.Find("no.such"), nullptr);
  EXPECT_TRUE(std::is_sorted(index.names().begin(), index.names().end()));
}

// Invalid catalogs are refused with a message naming the problem.
TEST(CatalogTest, InvalidCatalogsAreRefused) {
  struct Case {
    std::string json;
    std::string mentions;
  };
  const Case cases[] = {
      {"{", "not valid JSON"},
      {R"({"permissions":[{"name":"Bad Name"}]})", "Bad Name"},
      {R"({"itemTypes":["template"],"permissions":[{"name":"templates.view",
          "itemType":"template"}]})",
       "required_level"},
      {R"({"permissions":[{"name":"x.view","itemType":"ghost",
          "requiredLevel":"ACCESS_LEVEL_VIEW"}]})",
       "ghost"},
      {R"({"permissions":[{"name":"a.b"},{"name":"a.b"}]})", "twice"},
      {R"({"permissions":[{"name":"a.b"}]})", "platform.api_tokens"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.mentions);
    auto parsed = ParseCatalog(c.json);
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(parsed.status().message(), c.mentions))
        << parsed.status().message();
  }
  EXPECT_EQ(LoadCatalogFile("/nonexistent/catalog.json").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace warden::catalog
