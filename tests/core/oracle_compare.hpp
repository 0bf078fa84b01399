// SPDX-License-Identifier: MIT
// Bit-for-bit comparison of the scalar reference with the independent oracle (shared by the unit and exhaustive
// suites).
#pragma once

#include "oracle.hpp"

#include <fmtsim/core/quantize.hpp>
#include <fmtsim/core/spec.hpp>

#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace fmtsim::test {

namespace o = fmtsim_oracle;

inline o::Spec oracle_spec(const element_format& f) {
  if (f.kind == family::integer) return o::integer(f.int_bits, f.frac_bits, f.int_signed);
  o::Convention c = o::Convention::ieee;
  switch (f.conv) {
    case convention::ieee:
      c = o::Convention::ieee;
      break;
    case convention::fn:
      c = o::Convention::fn;
      break;
    case convention::fnuz:
      c = o::Convention::fnuz;
      break;
    case convention::fin:
      c = o::Convention::fin;
      break;
    case convention::fnu:
      c = o::Convention::fnu;
      break;
  }
  o::Spec s = o::minifloat(f.exponent_bits, f.mantissa_bits, c, f.bias);
  s.sat = f.saturate;
  s.ftz = f.ftz;
  s.is_unsigned = f.is_unsigned;
  return s;
}

inline round_mode to_mode(o::Mode m) {
  switch (m) {
    case o::Mode::rne:
      return {rounding::rne, 0};
    case o::Mode::rna:
      return {rounding::rna, 0};
    case o::Mode::rtz:
      return {rounding::rtz, 0};
    case o::Mode::rup:
      return {rounding::rup, 0};
    case o::Mode::rdn:
      return {rounding::rdn, 0};
    case o::Mode::rto:
      return {rounding::rto, 0};
  }
  return {};
}

inline constexpr o::Mode all_modes[] = {o::Mode::rne, o::Mode::rna, o::Mode::rtz,
                                        o::Mode::rup, o::Mode::rdn, o::Mode::rto};

// Same value and same sign of zero; any NaN equals any NaN.
template <class T>
bool same(T a, T b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return std::bit_cast<typename float_traits<T>::bits_type>(a) == std::bit_cast<typename float_traits<T>::bits_type>(b);
}

struct mismatch_counter {
  std::size_t checked = 0, mismatches = 0;
  std::string first;
  void fail(const std::string& what) {
    if (mismatches++ == 0) first = what;
  }
};

inline std::string hex(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%a", v);
  return buf;
}

// Compare quantize<double>, quantize<float> (where the input is a float32) and encode with the oracle
// on the oracle's hard inputs, for every rounding mode. Returns the mismatch count (0 expected).
inline mismatch_counter compare_with_oracle(const std::string& spec) {
  const element_format f = parse_format(spec);
  const o::Spec os = oracle_spec(f);
  const std::vector<double> inputs = o::hard_inputs(os);
  const bool float_ok = representable_in<float>(f);
  mismatch_counter mc;
  for (o::Mode om : all_modes) {
    const round_mode mode = to_mode(om);
    for (double x : inputs) {
      const double want = o::expected(os, x, om);
      const double got = quantize<double>(f, x, mode);
      ++mc.checked;
      if (!same(got, want))
        mc.fail(spec + " " + rounding_name(mode) + " x=" + hex(x) + ": got " + hex(got) + " want " + hex(want));
      if (float_ok && (std::isnan(x) || static_cast<double>(static_cast<float>(x)) == x)) {
        const float gotf = quantize<float>(f, static_cast<float>(x), mode);
        if (!same(gotf, static_cast<float>(want)))
          mc.fail(spec + " " + rounding_name(mode) + " float x=" + hex(x) + ": got " + hex(gotf) + " want " +
                  hex(want));
      }
      const auto want_code = o::expected_code(os, x, om);
      const encode_result got_code = encode<double>(f, x, mode);
      if (want_code.has_value() != got_code.ok || (got_code.ok && *want_code != got_code.code))
        mc.fail(spec + " " + rounding_name(mode) + " encode x=" + hex(x) + ": got " +
                (got_code.ok ? std::to_string(got_code.code) : std::string("error")) + " want " +
                (want_code ? std::to_string(*want_code) : std::string("error")));
    }
  }
  // limits and counts
  const o::Props props = o::props(os);
  auto value = [](dyadic d) { return compose<double>(false, d.significand, d.exponent); };
  ++mc.checked;
  if (value(max_finite(f)) != props.max)
    mc.fail(spec + " max " + hex(value(max_finite(f))) + " want " + hex(props.max));
  if (value(min_normal(f)) != props.min_normal)
    mc.fail(spec + " min_normal " + hex(value(min_normal(f))) + " want " + hex(props.min_normal));
  if (value(min_subnormal(f)) != props.min_subnormal)
    mc.fail(spec + " min_subnormal " + hex(value(min_subnormal(f))) + " want " + hex(props.min_subnormal));
  if (finite_values(f) != props.finite_values)
    mc.fail(spec + " finite_values " + std::to_string(finite_values(f)) + " want " +
            std::to_string(props.finite_values));
  if (has_inf(f) != props.has_inf || has_nan(f) != props.has_nan) mc.fail(spec + " has_inf/has_nan");
  if (code_bits(f) != static_cast<int>(std::bit_width(o::codes(os).size() - 1)))
    mc.fail(spec + " code_bits " + std::to_string(code_bits(f)));
  // every code: decode equals the oracle's value; encode(decode(c)) == c for non-NaN codes
  for (const o::Code& c : o::codes(os)) {
    const double got = decode<double>(f, c.code);
    ++mc.checked;
    if (c.is_nan) {
      if (!std::isnan(got)) mc.fail(spec + " decode " + std::to_string(c.code) + ": want NaN");
      continue;
    }
    const double want = c.is_inf ? (c.negative ? -INFINITY : INFINITY)
                                 : (c.negative && c.value == 0 ? -0.0 : static_cast<double>(c.value));
    if (!same(got, want))
      mc.fail(spec + " decode " + std::to_string(c.code) + ": got " + hex(got) + " want " + hex(want));
    if (!c.unused) {
      const encode_result back = encode_value<double>(f, got);
      if (!back.ok || back.code != c.code)
        mc.fail(spec + " encode(decode(" + std::to_string(c.code) + ")) = " + std::to_string(back.code));
    }
  }
  return mc;
}

}  // namespace fmtsim::test
