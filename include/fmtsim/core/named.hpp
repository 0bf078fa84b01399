// SPDX-License-Identifier: MIT
// Named element formats as constexpr constants (usable as template arguments), pinned to spec numbers.
#pragma once

#include <fmtsim/core/format.hpp>

namespace fmtsim::formats {

constexpr element_format minifloat(int e, int m, convention c = convention::ieee) {
  element_format f;
  f.kind = family::minifloat;
  f.exponent_bits = e;
  f.mantissa_bits = m;
  f.conv = c;
  f.bias = c == convention::fnuz ? (1 << (e - 1)) : (1 << (e - 1)) - 1;
  return f;
}

constexpr element_format with_bias(element_format f, int bias) {
  f.bias = bias;
  return f;
}

constexpr element_format integer(int bits, bool is_signed = true, int frac_bits = 0) {
  element_format f;
  f.kind = family::integer;
  f.exponent_bits = 0;
  f.mantissa_bits = 0;
  f.bias = 0;
  f.int_bits = bits;
  f.int_signed = is_signed;
  f.frac_bits = frac_bits;
  return f;
}

inline constexpr element_format e5m2 = minifloat(5, 2);
inline constexpr element_format e4m3 = minifloat(4, 3);
inline constexpr element_format e3m4 = minifloat(3, 4);
inline constexpr element_format e4m3fn = minifloat(4, 3, convention::fn);
inline constexpr element_format e4m3fnuz = minifloat(4, 3, convention::fnuz);
inline constexpr element_format e5m2fnuz = minifloat(5, 2, convention::fnuz);
inline constexpr element_format e4m3b11fnuz = with_bias(minifloat(4, 3, convention::fnuz), 11);
inline constexpr element_format e8m0fnu = minifloat(8, 0, convention::fnu);
inline constexpr element_format e2m3fin = minifloat(2, 3, convention::fin);
inline constexpr element_format e3m2fin = minifloat(3, 2, convention::fin);
inline constexpr element_format e2m1fin = minifloat(2, 1, convention::fin);
inline constexpr element_format bf16 = minifloat(8, 7);
inline constexpr element_format fp16 = minifloat(5, 10);
inline constexpr element_format tf32 = minifloat(8, 10);
inline constexpr element_format fp32 = minifloat(8, 23);
inline constexpr element_format int8 = integer(8);

namespace detail {
constexpr double value(dyadic d) {
  double v = static_cast<double>(d.significand);
  for (int i = 0; i < d.exponent; ++i) v *= 2;
  for (int i = 0; i > d.exponent; --i) v /= 2;
  return v;
}
}  // namespace detail

// The spec numbers of formats.md 1.1 (and the ml_dtypes / OCP values they must equal).
static_assert(detail::value(max_finite(e4m3fn)) == 448);
static_assert(detail::value(max_finite(e5m2)) == 57344);
static_assert(detail::value(max_finite(e4m3fnuz)) == 240);
static_assert(detail::value(max_finite(e5m2fnuz)) == 57344);
static_assert(detail::value(max_finite(e4m3)) == 240);
static_assert(detail::value(max_finite(e3m4)) == 15.5);
static_assert(detail::value(max_finite(e4m3b11fnuz)) == 30);
static_assert(detail::value(max_finite(e2m3fin)) == 7.5);
static_assert(detail::value(max_finite(e3m2fin)) == 28);
static_assert(detail::value(max_finite(e2m1fin)) == 6);
static_assert(detail::value(max_finite(fp16)) == 65504);
static_assert(max_finite(e8m0fnu) == dyadic{1, 127} && min_normal(e8m0fnu) == dyadic{1, -127});
static_assert(max_finite(fp32) == dyadic{(1u << 24) - 1, 104});
static_assert(code_bits(e4m3fn) == 8 && code_bits(e2m3fin) == 6 && code_bits(e2m1fin) == 4 && code_bits(e8m0fnu) == 8);
static_assert(finite_values(e4m3fn) == 254 && finite_values(e5m2) == 248 && finite_values(e2m1fin) == 16);
static_assert(finite_values(e4m3fnuz) == 255 && finite_values(e8m0fnu) == 255);
static_assert(has_inf(e5m2) && !has_inf(e4m3fn) && has_nan(e4m3fn) && !has_nan(e2m1fin));
static_assert(!has_negative_zero(e4m3fnuz) && has_negative_zero(e4m3fn) && !has_sign(e8m0fnu));
static_assert(detail::value(max_finite(int8)) == 127 && detail::value(max_finite_negative(int8)) == 128);
static_assert(representable_in<float>(bf16) && representable_in<float>(fp32) &&
              !representable_in<float>(minifloat(8, 23, convention::fin)) &&
              representable_in<double>(minifloat(8, 23, convention::fin)));

}  // namespace fmtsim::formats
