// SPDX-License-Identifier: MIT
// Network engine layers with forward and backward passes and quantization points.
#pragma once

#include "fmtsim/sim/quant_hook.hpp"
#include "fmtsim/sim/tensor.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace fmtsim::sim {

// How Conv2d computes 3x3 convolutions with stride 1, padding 1, dilation 1 and one group (the
// forward pass and the input gradient): Winograd F(2x2, 3x3) (2.25x fewer multiplications),
// Winograd F(4x4, 3x3) (4x fewer; its transforms round a little worse) or im2col + SGEMM like every
// other convolution. All are float32; they differ in rounding only.
enum class conv_algorithm { winograd, im2col, winograd4 };

// The default of the process-wide setting, of search_options and of the CLI's --conv: F(4x4, 3x3).
inline constexpr conv_algorithm standard_conv_algorithm = conv_algorithm::winograd4;

// Process-wide default of run_context::conv (the CLI's --conv): standard_conv_algorithm unless set. Unlike the
// thread count this changes results (in the last bits), so the search records it.
void set_conv_algorithm(conv_algorithm algorithm) noexcept;
conv_algorithm default_conv_algorithm() noexcept;
std::string_view to_string(conv_algorithm algorithm) noexcept;
// "winograd", "winograd4" or "im2col"; anything else throws std::invalid_argument naming the accepted values.
conv_algorithm parse_conv_algorithm(std::string_view text);

// State shared by one forward/backward pass.
struct run_context {
  bool training = false;           // BatchNorm batch statistics, Dropout active
  quant_hook* hook = nullptr;      // null: FP32 everywhere
  bool weight_grads = true;        // false: backward skips the weight-gradient computations
  std::uint64_t dropout_seed = 0;  // Dropout masks derive from (seed, step, layer path)
  std::uint64_t step = 0;
  conv_algorithm conv = default_conv_algorithm();
};

// A learnable tensor with its gradient (set by the last backward pass).
struct parameter {
  std::string name;  // state_dict name, e.g. "layer1.0.conv1.weight"
  tensor value;
  tensor grad;
  bool quantizable = false;  // Conv2d/Linear weights: the W and G quantization points
};

// A non-learnable state_dict entry (BatchNorm running statistics and its batch counter).
struct buffer_ref {
  std::string name;
  tensor* values = nullptr;         // float32 buffer, or
  std::int64_t* counter = nullptr;  // int64 scalar (num_batches_tracked)
};

class module {
 public:
  explicit module(std::string path) : path_(std::move(path)) {}
  virtual ~module() = default;
  module(const module&) = delete;
  module& operator=(const module&) = delete;

  // state_dict prefix of this module ("layer1.0.conv1"); empty for containers at the root.
  const std::string& path() const noexcept { return path_; }

  // Forward pass. Caches what backward needs; backward does not modify the cache, so one forward
  // can serve several backward passes (e.g. with different error quantizers).
  virtual tensor forward(tensor x, run_context& ctx) = 0;
  // dy = dLoss/dOutput of the last forward; returns dLoss/dInput (an empty tensor when
  // need_input_grad is false). Sets parameter gradients when ctx.weight_grads. dy is consumed: a
  // layer quantizes it in place at its E point and may return its storage as dLoss/dInput, so a
  // caller that still needs the values passes a copy.
  virtual tensor backward(tensor dy, run_context& ctx, bool need_input_grad) = 0;
  virtual void collect(std::vector<parameter*>& params, std::vector<buffer_ref>& buffers) {
    (void)params;
    (void)buffers;
  }
  // One-line description, e.g. "Conv2d(16, 32, k=3, s=2, p=1)".
  virtual std::string describe() const = 0;
  // Names of A/E quantization points in forward order.
  virtual void quant_points(std::vector<std::string>& out) const { (void)out; }

 protected:
  std::string path_;
};

struct conv2d_options {
  std::int64_t in_channels = 1, out_channels = 1;
  std::int64_t kernel_h = 3, kernel_w = 3;
  std::int64_t stride = 1, padding = 0, dilation = 1, groups = 1;
  bool bias = false;
};

class conv2d final : public module {
 public:
  conv2d(std::string path, const conv2d_options& opt);
  tensor forward(tensor x, run_context& ctx) override;
  tensor backward(tensor dy, run_context& ctx, bool need_input_grad) override;
  void collect(std::vector<parameter*>& params, std::vector<buffer_ref>& buffers) override;
  std::string describe() const override;
  void quant_points(std::vector<std::string>& out) const override { out.push_back(path_); }
  const conv2d_options& options() const noexcept { return opt_; }
  parameter weight, bias;  // weight [out, in/groups, kh, kw]; bias [out] if opt.bias

 private:
  conv2d_options opt_;
  tensor input_;        // cached forward input
  tensor used_weight_;  // quantized weight of the last forward (empty when no hook)
  std::int64_t out_h_ = 0, out_w_ = 0;
  // Winograd-transformed weights of the forward pass [0] and of the input gradient [1], with the weight bits
  // and tile size they were made from: reused while those stay the same (as in a search, where every
  // evaluation runs the same weights).
  struct winograd_weights {
    std::vector<float> from;
    int tile = 0;
    std::vector<float> u;
  };
  winograd_weights winograd_[2];
  const std::vector<float>& transformed_weights(const tensor& w, bool adjoint, int tile);
};

class linear final : public module {
 public:
  linear(std::string path, std::int64_t in_features, std::int64_t out_features, bool bias = true);
  tensor forward(tensor x, run_context& ctx) override;
  tensor backward(tensor dy, run_context& ctx, bool need_input_grad) override;
  void collect(std::vector<parameter*>& params, std::vector<buffer_ref>& buffers) override;
  std::string describe() const override;
  void quant_points(std::vector<std::string>& out) const override { out.push_back(path_); }
  parameter weight, bias;  // weight [out, in]; bias [out]

 private:
  std::int64_t in_, out_;
  bool has_bias_;
  tensor input_;
  std::vector<std::int64_t> input_shape_;
  tensor used_weight_;
};

// BatchNorm2d like PyTorch: eval uses running statistics; train normalises with the batch's
// biased variance and updates running_mean/running_var (unbiased variance) with `momentum`.
class batch_norm2d final : public module {
 public:
  batch_norm2d(std::string path, std::int64_t channels, float eps = 1e-5f, float momentum = 0.1f);
  tensor forward(tensor x, run_context& ctx) override;
  tensor backward(tensor dy, run_context& ctx, bool need_input_grad) override;
  void collect(std::vector<parameter*>& params, std::vector<buffer_ref>& buffers) override;
  std::string describe() const override;
  void quant_points(std::vector<std::string>& out) const override { out.push_back(path_); }
  parameter weight, bias;
  tensor running_mean, running_var;
  std::int64_t num_batches_tracked = 0;

 private:
  std::int64_t channels_;
  float eps_, momentum_;
  tensor xhat_;                // normalised input of the last forward
  std::vector<float> invstd_;  // per channel, of the statistics used
  bool batch_stats_ = false;   // whether the last forward used batch statistics
};

class relu final : public module {
 public:
  explicit relu(std::string path, float upper = 0.0f) : module(std::move(path)), upper_(upper) {}
  tensor forward(tensor x, run_context& ctx) override;
  tensor backward(tensor dy, run_context& ctx, bool need_input_grad) override;
  std::string describe() const override { return upper_ > 0 ? "ReLU6" : "ReLU"; }

 private:
  float upper_;  // 0: ReLU; 6: ReLU6 (gradient passes where 0 < x < 6, as PyTorch's hardtanh)
  std::vector<std::uint8_t> pass_;
};

struct pool2d_options {
  std::int64_t kernel = 2, stride = 2, padding = 0;
};

class max_pool2d final : public module {
 public:
  max_pool2d(std::string path, const pool2d_options& opt) : module(std::move(path)), opt_(opt) {}
  tensor forward(tensor x, run_context& ctx) override;
  tensor backward(tensor dy, run_context& ctx, bool need_input_grad) override;
  std::string describe() const override;

 private:
  pool2d_options opt_;
  std::vector<std::int64_t> in_shape_;
  std::vector<std::int32_t> argmax_;  // index within the input plane, -1 if the window is padding only
};

// AvgPool2d(count_include_pad=True, ceil_mode=False), PyTorch's defaults.
class avg_pool2d final : public module {
 public:
  avg_pool2d(std::string path, const pool2d_options& opt) : module(std::move(path)), opt_(opt) {}
  tensor forward(tensor x, run_context& ctx) override;
  tensor backward(tensor dy, run_context& ctx, bool need_input_grad) override;
  std::string describe() const override;

 private:
  pool2d_options opt_;
  std::vector<std::int64_t> in_shape_;
};

// AdaptiveAvgPool2d((1, 1)): [N, C, H, W] -> [N, C, 1, 1].
class global_avg_pool final : public module {
 public:
  explicit global_avg_pool(std::string path) : module(std::move(path)) {}
  tensor forward(tensor x, run_context& ctx) override;
  tensor backward(tensor dy, run_context& ctx, bool need_input_grad) override;
  std::string describe() const override { return "AdaptiveAvgPool2d(1)"; }

 private:
  std::vector<std::int64_t> in_shape_;
};

// [N, ...] -> [N, prod(...)].
class flatten final : public module {
 public:
  explicit flatten(std::string path) : module(std::move(path)) {}
  tensor forward(tensor x, run_context& ctx) override;
  tensor backward(tensor dy, run_context& ctx, bool need_input_grad) override;
  std::string describe() const override { return "Flatten"; }

 private:
  std::vector<std::int64_t> in_shape_;
};

// Inverted dropout (scale 1/(1-p) in training, identity in eval). Masks come from splitmix64 of
// (ctx.dropout_seed, ctx.step, path), so they are reproducible but differ from PyTorch's.
class dropout final : public module {
 public:
  dropout(std::string path, float p) : module(std::move(path)), p_(p) {}
  tensor forward(tensor x, run_context& ctx) override;
  tensor backward(tensor dy, run_context& ctx, bool need_input_grad) override;
  std::string describe() const override;

 private:
  float p_;
  std::vector<float> mask_;  // empty when the last forward was in eval mode
};

// Children run in order; child paths are full state_dict prefixes chosen by the builder.
class sequential final : public module {
 public:
  explicit sequential(std::string path) : module(std::move(path)) {}
  module& add(std::unique_ptr<module> m);
  tensor forward(tensor x, run_context& ctx) override;
  tensor backward(tensor dy, run_context& ctx, bool need_input_grad) override;
  void collect(std::vector<parameter*>& params, std::vector<buffer_ref>& buffers) override;
  std::string describe() const override;
  void quant_points(std::vector<std::string>& out) const override;
  std::size_t size() const noexcept { return children_.size(); }
  module& child(std::size_t i) { return *children_.at(i); }

 private:
  std::vector<std::unique_ptr<module>> children_;
};

// y = main(x) + shortcut(x) (identity when shortcut is null), then an optional ReLU. The sum is
// the quantization point path + ".add" (A in forward, E on its gradient in backward).
class residual final : public module {
 public:
  residual(std::string path, std::unique_ptr<sequential> main, std::unique_ptr<sequential> shortcut, bool relu_after);
  tensor forward(tensor x, run_context& ctx) override;
  tensor backward(tensor dy, run_context& ctx, bool need_input_grad) override;
  void collect(std::vector<parameter*>& params, std::vector<buffer_ref>& buffers) override;
  std::string describe() const override;
  void quant_points(std::vector<std::string>& out) const override;
  std::string add_point() const { return path_ + ".add"; }

 private:
  std::unique_ptr<sequential> main_, shortcut_;
  bool relu_after_;
  std::vector<std::uint8_t> pass_;
};

// Mean softmax cross-entropy over the batch (PyTorch CrossEntropyLoss, reduction "mean").
// logits [N, K]; returns the loss and writes dLoss/dlogits to grad (same shape) if non-null.
// `correct` (if non-null) receives the number of argmax predictions equal to the label.
double softmax_cross_entropy(const tensor& logits, std::span<const std::int32_t> labels, tensor* grad,
                             std::int64_t* correct = nullptr);

}  // namespace fmtsim::sim
