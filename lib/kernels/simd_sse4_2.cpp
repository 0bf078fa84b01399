// SPDX-License-Identifier: MIT
// The float32 quantize kernel instantiated for xsimd::sse4_2 (this file is compiled with -msse4.2).
#include "simd_impl.hpp"

#if !XSIMD_WITH_SSE4_2
#error "simd_sse4_2.cpp must be compiled with -msse4.2"
#endif

namespace fmtsim::kernels::detail {

void quantize_f32_sse4_2(const simd_call& c) { quantize_f32<xsimd::sse4_2>(c); }
void scaled_amax_f32_sse4_2(scaled_call& c) { scaled_amax_f32<xsimd::sse4_2>(c); }
void scaled_quantize_f32_sse4_2(scaled_call& c) { scaled_quantize_f32<xsimd::sse4_2>(c); }

}  // namespace fmtsim::kernels::detail
