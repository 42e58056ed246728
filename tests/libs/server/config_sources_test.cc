#include "libs/server/config_sources.h"

#include <stdlib.h>

#include <fstream>

#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace warden::server {
namespace {

struct Parsed {
  std::string level = "info";
  std::string format = "text";
  int port = 1;
};

// Parses `args` with the same options a service declares.
int Parse(std::vector<std::string> args, Parsed* out) {
  CLI::App app;
  app.add_option("--log-level", out->level);
  app.add_option("--log-format", out->format)
      ->check(CLI::IsMember({"text", "json"}));
  app.add_option("--port", out->port);
  AddConfigSources(app);
  args.insert(args.begin(), "service");
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return 0;
}

TEST(ConfigSourcesTest, EnvironmentNames) {
  EXPECT_EQ(EnvironmentName("log-level"), "WARDEN_LOG_LEVEL");
  EXPECT_EQ(EnvironmentName("data-dir"), "WARDEN_DATA_DIR");
}

// A flag beats the config file, which beats the environment.
TEST(ConfigSourcesTest, FlagThenFileThenEnvironment) {
  testing::TempDir dir;
  std::string file = dir.Sub("service.toml");
  std::ofstream(file) << "log-level = \"warn\"\nlog-format = \"json\"\n"
                         "port = 7\n";

  Parsed from_file;
  ASSERT_EQ(Parse({"--config", file}, &from_file), 0);
  EXPECT_EQ(from_file.level, "warn");
  EXPECT_EQ(from_file.format, "json");
  EXPECT_EQ(from_file.port, 7);

  setenv("WARDEN_LOG_LEVEL", "debug", 1);
  setenv("WARDEN_PORT", "9", 1);
  Parsed file_over_env;
  ASSERT_EQ(Parse({"--config", file}, &file_over_env), 0);
  EXPECT_EQ(file_over_env.level, "warn");
  Parsed env_alone;
  ASSERT_EQ(Parse({}, &env_alone), 0);
  EXPECT_EQ(env_alone.level, "debug");
  EXPECT_EQ(env_alone.port, 9);
  unsetenv("WARDEN_PORT");

  Parsed flag_over_env;
  ASSERT_EQ(Parse({"--config", file, "--log-level", "error"}, &flag_over_env),
            0);
  EXPECT_EQ(flag_over_env.level, "error");
  unsetenv("WARDEN_LOG_LEVEL");
}

// Invalid settings fail at start, from any source.
TEST(ConfigSourcesTest, InvalidSettingsFailFast) {
  Parsed parsed;
  EXPECT_NE(Parse({"--log-format", "xml"}, &parsed), 0);
  setenv("WARDEN_LOG_FORMAT", "yaml", 1);
  EXPECT_NE(Parse({}, &parsed), 0);
  unsetenv("WARDEN_LOG_FORMAT");
  EXPECT_NE(Parse({"--config", "/nonexistent/service.toml"}, &parsed), 0);
}

}  // namespace
}  // namespace warden::server
