// SPDX-License-Identifier: MIT
// Inputs and comparison helpers for the kernel tests: hard values of a format (the oracle's and every
// code's neighbourhood), float32 specials, and random data; bit-for-bit comparison with the scalar reference.
#pragma once

#include <fmtsim/core/array.hpp>
#include <fmtsim/core/quantize.hpp>
#include <fmtsim/core/spec.hpp>

#include "oracle.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace fmtsim_kernel_tests {

using fmtsim::element_format;

inline std::uint32_t bits(float v) { return std::bit_cast<std::uint32_t>(v); }

// The oracle's description of a minifloat / integer format (profiles have none).
inline std::optional<fmtsim_oracle::Spec> oracle_spec(const element_format& f) {
  using fmtsim::convention;
  using fmtsim::family;
  fmtsim_oracle::Spec s;
  if (f.kind == family::minifloat) {
    fmtsim_oracle::Convention c = fmtsim_oracle::Convention::ieee;
    switch (f.conv) {
      case convention::ieee:
        c = fmtsim_oracle::Convention::ieee;
        break;
      case convention::fn:
        c = fmtsim_oracle::Convention::fn;
        break;
      case convention::fnuz:
        c = fmtsim_oracle::Convention::fnuz;
        break;
      case convention::fin:
        c = fmtsim_oracle::Convention::fin;
        break;
      case convention::fnu:
        c = fmtsim_oracle::Convention::fnu;
        break;
    }
    if (f.exponent_bits + f.mantissa_bits > 11) return std::nullopt;  // 16-bit tables: slow; every code is used below
    s = fmtsim_oracle::minifloat(f.exponent_bits, f.mantissa_bits, c, f.bias);
  } else if (f.kind == family::integer) {
    s = fmtsim_oracle::integer(f.int_bits, f.frac_bits, f.int_signed);
  } else {
    return std::nullopt;
  }
  if (f.saturate) s = fmtsim_oracle::with_sat(s);
  if (f.ftz) s = fmtsim_oracle::with_ftz(s);
  if (f.is_unsigned) s = fmtsim_oracle::with_unsigned(s);
  return s;
}

inline void add_with_neighbours(std::vector<float>& out, double v) {
  if (!(std::fabs(v) <= std::numeric_limits<float>::max())) return;
  const float f = static_cast<float>(v);
  if (static_cast<double>(f) == v) {
    out.push_back(f);
    out.push_back(std::nextafter(f, std::numeric_limits<float>::infinity()));
    out.push_back(std::nextafter(f, -std::numeric_limits<float>::infinity()));
  } else {
    out.push_back(f);  // the nearest float, and the other bracketing one
    out.push_back(static_cast<double>(f) < v ? std::nextafter(f, std::numeric_limits<float>::infinity())
                                             : std::nextafter(f, -std::numeric_limits<float>::infinity()));
  }
}

// Hard inputs for f (with its scale_exp): the oracle's hard inputs (scale 0, then scaled exactly), and
// for formats with at most 16-bit codes every value, every midpoint and their float32 neighbours,
// both signs. Plus float32 specials, subnormals and extremes.
inline std::vector<float> hard_inputs(const element_format& f) {
  std::vector<float> out;
  const double scale = std::ldexp(1.0, f.scale_exp);
  if (auto spec = oracle_spec(f)) {
    for (double v : fmtsim_oracle::hard_inputs(*spec)) {
      if (std::isfinite(v)) {
        add_with_neighbours(out, v * scale);
      } else {
        out.push_back(static_cast<float>(v));
      }
    }
  }
  const int cb = fmtsim::code_bits(f);
  if (cb <= 16) {
    std::vector<double> values;
    for (std::uint32_t c = 0; c < (std::uint32_t{1} << cb); ++c) {
      if (!fmtsim::code_in_range(f, c)) continue;
      const double v = fmtsim::decode<double>(f, c);
      if (std::isfinite(v)) values.push_back(std::fabs(v));
    }
    std::sort(values.begin(), values.end());
    values.erase(std::unique(values.begin(), values.end()), values.end());
    for (std::size_t i = 0; i < values.size(); ++i) {
      for (double sgn : {1.0, -1.0}) {
        add_with_neighbours(out, sgn * values[i]);
        if (i + 1 < values.size()) add_with_neighbours(out, sgn * (values[i] + values[i + 1]) / 2);
      }
    }
    if (!values.empty()) {
      const double top = values.back();
      for (double k : {1.0625, 1.125, 1.5, 2.0, 4.0, 1e10}) {
        add_with_neighbours(out, top * k);
        add_with_neighbours(out, -top * k);
      }
      const double low = values.size() > 1 ? values[1] : values[0];
      for (double k : {0.5, 0.25, 0.75, 0.375, 1.0 / 1024, 1e-20}) {
        add_with_neighbours(out, low * k);
        add_with_neighbours(out, -low * k);
      }
    }
  }
  constexpr float inf = std::numeric_limits<float>::infinity();
  for (float v : {0.0f, -0.0f, inf, -inf, std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::max(),
                  std::numeric_limits<float>::min(), std::numeric_limits<float>::denorm_min(), 1.0f, 0.5f, 1.5f}) {
    out.push_back(v);
    out.push_back(-v);
  }
  for (std::uint32_t b : {0x7fc00001u, 0xffc00000u, 0x7f800001u, 0xff800123u, 0x00000001u, 0x80000003u, 0x007fffffu,
                          0x00400000u, 0x00400001u, 0x00200000u, 0x00600000u, 0x00000100u, 0x80555555u})
    out.push_back(std::bit_cast<float>(b));
  // float32 subnormals of every width, and the same scaled into the normal range
  for (int w = 1; w <= 23; ++w) {
    const std::uint32_t lead = std::uint32_t{1} << (w - 1);
    for (std::uint32_t m : {lead, lead | (lead >> 1), lead | 1u, (lead << 1) - 1})
      out.push_back(std::bit_cast<float>(m));
  }
  return out;
}

// Random float32 data: uniformly random bit patterns (all classes), N(0,1) times random powers of two
// around the format's range, and values snapped to the format's grid (so previous == value cases occur).
inline std::vector<float> random_inputs(const element_format& f, std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const fmtsim::dyadic mx = fmtsim::max_finite(f);
  const int top = mx.exponent + fmtsim::detail::bit_width64(mx.significand) - 1;
  const int low = fmtsim::grid_low_exp(f);
  std::uniform_int_distribution<int> expo(std::max(low - 30, -140), std::min(top + 4, 120));
  std::vector<float> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    switch (i % 4) {
      case 0:
        out.push_back(std::bit_cast<float>(static_cast<std::uint32_t>(rng())));
        break;
      case 1:
        out.push_back(normal(rng));
        break;
      default:
        out.push_back(std::ldexp(normal(rng), expo(rng)));
        break;
    }
  }
  return out;
}

// The first index where a and b differ bit for bit, or -1.
inline long first_difference(std::span<const float> a, std::span<const float> b) {
  for (std::size_t i = 0; i < a.size(); ++i)
    if (bits(a[i]) != bits(b[i])) return static_cast<long>(i);
  return -1;
}

inline std::string hex(float v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%a (0x%08x)", static_cast<double>(v), bits(v));
  return buf;
}

// Every element format family, convention and modifier the kernels must handle (bp:1x90,0 and bp:3,2x40,1x40,0
// have more binades than the AVX-512 shift lookup's window, simd_params::fast_windows).
inline std::vector<std::string> test_format_specs() {
  return {"e4m3fn",         "e5m2",       "e4m3",
          "e3m4",           "e4m3fnuz",   "e5m2fnuz",
          "e4m3b11fnuz",    "e8m0fnu",    "e2m3fin",
          "e3m2fin",        "e2m1fin",    "bf16",
          "fp16",           "tf32",       "fp32",
          "e5m2:sat",       "e4m3fn:sat", "e4m3:ftz",
          "e4m3fn:sat:ftz", "e3m2:u",     "e5m2:sat:u",
          "e2m0",           "e1m2",       "e1m0fin",
          "e6m1fnuz",       "e8m3",       "e7m23fin",
          "e3m10b9fn",      "int8",       "uint4",
          "int4",           "fix8.4",     "uint8",
          "int16",          "fix12.11",   "bp:5x7,4,3,2,1,0",
          "fp143",          "fp152",      "bp:7,6,5,4,3,2,1,0",
          "bp:4x15,1x7,0",  "log4",       "log4:logdomain",
          "bp:3x3,2,1",     "bp:1x90,0",  "bp:3,2x40,1x40,0"};
}

// Scales used by the scaled tensor formats (element_format::scale_exp), kept where float32 can hold the values.
inline std::vector<element_format> with_scales(const element_format& f) {
  std::vector<element_format> out;
  for (int s : {0, -7, 9, -110, 100, -140}) {
    element_format g = f;
    g.scale_exp += s;
    if (fmtsim::representable_in<float>(g)) out.push_back(g);
  }
  return out;
}

inline std::vector<std::string> test_rounding_names() {
  return {"rne", "rna", "rtz",  "rup",  "rdn",  "rto",  "sr",   "sr1",
          "sr3", "sr8", "sr23", "sr24", "sr32", "sr40", "sr64", "hys"};
}

}  // namespace fmtsim_kernel_tests
