// SPDX-License-Identifier: MIT
// Backend seam for elementwise quantization: every tensor quantizer calls this for its contiguous runs.
#pragma once

#include <fmtsim/core/array.hpp>
#include <fmtsim/core/format.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace fmtsim::kernels {

enum class backend : std::uint8_t {
  automatic,  // the best available: SIMD on the CPU (CUDA only when the data lives on the device)
  scalar,     // the constexpr scalar reference, one element at a time
  simd,       // xsimd kernels, ISA picked once per call at run time
  cuda,       // cuda/ kernels (device pointers)
};

std::string_view backend_name(backend b);
std::optional<backend> parse_backend(std::string_view name);  // "auto", "scalar", "simd", "cuda"

// Elementwise quantize on the chosen backend; results are bit-identical to quantize_array (the
// scalar reference) for every format, rounding mode, seed and thread count. in and out may alias.
template <class T>
void quantize(backend b, const element_format& f, std::span<const T> in, std::span<T> out, const quantize_options& opt,
              std::span<const T> previous = {});

}  // namespace fmtsim::kernels
