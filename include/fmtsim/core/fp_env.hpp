// SPDX-License-Identifier: MIT
// fp_env_scope: the floating-point environment the library's results are defined in, for one scope.
//
// The quantizers are exact (formats.md) in the default environment: round to nearest even, float32 subnormals
// kept (no flush-to-zero, no denormals-are-zero), exceptions masked. A process may run with another one - PyTorch's
// torch.set_flush_denormal(True) sets FTZ and DAZ, some codes change the rounding mode - and then float arithmetic
// on subnormals or with a directed rounding would change results. The library's bulk entry points (array and tensor
// quantizers, the kernels, the thread pool's workers) hold an fp_env_scope: it switches the calling thread to the
// default environment when it differs and restores the caller's on exit. The per-element functions of
// core/quantize.hpp are inline and follow the caller's environment: wrap loops over them in an fp_env_scope when the
// process may have changed it.
#pragma once

#include <cstdint>

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif
#include <cfenv>

namespace fmtsim {

class fp_env_scope {
 public:
  fp_env_scope() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    // MXCSR: status flags 0x003f kept; 0x1f80 all exceptions masked, rounding control 0 (nearest), no FTZ (0x8000)
    // or DAZ (0x0040)
    saved_ = _mm_getcsr();
    const unsigned want = (saved_ & 0x3fu) | 0x1f80u;
    changed_ = saved_ != want;
    if (changed_) _mm_setcsr(want);
#elif defined(__aarch64__)
    // FPCR: RMode (bits 22-23) nearest, FZ (24), DN (25) and FZ16 (19) clear, trap enables (8-12, 15) clear
    std::uint64_t v;
    __asm__ volatile("mrs %0, fpcr" : "=r"(v));
    saved_ = v;
    const std::uint64_t want =
        v & ~((3ull << 22) | (1ull << 24) | (1ull << 25) | (1ull << 19) | (0x1full << 8) | (1ull << 15));
    changed_ = v != want;
    if (changed_) __asm__ volatile("msr fpcr, %0" : : "r"(want));
#else
    saved_ = static_cast<unsigned>(std::fegetround());
    changed_ = std::fegetround() != FE_TONEAREST;
    if (changed_) std::fesetround(FE_TONEAREST);
#endif
  }
  ~fp_env_scope() {
    if (!changed_) return;
#if defined(__x86_64__) || defined(__i386__)
    _mm_setcsr(static_cast<unsigned>(saved_));
#elif defined(__aarch64__)
    __asm__ volatile("msr fpcr, %0" : : "r"(saved_));
#else
    std::fesetround(static_cast<int>(saved_));
#endif
  }
  fp_env_scope(const fp_env_scope&) = delete;
  fp_env_scope& operator=(const fp_env_scope&) = delete;

 private:
#if defined(__aarch64__)
  std::uint64_t saved_ = 0;
#else
  unsigned saved_ = 0;
#endif
  bool changed_ = false;
};

}  // namespace fmtsim
