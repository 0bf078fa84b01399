// SPDX-License-Identifier: MIT
// Runs the fmtsim CLI under test ($FMTSIM_EXE, set by meson) and captures its exit status and
// combined stdout + stderr.
#pragma once

#include <doctest/doctest.h>

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace fmtsim_test {

struct run_result {
  int status;
  std::string output;
};

inline run_result run_fmtsim(const std::string& args) {
  const char* exe = std::getenv("FMTSIM_EXE");
  REQUIRE_MESSAGE(exe != nullptr, "FMTSIM_EXE is not set (meson sets it)");
  const std::string cmd = std::string(exe) + " " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[4096];
  while (const std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int st = ::pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

}  // namespace fmtsim_test
