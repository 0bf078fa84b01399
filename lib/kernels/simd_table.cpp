// SPDX-License-Identifier: MIT
// The SIMD ISAs compiled into this build and their run-time CPU/OS checks (compiled with baseline flags).
#include "simd_table.hpp"

#include <xsimd/xsimd.hpp>

#include <array>
#include <cstdint>

namespace fmtsim::kernels::detail {

namespace {

#if defined(__x86_64__)
// XCR0: which register states the OS saves (xsimd 8.1 checks CPUID only).
std::uint64_t xcr0() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  __asm__("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(1), "c"(0));
  if (((ecx >> 27) & 1u) == 0) return 0;  // no OSXSAVE
  unsigned lo = 0, hi = 0;
  __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<std::uint64_t>(hi) << 32) | lo;
}
bool os_avx() { return (xcr0() & 0x6u) == 0x6u; }
bool os_avx512() { return (xcr0() & 0xE6u) == 0xE6u; }

bool have_sse4_2() { return xsimd::available_architectures().sse4_2 != 0; }
bool have_avx2() { return xsimd::available_architectures().avx2 != 0 && os_avx(); }
bool have_avx512bw() {
  const auto a = xsimd::available_architectures();
  return a.avx512f && a.avx512cd && a.avx512dq && a.avx512bw && a.avx2 && os_avx512();
}

const std::array<simd_isa_entry, 3> table{{
    {"avx512bw", 16, &quantize_f32_avx512bw, &scaled_amax_f32_avx512bw, &scaled_quantize_f32_avx512bw, &have_avx512bw},
    {"avx2", 8, &quantize_f32_avx2, &scaled_amax_f32_avx2, &scaled_quantize_f32_avx2, &have_avx2},
    {"sse4_2", 4, &quantize_f32_sse4_2, &scaled_amax_f32_sse4_2, &scaled_quantize_f32_sse4_2, &have_sse4_2},
}};
#elif defined(__aarch64__)
bool have_neon() { return xsimd::available_architectures().neon != 0; }
const std::array<simd_isa_entry, 1> table{
    {{"neon", 4, &quantize_f32_neon, &scaled_amax_f32_neon, &scaled_quantize_f32_neon, &have_neon}}};
#else
const std::array<simd_isa_entry, 0> table{};
#endif

}  // namespace

std::span<const simd_isa_entry> simd_isa_table() { return table; }

}  // namespace fmtsim::kernels::detail
