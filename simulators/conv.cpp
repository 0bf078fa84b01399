// SPDX-License-Identifier: MIT
// Conv2d (stride, padding, dilation, groups) by im2col + SGEMM, forward and backward; 3x3
// stride-1 padding-1 convolutions by Winograd F(2x2, 3x3) unless the run asks for im2col.
#include "blas.hpp"
#include "error_point.hpp"
#include "fmtsim/sim/layers.hpp"
#include "fmtsim/sim/parallel.hpp"
#include "winograd.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <stdexcept>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace fmtsim::sim {
namespace {

struct geom {
  std::int64_t n, c, h, w;  // input
  std::int64_t cout, groups, cg, og;
  std::int64_t kh, kw, s, p, d;
  std::int64_t ho, wo, l, k;   // output plane, l = ho * wo, k = cg * kh * kw
  std::int64_t chunk, chunks;  // samples per task (independent of the thread count), task count
};

// Output columns [lo, hi) whose input column ow * s - p + kj * d lies inside [0, w).
struct valid_range {
  std::int64_t lo, hi;
};
valid_range valid_columns(std::int64_t kj, const geom& g) {
  const std::int64_t off = kj * g.d - g.p;  // iw = ow * s + off
  // smallest ow with ow * s + off >= 0, and one past the largest with ow * s + off <= w - 1
  const std::int64_t lo = off >= 0 ? 0 : (-off + g.s - 1) / g.s;
  const std::int64_t last = g.w - 1 - off;
  const std::int64_t hi = last < 0 ? 0 : last / g.s + 1;
  return {std::min(lo, g.wo), std::clamp<std::int64_t>(hi, std::min(lo, g.wo), g.wo)};
}

// Rows (ci, ki, kj) x columns [col_offset, col_offset + l) of the column matrix (row stride ld)
// from one sample's channels of one group (x points at channel g * cg of the sample).
void im2col(const float* x, const geom& g, float* col, std::int64_t ld, std::int64_t col_offset) {
  for (std::int64_t ci = 0; ci < g.cg; ++ci) {
    const float* plane = x + ci * g.h * g.w;
    for (std::int64_t ki = 0; ki < g.kh; ++ki) {
      for (std::int64_t kj = 0; kj < g.kw; ++kj) {
        float* dst = col + ((ci * g.kh + ki) * g.kw + kj) * ld + col_offset;
        const valid_range r = valid_columns(kj, g);
        const std::int64_t off = kj * g.d - g.p;
        for (std::int64_t oh = 0; oh < g.ho; ++oh) {
          const std::int64_t ih = oh * g.s - g.p + ki * g.d;
          float* row = dst + oh * g.wo;
          if (ih < 0 || ih >= g.h) {
            std::fill_n(row, g.wo, 0.0f);
            continue;
          }
          const float* src = plane + ih * g.w + off;
          std::fill_n(row, r.lo, 0.0f);
          if (g.s == 1) {
            std::copy(src + r.lo, src + r.hi, row + r.lo);
          } else {
            for (std::int64_t ow = r.lo; ow < r.hi; ++ow) row[ow] = src[ow * g.s];
          }
          std::fill(row + r.hi, row + g.wo, 0.0f);
        }
      }
    }
  }
}

// dst[2 ow] += row[ow] for ow in [lo, hi), the same additions in the same order as the scalar loop, four at a
// time where the eight floats dst[2 ow .. 2 ow + 7] lie below dst[room] (the row's end): the odd ones get -0
// added, which leaves every float unchanged (x + -0 == x, -0 + -0 == -0, a NaN stays that NaN). The scalar
// loop cost 3.7% of an errors evaluation (the stride-2 convolutions' input gradients).
void add_stride2(const float* row, float* dst, std::int64_t lo, std::int64_t hi, std::int64_t room) {
  std::int64_t ow = lo;
#if defined(__SSE2__)
  const __m128 negative_zero = _mm_set1_ps(-0.0f);
  for (; ow + 4 <= hi && 2 * ow + 8 <= room; ow += 4) {
    const __m128 r = _mm_loadu_ps(row + ow);
    float* p = dst + 2 * ow;
    _mm_storeu_ps(p, _mm_add_ps(_mm_loadu_ps(p), _mm_unpacklo_ps(r, negative_zero)));
    _mm_storeu_ps(p + 4, _mm_add_ps(_mm_loadu_ps(p + 4), _mm_unpackhi_ps(r, negative_zero)));
  }
#endif
  for (; ow < hi; ++ow) dst[2 * ow] += row[ow];
}

// Adjoint of im2col: accumulates the column matrix back into one sample's group channels.
void col2im(const float* col, const geom& g, std::int64_t ld, std::int64_t col_offset, float* dx) {
  for (std::int64_t ci = 0; ci < g.cg; ++ci) {
    float* plane = dx + ci * g.h * g.w;
    for (std::int64_t ki = 0; ki < g.kh; ++ki) {
      for (std::int64_t kj = 0; kj < g.kw; ++kj) {
        const float* src = col + ((ci * g.kh + ki) * g.kw + kj) * ld + col_offset;
        const valid_range r = valid_columns(kj, g);
        const std::int64_t off = kj * g.d - g.p;
        for (std::int64_t oh = 0; oh < g.ho; ++oh) {
          const std::int64_t ih = oh * g.s - g.p + ki * g.d;
          if (ih < 0 || ih >= g.h) continue;
          float* dst = plane + ih * g.w + off;
          const float* row = src + oh * g.wo;
          if (g.s == 1) {
            for (std::int64_t ow = r.lo; ow < r.hi; ++ow) dst[ow] += row[ow];
          } else if (g.s == 2) {
            add_stride2(row, dst, r.lo, r.hi, g.w - off);
          } else {
            for (std::int64_t ow = r.lo; ow < r.hi; ++ow) dst[ow * g.s] += row[ow];
          }
        }
      }
    }
  }
}

geom make_geom(const conv2d_options& o, const std::vector<std::int64_t>& in, const std::string& path) {
  if (in.size() != 4) {
    throw std::invalid_argument(path + ": Conv2d expects [N, C, H, W] input, got " + shape_string(in));
  }
  geom g{};
  g.n = in[0], g.c = in[1], g.h = in[2], g.w = in[3];
  if (g.c != o.in_channels) {
    throw std::invalid_argument(path + ": Conv2d expects " + std::to_string(o.in_channels) +
                                " input channels, got input " + shape_string(in));
  }
  g.cout = o.out_channels, g.groups = o.groups;
  g.cg = o.in_channels / o.groups, g.og = o.out_channels / o.groups;
  g.kh = o.kernel_h, g.kw = o.kernel_w, g.s = o.stride, g.p = o.padding, g.d = o.dilation;
  const std::int64_t eh = g.h + 2 * g.p - g.d * (g.kh - 1) - 1;
  const std::int64_t ew = g.w + 2 * g.p - g.d * (g.kw - 1) - 1;
  if (eh < 0 || ew < 0) {
    throw std::invalid_argument(path + ": input " + shape_string(in) + " is smaller than the kernel");
  }
  g.ho = eh / g.s + 1, g.wo = ew / g.s + 1;
  g.l = g.ho * g.wo;
  g.k = g.cg * g.kh * g.kw;
  // About 2 MB of column matrix per task; fixed by the shapes only.
  g.chunk = std::clamp<std::int64_t>((std::int64_t{1} << 19) / std::max<std::int64_t>(1, g.k * g.l), 1,
                                     std::max<std::int64_t>(1, g.n));
  g.chunks = (g.n + g.chunk - 1) / g.chunk;
  return g;
}

thread_local std::vector<float> tl_col, tl_tmp;

// Samples [n0, n0 + ns) of im2col task c, with ld = ns * l columns; sizes this thread's column and
// product buffers for them.
struct chunk_span {
  std::int64_t n0, ns, ld;
};
chunk_span chunk_buffers(const geom& g, std::int64_t c) {
  const std::int64_t n0 = c * g.chunk, ns = std::min(g.chunk, g.n - n0), ld = ns * g.l;
  tl_col.resize(static_cast<std::size_t>(g.k * ld));
  tl_tmp.resize(static_cast<std::size_t>(g.og * ld));
  return {n0, ns, ld};
}

// The Winograd output tile size of the run's algorithm (for the convolutions use_winograd accepts).
int winograd_tile(const run_context& ctx) { return ctx.conv == conv_algorithm::winograd4 ? 4 : 2; }

bool use_winograd(const geom& g, const run_context& ctx) {
  return ctx.conv != conv_algorithm::im2col && g.kh == 3 && g.kw == 3 && g.s == 1 && g.p == 1 && g.d == 1 &&
         g.groups == 1;
}

}  // namespace

namespace {
std::atomic<conv_algorithm>& conv_setting() {
  static std::atomic<conv_algorithm> a{standard_conv_algorithm};
  return a;
}
}  // namespace

void set_conv_algorithm(conv_algorithm algorithm) noexcept { conv_setting() = algorithm; }

conv_algorithm default_conv_algorithm() noexcept { return conv_setting().load(); }

std::string_view to_string(conv_algorithm algorithm) noexcept {
  switch (algorithm) {
    case conv_algorithm::winograd:
      return "winograd";
    case conv_algorithm::winograd4:
      return "winograd4";
    case conv_algorithm::im2col:
      return "im2col";
  }
  return "?";
}

conv_algorithm parse_conv_algorithm(std::string_view text) {
  if (text == "winograd") return conv_algorithm::winograd;
  if (text == "winograd4") return conv_algorithm::winograd4;
  if (text == "im2col") return conv_algorithm::im2col;
  throw std::invalid_argument("unknown convolution algorithm '" + std::string(text) +
                              "' (expected winograd, winograd4 or im2col)");
}

conv2d::conv2d(std::string path, const conv2d_options& opt) : module(std::move(path)), opt_(opt) {
  if (opt.in_channels <= 0 || opt.out_channels <= 0 || opt.groups <= 0 || opt.kernel_h <= 0 || opt.kernel_w <= 0 ||
      opt.stride <= 0 || opt.dilation <= 0 || opt.padding < 0 || opt.in_channels % opt.groups != 0 ||
      opt.out_channels % opt.groups != 0) {
    throw std::invalid_argument(path_ + ": invalid Conv2d options");
  }
  weight.name = path_ + ".weight";
  weight.value = tensor({opt.out_channels, opt.in_channels / opt.groups, opt.kernel_h, opt.kernel_w});
  weight.quantizable = true;
  if (opt.bias) {
    bias.name = path_ + ".bias";
    bias.value = tensor({opt.out_channels});
  }
}

void conv2d::collect(std::vector<parameter*>& params, std::vector<buffer_ref>&) {
  params.push_back(&weight);
  if (opt_.bias) params.push_back(&bias);
}

std::string conv2d::describe() const {
  std::string s = "Conv2d(" + std::to_string(opt_.in_channels) + ", " + std::to_string(opt_.out_channels) +
                  ", k=" + std::to_string(opt_.kernel_h) + "x" + std::to_string(opt_.kernel_w) +
                  ", s=" + std::to_string(opt_.stride) + ", p=" + std::to_string(opt_.padding);
  if (opt_.dilation != 1) s += ", d=" + std::to_string(opt_.dilation);
  if (opt_.groups != 1) s += ", groups=" + std::to_string(opt_.groups);
  if (opt_.bias) s += ", bias";
  return s + ")";
}

tensor conv2d::forward(tensor x, run_context& ctx) {
  const geom g = make_geom(opt_, x.shape, path_);
  out_h_ = g.ho, out_w_ = g.wo;
  const tensor* w = &weight.value;
  used_weight_ = tensor();
  if (ctx.hook != nullptr) {
    used_weight_ = weight.value;
    ctx.hook->apply(quant_kind::weight, weight.name, used_weight_.data, used_weight_.shape);
    w = &used_weight_;
  }
  tensor y({g.n, g.cout, g.ho, g.wo});
  if (use_winograd(g, ctx)) {
    const std::vector<float>& u = transformed_weights(*w, false, winograd_tile(ctx));
    detail::winograd_conv3x3(x.ptr(), g.n, g.c, g.h, g.w, u, g.cout, opt_.bias ? bias.value.ptr() : nullptr, y.ptr(),
                             winograd_tile(ctx));
  } else {
    parallel_for(g.chunks, [&](std::int64_t c) {
      const auto [n0, ns, ld] = chunk_buffers(g, c);
      for (std::int64_t gi = 0; gi < g.groups; ++gi) {
        for (std::int64_t s = 0; s < ns; ++s) {
          im2col(x.ptr() + ((n0 + s) * g.c + gi * g.cg) * g.h * g.w, g, tl_col.data(), ld, s * g.l);
        }
        detail::sgemm(false, false, g.og, ld, g.k, 1.0f, w->ptr() + gi * g.og * g.k, g.k, tl_col.data(), ld, 0.0f,
                      tl_tmp.data(), ld);
        for (std::int64_t s = 0; s < ns; ++s) {
          for (std::int64_t o = 0; o < g.og; ++o) {
            const std::int64_t co = gi * g.og + o;
            float* dst = y.ptr() + ((n0 + s) * g.cout + co) * g.l;
            const float* src = tl_tmp.data() + o * ld + s * g.l;
            if (opt_.bias) {
              const float b = bias.value.data[co];
              for (std::int64_t i = 0; i < g.l; ++i) dst[i] = src[i] + b;
            } else {
              std::memcpy(dst, src, sizeof(float) * g.l);
            }
          }
        }
      }
    });
  }
  input_ = std::move(x);
  if (ctx.hook != nullptr) ctx.hook->apply(quant_kind::activation, path_, y.data, y.shape);
  return y;
}

const std::vector<float>& conv2d::transformed_weights(const tensor& w, bool adjoint, int tile) {
  winograd_weights& c = winograd_[adjoint ? 1 : 0];
  const bool same = c.tile == tile && c.from.size() == w.data.size() &&
                    std::memcmp(c.from.data(), w.data.data(), w.data.size() * sizeof(float)) == 0;
  if (!same) {
    detail::winograd_kernel(w.ptr(), opt_.out_channels, opt_.in_channels, adjoint, c.u, tile);
    c.from = w.data;
    c.tile = tile;
  }
  return c.u;
}

tensor conv2d::backward(tensor dy, run_context& ctx, bool need_input_grad) {
  const geom g = make_geom(opt_, input_.shape, path_);
  if (dy.shape != std::vector<std::int64_t>{g.n, g.cout, g.ho, g.wo}) {
    throw std::invalid_argument(path_ + ": gradient shape " + shape_string(dy.shape) +
                                " does not match the output of the last forward");
  }
  detail::quantize_error(dy, ctx, path_);
  const tensor& w = used_weight_.empty() ? weight.value : used_weight_;
  const bool want_w = ctx.weight_grads;
  // The input gradient of a Winograd-eligible convolution is the same kind of convolution of dy
  // (flipped, transposed kernel); the loop below then computes only the weight gradient.
  const bool col_input_grad = need_input_grad && !use_winograd(g, ctx);
  const bool winograd_input_grad = need_input_grad && !col_input_grad;
  // dx takes dy's place when nothing reads dy afterwards: winograd_conv3x3 allows y == x (the same shape here, as
  // the output has the input's size)
  const bool in_place = winograd_input_grad && !want_w && g.c == g.cout;
  tensor dx;
  if (need_input_grad && !in_place) dx = tensor(input_.shape);
  if (winograd_input_grad) {
    const std::vector<float>& u = transformed_weights(w, true, winograd_tile(ctx));
    detail::winograd_conv3x3(dy.ptr(), g.n, g.cout, g.h, g.w, u, g.c, nullptr, in_place ? dy.ptr() : dx.ptr(),
                             winograd_tile(ctx));
  }
  if (in_place) {
    dy.shape = input_.shape;
    return dy;
  }
  std::vector<float> partial;
  if (want_w) partial.assign(static_cast<std::size_t>(g.chunks * g.cout * g.k), 0.0f);
  if (want_w || col_input_grad) {
    parallel_for(g.chunks, [&](std::int64_t c) {
      const auto [n0, ns, ld] = chunk_buffers(g, c);
      for (std::int64_t gi = 0; gi < g.groups; ++gi) {
        // Gather this group's output gradient as [og x (ns * l)].
        for (std::int64_t s = 0; s < ns; ++s) {
          for (std::int64_t o = 0; o < g.og; ++o) {
            std::memcpy(tl_tmp.data() + o * ld + s * g.l, dy.ptr() + ((n0 + s) * g.cout + gi * g.og + o) * g.l,
                        sizeof(float) * g.l);
          }
        }
        if (want_w) {
          for (std::int64_t s = 0; s < ns; ++s) {
            im2col(input_.ptr() + ((n0 + s) * g.c + gi * g.cg) * g.h * g.w, g, tl_col.data(), ld, s * g.l);
          }
          detail::sgemm(false, true, g.og, g.k, ld, 1.0f, tl_tmp.data(), ld, tl_col.data(), ld, 0.0f,
                        partial.data() + (c * g.cout + gi * g.og) * g.k, g.k);
        }
        if (col_input_grad) {
          detail::sgemm(true, false, g.k, ld, g.og, 1.0f, w.ptr() + gi * g.og * g.k, g.k, tl_tmp.data(), ld, 0.0f,
                        tl_col.data(), ld);
          for (std::int64_t s = 0; s < ns; ++s) {
            col2im(tl_col.data(), g, ld, s * g.l, dx.ptr() + ((n0 + s) * g.c + gi * g.cg) * g.h * g.w);
          }
        }
      }
    });
  }
  if (want_w) {
    weight.grad = tensor(weight.value.shape);
    float* gw = weight.grad.ptr();
    const std::int64_t per = g.cout * g.k;
    for (std::int64_t c = 0; c < g.chunks; ++c) {
      const float* p = partial.data() + c * per;
      for (std::int64_t i = 0; i < per; ++i) gw[i] += p[i];
    }
    if (opt_.bias) {
      bias.grad = tensor(bias.value.shape);
      parallel_for(g.cout, [&](std::int64_t co) {
        double sum = 0;
        for (std::int64_t n = 0; n < g.n; ++n) {
          const float* src = dy.ptr() + (n * g.cout + co) * g.l;
          for (std::int64_t i = 0; i < g.l; ++i) sum += src[i];
        }
        bias.grad.data[co] = static_cast<float>(sum);
      });
    }
    if (ctx.hook != nullptr) {
      ctx.hook->apply(quant_kind::weight_gradient, weight.name, weight.grad.data, weight.grad.shape);
    }
  }
  return dx;
}

}  // namespace fmtsim::sim
