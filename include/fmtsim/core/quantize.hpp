// SPDX-License-Identifier: MIT
// The constexpr scalar reference: decode the input exactly, round once on the format's grid, pack.
#pragma once

#include <fmtsim/core/float_bits.hpp>
#include <fmtsim/core/format.hpp>
#include <fmtsim/core/host_device.hpp>
#include <fmtsim/core/philox.hpp>
#include <fmtsim/core/rounding.hpp>

#include <cstdint>

namespace fmtsim {

// Per-element context of one quantize call: the random stream key and, for hysteresis, the
// previous quantized value.
template <class T>
struct element_context {
  std::uint64_t seed = 0;
  std::uint64_t index = 0;
  T previous = T(0);
};

namespace detail {

// a*b as a 128-bit number (hi, lo); portable (host and device), no __int128.
struct u128 {
  std::uint64_t hi, lo;
};
FMTSIM_HD constexpr u128 mul64(std::uint64_t a, std::uint64_t b) {
  const std::uint64_t a0 = a & 0xffffffffu, a1 = a >> 32, b0 = b & 0xffffffffu, b1 = b >> 32;
  const std::uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  const std::uint64_t mid = (p00 >> 32) + (p01 & 0xffffffffu) + (p10 & 0xffffffffu);
  return u128{p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32), (mid << 32) | (p00 & 0xffffffffu)};
}

// Compare a*2^ea with b*2^eb exactly (a, b > 0). Returns -1, 0, 1.
FMTSIM_HD constexpr int compare_dyadic(std::uint64_t a, int ea, std::uint64_t b, int eb) {
  const int ta = ea + bit_width64(a) - 1, tb = eb + bit_width64(b) - 1;
  if (ta != tb) return ta < tb ? -1 : 1;
  // same top bit: align the shorter significand to the longer one (both < 2^64, width diff < 64)
  if (ea > eb) {
    a <<= (ea - eb);
  } else if (eb > ea) {
    b <<= (eb - ea);
  }
  return a < b ? -1 : (a > b ? 1 : 0);
}

// Uniform integer u of `shift` bits (drawn from rng, most significant bits first) compared with r < 2^min(shift,64):
// returns u < r. Exact for any shift (draws more words only while the prefixes are equal).
FMTSIM_HD constexpr bool random_below(element_random& rng, std::uint64_t r, int shift) {
  int remaining = shift;
  while (remaining > 0) {
    const int take = remaining < 32 ? remaining : 32;
    const std::uint64_t u = rng.next32() >> (32 - take);
    const int low = remaining - take;  // bits of r below this chunk
    std::uint64_t chunk = 0;
    if (low < 64) chunk = (r >> low) & ((std::uint64_t{1} << take) - 1);
    if (u != chunk) return u < chunk;
    remaining -= take;
  }
  return false;  // u == r
}

// significand * 2^(exponent - q) for a value known to be a multiple of 2^q (exact in either direction).
FMTSIM_HD constexpr std::uint64_t units_of(std::uint64_t significand, int exponent, int q) {
  return exponent >= q ? (significand << (exponent - q)) : (significand >> (q - exponent));
}

// Magnitude rounding direction after hysteresis/sign resolution.
enum class direction : std::uint8_t { nearest_even, nearest_away, down, up, odd, stochastic, log_nearest };

struct quantized_magnitude {
  bool overflow = false;
  bool underflow_to_min = false;  // fnu: below the smallest value
  std::uint64_t n = 0;            // result = n * 2^qe
  int qe = 0;
};

}  // namespace detail

// Round |x| (given as decomposed) on the grid of f in direction dir. Does not judge overflow.
FMTSIM_HD constexpr detail::quantized_magnitude round_magnitude(const element_format& f, const decomposed& d,
                                                                detail::direction dir, int sr_bits,
                                                                element_random* rng) {
  using detail::direction;
  detail::quantized_magnitude out;
  const int low = grid_low_exp(f);
  if (f.kind == family::minifloat && f.conv == convention::fnu && d.top_exponent < low) {
    out.underflow_to_min = true;
    out.n = 1;
    out.qe = low;
    return out;
  }
  const int qe = d.top_exponent >= low ? quantum_exp(f, d.top_exponent) : low_quantum_exp(f);
  out.qe = qe;
  if (d.exponent >= qe) {  // on the grid already: keep the input's own representation
    out.n = d.significand;
    out.qe = d.exponent;
    return out;
  }
  const int shift = qe - d.exponent;
  const std::uint64_t n = shift >= 64 ? 0 : (d.significand >> shift);
  const std::uint64_t r = shift >= 64 ? d.significand : (d.significand & ((std::uint64_t{1} << shift) - 1));
  // r compared with half a quantum (2^(shift-1)); the significand is < 2^53 so shift > 64 means r < half.
  const int half_cmp =
      shift > 64 ? -1 : (r < (std::uint64_t{1} << (shift - 1)) ? -1 : (r == (std::uint64_t{1} << (shift - 1)) ? 0 : 1));
  bool up = false;
  switch (dir) {
    case direction::nearest_even:
      up = half_cmp > 0 || (half_cmp == 0 && (n & 1u) != 0);
      break;
    case direction::nearest_away:
      up = half_cmp >= 0;
      break;
    case direction::down:
      up = false;
      break;
    case direction::up:
      up = r != 0;
      break;
    case direction::odd:
      up = r != 0 && (n & 1u) == 0;
      break;
    case direction::stochastic:
      if (r != 0) {
        if (sr_bits == 0) {
          up = detail::random_below(*rng, r, shift);
        } else {
          const std::uint64_t threshold =
              shift <= sr_bits ? (r << (sr_bits - shift)) : (shift - sr_bits >= 64 ? 0 : (r >> (shift - sr_bits)));
          up = rng->leading(sr_bits) < threshold;
        }
      }
      break;
    case direction::log_nearest:
      // candidates 2^e and 2^(e+1) when the binade holds only its power of two (quantum == 2^e):
      // pick 2^(e+1) iff |x| >= 2^(e + 1/2)  <=>  sig^2 >= 2^(2w - 1) for the w-bit significand.
      if (qe == d.top_exponent && r != 0) {
        const int w = detail::bit_width64(d.significand);
        const detail::u128 sq = detail::mul64(d.significand, d.significand);
        const int p = 2 * w - 1;  // compare sq with 2^p, p <= 105
        if (p >= 64) {
          up = sq.hi >= (std::uint64_t{1} << (p - 64));
        } else {
          up = sq.hi != 0 || sq.lo >= (std::uint64_t{1} << p);
        }
      } else {
        up = half_cmp > 0 || (half_cmp == 0 && (n & 1u) != 0);
      }
      break;
  }
  out.n = n + (up ? 1u : 0u);
  return out;
}

// Quantize one value (fake quantization: the result is the format's value as T). Rules: formats.md
// section 2 and docs/formats.md. Precondition: representable_in<T>(f).
template <class T>
FMTSIM_HD constexpr T quantize(const element_format& f, T x, round_mode mode = {}, element_context<T> ctx = {}) {
  using detail::direction;
  const decomposed d = decompose(x);
  if (d.is_nan) return quiet_nan<T>(d.negative);
  const bool fnu = f.kind == family::minifloat && f.conv == convention::fnu;
  if (!has_sign(f) && (d.negative || (fnu && d.is_zero))) {
    return fnu ? quiet_nan<T>(false) : T(0);
  }
  const bool neg = d.negative;

  // the magnitude direction of this element
  rounding kind = mode.kind;
  if (kind == rounding::hys) kind = (x < ctx.previous) ? rounding::rup : rounding::rdn;
  direction dir = direction::nearest_even;
  switch (kind) {
    case rounding::rne:
      dir = f.log_domain ? direction::log_nearest : direction::nearest_even;
      break;
    case rounding::rna:
      dir = f.log_domain ? direction::log_nearest : direction::nearest_away;
      break;
    case rounding::rtz:
      dir = direction::down;
      break;
    case rounding::rup:
      dir = neg ? direction::down : direction::up;
      break;
    case rounding::rdn:
      dir = neg ? direction::up : direction::down;
      break;
    case rounding::rto:
      dir = direction::odd;
      break;
    case rounding::sr:
      dir = direction::stochastic;
      break;
    case rounding::hys:
      break;  // resolved above
  }

  const dyadic limit = neg ? max_finite_negative(f) : max_finite(f);
  // the value given on overflow (formats.md section 2)
  auto overflow_value = [&]() -> T {
    const bool to_max = f.saturate || dir == direction::down || dir == direction::odd;
    if (!to_max) {
      if (has_inf(f)) return signed_inf<T>(neg);
      if (has_nan(f)) return quiet_nan<T>(neg);
    }
    return compose<T>(neg, limit.significand, limit.exponent);
  };

  if (d.is_inf) return has_inf(f) && !f.saturate ? signed_inf<T>(neg) : overflow_value();
  if (d.is_zero) return (neg && has_negative_zero(f)) ? x : T(0);

  element_random rng(ctx.seed, ctx.index);
  const detail::quantized_magnitude q = round_magnitude(f, d, dir, mode.sr_bits, &rng);
  if (q.n == 0) return (neg && has_negative_zero(f)) ? -T(0) : T(0);
  if (detail::compare_dyadic(q.n, q.qe, limit.significand, limit.exponent) > 0) return overflow_value();
  return compose<T>(neg, q.n, q.qe);
}

// ---- encode / decode ---------------------------------------------------------------------------

// The NaN code of f (sign kept where the format has signed NaNs). Precondition: has_nan(f).
FMTSIM_HD constexpr std::uint32_t nan_code(const element_format& f, bool negative) {
  const int E = f.exponent_bits, M = f.mantissa_bits;
  const std::uint32_t sign = (has_sign(f) && negative) ? (std::uint32_t{1} << (E + M)) : 0u;
  const std::uint32_t all_exp = ((std::uint32_t{1} << E) - 1) << M;
  switch (f.conv) {
    case convention::ieee:
      return sign | all_exp | (std::uint32_t{1} << (M - 1));
    case convention::fn:
      return sign | all_exp | ((std::uint32_t{1} << M) - 1);
    case convention::fnuz:
      return std::uint32_t{1} << (E + M);
    case convention::fin:
      return 0;
    case convention::fnu:
      return (std::uint32_t{1} << (E + M)) - 1;
  }
  return 0;
}

struct encode_result {
  std::uint32_t code = 0;
  bool ok = true;  // false: NaN into a NaN-less format
};

// Code of a value v of f (v must be a value of f, as returned by quantize).
template <class T>
FMTSIM_HD constexpr encode_result encode_value(const element_format& f, T v) {
  const decomposed d = decompose(v);
  const int bits = code_bits(f);
  const std::uint32_t sign = (has_sign(f) && d.negative) ? (std::uint32_t{1} << (bits - 1)) : 0u;
  if (d.is_nan) {
    if (!has_nan(f)) return encode_result{0, false};
    return encode_result{nan_code(f, d.negative), true};
  }
  switch (f.kind) {
    case family::minifloat: {
      const int M = f.mantissa_bits;
      if (d.is_inf) return encode_result{sign | (((std::uint32_t{1} << f.exponent_bits) - 1) << M), true};
      if (d.is_zero) return encode_result{has_negative_zero(f) ? sign : 0u, true};
      const int top = d.top_exponent - f.scale_exp;
      const int emin = detail::minifloat_emin(f);
      if (top >= emin) {
        // significand at quantum 2^(top - M): k in [2^M, 2^(M+1))
        const std::uint64_t k = detail::units_of(d.significand, d.exponent, top + f.scale_exp - M);
        const std::uint32_t field = static_cast<std::uint32_t>(top + f.bias);
        return encode_result{sign | (field << M) | static_cast<std::uint32_t>(k - detail::pow2u(M)), true};
      }
      const std::uint64_t k = detail::units_of(d.significand, d.exponent, emin + f.scale_exp - M);
      return encode_result{sign | static_cast<std::uint32_t>(k), true};
    }
    case family::integer: {
      if (d.is_zero) return encode_result{0, true};
      const int q = f.scale_exp - f.frac_bits;
      const std::uint64_t k = detail::units_of(d.significand, d.exponent, q);
      const std::uint64_t mask = bits >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << bits) - 1;
      const std::uint64_t c = d.negative ? ((~k + 1) & mask) : k;
      return encode_result{static_cast<std::uint32_t>(c), true};
    }
    case family::profile: {
      if (d.is_zero) return encode_result{has_negative_zero(f) ? sign : 0u, true};
      const int low = grid_low_exp(f);
      std::uint64_t index = 0;
      if (d.top_exponent < low) {
        index = detail::units_of(d.significand, d.exponent, low_quantum_exp(f));
      } else {
        index = 1 + detail::profile_underflow_points(f);
        const int dd = f.scale_exp - d.top_exponent;  // binade of v
        for (int b = f.profile_len - 1; b > dd; --b) index += static_cast<std::uint64_t>(detail::profile_points(f, b));
        const int qe = quantum_exp(f, d.top_exponent);
        // offset within the binade: (v - 2^top) / 2^qe
        const std::uint64_t k = detail::units_of(d.significand, d.exponent, qe);
        index += k - (std::uint64_t{1} << (d.top_exponent - qe));
      }
      return encode_result{sign | static_cast<std::uint32_t>(index), true};
    }
  }
  return {};
}

// Value of code c (c < 2^code_bits(f)); NaN codes give NaN. Precondition: representable_in<T>(f).
template <class T>
FMTSIM_HD constexpr T decode(const element_format& f, std::uint32_t c) {
  const int bits = code_bits(f);
  const bool neg = has_sign(f) && ((c >> (bits - 1)) & 1u) != 0;
  const std::uint32_t mag = has_sign(f) ? (c & ((std::uint32_t{1} << (bits - 1)) - 1)) : c;
  switch (f.kind) {
    case family::minifloat: {
      const int E = f.exponent_bits, M = f.mantissa_bits;
      const std::uint32_t field = mag >> M;
      const std::uint32_t mant = mag & ((std::uint32_t{1} << M) - 1);
      const std::uint32_t top_field = (std::uint32_t{1} << E) - 1;
      switch (f.conv) {
        case convention::ieee:
          if (field == top_field) return mant == 0 ? signed_inf<T>(neg) : quiet_nan<T>(neg);
          break;
        case convention::fn:
          if (field == top_field && mant == (std::uint32_t{1} << M) - 1) return quiet_nan<T>(neg);
          break;
        case convention::fnuz:
          if (neg && mag == 0) return quiet_nan<T>(false);
          break;
        case convention::fin:
          break;
        case convention::fnu:
          if (c == (std::uint32_t{1} << bits) - 1) return quiet_nan<T>(false);
          return compose<T>(false, detail::pow2u(M) + mant, static_cast<int>(field) - f.bias - M + f.scale_exp);
      }
      if (field == 0) return compose<T>(neg, mant, detail::minifloat_emin(f) - M + f.scale_exp);
      return compose<T>(neg, detail::pow2u(M) + mant, static_cast<int>(field) - f.bias - M + f.scale_exp);
    }
    case family::integer: {
      const int q = f.scale_exp - f.frac_bits;
      if (f.int_signed && ((c >> (bits - 1)) & 1u) != 0) {
        const std::uint64_t mask = (std::uint64_t{1} << bits) - 1;
        const std::uint64_t k = (~static_cast<std::uint64_t>(c) + 1) & mask;
        return compose<T>(true, k, q);
      }
      return compose<T>(false, c, q);
    }
    case family::profile: {
      std::uint64_t index = mag;
      if (index == 0) return neg ? -T(0) : T(0);
      const std::uint64_t under = detail::profile_underflow_points(f);
      if (index <= under) return compose<T>(neg, index, low_quantum_exp(f));
      index -= 1 + under;
      for (int b = f.profile_len - 1; b >= 0; --b) {
        const std::uint64_t pts = static_cast<std::uint64_t>(detail::profile_points(f, b));
        if (index < pts) {
          const int e = f.scale_exp - b;
          const int qe = quantum_exp(f, e);
          return compose<T>(neg, (std::uint64_t{1} << (e - qe)) + index, qe);
        }
        index -= pts;
      }
      return quiet_nan<T>(neg);  // unused code (profile with fewer magnitudes than 2^bits)
    }
  }
  return T(0);
}

// Whether code c is a code of f that decodes to a value (not NaN, not an unused profile code).
FMTSIM_HD constexpr bool code_in_range(const element_format& f, std::uint64_t c) {
  const int bits = code_bits(f);
  if (c >> bits) return false;
  if (f.kind == family::profile) {
    const std::uint64_t mag = has_sign(f) ? (c & ((std::uint64_t{1} << (bits - 1)) - 1)) : c;
    if (mag == 0 && mag != c) return false;  // the would-be -0 code: profiles have one zero
    return mag < profile_magnitudes(f);
  }
  return true;
}

// quantize + encode in one step.
template <class T>
FMTSIM_HD constexpr encode_result encode(const element_format& f, T x, round_mode mode = {},
                                         element_context<T> ctx = {}) {
  return encode_value(f, quantize(f, x, mode, ctx));
}

}  // namespace fmtsim
