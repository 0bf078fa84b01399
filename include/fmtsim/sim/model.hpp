// SPDX-License-Identifier: MIT
// Named architectures (resnet20/32/56, vgg_small, mlp) with PyTorch state_dict naming and I/O.
#pragma once

#include "fmtsim/io/safetensors.hpp"
#include "fmtsim/sim/layers.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace fmtsim::sim {

struct model_config {
  std::int64_t in_channels = 1, height = 28, width = 28;
  std::int32_t num_classes = 10;
};

class network {
 public:
  network(std::string arch, model_config config, std::unique_ptr<sequential> body);

  const std::string& arch() const noexcept { return arch_; }
  const model_config& config() const noexcept { return config_; }

  // images [N, C, H, W] -> logits [N, num_classes].
  tensor forward(tensor images, run_context& ctx);
  // dlogits = dLoss/dlogits of the last forward. Returns dLoss/dimages only if need_input_grad.
  tensor backward(const tensor& dlogits, run_context& ctx, bool need_input_grad = false);

  // In state_dict order (the order PyTorch's module registration gives).
  const std::vector<parameter*>& parameters() const noexcept { return params_; }
  const std::vector<buffer_ref>& buffers() const noexcept { return buffers_; }
  parameter* find_parameter(std::string_view name) const noexcept;
  // Names of the A/E quantization points in forward order.
  std::vector<std::string> quant_points() const;
  std::int64_t parameter_count() const noexcept;
  std::string describe() const { return body_->describe(); }

  // state_dict as safetensors tensors (F32 parameters and buffers, I64 num_batches_tracked).
  io::safetensors_file state_dict() const;
  // Strict load: every name must exist with the same shape, and every parameter/buffer must be
  // present; otherwise throws std::runtime_error naming the offending entries. Float tensors may be
  // F32, F64, F16 or BF16; num_batches_tracked I64 (any integer dtype).
  void load_state_dict(const io::safetensors_file& file);
  void load(const std::filesystem::path& path);
  // Atomic write; metadata goes to "__metadata__" (arch and config are always added).
  void save(const std::filesystem::path& path, std::map<std::string, std::string> metadata = {}) const;

  // Deterministic initialisation: Conv2d kaiming-normal (fan_out, ReLU gain), Linear and biases
  // PyTorch's default uniform(+-1/sqrt(fan_in)), BatchNorm weight 1, bias 0.
  void init_weights(std::uint64_t seed);

 private:
  std::string arch_;
  model_config config_;
  std::unique_ptr<sequential> body_;
  std::vector<parameter*> params_;
  std::vector<buffer_ref> buffers_;
};

// Architecture names accepted by make_model.
std::vector<std::string> model_names();

// Builds an architecture (weights initialised with init_weights(seed)):
//   resnet20 / resnet32 / resnet56: CIFAR ResNet (He et al. 2016), 3 stages of n = 3 / 5 / 9
//     BasicBlocks with 16/32/64 channels, option B shortcuts (1x1 conv stride 2 + BatchNorm) where
//     the shape changes, global average pooling, Linear. Names: conv1, bn1, layer{1,2,3}.{i}.conv1,
//     .bn1, .conv2, .bn2, .shortcut.0 (conv), .shortcut.1 (bn), fc.
//   vgg_small: features = [conv3x3 32, BN, ReLU] x2, MaxPool2, [64] x2, MaxPool2, [128] x2, MaxPool2
//     (indices features.0 ... features.20 as nn.Sequential), global average pooling, classifier =
//     Linear(128, 128), ReLU, Dropout(0.5), Linear(128, classes) (classifier.0, classifier.3).
//   mlp: flatten, fc1 Linear(C*H*W, 256), ReLU, fc2 Linear(256, 256), ReLU, fc3 Linear(256, classes).
// Throws std::invalid_argument for unknown names or impossible configs.
std::unique_ptr<network> make_model(std::string_view arch, const model_config& config, std::uint64_t seed = 0);

}  // namespace fmtsim::sim
