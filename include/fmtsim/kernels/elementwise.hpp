// SPDX-License-Identifier: MIT
// Backend seam for elementwise quantization: every tensor quantizer calls this for its contiguous runs.
#pragma once

#include <fmtsim/core/array.hpp>
#include <fmtsim/core/format.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace fmtsim::kernels {

// Outputs at least this large are written with non-temporal stores by the SIMD kernels (they do not fit in the
// cache anyway, and a streaming store saves reading each output line before it is overwritten); the elementwise
// kernels under sr, which are bound by computation, use ordinary stores (measured faster; docs/performance.md).
inline constexpr std::size_t stream_output_bytes = std::size_t{8} << 20;

enum class backend : std::uint8_t {
  automatic,  // the best available: SIMD on the CPU (CUDA only when the data lives on the device)
  scalar,     // the constexpr scalar reference, one element at a time, single-threaded
  simd,       // xsimd kernels, ISA picked once per call at run time, split over threads
  cuda,       // cuda/ kernels (device pointers)
};

std::string_view backend_name(backend b);
std::optional<backend> parse_backend(std::string_view name);  // "auto", "scalar", "simd", "cuda"

// Elementwise quantize on the chosen backend; results are bit-identical to quantize_array (the
// scalar reference) for every format, rounding mode, seed and thread count. in and out may alias.
// The simd backend vectorises float32 data; float64 data runs the scalar reference split over threads.
template <class T>
void quantize(backend b, const element_format& f, std::span<const T> in, std::span<T> out, const quantize_options& opt,
              std::span<const T> previous = {});

// ---- threads ----------------------------------------------------------------------------------
// Number of threads (the calling thread included) that the simd and automatic backends split large
// calls over. Default: the environment variable FMTSIM_THREADS if set, else
// std::thread::hardware_concurrency(). set_thread_count(0) restores the default. Results never
// depend on it (stochastic rounding is keyed by element index). Calls made concurrently from several
// user threads are not split further (the pool serves one call at a time; the others run inline).
void set_thread_count(unsigned threads);
unsigned thread_count();

// ---- SIMD instruction sets --------------------------------------------------------------------
// The ISA the simd backend runs on this machine ("avx512bw", "avx2", "sse4_2", "neon"), or "none"
// when no SIMD kernel is compiled in or the CPU supports none of them.
std::string_view simd_isa();
// Every ISA compiled into this build that this CPU (and OS) can run, best first.
std::vector<std::string_view> simd_isas();
// Every ISA compiled into this build, supported here or not.
std::vector<std::string_view> simd_isas_compiled();

// quantize on one named ISA, single-threaded (for tests and benchmarks). Throws std::invalid_argument
// if the ISA is not compiled in or not supported by this CPU. float32 only.
void quantize_simd_isa(std::string_view isa, const element_format& f, std::span<const float> in, std::span<float> out,
                       const quantize_options& opt, std::span<const float> previous = {});

}  // namespace fmtsim::kernels
