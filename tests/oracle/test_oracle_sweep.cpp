// SPDX-License-Identifier: MIT
// Exhaustive self-tests of the oracle's float32 sweep: all 2^32 patterns per format (suite 'exhaustive').
#include "oracle.hpp"

#include <doctest/doctest.h>

#include <bit>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

using namespace fmtsim_oracle;
using C = Convention;

namespace {

bool same(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return std::bit_cast<uint64_t>(a) == std::bit_cast<uint64_t>(b);
}

// A deterministic 1-in-2^k selection of bit patterns (multiplicative hash).
bool picked(uint32_t b, int k) { return ((b * 0x9E3779B1u) >> (32 - k)) == 0; }

struct SweepStats {
  uint64_t visited = 0, order_errors = 0, monotone_errors = 0, sampled = 0, sample_errors = 0, slow_sampled = 0,
           slow_errors = 0;
  double seconds = 0;
};

// Full sweep with cheap structural checks on every pattern and exact cross-checks on samples:
// 1 in 2^sample_log2 against expected(), 1 in 2^slow_log2 against the rational transcription.
SweepStats full_sweep(const Spec& s, Mode m, int sample_log2, int slow_log2) {
  SweepStats st;
  uint64_t next_bits = 0;
  double prev = -std::numeric_limits<double>::infinity();
  const auto t0 = std::chrono::steady_clock::now();
  sweep_float32(s, m, [&](uint32_t b, float f) {
    if (b != next_bits) ++st.order_errors;
    ++next_bits;
    ++st.visited;
    const double r = static_cast<double>(f);
    if (b == 0x80000000u) prev = std::numeric_limits<double>::infinity();
    if (!std::isnan(r)) {  // positive patterns increase in value, negative ones decrease
      if (b < 0x80000000u ? r < prev : r > prev) ++st.monotone_errors;
      prev = r;
    }
    if (picked(b, sample_log2)) {
      ++st.sampled;
      if (!same(r, expected(s, static_cast<double>(std::bit_cast<float>(b)), m))) ++st.sample_errors;
    }
    if (picked(b, slow_log2)) {
      ++st.slow_sampled;
      if (!same(r, expected_rational(s, static_cast<double>(std::bit_cast<float>(b)), m))) ++st.slow_errors;
    }
  });
  st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return st;
}

void check_stats(const SweepStats& st) {
  CHECK(st.visited == (uint64_t{1} << 32));
  CHECK(st.order_errors == 0);
  CHECK(st.monotone_errors == 0);
  CHECK(st.sampled > 500000);
  CHECK(st.sample_errors == 0);
  CHECK(st.slow_sampled > 10000);
  CHECK(st.slow_errors == 0);
}

}  // namespace

TEST_CASE("full float32 sweeps agree with expected() and the rational path on samples") {
  struct Run {
    Spec s;
    Mode m;
    int sample_log2;
  };
  const Run runs[] = {
      {minifloat(4, 3, C::fn), Mode::rne, 10},  // ~4M samples against expected()
      {minifloat(5, 2, C::ieee), Mode::rne, 10}, {minifloat(4, 3, C::fn), Mode::rtz, 12},  // ~1M samples
      {minifloat(4, 3, C::fn), Mode::rup, 12},   {minifloat(4, 3, C::fn), Mode::rto, 12},
      {minifloat(5, 2, C::ieee), Mode::rdn, 12}, {minifloat(4, 3, C::fnuz), Mode::rne, 12},
      {minifloat(8, 0, C::fnu), Mode::rne, 12},  {minifloat(2, 1, C::fin), Mode::rne, 12},
      {integer(8, 0, true), Mode::rne, 12},
  };
  for (const Run& r : runs) {
    INFO(name(r.s), " ", std::string(mode_name(r.m)));
    const SweepStats st = full_sweep(r.s, r.m, r.sample_log2, 17);  // and ~32k rational samples
    MESSAGE(name(r.s), " ", std::string(mode_name(r.m)), ": full sweep with checks ", st.seconds, " s");
    check_stats(st);
  }
}

TEST_CASE("bare sweep speed") {
  uint64_t acc = 0;
  const auto t0 = std::chrono::steady_clock::now();
  sweep_float32(minifloat(4, 3, C::fn), Mode::rne, [&](uint32_t b, float f) { acc += std::bit_cast<uint32_t>(f) ^ b; });
  const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  MESSAGE("e4m3fn rne bare sweep of 2^32 patterns: ", sec, " s (checksum ", acc, ")");
  CHECK(sec < 60);
}

TEST_CASE("bfloat16 sweep equals the standard float32 bit trick on every pattern") {
  uint64_t bad = 0, n = 0;
  sweep_float32(minifloat(8, 7, C::ieee), Mode::rne, [&](uint32_t b, float f) {
    ++n;
    const float x = std::bit_cast<float>(b);
    if (std::isnan(x)) {
      if (!std::isnan(f)) ++bad;
      return;
    }
    uint32_t u = b;
    u += 0x7fffu + ((u >> 16) & 1u);  // round to nearest even at bit 16
    const float want = std::bit_cast<float>(u & 0xffff0000u);
    if (std::bit_cast<uint32_t>(want) != std::bit_cast<uint32_t>(f)) ++bad;
  });
  CHECK(n == (uint64_t{1} << 32));
  CHECK(bad == 0);
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>
// Hardware IEEE binary32 -> binary16 conversion (F16C, round to nearest even) and back.
__attribute__((target("f16c"))) static float f16c_round(float x) {
  return _cvtsh_ss(_cvtss_sh(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}
static bool cpu_has_f16c() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
  return (c & (1u << 29)) != 0 && __builtin_cpu_supports("avx");  // F16C is VEX-encoded: needs OS AVX support
}
#define ORACLE_HAVE_F16C 1
#endif

#if defined(__FLT16_MAX__) || defined(ORACLE_HAVE_F16C)
TEST_CASE("binary16 sweep equals an IEEE binary16 conversion (F16C or _Float16) on every pattern") {
  float (*ref)(float) = nullptr;
  std::string ref_name;
#if defined(ORACLE_HAVE_F16C)
  if (cpu_has_f16c()) {
    ref = f16c_round;
    ref_name = "F16C vcvtps2ph";
  }
#endif
#if defined(__FLT16_MAX__)
  if (!ref) {
    ref = [](float x) { return static_cast<float>(static_cast<_Float16>(x)); };
    ref_name = "_Float16 conversion";
  }
#endif
  if (!ref) return;  // no reference conversion on this machine: nothing to compare with
  MESSAGE("binary16 reference: ", ref_name);
  uint64_t bad = 0, n = 0;
  sweep_float32(minifloat(5, 10, C::ieee), Mode::rne, [&](uint32_t b, float f) {
    ++n;
    const float x = std::bit_cast<float>(b);
    if (std::isnan(x)) {
      if (!std::isnan(f)) ++bad;
      return;
    }
    if (std::bit_cast<uint32_t>(ref(x)) != std::bit_cast<uint32_t>(f)) ++bad;
  });
  CHECK(n == (uint64_t{1} << 32));
  CHECK(bad == 0);
}
#endif
