// SPDX-License-Identifier: MIT
// The float32 scaled-block kernel behind tensor_quantizer's fast path: per-segment amax bits and quantization of
// contiguous segments, each at its own power-of-two scale, with the parameters of the element format built once.
//
// Exactness: for a format f whose values at scale_exp 0 and at scale_exp s are float32 numbers,
// Q_{f,s}(x) = 2^s * Q_{f,0}(x * 2^-s) whenever x * 2^-s is exact in float32 (scale_exp moves the whole grid,
// its limits and the random-bit comparison of stochastic rounding by s binades, and the kernel at scale 0 is
// bit-exact with the scalar reference for every float32 input). x * 2^-s is exact unless it lands in the float32
// subnormals (possible only for s > 0); those lanes are recomputed by the scalar reference at scale s. The product
// 2^s * Q_{f,0}(...) is a value of f at scale s, representable by assumption, so the multiplication is exact too.
#pragma once

#include <fmtsim/core/array.hpp>
#include <fmtsim/core/format.hpp>

#include <climits>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace fmtsim::kernels {

namespace detail {
struct simd_params;
struct simd_isa_entry;
}  // namespace detail

// A contiguous run of elements [begin, begin + len) quantized at scale 2^scale_exp.
struct scaled_segment {
  std::size_t begin = 0;
  std::size_t len = 0;
  std::int32_t scale_exp = 0;  // |scale_exp| <= 127, and the largest |x| * 2^-scale_exp of the segment is finite
  // statistics: a finite x is "clipped" iff (bits(x) & 0x7fffffff) > (x < 0 ? clip_neg : clip_pos)
  std::uint32_t clip_pos = 0x7f7fffffu;
  std::uint32_t clip_neg = 0x7f7fffffu;
};

struct scaled_counts {
  std::uint64_t clipped = 0;          // lanes above their segment's clip bits
  std::uint64_t flushed_to_zero = 0;  // x != 0 whose result is +-0
};

class scaled_f32_kernel {
 public:
  // f is taken at scale_exp 0 (its own scale_exp is ignored); isa empty = the fast-path setting (see
  // set_scaled_fast_path), else a named ISA. Throws std::invalid_argument if the format at scale 0 is not
  // float32-native, the mode is hys, or the ISA is unavailable.
  scaled_f32_kernel(const element_format& f, const quantize_options& opt, std::string_view isa = {});
  ~scaled_f32_kernel();
  scaled_f32_kernel(const scaled_f32_kernel&) = delete;
  scaled_f32_kernel& operator=(const scaled_f32_kernel&) = delete;

  const element_format& format() const;  // at scale_exp 0
  const quantize_options& options() const { return opt_; }
  std::string_view isa() const;
  // Whether this kernel serves f (at scale 0) with opt's mode and seed under the current fast-path setting.
  bool matches(const element_format& f, const quantize_options& opt) const;

  // Per segment: the largest (bits & 0x7fffffff) over the segment (> 0x7f7fffff: it holds a NaN or an inf).
  void amax_bits(const float* in, std::span<const scaled_segment> segs, std::uint32_t* amax) const;
  // out[i] = Q_{f, s}(in[i]) for every element of every segment (in == out allowed; no other overlap).
  // Stochastic rounding uses stream index index_offset + i (opt.index_offset is not used: one kernel serves
  // calls at any offset). Segments must hold finite values only.
  scaled_counts quantize(const float* in, float* out, std::span<const scaled_segment> segs,
                         std::uint64_t index_offset) const;

  // The SIMD parameters of the element format at scale_exp s (native at s), for long segments that share one
  // scale (a per-tensor group): quantize_at runs the plain kernel at that scale plus the statistics.
  struct params_deleter {
    void operator()(detail::simd_params* p) const;
  };
  using params_ptr = std::unique_ptr<detail::simd_params, params_deleter>;
  params_ptr params_at(int s) const;
  // The same parameters built once per kernel and scale and kept with it (thread-safe), or null where the format
  // is refused at s.
  const detail::simd_params* params_cached(int s) const;
  // As quantize, for segments whose scale_exp is the one `at` was built for (clip bits as there). stream: write
  // with non-temporal stores where the kernel can (outputs too large for the cache: kernels::stream_output_bytes).
  // count = false: the counts may be skipped (they are then 0 where they were). prefetch_ahead > 0: while it
  // quantizes element i of a segment the loop prefetches element i + prefetch_ahead into L2 (the caller's next
  // piece, whose amax it reads next; prefetches never fault).
  scaled_counts quantize_at(const detail::simd_params& at, const float* in, float* out,
                            std::span<const scaled_segment> segs, std::uint64_t index_offset, bool stream = false,
                            bool count = true, std::size_t prefetch_ahead = 0) const;

  // Block mode (MX and other small groups of one length): `count` contiguous blocks of `len` elements from element
  // `first` of in and out, each quantized at the scale its own amax (largest magnitude) gets from plan(field, seg),
  // field being the amax's float32 exponent field (1 .. 254): seg.scale_exp and clip bits as for quantize, true if
  // the kernel may take those blocks. The plan must depend on the amax through its field only (the floor and room
  // rules); it is asked at most once per field and call. A block the kernel does not take entirely - zero,
  // subnormal or non-finite amax, a field the plan refuses or whose scale the kernel's loop does not serve, a lane
  // outside the loop's range - is left untouched (also in place) with scale_out[b * scale_stride] = no_block_scale;
  // the others get their scale_exp there (a stride lets the caller's per-group records take them directly). Counts
  // cover the blocks taken. Stochastic rounding: stream index index_offset + i.
  static constexpr std::int32_t no_block_scale = INT32_MIN;
  // quantize_blocks' result: the counts of the blocks taken, the blocks left to the caller, and the least and greatest
  // scale_exp of those taken (scale_min > scale_max when none was)
  struct block_result {
    scaled_counts counts;
    std::size_t left = 0;
    std::int32_t scale_min = INT32_MAX, scale_max = INT32_MIN;
  };
  // Whether quantize_blocks can take blocks of len elements at all (format, mode, ISA): if not, it takes none.
  bool blocks_served(std::size_t len) const;
  block_result quantize_blocks(const float* in, float* out, std::size_t first, std::size_t len, std::size_t count,
                               const std::function<bool(std::uint32_t field, scaled_segment& seg)>& plan,
                               std::uint64_t index_offset, bool stream, std::int32_t* scale_out,
                               std::size_t scale_stride = 1) const;

 private:
  struct scale_cache;
  std::unique_ptr<detail::simd_params> params_;
  const detail::simd_isa_entry* isa_ = nullptr;
  quantize_options opt_;
  std::unique_ptr<scale_cache> scales_;
  int setting_ = -3;  // the fast-path setting it was built under (-3: an explicitly named ISA)
};

// Internal switch of tensor_quantizer's float32 fast path, for tests and benchmarks (process-wide):
// "auto" (default: the best ISA of the CPU), "off" (always the generic per-group path), or an ISA name
// ("avx512bw", "avx2", "sse4_2", "neon"; throws std::invalid_argument if unavailable).
void set_scaled_fast_path(std::string_view mode);
std::string scaled_fast_path();
// Whether the fast path is enabled (not "off", and some SIMD ISA is available).
bool scaled_fast_path_enabled();

// Number of scaled_f32_kernel::quantize calls so far in this process (lets tests check the fast path ran).
std::uint64_t scaled_kernel_calls();

// Runs task(k) for k in [0, tasks) over the library's thread pool (see set_thread_count).
void run_tasks(std::size_t tasks, const std::function<void(std::size_t)>& task);

}  // namespace fmtsim::kernels
