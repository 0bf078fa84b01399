// SPDX-License-Identifier: MIT
// Linear layer (y = x W^T + b) through SGEMM, forward and backward.
#include "blas.hpp"
#include "error_point.hpp"
#include "fmtsim/sim/layers.hpp"
#include "fmtsim/sim/parallel.hpp"

#include <algorithm>
#include <stdexcept>

namespace fmtsim::sim {
namespace {
constexpr std::int64_t rows_per_task = 32;  // fixed, so the weight-gradient sum order is too
}

linear::linear(std::string path, std::int64_t in_features, std::int64_t out_features, bool has_bias)
    : module(std::move(path)), in_(in_features), out_(out_features), has_bias_(has_bias) {
  if (in_features <= 0 || out_features <= 0) throw std::invalid_argument(path_ + ": invalid Linear sizes");
  weight.name = path_ + ".weight";
  weight.value = tensor({out_, in_});
  weight.quantizable = true;
  if (has_bias_) {
    bias.name = path_ + ".bias";
    bias.value = tensor({out_});
  }
}

void linear::collect(std::vector<parameter*>& params, std::vector<buffer_ref>&) {
  params.push_back(&weight);
  if (has_bias_) params.push_back(&bias);
}

std::string linear::describe() const {
  return "Linear(" + std::to_string(in_) + ", " + std::to_string(out_) + (has_bias_ ? ")" : ", no bias)");
}

tensor linear::forward(tensor x, run_context& ctx) {
  if (x.rank() < 2 || x.numel() != x.shape[0] * in_) {
    throw std::invalid_argument(path_ + ": Linear expects [N, " + std::to_string(in_) + "] input, got " +
                                shape_string(x.shape));
  }
  const std::int64_t n = x.shape[0];
  const tensor* w = &weight.value;
  used_weight_ = tensor();
  if (ctx.hook != nullptr) {
    used_weight_ = weight.value;
    ctx.hook->apply(quant_kind::weight, weight.name, used_weight_.data, used_weight_.shape);
    w = &used_weight_;
  }
  tensor y({n, out_});
  const std::int64_t tasks = (n + rows_per_task - 1) / rows_per_task;
  parallel_for(tasks, [&](std::int64_t t) {
    const std::int64_t r0 = t * rows_per_task, rows = std::min(rows_per_task, n - r0);
    float* yr = y.ptr() + r0 * out_;
    if (has_bias_) {
      for (std::int64_t r = 0; r < rows; ++r) std::copy_n(bias.value.ptr(), out_, yr + r * out_);
    }
    detail::sgemm(false, true, rows, out_, in_, 1.0f, x.ptr() + r0 * in_, in_, w->ptr(), in_, has_bias_ ? 1.0f : 0.0f,
                  yr, out_);
  });
  input_shape_ = x.shape;
  input_ = std::move(x);
  if (ctx.hook != nullptr) ctx.hook->apply(quant_kind::activation, path_, y.data, y.shape);
  return y;
}

tensor linear::backward(tensor dy, run_context& ctx, bool need_input_grad) {
  const std::int64_t n = input_shape_.empty() ? 0 : input_shape_[0];
  if (dy.shape != std::vector<std::int64_t>{n, out_}) {
    throw std::invalid_argument(path_ + ": gradient shape " + shape_string(dy.shape) +
                                " does not match the output of the last forward");
  }
  detail::quantize_error(dy, ctx, path_);
  const tensor& w = used_weight_.empty() ? weight.value : used_weight_;
  const std::int64_t tasks = (n + rows_per_task - 1) / rows_per_task;
  tensor dx;
  if (need_input_grad) {
    dx = tensor(input_shape_);
    parallel_for(tasks, [&](std::int64_t t) {
      const std::int64_t r0 = t * rows_per_task, rows = std::min(rows_per_task, n - r0);
      detail::sgemm(false, false, rows, in_, out_, 1.0f, dy.ptr() + r0 * out_, out_, w.ptr(), in_, 0.0f,
                    dx.ptr() + r0 * in_, in_);
    });
  }
  if (ctx.weight_grads) {
    std::vector<float> partial(static_cast<std::size_t>(tasks * out_ * in_));
    parallel_for(tasks, [&](std::int64_t t) {
      const std::int64_t r0 = t * rows_per_task, rows = std::min(rows_per_task, n - r0);
      detail::sgemm(true, false, out_, in_, rows, 1.0f, dy.ptr() + r0 * out_, out_, input_.ptr() + r0 * in_, in_, 0.0f,
                    partial.data() + t * out_ * in_, in_);
    });
    weight.grad = tensor(weight.value.shape);
    for (std::int64_t t = 0; t < tasks; ++t) {
      const float* p = partial.data() + t * out_ * in_;
      for (std::int64_t i = 0; i < out_ * in_; ++i) weight.grad.data[i] += p[i];
    }
    if (has_bias_) {
      bias.grad = tensor(bias.value.shape);
      for (std::int64_t o = 0; o < out_; ++o) {
        double sum = 0;
        for (std::int64_t r = 0; r < n; ++r) sum += dy.data[r * out_ + o];
        bias.grad.data[o] = static_cast<float>(sum);
      }
    }
    if (ctx.hook != nullptr) {
      ctx.hook->apply(quant_kind::weight_gradient, weight.name, weight.grad.data, weight.grad.shape);
    }
  }
  return dx;
}

}  // namespace fmtsim::sim
