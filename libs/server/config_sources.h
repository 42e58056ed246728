#ifndef WARDEN_LIBS_SERVER_CONFIG_SOURCES_H_
#define WARDEN_LIBS_SERVER_CONFIG_SOURCES_H_

// One configuration scheme for every binary: each setting can come from a
// command-line flag (--log-level), an environment variable (WARDEN_LOG_LEVEL)
// or a config file (log-level = "debug", TOML/INI syntax, named by --config
// or WARDEN_CONFIG). When a setting comes from several sources, the flag
// wins over the file, which wins over the environment (the order CLI11
// applies): a config file is the deliberate choice for a deployment, and an
// environment variable the fallback.

#include <string>

#include "CLI/CLI.hpp"

namespace warden::server {

// The environment variable of a flag: "--log-level" -> "WARDEN_LOG_LEVEL".
inline std::string EnvironmentName(const std::string& flag_name) {
  std::string name = "WARDEN_";
  for (char c : flag_name) {
    if (c == '-') {
      name += '_';
    } else if (c >= 'a' && c <= 'z') {
      name += static_cast<char>(c - 'a' + 'A');
    } else {
      name += c;
    }
  }
  return name;
}

// Call after every option is added and before parsing: gives each long
// option its environment variable and adds --config. Settings' help texts
// then show both names.
inline void AddConfigSources(CLI::App& app) {
  for (CLI::Option* option : app.get_options()) {
    const std::string& name = option->get_single_name();
    if (name.empty() || name == "help" || option->get_lnames().empty()) {
      continue;
    }
    option->envname(EnvironmentName(name));
  }
  app.set_config("--config", "",
                 "Config file (TOML/INI: name = value per line, names as the "
                 "long flags without dashes). Precedence: flag, then "
                 "this file, then environment")
      ->envname("WARDEN_CONFIG");
}

}  // namespace warden::server

#endif  // WARDEN_LIBS_SERVER_CONFIG_SOURCES_H_
