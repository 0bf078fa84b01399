// SPDX-License-Identifier: MIT
// Independent exact oracle for fmtsim's scalar quantizer, written from formats.md and RULES.md only.
//
// Everything is derived from the decoded value table of a format. Codes are decoded per the spec
// into exact rationals (Boost.Multiprecision cpp_rational); rounding searches the sorted table for
// the bracketing neighbours of the exact input and applies the RULES.md decision at the local
// quantum, in exact integer arithmetic (cpp_int values scaled by a power of two, so no rounding
// anywhere). A second, slower path (expected_rational) transcribes RULES.md item 2 literally in
// cpp_rational for cross-checks. Nothing here looks at fmtsim's own code (include/fmtsim, lib/).
#pragma once

#include <boost/multiprecision/cpp_int.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace fmtsim_oracle {

using boost::multiprecision::cpp_int;
using boost::multiprecision::cpp_rational;

// ---------------------------------------------------------------------------------------------
// Format description
// ---------------------------------------------------------------------------------------------

enum class Convention { ieee, fn, fnuz, fin, fnu };

struct Spec {  // one element format, described from the spec
  enum class Kind { minifloat, integer } kind = Kind::minifloat;
  int exponent_bits = 0, mantissa_bits = 0, bias = 0;  // minifloat
  Convention convention = Convention::ieee;
  bool sat = false, ftz = false, is_unsigned = false;  // modifiers (is_unsigned = `u`)
  int int_bits = 0, frac_bits = 0;                     // int<N>, uint<N>, fix<N>.<F>
  bool int_signed = true;
};

enum class Mode { rne, rna, rtz, rup, rdn, rto };

struct Code {
  uint32_t code = 0;
  bool is_nan = false, is_inf = false;
  bool negative = false;   // sign of the code (true for -0 and negative values; sign bit of NaN/inf)
  cpp_rational value = 0;  // exact value for finite codes, 0 for NaN/inf
  bool unused = false;     // `ftz`: a subnormal code, not part of the value set (never produced)
};

struct Props {
  double max = 0, min_normal = 0, min_subnormal = 0;
  uint64_t finite_values = 0;
  bool has_inf = false, has_nan = false;
};

inline int default_bias(int E, Convention c) {
  if (E < 1 || E > 30) throw std::invalid_argument("fmtsim_oracle: exponent bits out of range");
  return c == Convention::fnuz ? (1 << (E - 1)) : (1 << (E - 1)) - 1;
}

inline Spec minifloat(int E, int M, Convention c, std::optional<int> bias = {}) {
  if (E < 1 || E > 8)
    throw std::invalid_argument("fmtsim_oracle: minifloat exponent bits must be 1..8, got " + std::to_string(E));
  if (M < 0 || M > 23)
    throw std::invalid_argument("fmtsim_oracle: minifloat mantissa bits must be 0..23, got " + std::to_string(M));
  Spec s;
  s.kind = Spec::Kind::minifloat;
  s.exponent_bits = E;
  s.mantissa_bits = M;
  s.convention = c;
  s.bias = bias ? *bias : default_bias(E, c);
  if (c == Convention::fnu) s.is_unsigned = true;  // fnu is unsigned by definition
  return s;
}

inline Spec integer(int bits, int frac_bits, bool is_signed) {
  if (bits < 1 || bits > 20)
    throw std::invalid_argument("fmtsim_oracle: integer bits must be 1..20, got " + std::to_string(bits));
  if (frac_bits < 0 || frac_bits > 1000)
    throw std::invalid_argument("fmtsim_oracle: fraction bits must be 0..1000, got " + std::to_string(frac_bits));
  Spec s;
  s.kind = Spec::Kind::integer;
  s.int_bits = bits;
  s.frac_bits = frac_bits;
  s.int_signed = is_signed;
  return s;
}

inline Spec with_sat(Spec s) {
  s.sat = true;
  return s;
}
inline Spec with_ftz(Spec s) {
  s.ftz = true;
  return s;
}
inline Spec with_unsigned(Spec s) {
  s.is_unsigned = true;
  return s;
}

inline const char* mode_name(Mode m) {
  switch (m) {
    case Mode::rne:
      return "rne";
    case Mode::rna:
      return "rna";
    case Mode::rtz:
      return "rtz";
    case Mode::rup:
      return "rup";
    case Mode::rdn:
      return "rdn";
    case Mode::rto:
      return "rto";
  }
  return "?";
}

// Human-readable name in the spec's spelling (for test messages).
inline std::string name(const Spec& s) {
  std::string out;
  if (s.kind == Spec::Kind::integer) {
    if (s.frac_bits == 0)
      out = (s.int_signed ? "int" : "uint") + std::to_string(s.int_bits);
    else
      out = std::string(s.int_signed ? "fix" : "ufix") + std::to_string(s.int_bits) + "." + std::to_string(s.frac_bits);
  } else {
    out = "e" + std::to_string(s.exponent_bits) + "m" + std::to_string(s.mantissa_bits);
    if (s.exponent_bits >= 1 && s.exponent_bits <= 8 && s.bias != default_bias(s.exponent_bits, s.convention))
      out += "b" + std::to_string(s.bias);
    switch (s.convention) {
      case Convention::ieee:
        break;
      case Convention::fn:
        out += "fn";
        break;
      case Convention::fnuz:
        out += "fnuz";
        break;
      case Convention::fin:
        out += "fin";
        break;
      case Convention::fnu:
        out += "fnu";
        break;
    }
  }
  if (s.sat) out += ":sat";
  if (s.ftz) out += ":ftz";
  if (s.is_unsigned && !(s.kind == Spec::Kind::minifloat && s.convention == Convention::fnu)) out += ":u";
  return out;
}

// ---------------------------------------------------------------------------------------------
// Exact helpers
// ---------------------------------------------------------------------------------------------
namespace detail {

inline cpp_rational pow2(int k) {
  if (k >= 0) return cpp_rational(cpp_int(1) << k);
  return cpp_rational(cpp_int(1), cpp_int(1) << (-k));
}

inline cpp_int ipow2(int k) {
  if (k < 0) throw std::logic_error("fmtsim_oracle: negative integer power of two");
  return cpp_int(1) << k;
}

inline bool is_even(const cpp_int& n) { return !boost::multiprecision::bit_test(n, 0); }

inline int msb_of(const cpp_int& n) { return static_cast<int>(boost::multiprecision::msb(n)); }

// A finite double decoded from its bits: |x| = mant * 2^exp.
struct DoubleParts {
  bool negative;
  uint64_t mant;
  int exp;
};

inline DoubleParts decompose(double x) {
  const uint64_t b = std::bit_cast<uint64_t>(x);
  const int ef = static_cast<int>((b >> 52) & 0x7ff);
  const uint64_t f = b & ((uint64_t{1} << 52) - 1);
  if (ef == 0x7ff) throw std::invalid_argument("fmtsim_oracle: decompose of inf/NaN");
  return DoubleParts{(b >> 63) != 0, ef != 0 ? (f | (uint64_t{1} << 52)) : f, ef != 0 ? ef - 1075 : -1074};
}

// Exact value of a finite double.
inline cpp_rational to_rational(double x) {
  const DoubleParts p = decompose(x);
  cpp_rational r = cpp_rational(cpp_int(p.mant)) * pow2(p.exp);
  return p.negative ? cpp_rational(-r) : r;
}

// |x| * 2^S, split into its integer part X and whether a fraction remains (exact).
inline std::pair<cpp_int, bool> to_scaled(double x, int S) {
  const DoubleParts p = decompose(x);
  const int sh = p.exp + S;
  if (sh >= 0) return {cpp_int(p.mant) << sh, false};
  if (sh <= -64) return {cpp_int(0), p.mant != 0};
  const uint64_t low = p.mant & ((uint64_t{1} << -sh) - 1);
  return {cpp_int(p.mant >> -sh), low != 0};
}

// The double equal to V * 2^-S (V >= 0), if it is exactly representable.
inline std::optional<double> scaled_to_double(const cpp_int& V, int S) {
  if (V < 0) throw std::logic_error("fmtsim_oracle: scaled_to_double of a negative magnitude");
  if (V == 0) return 0.0;
  const unsigned tz = boost::multiprecision::lsb(V);
  const cpp_int W = V >> tz;
  if (boost::multiprecision::msb(W) >= 53) return std::nullopt;  // more than 53 significant bits
  const int e = static_cast<int>(tz) - S;
  if (e > 1100 || e < -1200) return std::nullopt;
  const double d = std::ldexp(static_cast<double>(W.convert_to<uint64_t>()), e);
  if (!std::isfinite(d) || d == 0) return std::nullopt;
  const auto back = to_scaled(d, S);  // verify: no bits lost in the subnormal range
  if (back.second || back.first != V) return std::nullopt;
  return d;
}

// The double equal to the rational r, if exactly representable (for the rational reference path).
inline std::optional<double> exact_double(const cpp_rational& r) {
  if (r == 0) return 0.0;
  const bool neg = r < 0;
  const cpp_rational a = neg ? cpp_rational(-r) : r;
  const cpp_int n = boost::multiprecision::numerator(a);
  const cpp_int d = boost::multiprecision::denominator(a);
  const unsigned dlog = boost::multiprecision::msb(d);
  if (d != (cpp_int(1) << dlog)) return std::nullopt;  // not a dyadic rational
  auto v = scaled_to_double(n, static_cast<int>(dlog));
  if (!v) return std::nullopt;
  return neg ? -*v : *v;
}

// ---------------------------------------------------------------------------------------------
// The decoded table of one format
// ---------------------------------------------------------------------------------------------
//
// The values are decoded per the spec as exact rationals (Code::value). Every value of a format is a
// dyadic rational; the rounding path works on the same values scaled to integers: a magnitude v is
// held as the cpp_int V = v * 2^S, with S chosen so that every value and every midpoint between
// adjacent grid points is an integer (the finest quantum of the format is 2 at this scale).

struct Table {
  Spec spec;
  unsigned bits = 0;
  bool is_int = false, is_fnu = false, has_sign_bit = false;
  bool has_inf = false, has_nan = false, has_neg_zero = false;
  int S = 0;     // scale: magnitude = V * 2^-S
  int emin = 0;  // exponent of the smallest normal (minifloats)
  std::vector<Code> codes;
  // Per result sign (0: +, 1: -): sorted distinct magnitudes (scaled) a result of that sign can have,
  // and the code of each. On side 1 the entry for magnitude 0 is the -0 code if the format has -0,
  // else the +0 code. side_used[1] is false for unsigned formats (`u`, uint, fnu).
  std::vector<cpp_int> mag[2];
  std::vector<uint32_t> mag_code[2];
  bool side_used[2] = {true, false};
  cpp_int max[2];                       // largest magnitude of each sign
  cpp_int next[2];                      // next point of the unbounded grid above max (max + quantum at max)
  std::optional<uint32_t> nan_code[2];  // canonical NaN code for an input of sign 0/1
  std::optional<uint32_t> inf_code[2];
  Props props;
};

inline void validate(const Spec& s) {
  if (s.kind == Spec::Kind::integer) {
    if (s.int_bits < 1 || s.int_bits > 20)
      throw std::invalid_argument("fmtsim_oracle: integer bits must be 1..20, got " + std::to_string(s.int_bits));
    if (s.frac_bits < 0 || s.frac_bits > 1000)
      throw std::invalid_argument("fmtsim_oracle: fraction bits must be 0..1000, got " + std::to_string(s.frac_bits));
    if (s.ftz) throw std::invalid_argument("fmtsim_oracle: `ftz` does not apply to integer formats");
    if (s.is_unsigned)
      throw std::invalid_argument(
          "fmtsim_oracle: use int_signed=false (uint<N>) instead of the `u` modifier on integers");
    return;
  }
  if (s.exponent_bits < 1 || s.exponent_bits > 8)
    throw std::invalid_argument("fmtsim_oracle: minifloat exponent bits must be 1..8, got " +
                                std::to_string(s.exponent_bits));
  if (s.mantissa_bits < 0 || s.mantissa_bits > 23)
    throw std::invalid_argument("fmtsim_oracle: minifloat mantissa bits must be 0..23, got " +
                                std::to_string(s.mantissa_bits));
  const bool sign_bit = !(s.is_unsigned || s.convention == Convention::fnu);
  const int bits = (sign_bit ? 1 : 0) + s.exponent_bits + s.mantissa_bits;
  if (bits > 20)
    throw std::invalid_argument("fmtsim_oracle: " + name(s) + " has " + std::to_string(bits) +
                                " bits; the oracle handles at most 20");
  if (s.bias < -2000 || s.bias > 2000) throw std::invalid_argument("fmtsim_oracle: bias out of range");
}

// A decoded finite value as sig * 2^exp (sig signed).
struct Dyadic {
  cpp_int sig;
  int exp;
};

inline cpp_rational dyadic_value(const Dyadic& d) {
  if (d.exp >= 0) return cpp_rational(d.sig << d.exp);
  return cpp_rational(d.sig, cpp_int(1) << (-d.exp));
}

// One minifloat code per RULES.md item 1. Returns the code's flags and, for finite codes, its value.
inline Code decode_minifloat(const Spec& s, bool sign_bit, uint32_t c, Dyadic& val) {
  const int E = s.exponent_bits, M = s.mantissa_bits;
  const uint32_t field_all = (uint32_t{1} << E) - 1, mant_all = (uint32_t{1} << M) - 1;
  const bool sgn = sign_bit && ((c >> (E + M)) & 1u) != 0;
  const uint32_t field = (c >> M) & field_all;
  const uint32_t man = c & mant_all;
  Code k;
  k.code = c;
  k.negative = sgn;
  switch (s.convention) {
    case Convention::ieee:  // top field: inf (mantissa 0) / NaN (mantissa != 0)
      if (field == field_all) (man == 0 ? k.is_inf : k.is_nan) = true;
      break;
    case Convention::fn:   // only S.1..1.1..1 is NaN
    case Convention::fnu:  // the all-ones code is NaN
      if (field == field_all && man == mant_all) k.is_nan = true;
      break;
    case Convention::fnuz:  // 1000..0 is the only NaN
      if (sgn && field == 0 && man == 0) k.is_nan = true;
      break;
    case Convention::fin:  // every code is finite
      break;
  }
  if (k.is_nan || k.is_inf) return k;
  const cpp_int one_f = cpp_int(man) + (cpp_int(1) << M);  // (1.f) * 2^M
  if (s.convention == Convention::fnu) {
    val = Dyadic{one_f, static_cast<int>(field) - s.bias - M};  // 2^(f-bias) * 1.m: no zero, no subnormals
  } else if (field == 0) {
    val = Dyadic{cpp_int(man), 1 - s.bias - M};  // 0.f * 2^(1-bias): zero and subnormals
    k.unused = s.ftz && man != 0;                // ftz: subnormal codes are not in the value set
  } else {
    val = Dyadic{one_f, static_cast<int>(field) - s.bias - M};  // 1.f * 2^(f-bias)
  }
  if (sgn) val.sig = -val.sig;
  k.value = dyadic_value(val);
  return k;
}

// RULES.md item 2: the quantum at magnitude a, where a is in [X, X+1) at scale S.
inline cpp_int quantum_scaled(const Table& t, const cpp_int& X) {
  if (t.is_int) return ipow2(t.S - t.spec.frac_bits);
  const int M = t.spec.mantissa_bits;
  const cpp_int min_normal = ipow2(t.emin + t.S);  // 2^emin at scale S
  if (X < min_normal) return t.spec.ftz ? min_normal : ipow2(t.emin - M + t.S);
  return ipow2(msb_of(X) - M);  // binade [2^e, 2^(e+1)) of a: e + S = msb(X)
}

inline std::unique_ptr<Table> build_table(const Spec& s) {
  validate(s);
  auto t = std::make_unique<Table>();
  t->spec = s;
  t->is_int = s.kind == Spec::Kind::integer;
  t->is_fnu = !t->is_int && s.convention == Convention::fnu;
  std::vector<std::optional<Dyadic>> vals;
  if (t->is_int) {
    t->has_sign_bit = s.int_signed;
    t->bits = static_cast<unsigned>(s.int_bits);
    t->S = s.frac_bits + 1;
    const uint32_t n = uint32_t{1} << t->bits;
    for (uint32_t c = 0; c < n; ++c) {
      int64_t iv = c;
      if (s.int_signed && c >= n / 2) iv = static_cast<int64_t>(c) - static_cast<int64_t>(n);  // two's complement
      Dyadic d{cpp_int(iv), -s.frac_bits};
      Code k;
      k.code = c;
      k.negative = iv < 0;
      k.value = dyadic_value(d);
      t->codes.push_back(std::move(k));
      vals.emplace_back(std::move(d));
    }
  } else {
    t->has_sign_bit = !(s.is_unsigned || t->is_fnu);
    t->bits = static_cast<unsigned>((t->has_sign_bit ? 1 : 0) + s.exponent_bits + s.mantissa_bits);
    t->emin = t->is_fnu ? -s.bias : 1 - s.bias;
    t->S = s.mantissa_bits - t->emin + 1;  // finest quantum 2^(emin-M) is 2 at this scale
    const uint32_t n = uint32_t{1} << t->bits;
    for (uint32_t c = 0; c < n; ++c) {
      Dyadic d{0, 0};
      Code k = decode_minifloat(s, t->has_sign_bit, c, d);
      const bool finite = !k.is_nan && !k.is_inf;
      t->codes.push_back(std::move(k));
      if (finite)
        vals.emplace_back(std::move(d));
      else
        vals.emplace_back(std::nullopt);
    }
  }

  // Properties and the per-sign magnitude tables.
  std::vector<std::pair<cpp_int, uint32_t>> side[2];
  std::optional<uint32_t> pos_zero, neg_zero;
  cpp_int min_normal = 0, min_sub = 0;
  Props& p = t->props;
  for (const Code& k : t->codes) {
    if (k.is_nan) {
      t->has_nan = true;
      continue;
    }
    if (k.is_inf) {
      t->has_inf = true;
      continue;
    }
    if (k.unused) continue;
    ++p.finite_values;
    const Dyadic& d = *vals[k.code];
    if (d.exp + t->S < 0) throw std::logic_error("fmtsim_oracle: value finer than the table scale");
    cpp_int V = (d.sig < 0 ? cpp_int(-d.sig) : d.sig) << (d.exp + t->S);
    if (V == 0) {
      (k.negative ? neg_zero : pos_zero) = k.code;
      continue;
    }
    const bool neg = d.sig < 0;
    if (!neg) {
      bool normal = true;
      if (!t->is_int && !t->is_fnu)
        normal = ((k.code >> s.mantissa_bits) & ((uint32_t{1} << s.exponent_bits) - 1)) != 0;
      cpp_int& slot = normal ? min_normal : min_sub;
      if (slot == 0 || V < slot) slot = V;
    }
    side[neg ? 1 : 0].emplace_back(std::move(V), k.code);
  }
  t->has_neg_zero = neg_zero.has_value();
  if (t->is_int) min_normal = ipow2(t->S - s.frac_bits);  // integers: the smallest nonzero magnitude
  t->side_used[1] = t->has_sign_bit;
  if (!t->side_used[1] && !side[1].empty())
    throw std::logic_error("fmtsim_oracle: negative values in an unsigned format");
  if (!t->is_int && side[0].empty())
    throw std::invalid_argument("fmtsim_oracle: " + name(s) + " has no nonzero finite value");
  for (int sd = 0; sd < 2; ++sd) {
    auto& v = side[sd];
    std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (size_t i = 1; i < v.size(); ++i)
      if (v[i].first == v[i - 1].first)
        throw std::logic_error("fmtsim_oracle: two codes with the same nonzero value in " + name(s));
    const std::optional<uint32_t> zero = (sd == 1 && neg_zero) ? neg_zero : pos_zero;
    if (zero) {
      t->mag[sd].push_back(0);
      t->mag_code[sd].push_back(*zero);
    }
    for (auto& [a, c] : v) {
      t->mag[sd].push_back(a);
      t->mag_code[sd].push_back(c);
    }
  }
  for (int sd = 0; sd < 2; ++sd) {
    if (sd == 1 && !t->side_used[1]) {  // never used for results; keep the positive side's limits
      t->max[1] = t->max[0];
      t->next[1] = t->next[0];
      continue;
    }
    if (t->mag[sd].empty()) throw std::logic_error("fmtsim_oracle: empty value set");
    t->max[sd] = t->mag[sd].back();
    t->next[sd] = t->max[sd] + quantum_scaled(*t, t->max[sd]);
  }
  // Every value and the grid point above max must be exact doubles (then results are exact doubles).
  for (int sd = 0; sd < 2; ++sd) {
    for (const auto& V : t->mag[sd])
      if (!scaled_to_double(V, t->S))
        throw std::invalid_argument("fmtsim_oracle: a value of " + name(s) +
                                    " is not exactly representable as a double");
    if (!scaled_to_double(t->next[sd], t->S))
      throw std::invalid_argument("fmtsim_oracle: the grid point above max of " + name(s) + " is not an exact double");
  }
  p.max = *scaled_to_double(t->max[0], t->S);
  p.min_normal = *scaled_to_double(min_normal, t->S);
  p.min_subnormal = *scaled_to_double(min_sub, t->S);
  p.has_inf = t->has_inf;
  p.has_nan = t->has_nan;

  // Canonical special codes (task brief: ieee sign kept, exponent all ones, mantissa MSB only;
  // fn sign kept, all ones; fnuz 0x80 pattern; fnu all ones).
  if (!t->is_int) {
    const int E = s.exponent_bits, M = s.mantissa_bits;
    const uint32_t sign_mask = t->has_sign_bit ? (uint32_t{1} << (E + M)) : 0;
    const uint32_t field_all = ((uint32_t{1} << E) - 1) << M;
    const uint32_t all_ones = (uint32_t{1} << (E + M)) - 1;
    for (int sd = 0; sd < 2; ++sd) {
      const uint32_t sg = sd == 1 ? sign_mask : 0;
      switch (s.convention) {
        case Convention::ieee:
          t->inf_code[sd] = sg | field_all;
          if (M >= 1) t->nan_code[sd] = sg | field_all | (uint32_t{1} << (M - 1));
          break;
        case Convention::fn:
          t->nan_code[sd] = sg | all_ones;
          break;
        case Convention::fnuz:
          if (t->has_sign_bit) t->nan_code[sd] = sign_mask;
          break;
        case Convention::fin:
          break;
        case Convention::fnu:
          t->nan_code[sd] = all_ones;
          break;
      }
      if (t->nan_code[sd] && !t->codes.at(*t->nan_code[sd]).is_nan)
        throw std::logic_error("fmtsim_oracle: canonical NaN code does not decode as NaN in " + name(s));
      if (t->inf_code[sd] && !t->codes.at(*t->inf_code[sd]).is_inf)
        throw std::logic_error("fmtsim_oracle: canonical inf code does not decode as inf in " + name(s));
    }
    if (t->has_nan != t->nan_code[0].has_value() || t->has_inf != t->inf_code[0].has_value())
      throw std::logic_error("fmtsim_oracle: special code bookkeeping is inconsistent for " + name(s));
  }
  return t;
}

using SpecKey = std::tuple<int, int, int, int, int, bool, bool, bool, int, int, bool>;

inline SpecKey key_of(const Spec& s) {
  return SpecKey{static_cast<int>(s.kind),
                 s.exponent_bits,
                 s.mantissa_bits,
                 s.bias,
                 static_cast<int>(s.convention),
                 s.sat,
                 s.ftz,
                 s.is_unsigned,
                 s.int_bits,
                 s.frac_bits,
                 s.int_signed};
}

inline const Table& table_for(const Spec& s) {
  static std::mutex mu;
  static std::map<SpecKey, std::unique_ptr<Table>> cache;
  const SpecKey key = key_of(s);
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache.find(key);
    if (it != cache.end()) return *it->second;
  }
  auto built = build_table(s);  // outside the lock: big tables take a moment
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.emplace(key, std::move(built)).first;  // keeps the first one if another thread won
  return *it->second;
}

// ---------------------------------------------------------------------------------------------
// Rounding (table search at scale S)
// ---------------------------------------------------------------------------------------------

struct Result {
  enum class Kind { finite, inf, nan } kind = Kind::finite;
  bool negative = false;  // sign of the result (NaN: sign of the input)
  cpp_int magnitude = 0;  // scaled by 2^S
};

// RULES.md item 3 (and item 4 for inf inputs): what an overflow becomes.
enum class Overflow { to_max, to_inf, to_nan };

inline Overflow overflow_kind(const Spec& s, bool has_inf, bool has_nan, bool neg, Mode mode) {
  if (s.sat) return Overflow::to_max;
  const Overflow big = has_inf ? Overflow::to_inf : has_nan ? Overflow::to_nan : Overflow::to_max;
  switch (mode) {
    case Mode::rne:
    case Mode::rna:
      return big;
    case Mode::rtz:
    case Mode::rto:
      return Overflow::to_max;
    case Mode::rup:
      return neg ? Overflow::to_max : big;
    case Mode::rdn:
      return neg ? big : Overflow::to_max;
  }
  throw std::logic_error("fmtsim_oracle: bad mode");
}

// A finite result of magnitude v for an input of sign neg (zero sign per the format).
inline Result make_finite(const Table& t, bool neg, const cpp_int& v) {
  const bool n = neg && t.side_used[1] && (v != 0 || t.has_neg_zero);
  return Result{Result::Kind::finite, n, v};
}

inline Result overflow(const Table& t, bool neg, Mode mode) {
  switch (overflow_kind(t.spec, t.has_inf, t.has_nan, neg, mode)) {
    case Overflow::to_inf:
      return Result{Result::Kind::inf, neg, 0};
    case Overflow::to_nan:
      return Result{Result::Kind::nan, neg, 0};
    case Overflow::to_max:
      break;
  }
  return make_finite(t, neg, t.max[neg ? 1 : 0]);
}

// Round a finite input of sign neg whose scaled magnitude a lies in [X, X+1): a == X if !frac,
// else X < a < X+1.
inline Result round_scaled(const Table& t, bool neg, const cpp_int& X, bool frac, Mode mode) {
  if (neg && !t.side_used[1]) {                              // unsigned formats (RULES.md item 4)
    if (t.is_fnu) return Result{Result::Kind::nan, neg, 0};  // fnu: negative inputs and -0 give NaN
    return make_finite(t, false, 0);                         // `u`, uint: negative inputs and -0 give +0
  }
  const int sd = neg ? 1 : 0;
  const std::vector<cpp_int>& m = t.mag[sd];
  if (t.is_fnu) {
    if (X == 0 && !frac) return Result{Result::Kind::nan, neg, 0};  // fnu has no zero
    if (X < m.front()) return make_finite(t, neg, m.front());       // below 2^-bias: the smallest value
  }
  if (X >= t.next[sd]) return overflow(t, neg, mode);  // a >= next: rounds to a grid point above max
  // bracketing neighbours lo <= a < hi in the table (hi = next above max)
  const auto it = std::upper_bound(m.begin(), m.end(), X);  // first value > X
  if (it == m.begin()) throw std::logic_error("fmtsim_oracle: input below the smallest value");
  const cpp_int& lo = *(it - 1);
  if (lo == X && !frac) return make_finite(t, neg, lo);  // exact: every mode keeps it
  const cpp_int& hi = it == m.end() ? t.next[sd] : *it;
  // the local quantum (RULES.md item 2) and the integer significand n of lo at that quantum
  const cpp_int q = quantum_scaled(t, X);
  if (hi - lo != q || lo % q != 0)
    throw std::logic_error("fmtsim_oracle: table neighbours disagree with the RULES.md grid in " + name(t.spec));
  const cpp_int n = lo / q;
  const cpp_int mid = (lo + hi) / 2;                           // exact: q is even at scale S
  const int cmp = X < mid ? -1 : (X == mid && !frac) ? 0 : 1;  // sign of (a - mid)
  bool up = false;                                             // true: take the larger magnitude hi
  switch (mode) {
    case Mode::rne:
      up = cmp > 0 || (cmp == 0 && !is_even(n));
      break;
    case Mode::rna:
      up = cmp >= 0;
      break;
    case Mode::rtz:
      up = false;
      break;
    case Mode::rup:
      up = !neg;
      break;  // toward +inf: magnitude up for positive, down for negative
    case Mode::rdn:
      up = neg;
      break;
    case Mode::rto:
      up = is_even(n);
      break;  // the odd one of n, n+1
  }
  if (up && it == m.end()) return overflow(t, neg, mode);  // hi is the grid point above max
  return make_finite(t, neg, up ? hi : lo);
}

inline Result round_double(const Table& t, double x, Mode mode) {
  if (std::isnan(x)) return Result{Result::Kind::nan, std::signbit(x), 0};
  const bool neg = std::signbit(x);
  if (std::isinf(x)) {
    if (neg && !t.side_used[1]) return round_scaled(t, true, 1, false, mode);  // unsigned: a negative input
    if (t.has_inf && !t.spec.sat) return Result{Result::Kind::inf, neg, 0};
    return overflow(t, neg, mode);
  }
  const auto [X, frac] = to_scaled(x, t.S);
  return round_scaled(t, neg, X, frac, mode);
}

inline double result_to_double(const Table& t, const Result& r) {
  switch (r.kind) {
    case Result::Kind::nan:
      return std::numeric_limits<double>::quiet_NaN();
    case Result::Kind::inf:
      return r.negative ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
    case Result::Kind::finite:
      break;
  }
  const auto v = scaled_to_double(r.magnitude, t.S);
  if (!v) throw std::logic_error("fmtsim_oracle: result is not an exact double");
  return r.negative ? -*v : *v;
}

inline std::optional<uint32_t> result_code(const Table& t, const Result& r) {
  const int sd = r.negative ? 1 : 0;
  switch (r.kind) {
    case Result::Kind::nan:
      return t.nan_code[sd];
    case Result::Kind::inf:
      if (!t.inf_code[sd]) throw std::logic_error("fmtsim_oracle: inf result in a format without inf");
      return t.inf_code[sd];
    case Result::Kind::finite:
      break;
  }
  const auto& m = t.mag[sd];
  const auto it = std::lower_bound(m.begin(), m.end(), r.magnitude);
  if (it == m.end() || *it != r.magnitude) throw std::logic_error("fmtsim_oracle: result is not a format value");
  return t.mag_code[sd][static_cast<size_t>(it - m.begin())];
}

// ---------------------------------------------------------------------------------------------
// Second, slower derivation: RULES.md item 2 transcribed literally in cpp_rational (the unbounded
// grid n*q, no table search), then checked to land on a table value. Used by the self-tests to
// cross-check the table search above.
// ---------------------------------------------------------------------------------------------

struct RationalTable {
  std::vector<cpp_rational> mag[2];  // sorted magnitudes per result sign (side 1 empty if unsigned)
  cpp_rational max[2];
};

inline const RationalTable& rational_table_for(const Spec& s) {
  static std::mutex mu;
  static std::map<SpecKey, std::unique_ptr<RationalTable>> cache;
  const Table& t = table_for(s);
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(key_of(s));
  if (it != cache.end()) return *it->second;
  auto rt = std::make_unique<RationalTable>();
  for (const Code& k : t.codes) {
    if (k.is_nan || k.is_inf || k.unused) continue;
    const bool neg = k.value < 0;
    rt->mag[neg ? 1 : 0].push_back(neg ? cpp_rational(-k.value) : k.value);
    if (k.value == 0 && t.side_used[1]) rt->mag[1].push_back(0);
  }
  for (int sd = 0; sd < 2; ++sd) {
    auto& v = rt->mag[sd];
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    if (!v.empty()) rt->max[sd] = v.back();
  }
  return *cache.emplace(key_of(s), std::move(rt)).first->second;
}

inline cpp_rational quantum_rational(const Spec& s, int emin, const cpp_rational& a) {
  if (s.kind == Spec::Kind::integer) return pow2(-s.frac_bits);  // q = 2^-F everywhere
  const int M = s.mantissa_bits;
  if (a < pow2(emin)) return s.ftz ? pow2(emin) : pow2(emin - M);  // below the smallest normal
  // e = floor(log2 a), found by comparison
  const cpp_int num = boost::multiprecision::numerator(a), den = boost::multiprecision::denominator(a);
  int e = msb_of(num) - msb_of(den);  // floor(log2 a) is e or e-1
  if (a < pow2(e)) --e;
  return pow2(e - M);
}

// Returns the expected result as a double (same contract as expected()).
inline double round_rational(const Spec& s, double x, Mode mode) {
  const Table& t = table_for(s);
  const RationalTable& rt = rational_table_for(s);
  constexpr double inf = std::numeric_limits<double>::infinity();
  constexpr double nan = std::numeric_limits<double>::quiet_NaN();
  if (std::isnan(x)) return nan;
  const bool neg = std::signbit(x);
  auto finite = [&](const cpp_rational& v) -> double {
    const auto d = exact_double(v);
    if (!d) throw std::logic_error("fmtsim_oracle: rational result is not an exact double");
    const bool n = neg && t.side_used[1] && (v != 0 || t.has_neg_zero);
    return n ? -*d : *d;
  };
  auto ovf = [&]() -> double {
    switch (overflow_kind(s, t.has_inf, t.has_nan, neg, mode)) {
      case Overflow::to_inf:
        return neg ? -inf : inf;
      case Overflow::to_nan:
        return nan;
      case Overflow::to_max:
        break;
    }
    return finite(rt.max[neg ? 1 : 0]);
  };
  if (neg && !t.side_used[1]) return t.is_fnu ? nan : 0.0;  // unsigned: negative inputs
  if (std::isinf(x)) return (t.has_inf && !s.sat) ? x : ovf();
  const int sd = neg ? 1 : 0;
  const cpp_rational a = neg ? cpp_rational(-to_rational(x)) : to_rational(x);
  if (t.is_fnu) {
    if (a == 0) return nan;
    if (a < rt.mag[0].front()) return finite(rt.mag[0].front());
  }
  const cpp_rational q = quantum_rational(s, t.emin, a);
  const cpp_rational aq = a / q;
  const cpp_int n = boost::multiprecision::numerator(aq) / boost::multiprecision::denominator(aq);  // floor
  const cpp_rational r = a - cpp_rational(n) * q;
  cpp_rational v;
  if (r == 0) {
    v = a;
  } else {
    bool up = false;
    const cpp_rational half = q / 2;
    switch (mode) {
      case Mode::rne:
        up = r > half || (r == half && !is_even(n));
        break;
      case Mode::rna:
        up = r >= half;
        break;
      case Mode::rtz:
        up = false;
        break;
      case Mode::rup:
        up = !neg;
        break;
      case Mode::rdn:
        up = neg;
        break;
      case Mode::rto:
        up = is_even(n);
        break;
    }
    v = cpp_rational(up ? n + 1 : n) * q;
  }
  if (v > rt.max[sd]) return ovf();
  if (!std::binary_search(rt.mag[sd].begin(), rt.mag[sd].end(), v))
    throw std::logic_error("fmtsim_oracle: the RULES.md grid point is not a value of " + name(s));
  return finite(v);
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

// Every code of the format (2^bits entries; bits <= 20).
inline std::vector<Code> codes(const Spec& s) { return detail::table_for(s).codes; }

// Expected quantize() result for the exact double x (NaN for NaN, +-inf, -0.0 for negative zero).
inline double expected(const Spec& s, double x, Mode mode) {
  const detail::Table& t = detail::table_for(s);
  return detail::result_to_double(t, detail::round_double(t, x, mode));
}

// The same contract as expected(), computed by the slow literal cpp_rational transcription of
// RULES.md (grid n*q, no table search). For cross-checking; about 20 us per call.
inline double expected_rational(const Spec& s, double x, Mode mode) { return detail::round_rational(s, x, mode); }

inline Props props(const Spec& s) { return detail::table_for(s).props; }

// The code fmtsim must produce when encoding x; nullopt for NaN into a NaN-less format.
inline std::optional<uint32_t> expected_code(const Spec& s, double x, Mode mode) {
  const detail::Table& t = detail::table_for(s);
  return detail::result_code(t, detail::round_double(t, x, mode));
}

// ---------------------------------------------------------------------------------------------
// Hard inputs
// ---------------------------------------------------------------------------------------------

inline std::vector<double> hard_inputs(const Spec& s) {
  const detail::Table& t = detail::table_for(s);
  constexpr double dinf = std::numeric_limits<double>::infinity();
  constexpr float finf = std::numeric_limits<float>::infinity();
  std::vector<double> base;  // positive magnitudes
  auto add = [&](const cpp_int& V) {
    if (V <= 0) return;
    if (auto d = detail::scaled_to_double(V, t.S + 1)) base.push_back(*d);  // V is at scale S+1
  };
  for (int sd = 0; sd < 2; ++sd) {
    if (!t.side_used[sd]) continue;
    const std::vector<cpp_int>& m = t.mag[sd];
    std::vector<cpp_int> pts;
    if (m.front() != 0) pts.push_back(0);  // fnu: the gap between 0 and the smallest value
    pts.insert(pts.end(), m.begin(), m.end());
    const cpp_int q_top = t.next[sd] - t.max[sd];
    pts.push_back(t.next[sd]);          // the grid point above max
    pts.push_back(t.next[sd] + q_top);  // and one more
    for (size_t i = 0; i < pts.size(); ++i) {
      add(pts[i] << 1);  // every value (adds are at scale S+1 so that midpoints are integers)
      if (i + 1 < pts.size()) add(pts[i] + pts[i + 1]);
    }
    add(t.next[sd] << 2);
    add(t.next[sd] << 3);
  }
  // tiny values below the smallest nonzero value of each side (int1 has no positive value)
  for (int sd = 0; sd < 2; ++sd) {
    if (!t.side_used[sd]) continue;
    for (const cpp_int& smallest : t.mag[sd]) {
      if (smallest == 0) continue;
      for (int k = 2; k <= 4; ++k)
        if (auto d = detail::scaled_to_double(smallest, t.S + k)) base.push_back(*d);  // smallest / 2^k, if exact
      break;
    }
  }

  // fixed extremes and a spread of float32 subnormals
  base.push_back(std::numeric_limits<double>::denorm_min());
  base.push_back(std::numeric_limits<double>::min());
  base.push_back(std::numeric_limits<double>::max());
  base.push_back(static_cast<double>(std::numeric_limits<float>::min()));
  base.push_back(static_cast<double>(std::numeric_limits<float>::max()));
  base.push_back(std::ldexp(1.0, 127));
  base.push_back(std::ldexp(1.0, 128));
  base.push_back(std::ldexp(1.0, -126));
  base.push_back(std::ldexp(1.0, -127));
  base.push_back(std::ldexp(1.0, -128));
  for (uint32_t pat : {0x1u, 0x2u, 0x3u, 0x10u, 0x100u, 0x1000u, 0x10000u, 0x100000u, 0x200000u, 0x400000u, 0x400001u,
                       0x7fffffu, 0x555555u, 0x2aaaaau, 0x123456u})
    base.push_back(static_cast<double>(std::bit_cast<float>(pat)));

  std::vector<double> out;
  out.reserve(base.size() * 5 * 2 + 8);
  for (double p : base) {
    if (!(p > 0) || !std::isfinite(p)) continue;
    out.push_back(p);
    out.push_back(std::nextafter(p, 0.0));  // float64 neighbours
    out.push_back(std::nextafter(p, dinf));
    const float f = static_cast<float>(p);  // float32 neighbours around p
    if (std::isinf(f)) {
      out.push_back(static_cast<double>(std::numeric_limits<float>::max()));
      continue;
    }
    if (static_cast<double>(f) == p) {
      out.push_back(static_cast<double>(std::nextafter(f, 0.0f)));
      out.push_back(static_cast<double>(std::nextafter(f, finf)));
    } else {  // p is not a float: the two floats around it
      out.push_back(static_cast<double>(f));
      out.push_back(
          static_cast<double>(static_cast<double>(f) < p ? std::nextafter(f, finf) : std::nextafter(f, 0.0f)));
    }
  }
  const size_t npos = out.size();
  for (size_t i = 0; i < npos; ++i) out.push_back(-out[i]);
  out.push_back(0.0);
  out.push_back(-0.0);
  out.push_back(dinf);
  out.push_back(-dinf);
  out.push_back(std::numeric_limits<double>::quiet_NaN());
  out.push_back(-std::numeric_limits<double>::quiet_NaN());
  // finite values ascending (-0 before +0), then the specials; no duplicate bit patterns
  auto same_bits = [](double a, double b) { return std::bit_cast<uint64_t>(a) == std::bit_cast<uint64_t>(b); };
  std::vector<double> finite, special;
  for (double v : out) (std::isfinite(v) ? finite : special).push_back(v);
  std::sort(finite.begin(), finite.end(), [](double a, double b) {
    if (a != b) return a < b;
    return std::signbit(a) && !std::signbit(b);
  });
  finite.erase(std::unique(finite.begin(), finite.end(), same_bits), finite.end());
  std::sort(special.begin(), special.end(),
            [](double a, double b) { return std::bit_cast<uint64_t>(a) < std::bit_cast<uint64_t>(b); });
  special.erase(std::unique(special.begin(), special.end(), same_bits), special.end());
  finite.insert(finite.end(), special.begin(), special.end());
  return finite;
}

// ---------------------------------------------------------------------------------------------
// Fast float32 table oracle for exhaustive sweeps
// ---------------------------------------------------------------------------------------------
//
// On each sign side the exact result is piecewise constant in the input magnitude a: between two
// adjacent breakpoints p_i < p_{i+1} (0, the format values, the grid point above max) it takes one
// value at p_i, one on (p_i, mid_i), one at mid_i and one on (mid_i, p_{i+1}) (inside a bracket the
// decision only compares a with the midpoint), and one value everywhere above the grid point beyond
// max. The breakpoints and midpoints are exact doubles; each piece's result comes from the exact
// rounding above (round_scaled) at a point of that piece. A sweep then visits float32 magnitudes in
// increasing order (positive bit patterns increase in value) and merges them with the breakpoints,
// emitting each constant run in one tight loop.
class Float32Table {
 public:
  Float32Table(const Spec& s, Mode mode) {
    const detail::Table& t = detail::table_for(s);
    for (int sd = 0; sd < 2; ++sd) {
      Side& S = side_[sd];
      const bool neg = sd == 1;
      const int src = t.side_used[sd] ? sd : 0;  // unsigned: negative inputs use the positive breakpoints
      std::vector<cpp_int> pts;
      if (t.mag[src].front() != 0) pts.push_back(0);
      pts.insert(pts.end(), t.mag[src].begin(), t.mag[src].end());
      pts.push_back(t.next[src]);
      auto res = [&](const cpp_int& X, bool frac) { return to_float(t, detail::round_scaled(t, neg, X, frac, mode)); };
      auto dbl = [&](const cpp_int& V) {
        auto d = detail::scaled_to_double(V, t.S);
        if (!d) throw std::runtime_error("fmtsim_oracle: a breakpoint of " + name(s) + " is not an exact double");
        return *d;
      };
      for (size_t i = 0; i < pts.size(); ++i) {
        S.pt.push_back(dbl(pts[i]));
        S.at_pt.push_back(res(pts[i], false));
        if (i + 1 < pts.size()) {
          const cpp_int sum = pts[i] + pts[i + 1];
          if (sum % 2 != 0) throw std::logic_error("fmtsim_oracle: midpoint not on the scaled grid");
          const cpp_int mid = sum / 2;
          S.mid.push_back(dbl(mid));
          S.below.push_back(res(pts[i], true));  // just above p_i
          S.at_mid.push_back(res(mid, false));
          S.above.push_back(res(mid, true));  // just above the midpoint
        } else {                              // beyond the grid point above max: one value
          const float r = res(pts[i], true);
          S.mid.push_back(std::numeric_limits<double>::infinity());
          S.below.push_back(r);
          S.at_mid.push_back(r);
          S.above.push_back(r);
        }
      }
      S.pt.push_back(std::numeric_limits<double>::infinity());  // sentinel
      S.zero = to_float(t, detail::round_double(t, neg ? -0.0 : 0.0, mode));
      S.inf = to_float(
          t, detail::round_double(
                 t, neg ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity(), mode));
    }
  }

  // Expected result for one float32 bit pattern (binary search; for spot checks).
  float at(uint32_t bits) const {
    const Side& S = side_[bits >> 31];
    const uint32_t m = bits & 0x7fffffffu;
    if (m == 0) return S.zero;
    if (m == 0x7f800000u) return S.inf;
    if (m > 0x7f800000u) return std::numeric_limits<float>::quiet_NaN();
    const double a = value(m);
    return S.piece(S.locate(a), a);
  }

  // Calls cb(bits, expected) for every bit pattern in [first, last] (inclusive), in increasing order.
  template <class F>
  void walk(uint32_t first, uint32_t last, F&& cb) const {
    if (first > last) return;
    if (first <= 0x7fffffffu) walk_side(0, first, std::min<uint32_t>(last, 0x7fffffffu), cb);
    if (last >= 0x80000000u) walk_side(1, std::max<uint32_t>(first, 0x80000000u) & 0x7fffffffu, last & 0x7fffffffu, cb);
  }

 private:
  struct Side {
    std::vector<double> pt;  // breakpoints: 0, values, grid point above max; then a +inf sentinel
    std::vector<double> mid;
    std::vector<float> at_pt, below, at_mid, above;
    float zero = 0, inf = 0;
    size_t locate(double a) const {  // i with pt[i] <= a < pt[i+1], for a > 0 finite
      return static_cast<size_t>(std::upper_bound(pt.begin(), pt.end(), a) - pt.begin()) - 1;
    }
    float piece(size_t i, double a) const {
      if (a == pt[i]) return at_pt[i];
      if (a < mid[i]) return below[i];
      if (a == mid[i]) return at_mid[i];
      return above[i];
    }
  };
  Side side_[2];

  static double value(uint32_t m) { return static_cast<double>(std::bit_cast<float>(m)); }

  // The smallest positive float32 pattern whose value is >= t (t > 0; 0x7f800000 if t > FLT_MAX).
  static uint32_t first_ge(double t) {
    if (!(t <= static_cast<double>(std::numeric_limits<float>::max()))) return 0x7f800000u;
    uint32_t p = std::bit_cast<uint32_t>(static_cast<float>(t));  // a neighbour of t, fixed up exactly:
    if (value(p) < t) ++p;
    if (!(value(p) >= t) || (p > 1 && !(value(p - 1) < t))) throw std::logic_error("fmtsim_oracle: first_ge failed");
    return p;
  }

  static float to_float(const detail::Table& t, const detail::Result& r) {
    const double d = detail::result_to_double(t, r);
    if (std::isnan(d)) return std::numeric_limits<float>::quiet_NaN();
    const float f = static_cast<float>(d);
    if (static_cast<double>(f) != d)  // RULES.md item 5
      throw std::runtime_error("fmtsim_oracle: a value of " + name(t.spec) +
                               " is not exactly representable in float32");
    return f;
  }

  template <class F>
  void walk_side(int sd, uint32_t lo, uint32_t hi, F& cb) const {  // magnitudes lo..hi inclusive
    const Side& S = side_[sd];
    const uint32_t sign = sd == 1 ? 0x80000000u : 0u;
    uint32_t m = lo;
    if (m == 0) {
      cb(sign, S.zero);
      if (hi == 0) return;
      m = 1;
    }
    const uint32_t fin_hi = std::min<uint32_t>(hi, 0x7f7fffffu);
    if (m <= fin_hi) {
      size_t i = S.locate(value(m));
      for (;;) {
        const double a = value(m);
        while (a >= S.pt[i + 1]) ++i;
        float r;
        uint32_t run_end;
        if (a == S.pt[i]) {
          r = S.at_pt[i];
          run_end = m;
        } else if (a < S.mid[i]) {
          r = S.below[i];
          run_end = first_ge(S.mid[i]) - 1;
        } else if (a == S.mid[i]) {
          r = S.at_mid[i];
          run_end = m;
        } else {
          r = S.above[i];
          run_end = first_ge(S.pt[i + 1]) - 1;
        }
        if (run_end > fin_hi) run_end = fin_hi;
        for (;; ++m) {
          cb(sign | m, r);
          if (m == run_end) break;
        }
        if (m == fin_hi) break;
        ++m;
      }
      m = fin_hi + 1;
    }
    if (m > hi) return;
    if (m == 0x7f800000u) {
      cb(sign | m, S.inf);
      if (m == hi) return;
      ++m;
    }
    const float nan = std::numeric_limits<float>::quiet_NaN();
    for (;; ++m) {
      cb(sign | m, nan);
      if (m == hi) break;
    }
  }
};

// Walk all 2^32 float32 bit patterns in increasing order, calling cb(bits, expected float32 result).
template <class F>
void sweep_float32(const Spec& s, Mode mode, F&& cb) {
  Float32Table tab(s, mode);
  tab.walk(0u, 0xffffffffu, cb);
}

}  // namespace fmtsim_oracle
