// SPDX-License-Identifier: MIT
// The float32 quantize kernel instantiated for xsimd::avx2 (this file is compiled with -mavx2).
#include "simd_impl.hpp"

#if !XSIMD_WITH_AVX2
#error "simd_avx2.cpp must be compiled with -mavx2"
#endif

namespace fmtsim::kernels::detail {

void quantize_f32_avx2(const simd_call& c) { quantize_f32<xsimd::avx2>(c); }
void scaled_amax_f32_avx2(scaled_call& c) { scaled_amax_f32<xsimd::avx2>(c); }
void scaled_quantize_f32_avx2(scaled_call& c) { scaled_quantize_f32<xsimd::avx2>(c); }

}  // namespace fmtsim::kernels::detail
