// SPDX-License-Identifier: MIT
// A tiny C ABI over kernels::quantize for the peer comparison script (loaded with ctypes; no Python module needed).
#include <fmtsim/core/array.hpp>
#include <fmtsim/core/spec.hpp>
#include <fmtsim/kernels/elementwise.hpp>

#include <cstddef>
#include <cstdio>
#include <exception>
#include <string_view>

extern "C" {

// Quantizes n float32 values (in -> out) with the automatic backend; threads = 0 keeps the library
// default. Returns 0 on success, else prints the error to stderr and returns 1.
int fmtsim_shim_quantize_f32(const char* spec, const char* rounding, const float* in, float* out, std::size_t n,
                             unsigned threads) {
  try {
    if (threads != 0) fmtsim::kernels::set_thread_count(threads);
    const fmtsim::element_format f = fmtsim::parse_format(spec);
    fmtsim::quantize_options opt;
    const auto mode = fmtsim::parse_rounding(rounding);
    if (!mode) {
      std::fprintf(stderr, "fmtsim_shim: unknown rounding %s\n", rounding);
      return 1;
    }
    opt.mode = *mode;
    fmtsim::kernels::quantize<float>(fmtsim::kernels::backend::automatic, f, {in, n}, {out, n}, opt);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fmtsim_shim: %s\n", e.what());
    return 1;
  }
}

// The SIMD ISA the library dispatches to ("avx512bw", "avx2", ...).
const char* fmtsim_shim_isa() {
  static const std::string_view isa = fmtsim::kernels::simd_isa();
  return isa.data();
}
}
