// SPDX-License-Identifier: MIT
// Entry points of the per-ISA float32 SIMD kernels (one translation unit per ISA, each with its own -m flags).
#pragma once

#include "simd_params.hpp"

#include <fmtsim/kernels/scaled.hpp>

#include <cstddef>
#include <cstdint>

namespace fmtsim::kernels::detail {

// One single-threaded call on a contiguous run. prev is read only for hysteresis.
struct simd_call {
  const simd_params* params = nullptr;
  const float* in = nullptr;
  float* out = nullptr;
  const float* prev = nullptr;
  std::size_t n = 0;
  std::uint64_t index_base = 0;    // random stream index of in[0]
  bool stream = false;             // non-temporal stores for the output
  std::size_t prefetch_ahead = 0;  // > 0: the sweeps prefetch the input this many elements ahead into L2
};

using simd_entry = void (*)(const simd_call&);

// The scaled kernel's block mode (scaled_f32_kernel::quantize_blocks): what the caller's scale plan gives the blocks
// whose amax has one exponent field.
struct block_scale {
  const simd_params* params = nullptr;  // the element format at the blocks' scale; null: the caller takes them
  std::int32_t scale_exp = 0;
  std::uint32_t clip_pos = 0;  // statistics: a magnitude (bits) above it is clipped, per sign
  std::uint32_t clip_neg = 0;
};
struct block_job {
  std::size_t first = 0;  // element offset of block 0 (in, out and the random stream index)
  std::size_t len = 0;    // elements per block
  std::size_t count = 0;  // blocks, contiguous
  // the plan for an amax with exponent field `field` (1 .. 254), asked once per field and call
  block_scale (*resolve)(void* ctx, std::uint32_t field) = nullptr;
  void* ctx = nullptr;
  // block b's scale_exp at scale_out[b * scale_stride], or no_block_scale (left to the caller, untouched)
  std::int32_t* scale_out = nullptr;
  std::size_t scale_stride = 1;
  // results: the blocks taken and the least and greatest scale_exp among them
  std::size_t taken = 0;
  std::int32_t scale_min = INT32_MAX, scale_max = INT32_MIN;
};

// The scaled float32 kernel (tensor_quantizer's fast path, include/fmtsim/kernels/scaled.hpp): params are the
// element format at scale_exp 0; every segment is a contiguous run at its own power-of-two scale (or, with blocks,
// the block mode: equal blocks, each at the scale of its own amax).
struct scaled_call {
  const simd_params* params = nullptr;
  const float* in = nullptr;
  float* out = nullptr;  // quantize only
  const scaled_segment* segs = nullptr;
  std::size_t nsegs = 0;
  std::uint64_t index_base = 0;    // random stream index of in[0]
  std::uint32_t* amax = nullptr;   // amax only: per segment
  bool direct = false;             // quantize: params are at the segments' own scale (no exponent moves)
  bool stream = false;             // quantize, direct or blocks: non-temporal stores where the kernel can
  bool count = true;               // quantize: false lets the kernel skip clipped and flushed_to_zero (then 0)
  std::size_t prefetch_ahead = 0;  // quantize, direct: the sweeps prefetch in[i + prefetch_ahead] into L2 (0: not)
  block_job* blocks = nullptr;     // quantize: the block mode (segs unused; its results are written back)
  std::uint64_t clipped = 0;       // quantize: outputs
  std::uint64_t flushed_to_zero = 0;
};
using scaled_entry = void (*)(scaled_call&);

// Defined only in the translation units the build compiles (see lib/meson.build); the dispatcher
// (elementwise.cpp) refers to them through FMTSIM_HAVE_<ISA> macros.
void quantize_f32_sse4_2(const simd_call& c);
void quantize_f32_avx2(const simd_call& c);
void quantize_f32_avx512bw(const simd_call& c);
void quantize_f32_neon(const simd_call& c);
void scaled_amax_f32_sse4_2(scaled_call& c);
void scaled_amax_f32_avx2(scaled_call& c);
void scaled_amax_f32_avx512bw(scaled_call& c);
void scaled_amax_f32_neon(scaled_call& c);
void scaled_quantize_f32_sse4_2(scaled_call& c);
void scaled_quantize_f32_avx2(scaled_call& c);
void scaled_quantize_f32_avx512bw(scaled_call& c);
void scaled_quantize_f32_neon(scaled_call& c);

}  // namespace fmtsim::kernels::detail
