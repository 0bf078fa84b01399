// SPDX-License-Identifier: MIT
// The table of SIMD ISAs compiled into this build (simd_table.cpp when xsimd is found, simd_none.cpp otherwise).
#pragma once

#include "simd_isa.hpp"

#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

namespace fmtsim::kernels::detail {

struct simd_isa_entry {
  std::string_view name;  // xsimd's architecture name: "avx512bw", "avx2", "sse4_2", "neon"
  std::size_t lanes;      // float32 lanes of a batch
  simd_entry entry;
  scaled_entry scaled_amax;      // per-segment amax bits (scaled.hpp)
  scaled_entry scaled_quantize;  // per-segment power-of-two scaled quantization (scaled.hpp)
  bool (*supported)();           // the CPU (and OS) can run it
};

// Compiled ISAs, best first.
std::span<const simd_isa_entry> simd_isa_table();

// The best compiled ISA this CPU can run, or null (CPUID/XGETBV are asked once: they trap in some VMs).
inline const simd_isa_entry* best_isa() {
  static const simd_isa_entry* const best = [] {
    for (const simd_isa_entry& e : simd_isa_table())
      if (e.supported()) return &e;
    return static_cast<const simd_isa_entry*>(nullptr);
  }();
  return best;
}

// The compiled ISA of this name; invalid_argument if it is not compiled in or this CPU cannot run it.
inline const simd_isa_entry& named_isa(std::string_view name) {
  for (const simd_isa_entry& e : simd_isa_table()) {
    if (e.name != name) continue;
    if (!e.supported()) throw std::invalid_argument("SIMD ISA " + std::string(name) + " is not supported by this CPU");
    return e;
  }
  throw std::invalid_argument("SIMD ISA " + std::string(name) + " is not compiled into this build of fmtsim");
}

}  // namespace fmtsim::kernels::detail
