// SPDX-License-Identifier: MIT
// CLI: the tensor-quantizer path of `fmtsim quantize` (groups, scale rules, state, stats) and scaled `describe`.
#include "cmd_scaled.hpp"

#include "registry.hpp"

#include <fmtsim/core/quantize.hpp>
#include <fmtsim/core/spec.hpp>
#include <fmtsim/formats/catalog.hpp>
#include <fmtsim/io/file.hpp>
#include <fmtsim/io/npy.hpp>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>

namespace fmtsim::cli {

void scaled_options::add_to(CLI::App& cmd) {
  cmd.add_option("--scale", scale, "scale groups: tensor, channel, block or tile (default: the format's own)")
      ->check(CLI::IsMember({"tensor", "channel", "block", "tile"}));
  cmd.add_option_function<int>(
      "--axis",
      [this](int a) {
        axis = a;
        axis_set = true;
      },
      "channel axis, or the blocked axis (negative counts from the end)");
  cmd.add_option("--block", block, "block size for --scale block (MX default 32)");
  cmd.add_option("--tile", tile, "tile size AxB over the last two axes (block minifloat default 48x48)");
  cmd.add_option("--scale-rule", rule, "floor (OCP MX), ceil, room, fp32 (real scale) or none")
      ->check(CLI::IsMember({"floor", "ceil", "room", "fp32", "none"}));
  cmd.add_option_function<int>(
      "--room",
      [this](int r) {
        room = r;
        room_set = true;
      },
      "room r: s = floor(log2 amax) + r (implies --scale-rule room)");
  cmd.add_flag("--tracking", tracking, "keep the scale between calls (with --state), moving one binade per call");
  cmd.add_option("--nonfinite", nonfinite, "NaN/inf in a group: nan (the group becomes NaN), error, pass")
      ->check(CLI::IsMember({"nan", "error", "pass"}));
  cmd.add_option("--state", state, "quantizer state file (tracking / hysteresis): loaded if it exists, saved after");
  cmd.add_option("--stats", stats, "write per-call statistics as JSON ('-' = stderr)");
}

bool scaled_options::any_set() const {
  return !scale.empty() || axis_set || block > 0 || !tile.empty() || !rule.empty() || room_set || tracking ||
         !nonfinite.empty() || !state.empty() || !stats.empty();
}

namespace {

// --scale/--axis/--block/--tile as a groups spec ("" when --scale is not given).
std::string groups_text(const scaled_options& so) {
  if (so.scale.empty()) return {};
  std::string g = so.scale;
  if (so.scale == "channel") g += ":" + std::to_string(so.axis_set ? so.axis : 0);
  if (so.scale == "block")
    g += ":" + std::to_string(so.block > 0 ? so.block : 32) + ":" + std::to_string(so.axis_set ? so.axis : -1);
  if (so.scale == "tile") g += ":" + (so.tile.empty() ? std::string("48x48") : so.tile);
  return g;
}

}  // namespace

tensor_format scaled_options::build(const format_options& fo) const {
  tensor_format f;
  try {
    f = parse_tensor_format(fo.spec);
  } catch (const std::invalid_argument& e) {
    throw failure(e.what());
  }
  if (fo.saturate) f.element.saturate = true;
  if (fo.ftz) {
    if (f.element.kind != family::minifloat) throw failure("--ftz applies to minifloat formats only");
    f.element.ftz = true;
  }
  try {
    if (!scale.empty()) {
      f.groups = parse_groups(groups_text(*this));
      if (f.rule == scale_rule::none && rule.empty()) f.rule = scale_rule::floor;
    } else {
      if (block > 0) {
        if (f.groups.kind != group_kind::block) throw failure("--block needs --scale block (or an MX format)");
        f.groups.block = block;
      }
      if (!tile.empty()) {
        if (f.groups.kind != group_kind::tile) throw failure("--tile needs --scale tile (or a bm format)");
        f.groups = parse_groups("tile:" + tile);
      }
      if (axis_set) {
        if (f.groups.kind != group_kind::block && f.groups.kind != group_kind::channel)
          throw failure("--axis needs --scale channel or --scale block");
        f.groups.axis = axis;
      }
    }
  } catch (const std::invalid_argument& e) {
    throw failure(e.what());
  }
  if (!rule.empty()) {
    f.rule = *parse_scale_rule(rule);
    if (f.rule == scale_rule::fp32) f.scale_bits = 32;
  }
  if (room_set) {
    if (!rule.empty() && f.rule != scale_rule::room) throw failure("--room needs --scale-rule room");
    f.rule = scale_rule::room;
    f.room = room;
  }
  f.tracking = tracking;
  if (!nonfinite.empty()) f.nonfinite = *parse_nonfinite(nonfinite);
  if (tracking && state.empty()) throw failure("--tracking keeps the scale between calls: give --state FILE");
  return f;
}

namespace {

template <class T>
quantize_stats run_typed(tensor_quantizer& q, const io::npy_array& in, io::npy_array& out) {
  return q.quantize<T>(in.as<T>(), out.as<T>(), in.shape);
}

std::string read_text(const std::string& path) {
  const auto b = io::read_file(path);
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

void write_text(const std::string& path, const std::string& text) {
  io::write_file_atomic(path, std::span<const std::byte>(reinterpret_cast<const std::byte*>(text.data()), text.size()));
}

// --stats: one line of JSON to stderr ('-') or to a file (atomically).
void write_stats(const std::string& where, const std::string& json) {
  if (where == "-")
    std::cerr << json << "\n";
  else
    write_text(where, json + "\n");
}

}  // namespace

void run_scaled_quantize(const format_options& fo, const scaled_options& so, const std::string& in_path,
                         const std::string& out_path) {
  const tensor_format f = so.build(fo);
  if (!fo.previous.empty())
    throw failure("--previous is for the elementwise quantize; the tensor quantizer keeps it in --state");
  quantize_options opt{fo.mode(), fo.seed, 0};
  if (opt.mode.kind == rounding::hys && so.state.empty())
    throw failure("-r hys needs --state FILE (the previous tensor)");
  const io::npy_array a = read_float_input(in_path);
  io::npy_array r = a;
  quantize_stats st;
  try {
    tensor_quantizer q(f, opt);
    if (!so.state.empty() && std::filesystem::exists(so.state)) q.set_state(load_state(read_text(so.state), so.state));
    st = a.type == io::dtype::f32 ? run_typed<float>(q, a, r) : run_typed<double>(q, a, r);
    write_output(out_path, r);
    if (!so.state.empty()) write_text(so.state, save_state(q.state()));
  } catch (const std::invalid_argument& e) {
    throw failure(e.what());
  } catch (const io::npy_error& e) {
    throw failure(e.what());
  }
  if (!so.stats.empty()) write_stats(so.stats, stats_json(st));
}

void run_family_quantize(const format_options& fo, const scaled_options& so, real_family_spec fam,
                         const std::string& in_path, const std::string& out_path) {
  const std::string name = fam.spelling;
  if (fo.saturate || fo.ftz) throw failure("--sat and --ftz apply to element formats, not to the family " + name);
  if (!fo.previous.empty() || fo.mode().kind == rounding::hys)
    throw failure("hysteresis rounding (-r hys, --previous) applies to element and scaled formats, not to " + name);
  if (fo.backend_name != "auto" && fo.backend_name != "scalar")
    throw failure("the family " + name + " runs on the scalar reference only (--backend auto or scalar)");
  if (!so.rule.empty() || so.room_set || so.tracking || !so.nonfinite.empty() || !so.state.empty())
    throw failure("the family " + name +
                  " has its own scaling: --scale-rule, --room, --tracking, --nonfinite and --state apply to element "
                  "and scaled formats");
  const bool groups_given = !so.scale.empty() || so.axis_set || so.block > 0 || !so.tile.empty();
  if (groups_given) {
    if (!real_family_takes_groups(fam)) throw failure("the family " + name + " takes no scale groups");
    if (so.scale.empty()) throw failure("--axis, --block and --tile need --scale for the family " + name);
    try {
      fam.groups = parse_groups(groups_text(so));
    } catch (const std::invalid_argument& e) {
      throw failure(e.what());
    }
  }
  quantize_options opt{fo.mode(), fo.seed, 0};
  const io::npy_array a = read_float_input(in_path);
  io::npy_array r = a;
  real_family_result res;
  try {
    res = a.type == io::dtype::f32 ? real_family_quantize<float>(fam, a.as<float>(), r.as<float>(), a.shape, opt)
                                   : real_family_quantize<double>(fam, a.as<double>(), r.as<double>(), a.shape, opt);
  } catch (const std::invalid_argument& e) {
    throw failure(e.what());
  }
  write_output(out_path, r);
  if (!so.stats.empty()) {
    nlohmann::ordered_json j = nlohmann::ordered_json::parse(stats_json(res.stats));
    j["family"] = real_family_name(fam);
    if (fam.kind == real_family::s2fp8) {
      j["alpha"] = res.alpha;
      j["beta"] = res.beta;
    }
    if (!res.kept.empty()) {
      j["keep_probability"] = res.keep_probability;
      j["kept"] = res.kept;
    }
    write_stats(so.stats, j.dump());
  }
}

std::string describe_scaled_json(const std::string& spec) {
  tensor_format f;
  try {
    f = parse_tensor_format(spec);
  } catch (const std::invalid_argument& e) {
    throw failure(e.what());
  }
  element_format e = f.element;
  e.scale_exp = 0;
  nlohmann::ordered_json j;
  j["spec"] = spec;
  j["tensor_format"] = tensor_format_name(f);
  j["element"] = format_name(e);
  j["element_bits"] = code_bits(e);
  j["element_emax"] = element_emax(e);
  j["element_max"] = compose<double>(false, max_finite(e).significand, max_finite(e).exponent);
  j["groups"] = groups_name(f.groups);
  j["rule"] = std::string(scale_rule_name(f.rule));
  j["scale_bits"] = f.rule == scale_rule::none ? 0 : f.scale_bits;
  j["stored_exponent_range"] = {f.stored_min, f.stored_max};
  return j.dump(2);
}

}  // namespace fmtsim::cli
