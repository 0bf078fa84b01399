// SPDX-License-Identifier: MIT
// BatchNorm2d, ReLU/ReLU6, pooling, Flatten, Dropout, Sequential, residual blocks and the loss.
#include "fmtsim/sim/layers.hpp"

#include "error_point.hpp"
#include "fmtsim/sim/parallel.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace fmtsim::sim {
namespace {

void require_rank4(const tensor& x, const std::string& path, const char* what) {
  if (x.rank() != 4) {
    throw std::invalid_argument(path + ": " + what + " expects [N, C, H, W] input, got " + shape_string(x.shape));
  }
}

void require_same_shape(const tensor& dy, const std::vector<std::int64_t>& shape, const std::string& path) {
  if (dy.shape != shape) {
    throw std::invalid_argument(path + ": gradient shape " + shape_string(dy.shape) +
                                " does not match the output of the last forward " + shape_string(shape));
  }
}

// dx[i] = pass[i] ? dy[i] : +0 for pass[i] in {0, 1} (dx may be dy). On the bits, without a branch,
// so that it vectorises; where pass[i] is 1 the value is copied unchanged (NaN and inf included).
void mask_gradient(const float* dy, const std::uint8_t* pass, float* dx, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint32_t keep = 0u - static_cast<std::uint32_t>(pass[i]);
    dx[i] = std::bit_cast<float>(std::bit_cast<std::uint32_t>(dy[i]) & keep);
  }
}

std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (const char c : s) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
  return h;
}

std::int64_t pooled_size(std::int64_t in, const pool2d_options& o, const std::string& path) {
  if (o.kernel <= 0 || o.stride <= 0 || o.padding < 0 || 2 * o.padding > o.kernel) {
    throw std::invalid_argument(path + ": invalid pooling options (padding must be at most half the kernel)");
  }
  const std::int64_t e = in + 2 * o.padding - o.kernel;
  if (e < 0) throw std::invalid_argument(path + ": pooling window larger than the padded input");
  return e / o.stride + 1;
}

}  // namespace

// ---------------------------------------------------------------- BatchNorm2d
batch_norm2d::batch_norm2d(std::string path, std::int64_t channels, float eps, float momentum)
    : module(std::move(path)), channels_(channels), eps_(eps), momentum_(momentum) {
  if (channels <= 0) throw std::invalid_argument(path_ + ": invalid BatchNorm2d channel count");
  weight.name = path_ + ".weight";
  weight.value = tensor({channels}, 1.0f);
  bias.name = path_ + ".bias";
  bias.value = tensor({channels}, 0.0f);
  running_mean = tensor({channels}, 0.0f);
  running_var = tensor({channels}, 1.0f);
}

void batch_norm2d::collect(std::vector<parameter*>& params, std::vector<buffer_ref>& buffers) {
  params.push_back(&weight);
  params.push_back(&bias);
  buffers.push_back({path_ + ".running_mean", &running_mean, nullptr});
  buffers.push_back({path_ + ".running_var", &running_var, nullptr});
  buffers.push_back({path_ + ".num_batches_tracked", nullptr, &num_batches_tracked});
}

std::string batch_norm2d::describe() const { return "BatchNorm2d(" + std::to_string(channels_) + ")"; }

tensor batch_norm2d::forward(tensor x, run_context& ctx) {
  require_rank4(x, path_, "BatchNorm2d");
  if (x.shape[1] != channels_) {
    throw std::invalid_argument(path_ + ": BatchNorm2d expects " + std::to_string(channels_) + " channels, got input " +
                                shape_string(x.shape));
  }
  const std::int64_t n = x.shape[0], hw = x.shape[2] * x.shape[3], m = n * hw;
  batch_stats_ = ctx.training;
  if (batch_stats_ && m <= 1) {
    throw std::invalid_argument(path_ + ": BatchNorm2d in training mode needs more than 1 value per channel");
  }
  invstd_.assign(static_cast<std::size_t>(channels_), 0.0f);
  xhat_ = tensor(x.shape);
  parallel_for(channels_, [&](std::int64_t c) {
    float mean = 0, invstd = 0;
    if (batch_stats_) {
      double sum = 0;
      for (std::int64_t i = 0; i < n; ++i) {
        const float* p = x.ptr() + (i * channels_ + c) * hw;
        for (std::int64_t j = 0; j < hw; ++j) sum += p[j];
      }
      const double dmean = sum / static_cast<double>(m);
      double ss = 0;
      for (std::int64_t i = 0; i < n; ++i) {
        const float* p = x.ptr() + (i * channels_ + c) * hw;
        for (std::int64_t j = 0; j < hw; ++j) ss += (p[j] - dmean) * (p[j] - dmean);
      }
      const double var = ss / static_cast<double>(m);
      mean = static_cast<float>(dmean);
      invstd = static_cast<float>(1.0 / std::sqrt(var + eps_));
      running_mean.data[c] = (1 - momentum_) * running_mean.data[c] + momentum_ * static_cast<float>(dmean);
      running_var.data[c] =
          (1 - momentum_) * running_var.data[c] + momentum_ * static_cast<float>(ss / static_cast<double>(m - 1));
    } else {
      mean = running_mean.data[c];
      invstd = static_cast<float>(1.0 / std::sqrt(static_cast<double>(running_var.data[c]) + eps_));
    }
    invstd_[c] = invstd;
    const float g = weight.value.data[c], b = bias.value.data[c];
    for (std::int64_t i = 0; i < n; ++i) {
      float* p = x.ptr() + (i * channels_ + c) * hw;
      float* h = xhat_.ptr() + (i * channels_ + c) * hw;
      for (std::int64_t j = 0; j < hw; ++j) {
        h[j] = (p[j] - mean) * invstd;
        p[j] = h[j] * g + b;
      }
    }
  });
  if (batch_stats_) ++num_batches_tracked;
  if (ctx.hook != nullptr) ctx.hook->apply(quant_kind::activation, path_, x.data, x.shape);
  return x;
}

tensor batch_norm2d::backward(tensor dy, run_context& ctx, bool need_input_grad) {
  require_same_shape(dy, xhat_.shape, path_);
  detail::quantize_error(dy, ctx, path_);
  const std::int64_t n = xhat_.shape[0], hw = xhat_.shape[2] * xhat_.shape[3];
  const double m = static_cast<double>(n * hw);
  std::vector<float> dgamma(static_cast<std::size_t>(channels_)), dbeta(static_cast<std::size_t>(channels_));
  // The sums feed dgamma/dbeta and, with batch statistics, dx; eval mode without weight gradients
  // (the errors indicator) needs neither.
  const bool need_sums = ctx.weight_grads || batch_stats_;
  parallel_for(channels_, [&](std::int64_t c) {
    // double sums in four interleaved partials (a fixed order, so still deterministic; four chains
    // instead of one latency-bound chain)
    double pg[4] = {0, 0, 0, 0}, pb[4] = {0, 0, 0, 0};
    for (std::int64_t i = 0; i < (need_sums ? n : 0); ++i) {
      const float* d = dy.ptr() + (i * channels_ + c) * hw;
      const float* h = xhat_.ptr() + (i * channels_ + c) * hw;
      std::int64_t j = 0;
      for (; j + 4 <= hw; j += 4) {
        for (int q = 0; q < 4; ++q) {
          pg[q] += static_cast<double>(d[j + q]) * h[j + q];
          pb[q] += d[j + q];
        }
      }
      for (; j < hw; ++j) {
        pg[0] += static_cast<double>(d[j]) * h[j];
        pb[0] += d[j];
      }
    }
    const double sg = (pg[0] + pg[1]) + (pg[2] + pg[3]), sb = (pb[0] + pb[1]) + (pb[2] + pb[3]);
    dgamma[c] = static_cast<float>(sg);
    dbeta[c] = static_cast<float>(sb);
    if (!need_input_grad) return;
    const float g = weight.value.data[c];
    const float scale = g * invstd_[c];
    const float mean_dy = static_cast<float>(sb / m), mean_dyh = static_cast<float>(sg / m);
    for (std::int64_t i = 0; i < n; ++i) {  // dx in place of dy (elementwise)
      const float* d = dy.ptr() + (i * channels_ + c) * hw;
      const float* h = xhat_.ptr() + (i * channels_ + c) * hw;
      float* o = dy.ptr() + (i * channels_ + c) * hw;
      if (batch_stats_) {
        for (std::int64_t j = 0; j < hw; ++j) o[j] = scale * (d[j] - mean_dy - h[j] * mean_dyh);
      } else {
        for (std::int64_t j = 0; j < hw; ++j) o[j] = scale * d[j];
      }
    }
  });
  if (ctx.weight_grads) {
    weight.grad = tensor({channels_});
    bias.grad = tensor({channels_});
    weight.grad.data = std::move(dgamma);
    bias.grad.data = std::move(dbeta);
  }
  if (!need_input_grad) return {};
  return dy;
}

// ---------------------------------------------------------------- ReLU / ReLU6
tensor relu::forward(tensor x, run_context&) {
  pass_.resize(x.data.size());
  const std::int64_t total = x.numel();
  constexpr std::int64_t block = 1 << 16;
  // The pointers in locals of the task: a store to pass_ (bytes) may alias anything, so through x.data, pass_
  // or the lambda's captures the loop reloaded them per element and stayed scalar (10% of a search's FP32
  // forward pass).
  float* const x_data = x.ptr();
  std::uint8_t* const pass_data = pass_.data();
  const float upper_bound = upper_;
  parallel_for((total + block - 1) / block, [&](std::int64_t t) {
    float* const xp = x_data;
    std::uint8_t* const pp = pass_data;
    const float upper = upper_bound;
    const std::int64_t begin = t * block, end = std::min(total, (t + 1) * block);
    if (upper > 0) {
      for (std::int64_t i = begin; i < end; ++i) {
        const float v = xp[i];
        pp[i] = v > 0.0f && v < upper;
        xp[i] = v > 0.0f ? (v < upper ? v : upper) : 0.0f;
      }
    } else {
      for (std::int64_t i = begin; i < end; ++i) {
        const float v = xp[i];
        pp[i] = v > 0.0f;
        xp[i] = v > 0.0f ? v : 0.0f;
      }
    }
  });
  return x;
}

tensor relu::backward(tensor dy, run_context&, bool need_input_grad) {
  if (dy.data.size() != pass_.size()) throw std::invalid_argument(path_ + ": gradient size does not match");
  if (!need_input_grad) return {};
  mask_gradient(dy.ptr(), pass_.data(), dy.ptr(), pass_.size());
  return dy;
}

// ---------------------------------------------------------------- pooling
std::string max_pool2d::describe() const {
  return "MaxPool2d(k=" + std::to_string(opt_.kernel) + ", s=" + std::to_string(opt_.stride) +
         ", p=" + std::to_string(opt_.padding) + ")";
}

tensor max_pool2d::forward(tensor x, run_context&) {
  require_rank4(x, path_, "MaxPool2d");
  const std::int64_t n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
  const std::int64_t ho = pooled_size(h, opt_, path_), wo = pooled_size(w, opt_, path_);
  tensor y({n, c, ho, wo});
  argmax_.assign(static_cast<std::size_t>(y.numel()), -1);
  parallel_for(n * c, [&](std::int64_t plane) {
    const float* src = x.ptr() + plane * h * w;
    for (std::int64_t oh = 0; oh < ho; ++oh) {
      for (std::int64_t ow = 0; ow < wo; ++ow) {
        float best = -std::numeric_limits<float>::infinity();
        std::int32_t arg = -1;
        for (std::int64_t ki = 0; ki < opt_.kernel; ++ki) {
          const std::int64_t ih = oh * opt_.stride - opt_.padding + ki;
          if (ih < 0 || ih >= h) continue;
          for (std::int64_t kj = 0; kj < opt_.kernel; ++kj) {
            const std::int64_t iw = ow * opt_.stride - opt_.padding + kj;
            if (iw < 0 || iw >= w) continue;
            const float v = src[ih * w + iw];
            if (arg < 0 || v > best || std::isnan(v)) {
              best = v;
              arg = static_cast<std::int32_t>(ih * w + iw);
              if (std::isnan(v)) break;
            }
          }
        }
        const std::int64_t o = (plane * ho + oh) * wo + ow;
        y.data[o] = best;
        argmax_[o] = arg;
      }
    }
  });
  in_shape_ = x.shape;
  return y;
}

tensor max_pool2d::backward(tensor dy, run_context&, bool need_input_grad) {
  if (dy.data.size() != argmax_.size()) throw std::invalid_argument(path_ + ": gradient size does not match");
  if (!need_input_grad) return {};
  tensor dx(in_shape_);
  const std::int64_t planes = in_shape_[0] * in_shape_[1], hw = in_shape_[2] * in_shape_[3];
  const std::int64_t out_plane = static_cast<std::int64_t>(argmax_.size()) / planes;
  parallel_for(planes, [&](std::int64_t plane) {
    for (std::int64_t o = plane * out_plane; o < (plane + 1) * out_plane; ++o) {
      if (argmax_[o] >= 0) dx.data[plane * hw + argmax_[o]] += dy.data[o];
    }
  });
  return dx;
}

std::string avg_pool2d::describe() const {
  return "AvgPool2d(k=" + std::to_string(opt_.kernel) + ", s=" + std::to_string(opt_.stride) +
         ", p=" + std::to_string(opt_.padding) + ")";
}

namespace {
// PyTorch's window bounds and divisor for AvgPool2d(count_include_pad=True).
struct avg_window {
  std::int64_t h0, h1, w0, w1, divisor;
};
avg_window window(std::int64_t oh, std::int64_t ow, std::int64_t h, std::int64_t w, const pool2d_options& o) {
  std::int64_t hs = oh * o.stride - o.padding, ws = ow * o.stride - o.padding;
  std::int64_t he = std::min(hs + o.kernel, h + o.padding), we = std::min(ws + o.kernel, w + o.padding);
  const std::int64_t div = (he - hs) * (we - ws);
  return {std::max<std::int64_t>(hs, 0), std::min(he, h), std::max<std::int64_t>(ws, 0), std::min(we, w), div};
}
}  // namespace

tensor avg_pool2d::forward(tensor x, run_context&) {
  require_rank4(x, path_, "AvgPool2d");
  const std::int64_t n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
  const std::int64_t ho = pooled_size(h, opt_, path_), wo = pooled_size(w, opt_, path_);
  tensor y({n, c, ho, wo});
  parallel_for(n * c, [&](std::int64_t plane) {
    const float* src = x.ptr() + plane * h * w;
    for (std::int64_t oh = 0; oh < ho; ++oh) {
      for (std::int64_t ow = 0; ow < wo; ++ow) {
        const avg_window win = window(oh, ow, h, w, opt_);
        float sum = 0;
        for (std::int64_t ih = win.h0; ih < win.h1; ++ih)
          for (std::int64_t iw = win.w0; iw < win.w1; ++iw) sum += src[ih * w + iw];
        y.data[(plane * ho + oh) * wo + ow] = sum / static_cast<float>(win.divisor);
      }
    }
  });
  in_shape_ = x.shape;
  return y;
}

tensor avg_pool2d::backward(tensor dy, run_context&, bool need_input_grad) {
  if (in_shape_.size() != 4) throw std::invalid_argument(path_ + ": backward before forward");
  const std::int64_t n = in_shape_[0], c = in_shape_[1], h = in_shape_[2], w = in_shape_[3];
  const std::int64_t ho = pooled_size(h, opt_, path_), wo = pooled_size(w, opt_, path_);
  require_same_shape(dy, {n, c, ho, wo}, path_);
  if (!need_input_grad) return {};
  tensor dx(in_shape_);
  parallel_for(n * c, [&](std::int64_t plane) {
    float* dst = dx.ptr() + plane * h * w;
    for (std::int64_t oh = 0; oh < ho; ++oh) {
      for (std::int64_t ow = 0; ow < wo; ++ow) {
        const avg_window win = window(oh, ow, h, w, opt_);
        const float g = dy.data[(plane * ho + oh) * wo + ow] / static_cast<float>(win.divisor);
        for (std::int64_t ih = win.h0; ih < win.h1; ++ih)
          for (std::int64_t iw = win.w0; iw < win.w1; ++iw) dst[ih * w + iw] += g;
      }
    }
  });
  return dx;
}

tensor global_avg_pool::forward(tensor x, run_context&) {
  require_rank4(x, path_, "AdaptiveAvgPool2d");
  const std::int64_t n = x.shape[0], c = x.shape[1], hw = x.shape[2] * x.shape[3];
  tensor y({n, c, 1, 1});
  parallel_for(n, [&](std::int64_t i) {
    for (std::int64_t ch = 0; ch < c; ++ch) {
      const float* p = x.ptr() + (i * c + ch) * hw;
      double sum = 0;
      for (std::int64_t j = 0; j < hw; ++j) sum += p[j];
      y.data[i * c + ch] = static_cast<float>(sum / static_cast<double>(hw));
    }
  });
  in_shape_ = x.shape;
  return y;
}

tensor global_avg_pool::backward(tensor dy, run_context&, bool need_input_grad) {
  if (in_shape_.size() != 4) throw std::invalid_argument(path_ + ": backward before forward");
  require_same_shape(dy, {in_shape_[0], in_shape_[1], 1, 1}, path_);
  if (!need_input_grad) return {};
  const std::int64_t hw = in_shape_[2] * in_shape_[3];
  tensor dx(in_shape_);
  const float inv = 1.0f / static_cast<float>(hw);
  for (std::int64_t p = 0; p < in_shape_[0] * in_shape_[1]; ++p) {
    const float g = dy.data[p] * inv;
    std::fill_n(dx.ptr() + p * hw, hw, g);
  }
  return dx;
}

tensor flatten::forward(tensor x, run_context&) {
  if (x.rank() < 1) throw std::invalid_argument(path_ + ": Flatten needs a batch dimension");
  in_shape_ = x.shape;
  const std::int64_t n = x.shape[0];
  x.shape = {n, n == 0 ? 0 : x.numel() / n};
  return x;
}

tensor flatten::backward(tensor dy, run_context&, bool need_input_grad) {
  if (dy.numel() != tensor::count(in_shape_)) throw std::invalid_argument(path_ + ": gradient size does not match");
  if (!need_input_grad) return {};
  dy.shape = in_shape_;
  return dy;
}

std::string dropout::describe() const { return "Dropout(p=" + std::to_string(p_) + ")"; }

tensor dropout::forward(tensor x, run_context& ctx) {
  if (!(p_ >= 0.0f && p_ < 1.0f)) throw std::invalid_argument(path_ + ": dropout probability must be in [0, 1)");
  mask_.clear();
  if (!ctx.training || p_ == 0.0f) return x;
  std::uint64_t state = ctx.dropout_seed ^ fnv1a(path_) ^ (ctx.step * 0xD1B54A32D192ED03ull);
  const float scale = 1.0f / (1.0f - p_);
  // Drop when a 24-bit uniform integer is below p * 2^24.
  const auto threshold = static_cast<std::uint64_t>(static_cast<double>(p_) * 16777216.0);
  mask_.resize(x.data.size());
  for (std::size_t i = 0; i < x.data.size(); ++i) {
    mask_[i] = (splitmix64(state) >> 40) < threshold ? 0.0f : scale;
    x.data[i] *= mask_[i];
  }
  return x;
}

tensor dropout::backward(tensor dy, run_context&, bool need_input_grad) {
  if (!need_input_grad) return {};
  if (!mask_.empty()) {
    if (mask_.size() != dy.data.size()) throw std::invalid_argument(path_ + ": gradient size does not match");
    for (std::size_t i = 0; i < mask_.size(); ++i) dy.data[i] *= mask_[i];
  }
  return dy;
}

// ---------------------------------------------------------------- containers
module& sequential::add(std::unique_ptr<module> m) {
  children_.push_back(std::move(m));
  return *children_.back();
}

tensor sequential::forward(tensor x, run_context& ctx) {
  for (auto& c : children_) x = c->forward(std::move(x), ctx);
  return x;
}

tensor sequential::backward(tensor dy, run_context& ctx, bool need_input_grad) {
  if (children_.empty()) return need_input_grad ? std::move(dy) : tensor();
  tensor g = children_.back()->backward(std::move(dy), ctx, children_.size() > 1 || need_input_grad);
  for (std::size_t i = children_.size() - 1; i-- > 0;) {
    g = children_[i]->backward(std::move(g), ctx, i > 0 || need_input_grad);
  }
  return g;
}

void sequential::collect(std::vector<parameter*>& params, std::vector<buffer_ref>& buffers) {
  for (auto& c : children_) c->collect(params, buffers);
}

std::string sequential::describe() const {
  std::string s;
  for (const auto& c : children_) {
    const std::string d = c->describe();
    s += (c->path().empty() ? std::string() : c->path() + ": ") + d + "\n";
  }
  return s;
}

void sequential::quant_points(std::vector<std::string>& out) const {
  for (const auto& c : children_) c->quant_points(out);
}

residual::residual(std::string path, std::unique_ptr<sequential> main, std::unique_ptr<sequential> shortcut,
                   bool relu_after)
    : module(std::move(path)), main_(std::move(main)), shortcut_(std::move(shortcut)), relu_after_(relu_after) {
  if (!main_) throw std::invalid_argument(path_ + ": residual block without a main path");
}

tensor residual::forward(tensor x, run_context& ctx) {
  tensor s = shortcut_ ? shortcut_->forward(x, ctx) : x;
  tensor y = main_->forward(std::move(x), ctx);
  if (y.shape != s.shape) {
    throw std::invalid_argument(path_ + ": residual branches disagree: " + shape_string(y.shape) + " vs " +
                                shape_string(s.shape));
  }
  const std::size_t total = y.data.size();
  float* const yp = y.ptr();
  const float* const sp = s.ptr();
  for (std::size_t i = 0; i < total; ++i) yp[i] += sp[i];
  if (ctx.hook != nullptr) ctx.hook->apply(quant_kind::activation, add_point(), y.data, y.shape);
  if (relu_after_) {
    pass_.resize(total);
    std::uint8_t* const pp = pass_.data();  // local pointers, as in relu::forward
    for (std::size_t i = 0; i < total; ++i) {
      const float v = yp[i];
      pp[i] = v > 0.0f;
      yp[i] = v > 0.0f ? v : 0.0f;
    }
  }
  return y;
}

tensor residual::backward(tensor dy, run_context& ctx, bool need_input_grad) {
  tensor g = std::move(dy);
  if (relu_after_) {
    if (pass_.size() != g.data.size()) throw std::invalid_argument(path_ + ": gradient size does not match");
    mask_gradient(g.ptr(), pass_.data(), g.ptr(), pass_.size());
  }
  if (ctx.hook != nullptr) ctx.hook->apply(quant_kind::error, add_point(), g.data, g.shape);
  tensor dx = main_->backward(g, ctx, need_input_grad);  // a copy: both branches start from g
  if (shortcut_) {
    tensor ds = shortcut_->backward(std::move(g), ctx, need_input_grad);
    if (need_input_grad)
      for (std::size_t i = 0; i < dx.data.size(); ++i) dx.data[i] += ds.data[i];
  } else if (need_input_grad) {
    for (std::size_t i = 0; i < dx.data.size(); ++i) dx.data[i] += g.data[i];
  }
  return dx;
}

void residual::collect(std::vector<parameter*>& params, std::vector<buffer_ref>& buffers) {
  main_->collect(params, buffers);
  if (shortcut_) shortcut_->collect(params, buffers);
}

std::string residual::describe() const {
  std::string s = "Residual " + path_ + " {\n" + main_->describe();
  if (shortcut_) s += "shortcut {\n" + shortcut_->describe() + "}\n";
  return s + "} + " + (relu_after_ ? "ReLU" : "");
}

void residual::quant_points(std::vector<std::string>& out) const {
  main_->quant_points(out);
  if (shortcut_) shortcut_->quant_points(out);
  out.push_back(add_point());
}

// ---------------------------------------------------------------- loss
double softmax_cross_entropy(const tensor& logits, std::span<const std::int32_t> labels, tensor* grad,
                             std::int64_t* correct) {
  if (logits.rank() != 2) throw std::invalid_argument("softmax_cross_entropy: logits must be [N, K]");
  const std::int64_t n = logits.shape[0], k = logits.shape[1];
  if (static_cast<std::int64_t>(labels.size()) != n || n == 0) {
    throw std::invalid_argument("softmax_cross_entropy: label count does not match the batch");
  }
  if (grad != nullptr) *grad = tensor(logits.shape);
  double total = 0;
  std::int64_t hits = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int32_t y = labels[i];
    if (y < 0 || y >= k) {
      throw std::invalid_argument("softmax_cross_entropy: label " + std::to_string(y) + " outside [0, " +
                                  std::to_string(k) + ")");
    }
    const float* z = logits.ptr() + i * k;
    std::int64_t arg = 0;
    for (std::int64_t j = 1; j < k; ++j)
      if (z[j] > z[arg]) arg = j;
    hits += arg == y;
    const double mx = z[arg];
    double sum = 0;
    for (std::int64_t j = 0; j < k; ++j) sum += std::exp(static_cast<double>(z[j]) - mx);
    const double lse = mx + std::log(sum);
    total += lse - z[y];
    if (grad != nullptr) {
      float* g = grad->ptr() + i * k;
      for (std::int64_t j = 0; j < k; ++j) {
        const double p = std::exp(static_cast<double>(z[j]) - lse);
        g[j] = static_cast<float>((p - (j == y ? 1.0 : 0.0)) / static_cast<double>(n));
      }
    }
  }
  if (correct != nullptr) *correct = hits;
  return total / static_cast<double>(n);
}

}  // namespace fmtsim::sim
