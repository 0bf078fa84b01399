// SPDX-License-Identifier: MIT
// The model options shared by `fmtsim search`, `fmtsim eval` (and `fmtsim train --arch`):
// --arch NAME --weights FILE.safetensors, or --onnx FILE.onnx, or nothing for the shipped
// reference checkpoint (resnet20 trained on Fashion-MNIST).
#pragma once

#include <fmtsim/sim/layers.hpp>

#include <filesystem>
#include <string>

namespace CLI {
class App;
}

namespace fmtsim::cli {

// --conv winograd4|winograd|im2col on train/eval/search: how Conv2d computes 3x3 stride-1 convolutions.
// parse_conv_option turns the text into the algorithm (failure "--conv: ..." otherwise);
// apply_conv_option sets it as the engine's process-wide default (sim::set_conv_algorithm).
void add_conv_option(CLI::App& cmd, std::string& conv);
sim::conv_algorithm parse_conv_option(const std::string& conv);
void apply_conv_option(const std::string& conv);

struct model_args {
  std::string arch, weights, onnx;
};

// The reference checkpoint: the installed copy (DATADIR/fmtsim/checkpoints) if present, otherwise
// the one in the source tree the binary was built from. Empty if neither exists.
std::filesystem::path reference_checkpoint();

// Throws failure for an unknown architecture, naming the known ones.
void check_arch(const std::string& arch);

// Validates the combination (one model; --weights with --arch only, and required there). With no
// model options at all, fills in resnet20 + the reference checkpoint and returns true (the caller
// says so on stderr); throws failure if the checkpoint cannot be found.
bool resolve_model(model_args& m);

}  // namespace fmtsim::cli
