// SPDX-License-Identifier: MIT
#include "model_args.hpp"

#include "common.hpp"

#include <fmtsim/sim/layers.hpp>
#include <fmtsim/sim/model.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <system_error>

namespace fmtsim::cli {

std::filesystem::path reference_checkpoint() {
  for (const char* dir : {FMTSIM_INSTALLED_CHECKPOINTS, FMTSIM_SOURCE_CHECKPOINTS}) {
    const std::filesystem::path p = std::filesystem::path(dir) / "resnet20-fashion-mnist.safetensors";
    std::error_code ec;
    if (std::filesystem::is_regular_file(p, ec)) return p;
  }
  return {};
}

void add_conv_option(CLI::App& cmd, std::string& conv) {
  cmd.add_option("--conv", conv,
                 "3x3 stride-1 convolutions (forward and input gradient): winograd4 (F(4x4,3x3), 4x fewer "
                 "multiplications), winograd (F(2x2,3x3), 2.25x fewer) or im2col (SGEMM on the unfolded input, as "
                 "every other convolution); they differ in float rounding only")
      ->capture_default_str();
}

sim::conv_algorithm parse_conv_option(const std::string& conv) {
  try {
    return sim::parse_conv_algorithm(conv);
  } catch (const std::invalid_argument& e) {
    throw failure(std::string("--conv: ") + e.what());
  }
}

void apply_conv_option(const std::string& conv) { sim::set_conv_algorithm(parse_conv_option(conv)); }

void check_arch(const std::string& arch) {
  const auto names = sim::model_names();
  if (std::find(names.begin(), names.end(), arch) == names.end()) {
    std::string known;
    for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
    throw failure("unknown architecture '" + arch + "' (known: " + known + ")");
  }
}

bool resolve_model(model_args& m) {
  if (m.arch.empty() && m.weights.empty() && m.onnx.empty()) {
    const auto ref = reference_checkpoint();
    if (ref.empty()) {
      throw failure(std::string("no model given and the reference checkpoint is not found (looked in ") +
                    FMTSIM_INSTALLED_CHECKPOINTS + " and " + FMTSIM_SOURCE_CHECKPOINTS +
                    "): give --arch NAME --weights FILE.safetensors or --onnx FILE.onnx");
    }
    m.arch = "resnet20";
    m.weights = ref.string();
    return true;
  }
  if (!m.onnx.empty() && !m.arch.empty()) throw failure("give either --arch with --weights or --onnx, not both");
  if (!m.onnx.empty() && !m.weights.empty())
    throw failure("--weights is not used with --onnx (the weights are in the ONNX file)");
  if (!m.onnx.empty()) return false;
  if (m.arch.empty()) throw failure("--weights needs --arch NAME (the architecture of the file)");
  if (m.weights.empty())
    throw failure(
        "--weights FILE.safetensors is required with --arch (a pretrained model; omit every model option "
        "for the shipped reference checkpoint)");
  check_arch(m.arch);
  return false;
}

}  // namespace fmtsim::cli
