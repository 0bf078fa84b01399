// SPDX-License-Identifier: MIT
// The float32 quantize kernel instantiated for xsimd::neon64 (AArch64) or xsimd::neon (32-bit ARM with NEON).
#include "simd_impl.hpp"

#if !XSIMD_WITH_NEON
#error "simd_neon.cpp must be compiled for a NEON target"
#endif

namespace fmtsim::kernels::detail {

#if XSIMD_WITH_NEON64
void quantize_f32_neon(const simd_call& c) { quantize_f32<xsimd::neon64>(c); }
#else
void quantize_f32_neon(const simd_call& c) { quantize_f32<xsimd::neon>(c); }
void scaled_amax_f32_neon(scaled_call& c) { scaled_amax_f32<xsimd::neon>(c); }
void scaled_quantize_f32_neon(scaled_call& c) { scaled_quantize_f32<xsimd::neon>(c); }
#endif

}  // namespace fmtsim::kernels::detail
