// SPDX-License-Identifier: MIT
// The float32 quantize kernel instantiated for xsimd::avx512bw (this file is compiled with -mavx512f -mavx512cd
// -mavx512dq -mavx512bw -mavx2).
#include "simd_impl.hpp"

#if !XSIMD_WITH_AVX512BW
#error "simd_avx512bw.cpp must be compiled with -mavx512f -mavx512cd -mavx512dq -mavx512bw -mavx2"
#endif

namespace fmtsim::kernels::detail {

void quantize_f32_avx512bw(const simd_call& c) { quantize_f32<xsimd::avx512bw>(c); }
void scaled_amax_f32_avx512bw(scaled_call& c) { scaled_amax_f32<xsimd::avx512bw>(c); }
void scaled_quantize_f32_avx512bw(scaled_call& c) { scaled_quantize_f32<xsimd::avx512bw>(c); }

}  // namespace fmtsim::kernels::detail
