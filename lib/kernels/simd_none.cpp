// SPDX-License-Identifier: MIT
// Builds without xsimd: no SIMD ISA is compiled, the simd backend reports itself unavailable.
#include "simd_table.hpp"

namespace fmtsim::kernels::detail {

std::span<const simd_isa_entry> simd_isa_table() { return {}; }

}  // namespace fmtsim::kernels::detail
