// SPDX-License-Identifier: MIT
// Exact decomposition of float32/float64 into (sign, integer significand, exponent) and back.
#pragma once

#include <fmtsim/core/host_device.hpp>

#include <bit>
#include <cstdint>
#include <limits>

namespace fmtsim {

template <class T>
struct float_traits;

template <>
struct float_traits<float> {
  using bits_type = std::uint32_t;
  static constexpr int mantissa_bits = 23;  // explicit mantissa bits
  static constexpr int exponent_bits = 8;
  static constexpr int bias = 127;
  static constexpr int emin = -126;  // exponent of the smallest normal
  static constexpr int emax = 127;
  static constexpr int min_quantum_exp = -149;  // exponent of the smallest subnormal
};

template <>
struct float_traits<double> {
  using bits_type = std::uint64_t;
  static constexpr int mantissa_bits = 52;
  static constexpr int exponent_bits = 11;
  static constexpr int bias = 1023;
  static constexpr int emin = -1022;
  static constexpr int emax = 1023;
  static constexpr int min_quantum_exp = -1074;
};

namespace detail {

FMTSIM_HD constexpr int bit_width64(std::uint64_t v) {
  int w = 0;
  while (v != 0) {
    ++w;
    v >>= 1;
  }
  return w;
}

}  // namespace detail

// |x| = significand * 2^exponent with an integer significand (hidden bit included).
struct decomposed {
  bool negative = false;
  bool is_nan = false;
  bool is_inf = false;
  bool is_zero = false;
  std::uint64_t significand = 0;
  int exponent = 0;      // exponent of the significand's least significant bit
  int top_exponent = 0;  // floor(log2|x|) for nonzero finite x
};

template <class T>
FMTSIM_HD constexpr decomposed decompose(T x) {
  using tr = float_traits<T>;
  using U = typename tr::bits_type;
  const U bits = std::bit_cast<U>(x);
  decomposed d;
  d.negative = (bits >> (tr::mantissa_bits + tr::exponent_bits)) != 0;
  const U field = (bits >> tr::mantissa_bits) & ((U{1} << tr::exponent_bits) - 1);
  const U mant = bits & ((U{1} << tr::mantissa_bits) - 1);
  const U all_ones = (U{1} << tr::exponent_bits) - 1;
  if (field == all_ones) {
    d.is_nan = mant != 0;
    d.is_inf = mant == 0;
    return d;
  }
  if (field == 0) {
    if (mant == 0) {
      d.is_zero = true;
      return d;
    }
    d.significand = mant;
    d.exponent = tr::min_quantum_exp;
  } else {
    d.significand = mant | (U{1} << tr::mantissa_bits);
    d.exponent = static_cast<int>(field) - tr::bias - tr::mantissa_bits;
  }
  d.top_exponent = d.exponent + detail::bit_width64(d.significand) - 1;
  return d;
}

// Exact value significand * 2^exponent with the given sign; the caller guarantees it is representable
// in T (normal or subnormal) or is zero.
template <class T>
FMTSIM_HD constexpr T compose(bool negative, std::uint64_t significand, int exponent) {
  using tr = float_traits<T>;
  using U = typename tr::bits_type;
  const U sign = negative ? (U{1} << (tr::mantissa_bits + tr::exponent_bits)) : U{0};
  if (significand == 0) return std::bit_cast<T>(sign);
  // normalise: drop trailing zero bits so the significand is as short as possible
  while ((significand & 1u) == 0) {
    significand >>= 1;
    ++exponent;
  }
  const int width = detail::bit_width64(significand);
  const int top = exponent + width - 1;
  if (top >= tr::emin) {
    const U mant = static_cast<U>(significand << (tr::mantissa_bits - (width - 1))) & ((U{1} << tr::mantissa_bits) - 1);
    const U field = static_cast<U>(top + tr::bias);
    return std::bit_cast<T>(static_cast<U>(sign | (field << tr::mantissa_bits) | mant));
  }
  const U mant = static_cast<U>(significand << (exponent - tr::min_quantum_exp));
  return std::bit_cast<T>(static_cast<U>(sign | mant));
}

template <class T>
FMTSIM_HD constexpr T quiet_nan(bool negative) {
  using tr = float_traits<T>;
  using U = typename tr::bits_type;
  const U sign = negative ? (U{1} << (tr::mantissa_bits + tr::exponent_bits)) : U{0};
  const U exp = ((U{1} << tr::exponent_bits) - 1) << tr::mantissa_bits;
  return std::bit_cast<T>(static_cast<U>(sign | exp | (U{1} << (tr::mantissa_bits - 1))));
}

template <class T>
FMTSIM_HD constexpr T signed_inf(bool negative) {
  using tr = float_traits<T>;
  using U = typename tr::bits_type;
  const U sign = negative ? (U{1} << (tr::mantissa_bits + tr::exponent_bits)) : U{0};
  const U exp = ((U{1} << tr::exponent_bits) - 1) << tr::mantissa_bits;
  return std::bit_cast<T>(static_cast<U>(sign | exp));
}

}  // namespace fmtsim
