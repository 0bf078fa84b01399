// SPDX-License-Identifier: MIT
// Scale options of the CLI (groups, rule, room, state, stats) shared by quantize-scaled and pack.
#pragma once

#include "common.hpp"

#include <fmtsim/formats/family_spec.hpp>
#include <fmtsim/formats/tensor.hpp>

#include <CLI/CLI.hpp>

#include <string>

namespace fmtsim::cli {

struct scaled_options {
  std::string scale;  // tensor|channel|block|tile (empty: the format's default)
  int axis = 0;
  bool axis_set = false;
  std::int64_t block = 0;  // 0: default
  std::string tile;        // AxB
  std::string rule;        // floor|ceil|room|fp32|none
  int room = 0;
  bool room_set = false;
  bool tracking = false;
  std::string nonfinite;  // nan|error|pass
  std::string state;      // state file (load if it exists, save after the call)
  std::string stats;      // '-' = stderr, else a file

  void add_to(CLI::App& cmd);
  bool any_set() const;  // any scale option given on the command line
  // The tensor format of -f SPEC (presets set their own defaults) with --sat/--ftz and these options.
  tensor_format build(const format_options& fo) const;
};

// Quantize a tensor file with a tensor quantizer (`fmtsim quantize` with a scaled format or scale options).
void run_scaled_quantize(const format_options& fo, const scaled_options& so, const std::string& in,
                         const std::string& out);

// `fmtsim quantize` with a family spec (asym<B>, scq<B>:dx|dw, sign, sbin, agp<B>[:det], smaq[:M,O], s2fp8):
// the family's own scaling; --scale/--axis/--block/--tile set the groups of asym, sign and sbin, --stats
// writes the statistics (and s2fp8's alpha/beta, agp's kept samples). Options that do not apply are errors.
void run_family_quantize(const format_options& fo, const scaled_options& so, real_family_spec fam,
                         const std::string& in, const std::string& out);

// The tensor format of SPEC (MX, bm, bp/log presets ...) and its element relative to a scale of 1, as JSON.
std::string describe_scaled_json(const std::string& spec);

}  // namespace fmtsim::cli
