// SPDX-License-Identifier: MIT
// ONNX import: a graph of supported operators becomes an engine network with the same quantization points.
#pragma once

#include "fmtsim/sim/model.hpp"

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace fmtsim::sim {

// Operators the importer understands: Conv, Gemm, MatMul (with a constant weight), BatchNormalization,
// Relu, Clip (0..6 = ReLU6), MaxPool, AveragePool, GlobalAveragePool, Flatten (axis 1), Reshape to
// [N, -1], Add (of two computed tensors: a residual sum), Dropout and Identity (identity in eval mode),
// Pad with all pads 0 (PyTorch writes one before AveragePool), Constant.
std::vector<std::string_view> onnx_supported_ops();

// Whether this build can read ONNX files (libonnx / protobuf were found at configure time).
bool onnx_available() noexcept;

// Reads an ONNX model with one image input [N, C, H, W] (N may be symbolic) and one logits output
// [N, classes]. Weights come from the graph initializers (float32 or float64, inline data). Module paths
// come from the weight names ("conv1.weight" -> "conv1"), else from the node names; residual sums are
// quantization points named after their Add node. Throws std::runtime_error naming the file and, for
// unsupported graphs, every unsupported operator with its node name.
std::unique_ptr<network> load_onnx(const std::filesystem::path& path);

}  // namespace fmtsim::sim
