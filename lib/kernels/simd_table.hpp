// SPDX-License-Identifier: MIT
// The table of SIMD ISAs compiled into this build (simd_table.cpp when xsimd is found, simd_none.cpp otherwise).
#pragma once

#include "simd_isa.hpp"

#include <span>
#include <string_view>

namespace fmtsim::kernels::detail {

struct simd_isa_entry {
  std::string_view name;  // xsimd's architecture name: "avx512bw", "avx2", "sse4_2", "neon"
  simd_entry entry;
  scaled_entry scaled_amax;      // per-segment amax bits (scaled.hpp)
  scaled_entry scaled_quantize;  // per-segment power-of-two scaled quantization (scaled.hpp)
  bool (*supported)();           // the CPU (and OS) can run it
};

// Compiled ISAs, best first.
std::span<const simd_isa_entry> simd_isa_table();

}  // namespace fmtsim::kernels::detail
