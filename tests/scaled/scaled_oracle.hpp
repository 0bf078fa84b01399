// SPDX-License-Identifier: MIT
// Independent exact oracle for scaled tensor formats, written from formats.md 1.3, 1.4, 3 and methods.md 4-6.
//
// Nothing here calls fmtsim (include/fmtsim, lib/): groups are found by brute force from each element's
// index, scales from exact rational comparisons, profile value sets are enumerated from the profile
// text of formats.md 1.3, and minifloat/integer elements reuse the core oracle (tests/oracle).
#pragma once

#include "oracle.hpp"

#include <boost/multiprecision/cpp_int.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <vector>

namespace scaled_oracle {

using boost::multiprecision::cpp_int;
using boost::multiprecision::cpp_rational;
using fmtsim_oracle::Mode;

inline cpp_rational p2(int k) {
  if (k >= 0) return cpp_rational(cpp_int(1) << k);
  return cpp_rational(cpp_int(1), cpp_int(1) << (-k));
}

inline cpp_rational rat(double x) { return fmtsim_oracle::detail::to_rational(x); }

inline cpp_rational rabs(const cpp_rational& r) { return r < 0 ? cpp_rational(-r) : r; }

// floor(log2 r) for r > 0, by exact comparison with powers of two.
inline int floor_log2(const cpp_rational& r) {
  if (r <= 0) throw std::logic_error("floor_log2 of a non-positive number");
  int e = 0;
  while (p2(e) > r) --e;
  while (p2(e + 1) <= r) ++e;
  return e;
}

inline cpp_int floor_int(const cpp_rational& r) {  // r >= 0
  return boost::multiprecision::numerator(r) / boost::multiprecision::denominator(r);
}

inline bool is_even(const cpp_int& n) { return !boost::multiprecision::bit_test(n, 0); }

// Round r > 0 to float32, to nearest with ties to even (with subnormals), as an exact rational.
inline cpp_rational round_to_float32(const cpp_rational& r) {
  if (r == 0) return 0;
  int e = floor_log2(r);
  const int qe = std::max(e, -126) - 23;
  const cpp_rational q = p2(qe);
  const cpp_rational t = r / q;
  cpp_int n = floor_int(t);
  const cpp_rational frac = t - cpp_rational(n);
  if (frac > cpp_rational(1, 2) || (frac == cpp_rational(1, 2) && !is_even(n))) n += 1;
  return cpp_rational(n) * q;
}

inline double to_double(const cpp_rational& r) {
  auto d = fmtsim_oracle::detail::exact_double(r);
  if (!d) throw std::logic_error("oracle value is not an exact double");
  return *d;
}

// ---- groups by brute force ---------------------------------------------------------------------

enum class GroupKind { tensor, channel, block, tile };
struct Groups {
  GroupKind kind = GroupKind::tensor;
  int axis = 0;  // normalised (non-negative)
  int64_t block = 32, rows = 48, cols = 48;
};

// For each element (C order) its group key; elements with equal keys form a group.
inline std::vector<std::vector<int64_t>> group_keys(const std::vector<int64_t>& shape, const Groups& g) {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  const size_t nd = shape.size();
  std::vector<std::vector<int64_t>> keys;
  std::vector<int64_t> idx(nd, 0);
  for (int64_t i = 0; i < n; ++i) {
    std::vector<int64_t> key;
    switch (g.kind) {
      case GroupKind::tensor:
        break;
      case GroupKind::channel:
        key = {idx[static_cast<size_t>(g.axis)]};
        break;
      case GroupKind::block:
        key = idx;
        key[static_cast<size_t>(g.axis)] = idx[static_cast<size_t>(g.axis)] / g.block;
        break;
      case GroupKind::tile:
        key = idx;
        key[nd - 2] = idx[nd - 2] / g.rows;
        key[nd - 1] = idx[nd - 1] / g.cols;
        break;
    }
    keys.push_back(key);
    for (size_t k = nd; k-- > 0;) {
      if (++idx[k] < shape[k]) break;
      idx[k] = 0;
    }
  }
  return keys;
}

// Element indices of each group (groups in order of first appearance).
inline std::vector<std::vector<size_t>> groups_of(const std::vector<int64_t>& shape, const Groups& g) {
  const auto keys = group_keys(shape, g);
  std::map<std::vector<int64_t>, size_t> id;
  std::vector<std::vector<size_t>> out;
  for (size_t i = 0; i < keys.size(); ++i) {
    auto it = id.find(keys[i]);
    if (it == id.end()) {
      it = id.emplace(keys[i], out.size()).first;
      out.emplace_back();
    }
    out[it->second].push_back(i);
  }
  return out;
}

// ---- binade-profile formats (formats.md 1.3) ---------------------------------------------------

// The sorted non-negative values of profile m at scale exponent s.
inline std::vector<cpp_rational> profile_values(const std::vector<int>& m, int s) {
  std::vector<cpp_rational> v{0};
  const int L = static_cast<int>(m.size());
  // gradual underflow: below the last binade, the last binade's grid (no points if its m is 0)
  const int last = m.back();
  if (last >= 1) {
    const cpp_rational q = p2(s - (L - 1) - (last - 1));
    const int64_t pts = (int64_t{1} << (last - 1)) - 1;
    for (int64_t k = 1; k <= pts; ++k) v.push_back(q * k);
  }
  for (int d = L - 1; d >= 0; --d) {
    if (m[static_cast<size_t>(d)] < 1) continue;
    const int64_t pts = int64_t{1} << (m[static_cast<size_t>(d)] - 1);
    for (int64_t k = 0; k < pts; ++k) v.push_back(p2(s - d) * (1 + cpp_rational(k, pts)));
  }
  std::sort(v.begin(), v.end());
  return v;
}

// Round x (exact) on the value set `vals` (sorted magnitudes, one zero, no inf/NaN, clamp at the top).
inline cpp_rational round_on(const std::vector<cpp_rational>& vals, const cpp_rational& x, Mode mode,
                             bool log_domain = false) {
  const bool neg = x < 0;
  const cpp_rational a = rabs(x);
  const cpp_rational& mx = vals.back();
  cpp_rational r;
  if (a >= mx) {
    r = mx;  // clamp in every mode (no inf, no NaN)
  } else {
    const auto it = std::upper_bound(vals.begin(), vals.end(), a);
    const cpp_rational lo = *(it - 1), hi = *it;
    if (lo == a) {
      r = lo;
    } else {
      const cpp_rational q = hi - lo;
      const cpp_int n = floor_int(lo / q);
      const cpp_rational mid = (lo + hi) / 2;
      bool up = false;
      switch (mode) {
        case Mode::rne:
          up = a > mid || (a == mid && !is_even(n));
          break;
        case Mode::rna:
          up = a >= mid;
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
      if (log_domain && lo > 0 && hi == 2 * lo && (mode == Mode::rne || mode == Mode::rna)) {
        up = a * a >= 2 * lo * lo;  // |x| >= lo * sqrt(2)
      }
      r = up ? hi : lo;
    }
  }
  return neg ? cpp_rational(-r) : r;
}

// The same rule on exact doubles (fast path for sweeps). Exactness: profile values and inputs are doubles
// with at most 25 significant bits, so hi - lo (a power of two), lo / q, (lo + hi) / 2, a * a and
// 2 * lo * lo are all exact; every comparison is then exact.
inline double round_on(const std::vector<double>& vals, double x, Mode mode, bool log_domain = false) {
  const bool neg = std::signbit(x);
  const double a = std::fabs(x);
  double r;
  if (a >= vals.back()) {
    r = vals.back();
  } else {
    const auto it = std::upper_bound(vals.begin(), vals.end(), a);
    const double lo = *(it - 1), hi = *it;
    if (lo == a) {
      r = lo;
    } else {
      const double q = hi - lo;
      const bool n_even = std::fmod(lo / q, 2.0) == 0.0;
      const double mid = (lo + hi) / 2;
      bool up = false;
      switch (mode) {
        case Mode::rne:
          up = a > mid || (a == mid && !n_even);
          break;
        case Mode::rna:
          up = a >= mid;
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
          up = n_even;
          break;
      }
      if (log_domain && lo > 0 && hi == 2 * lo && (mode == Mode::rne || mode == Mode::rna)) up = a * a >= 2 * lo * lo;
      r = up ? hi : lo;
    }
  }
  return (neg && r != 0) ? -r : r;  // one zero: +0
}

inline std::vector<double> to_doubles(const std::vector<cpp_rational>& v) {
  std::vector<double> d;
  for (const auto& r : v) d.push_back(to_double(r));
  return d;
}

// ---- elements via the core oracle --------------------------------------------------------------

// Minifloat/integer element at scale 2^s: Q(x / 2^s) * 2^s (as a double; inf/NaN as the element gives).
inline double element_scaled(const fmtsim_oracle::Spec& spec, double x, int s, Mode mode) {
  if (std::isnan(x)) return x;
  const double y = fmtsim_oracle::expected(spec, std::isinf(x) ? x : std::ldexp(x, -s), mode);
  if (std::isnan(y) || std::isinf(y)) return y;
  return std::ldexp(y, s);
}

// Exponent of the largest finite element value (floor(log2 max)).
inline int element_emax(const fmtsim_oracle::Spec& spec) { return floor_log2(rat(fmtsim_oracle::props(spec).max)); }

// The element rounding of an exact rational t (not necessarily a double), returned as an exact rational
// (nullopt for inf/NaN results).
inline std::optional<cpp_rational> element_round_rational(const fmtsim_oracle::Spec& spec, const cpp_rational& t,
                                                          Mode mode) {
  const auto& tab = fmtsim_oracle::detail::table_for(spec);
  const bool neg = t < 0;
  const cpp_rational a = rabs(t) * p2(tab.S);
  const cpp_int X = floor_int(a);
  const bool frac = cpp_rational(X) != a;
  const auto res = fmtsim_oracle::detail::round_scaled(tab, neg, X, frac, mode);
  if (res.kind != fmtsim_oracle::detail::Result::Kind::finite) return std::nullopt;
  cpp_rational v = cpp_rational(res.magnitude) * p2(-tab.S);
  return res.negative ? cpp_rational(-v) : v;
}

}  // namespace scaled_oracle
