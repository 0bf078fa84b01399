// SPDX-License-Identifier: MIT
// The element format descriptor: one literal type for every family, with constexpr derived limits.
#pragma once

#include <fmtsim/core/float_bits.hpp>
#include <fmtsim/core/host_device.hpp>

#include <array>
#include <cstdint>

namespace fmtsim {

enum class family : std::uint8_t { minifloat, integer, profile };

// How a minifloat uses its top codes (formats.md 1.1).
enum class convention : std::uint8_t {
  ieee,  // top exponent field: inf (mantissa 0) and NaN
  fn,    // finite: only all-ones S.1..1.1..1 is NaN
  fnuz,  // finite, no -0: 1000..0 is the only NaN, default bias 2^(E-1)
  fin,   // every code is a finite number
  fnu,   // unsigned, no zero, no subnormals, all-ones is NaN (e8m0fnu)
};

inline constexpr int max_profile_entries = 128;

// An exact dyadic number significand * 2^exponent (significand >= 0).
struct dyadic {
  std::uint64_t significand = 0;
  int exponent = 0;
  constexpr bool operator==(const dyadic&) const = default;
};

// A scalar (element) format. A structural literal type, usable as a template argument.
struct element_format {
  family kind = family::minifloat;
  convention conv = convention::ieee;
  // minifloat: exponent field width, explicit mantissa bits, exponent bias
  int exponent_bits = 8;
  int mantissa_bits = 23;
  int bias = 127;
  // integer / fixed point: total bits, fraction bits, two's complement or unsigned
  int int_bits = 0;
  int frac_bits = 0;
  bool int_signed = true;
  // binade profile: m_d for d = 0 (top binade) .. profile_len - 1; m counts the hidden bit
  int profile_len = 0;
  std::array<std::int8_t, max_profile_entries> profile{};
  // modifiers
  bool saturate = false;     // overflow gives +-max in every mode
  bool ftz = false;          // no subnormals
  bool is_unsigned = false;  // no sign bit; negative inputs give +0
  bool log_domain = false;   // profile formats: round the exponent (DeepShift) instead of the value
  // A power-of-two scale 2^scale_exp applied exactly to every value (tensor formats set it per group;
  // for profiles it is the s of formats.md 1.3).
  int scale_exp = 0;

  constexpr bool operator==(const element_format&) const = default;
};

namespace detail {

FMTSIM_HD constexpr std::uint64_t pow2u(int k) { return std::uint64_t{1} << k; }

// Exponent of the smallest normal binade of a minifloat, before scaling.
FMTSIM_HD constexpr int minifloat_emin(const element_format& f) {
  return f.conv == convention::fnu ? -f.bias : 1 - f.bias;
}

FMTSIM_HD constexpr int profile_points(const element_format& f, int d) {
  const int m = f.profile[static_cast<unsigned>(d)];
  return m >= 1 ? static_cast<int>(pow2u(m - 1)) : 0;
}

// Points strictly between 0 and the lowest profile binade (gradual underflow on the last binade's grid).
FMTSIM_HD constexpr std::uint64_t profile_underflow_points(const element_format& f) {
  const int m = f.profile[static_cast<unsigned>(f.profile_len - 1)];
  return m >= 1 ? pow2u(m - 1) - 1 : 0;
}

}  // namespace detail

// ---- sign, zero, specials ---------------------------------------------------------------------

FMTSIM_HD constexpr bool has_sign(const element_format& f) {
  if (f.kind == family::integer) return f.int_signed;
  if (f.kind == family::minifloat && f.conv == convention::fnu) return false;
  return !f.is_unsigned;
}

FMTSIM_HD constexpr bool has_inf(const element_format& f) {
  return f.kind == family::minifloat && f.conv == convention::ieee;
}

FMTSIM_HD constexpr bool has_nan(const element_format& f) {
  if (f.kind != family::minifloat) return false;
  switch (f.conv) {
    case convention::ieee:
      return f.mantissa_bits >= 1;
    case convention::fn:
      return true;
    case convention::fnuz:
      return has_sign(f);
    case convention::fin:
      return false;
    case convention::fnu:
      return true;
  }
  return false;
}

FMTSIM_HD constexpr bool has_zero(const element_format& f) {
  return !(f.kind == family::minifloat && f.conv == convention::fnu);
}

FMTSIM_HD constexpr bool has_negative_zero(const element_format& f) {
  if (!has_sign(f)) return false;
  if (f.kind == family::integer || f.kind == family::profile) return false;  // one zero (formats.md 1.2, 1.3)
  if (f.kind == family::minifloat && f.conv == convention::fnuz) return false;
  return true;
}

// ---- the rounding grid ------------------------------------------------------------------------
// For |x| in [2^e, 2^(e+1)) with e >= grid_low_exp(f) the spacing is 2^quantum_exp(f, e); below
// 2^grid_low_exp(f) it is 2^low_quantum_exp(f). Above the top binade the grid goes on with the top
// binade's spacing (the unbounded exponent range on which overflow is judged).

FMTSIM_HD constexpr int grid_low_exp(const element_format& f) {
  switch (f.kind) {
    case family::minifloat:
      return detail::minifloat_emin(f) + f.scale_exp;
    case family::integer:
      return f.scale_exp - f.frac_bits;
    case family::profile:
      return f.scale_exp - f.profile_len + 1;
  }
  return 0;
}

FMTSIM_HD constexpr int quantum_exp(const element_format& f, int e) {
  switch (f.kind) {
    case family::minifloat:
      return e - f.mantissa_bits;
    case family::integer:
      return f.scale_exp - f.frac_bits;
    case family::profile: {
      int d = f.scale_exp - e;
      if (d < 0) d = 0;
      if (d > f.profile_len - 1) d = f.profile_len - 1;
      return e - (f.profile[static_cast<unsigned>(d)] - 1);
    }
  }
  return 0;
}

FMTSIM_HD constexpr int low_quantum_exp(const element_format& f) {
  if (f.kind == family::minifloat && f.ftz) return grid_low_exp(f);  // rounds to 0 or min normal
  return quantum_exp(f, grid_low_exp(f));
}

// ---- limits -----------------------------------------------------------------------------------

// Largest finite magnitude on the positive side.
FMTSIM_HD constexpr dyadic max_finite(const element_format& f) {
  switch (f.kind) {
    case family::minifloat: {
      const int M = f.mantissa_bits;
      const int top_field = static_cast<int>(detail::pow2u(f.exponent_bits)) - 1;
      int field = top_field;
      std::uint64_t mant_max = detail::pow2u(M) - 1;  // largest mantissa in the top usable field
      switch (f.conv) {
        case convention::ieee:
          field = top_field - 1;
          break;
        case convention::fn:
        case convention::fnu:
          if (M == 0) {
            field = top_field - 1;
          } else {
            mant_max -= 1;
          }
          break;
        case convention::fnuz:
        case convention::fin:
          break;
      }
      if (field <= 0 && f.conv != convention::fnu) {
        // only subnormals below the special field (e.g. e1mM ieee)
        return dyadic{detail::pow2u(M) - 1, detail::minifloat_emin(f) - M + f.scale_exp};
      }
      return dyadic{detail::pow2u(M) + mant_max, field - f.bias - M + f.scale_exp};
    }
    case family::integer: {
      const int mag_bits = f.int_signed ? f.int_bits - 1 : f.int_bits;
      return dyadic{detail::pow2u(mag_bits) - 1, f.scale_exp - f.frac_bits};
    }
    case family::profile: {
      const int m0 = f.profile[0];
      // 2^(s+1) - 2^(s+1-m0) = (2^m0 - 1) * 2^(s+1-m0)
      return dyadic{detail::pow2u(m0) - 1, f.scale_exp + 1 - m0};
    }
  }
  return {};
}

// Largest finite magnitude on the negative side (two's complement integers reach one further).
FMTSIM_HD constexpr dyadic max_finite_negative(const element_format& f) {
  if (f.kind == family::integer && f.int_signed)
    return dyadic{detail::pow2u(f.int_bits - 1), f.scale_exp - f.frac_bits};
  return has_sign(f) ? max_finite(f) : dyadic{0, 0};
}

// Smallest positive normal (minifloats), smallest positive value of the top-precision region otherwise.
FMTSIM_HD constexpr dyadic min_normal(const element_format& f) {
  switch (f.kind) {
    case family::minifloat: {
      const dyadic mx = max_finite(f);
      if (mx.exponent + detail::bit_width64(mx.significand) - 1 < grid_low_exp(f)) return dyadic{0, 0};  // e1mM
      return dyadic{1, grid_low_exp(f)};
    }
    case family::integer:
      return dyadic{1, f.scale_exp - f.frac_bits};
    case family::profile: {
      // the lowest binade with at least one point
      int d = f.profile_len - 1;
      while (d > 0 && f.profile[static_cast<unsigned>(d)] < 1) --d;
      return dyadic{1, f.scale_exp - d};
    }
  }
  return {};
}

// Smallest positive value (subnormal where the format has them); {0,0} if there is none below min_normal.
FMTSIM_HD constexpr dyadic min_subnormal(const element_format& f) {
  switch (f.kind) {
    case family::minifloat:
      if (f.ftz || f.conv == convention::fnu || f.mantissa_bits == 0) return dyadic{0, 0};
      return dyadic{1, low_quantum_exp(f)};
    case family::integer:
      return dyadic{0, 0};
    case family::profile:
      if (detail::profile_underflow_points(f) == 0) return dyadic{0, 0};
      return dyadic{1, low_quantum_exp(f)};
  }
  return {};
}

// Most significand bits any value of the format needs (hidden bit included).
FMTSIM_HD constexpr int precision_bits(const element_format& f) {
  switch (f.kind) {
    case family::minifloat:
      return f.mantissa_bits + 1;
    case family::integer:
      return f.int_signed ? f.int_bits - 1 : f.int_bits;
    case family::profile: {
      int p = 1;
      for (int d = 0; d < f.profile_len; ++d)
        p = f.profile[static_cast<unsigned>(d)] > p ? f.profile[static_cast<unsigned>(d)] : p;
      return p;
    }
  }
  return 0;
}

// Smallest exponent of any value's least significant bit.
FMTSIM_HD constexpr int min_quantum_exp(const element_format& f) {
  int q = low_quantum_exp(f);
  if (f.kind == family::profile) {
    for (int d = 0; d < f.profile_len; ++d) {
      const int qe = quantum_exp(f, f.scale_exp - d);
      q = qe < q ? qe : q;
    }
  }
  if (f.kind == family::minifloat && f.ftz) q = grid_low_exp(f) - f.mantissa_bits;
  return q;
}

// Number of magnitude codes of a profile format (zero included).
FMTSIM_HD constexpr std::uint64_t profile_magnitudes(const element_format& f) {
  std::uint64_t n = 1 + detail::profile_underflow_points(f);
  for (int d = 0; d < f.profile_len; ++d) n += static_cast<std::uint64_t>(detail::profile_points(f, d));
  return n;
}

// Width of a code in bits.
FMTSIM_HD constexpr int code_bits(const element_format& f) {
  const int sign = has_sign(f) ? 1 : 0;
  switch (f.kind) {
    case family::minifloat:
      return sign + f.exponent_bits + f.mantissa_bits;
    case family::integer:
      return f.int_bits;
    case family::profile: {
      const std::uint64_t n = profile_magnitudes(f);
      int b = 0;
      while ((std::uint64_t{1} << b) < n) ++b;
      return sign + b;
    }
  }
  return 0;
}

// Number of codes that decode to finite numbers (+0 and -0 counted separately where both exist).
FMTSIM_HD constexpr std::uint64_t finite_values(const element_format& f) {
  const std::uint64_t signs = has_sign(f) ? 2 : 1;
  switch (f.kind) {
    case family::minifloat: {
      // with ftz the subnormal codes are not part of the value set
      const std::uint64_t total =
          (std::uint64_t{1} << code_bits(f)) - (f.ftz ? signs * (detail::pow2u(f.mantissa_bits) - 1) : 0);
      switch (f.conv) {
        case convention::ieee:
          return total - signs * detail::pow2u(f.mantissa_bits);  // inf + NaNs
        case convention::fn:
          return total - signs;
        case convention::fnuz:
          return total - (has_sign(f) ? 1 : 0);
        case convention::fin:
          return total;
        case convention::fnu:
          return total - 1;
      }
      return total;
    }
    case family::integer:
      return std::uint64_t{1} << f.int_bits;
    case family::profile:
      return signs * (profile_magnitudes(f) - 1) + 1;  // one zero
  }
  return 0;
}

// Every value of f is exactly representable in T (a precondition of quantize<T>).
template <class T>
FMTSIM_HD constexpr bool representable_in(const element_format& f) {
  using tr = float_traits<T>;
  const dyadic mx =
      max_finite_negative(f).significand > max_finite(f).significand ? max_finite_negative(f) : max_finite(f);
  const int top = mx.exponent + detail::bit_width64(mx.significand) - 1;
  return precision_bits(f) <= tr::mantissa_bits + 1 && top <= tr::emax && min_quantum_exp(f) >= tr::min_quantum_exp;
}

}  // namespace fmtsim
