// SPDX-License-Identifier: MIT
// fmtsim CLI entry point: builds the subcommands from the registry and reports errors in one line.
#include "common.hpp"
#include "registry.hpp"

#include <algorithm>
#include <exception>
#include <iostream>

int main(int argc, char** argv) {
  CLI::App app{"fmtsim: bit-accurate simulator of low-precision number formats"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "fmtsim 0.1.0");
  auto& commands = fmtsim::cli::command_list();
  // a stable order in --help: the order of this list
  static const char* order[] = {"quantize", "encode", "decode", "describe", "formats", "train", "search", "merge"};
  std::stable_sort(commands.begin(), commands.end(), [](const auto& a, const auto& b) {
    auto rank = [](const std::string& n) {
      for (std::size_t i = 0; i < std::size(order); ++i)
        if (n == order[i]) return i;
      return std::size(order);
    };
    return rank(a.name) < rank(b.name);
  });
  for (auto& c : commands) c.setup(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::cerr << "fmtsim: error: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
