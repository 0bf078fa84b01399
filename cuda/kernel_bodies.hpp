// SPDX-License-Identifier: MIT
// CUDA kernel bodies as FMTSIM_HD functions: nvcc runs them per thread, the host-emulation test loops over a simulated
// grid.
//
// The bodies only index and call the core's constexpr reference (fmtsim::quantize, decompose,
// max_finite): there is no second copy of any rounding rule. A body takes the CUDA coordinates
// (blockIdx.x, blockDim.x, threadIdx.x, gridDim.x) as arguments so that the same code runs as a
// __global__ kernel (cuda/kernels.cu) and as a plain host loop (tests/kernels/test_cuda_emulation.cpp).
#pragma once

#include <fmtsim/core/float_bits.hpp>
#include <fmtsim/core/format.hpp>
#include <fmtsim/core/host_device.hpp>
#include <fmtsim/core/quantize.hpp>
#include <fmtsim/core/rounding.hpp>

#include <cstddef>
#include <cstdint>

namespace fmtsim::cuda_kernels {

struct grid_coords {
  unsigned block_idx = 0;
  unsigned block_dim = 1;
  unsigned thread_idx = 0;
  unsigned grid_dim = 1;
};

// Arguments of the elementwise kernel (device pointers on the GPU).
struct elementwise_args {
  element_format format{};
  round_mode mode{};
  std::uint64_t seed = 0;
  std::uint64_t index_offset = 0;  // element i uses random stream index_offset + i
  const float* in = nullptr;
  float* out = nullptr;
  const float* previous = nullptr;  // hysteresis only
  std::size_t n = 0;
};

// Grid-stride loop: every thread quantizes elements i = global id, global id + grid size, ...
FMTSIM_HD inline void elementwise_body(const elementwise_args& a, grid_coords g) {
  const std::size_t stride = static_cast<std::size_t>(g.grid_dim) * g.block_dim;
  for (std::size_t i = static_cast<std::size_t>(g.block_idx) * g.block_dim + g.thread_idx; i < a.n; i += stride) {
    const element_context<float> ctx{a.seed, a.index_offset + i, a.previous ? a.previous[i] : 0.0f};
    a.out[i] = fmtsim::quantize<float>(a.format, a.in[i], a.mode, ctx);
  }
}

// Arguments of the grouped kernel: contiguous groups of `group` elements (the last may be short), each
// with a power-of-two scale from its amax by the OCP MX rule (formats.md 3, rule `floor`):
// scale_exp = floor(log2 amax) - emax_elem, clamped to [scale_min, scale_max] (E8M0: -127 .. 127).
// A group holding NaN or +-inf becomes all NaN (an MX NaN scale); amax 0 gives zeros.
struct grouped_args {
  element_format format{};  // the element format at scale_exp 0
  round_mode mode{};
  std::uint64_t seed = 0;
  std::uint64_t index_offset = 0;
  const float* in = nullptr;
  float* out = nullptr;
  std::size_t n = 0;
  std::size_t group = 32;
  int scale_min = -127;
  int scale_max = 127;
  int* scale_exp_out = nullptr;  // optional: one per group
};

// floor(log2 max_finite(f)) for f at scale 0 (e4m3fn: 8, e2m1fin: 2, int8: 6).
FMTSIM_HD constexpr int group_element_emax(const element_format& f) {
  element_format f0 = f;
  f0.scale_exp = 0;
  const dyadic m = max_finite(f0);
  return m.exponent + detail::bit_width64(m.significand) - 1;
}

// One thread per group: the amax reduction (exact, from the float bits) and the group's quantization.
FMTSIM_HD inline void grouped_body(const grouped_args& a, grid_coords g) {
  const std::size_t groups = (a.n + a.group - 1) / a.group;
  const std::size_t stride = static_cast<std::size_t>(g.grid_dim) * g.block_dim;
  for (std::size_t k = static_cast<std::size_t>(g.block_idx) * g.block_dim + g.thread_idx; k < groups; k += stride) {
    const std::size_t begin = k * a.group;
    const std::size_t end = begin + a.group < a.n ? begin + a.group : a.n;
    bool nonfinite = false;
    int top = 0;
    bool any_nonzero = false;
    for (std::size_t i = begin; i < end; ++i) {
      const decomposed d = decompose(a.in[i]);
      if (d.is_nan || d.is_inf) {
        nonfinite = true;
      } else if (!d.is_zero) {
        if (!any_nonzero || d.top_exponent > top) top = d.top_exponent;
        any_nonzero = true;
      }
    }
    element_format f = a.format;
    int s = any_nonzero ? top - group_element_emax(a.format) : 0;
    s = s < a.scale_min ? a.scale_min : (s > a.scale_max ? a.scale_max : s);
    f.scale_exp = s;
    if (a.scale_exp_out) a.scale_exp_out[k] = s;
    for (std::size_t i = begin; i < end; ++i) {
      if (nonfinite) {
        a.out[i] = quiet_nan<float>(false);
      } else {
        const element_context<float> ctx{a.seed, a.index_offset + i, 0.0f};
        a.out[i] = fmtsim::quantize<float>(f, a.in[i], a.mode, ctx);
      }
    }
  }
}

}  // namespace fmtsim::cuda_kernels
