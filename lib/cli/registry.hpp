// SPDX-License-Identifier: MIT
// Subcommand registry of the fmtsim CLI: each command file registers itself at static-init time.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace fmtsim::cli {

// A command adds its subcommand (options + callback) to the app. The callback runs the command
// and throws fmtsim::cli::failure (or any std::exception) on error; main prints one line and exits 1.
using command_setup = std::function<void(CLI::App& app)>;

struct command_entry {
  std::string name;
  command_setup setup;
};

inline std::vector<command_entry>& command_list() {
  static std::vector<command_entry> list;
  return list;
}

// Usage in a command's .cpp file (compiled into the fmtsim executable, not a library):
//   static const fmtsim::cli::registrar reg{"train", [](CLI::App& app) { ... }};
struct registrar {
  registrar(std::string name, command_setup setup) { command_list().push_back({std::move(name), std::move(setup)}); }
};

}  // namespace fmtsim::cli
