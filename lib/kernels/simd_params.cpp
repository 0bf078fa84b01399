// SPDX-License-Identifier: MIT
// Builds the per-call constants of the float32 SIMD quantizer from the core's constexpr grid functions.
#include "simd_params.hpp"

#include <fmtsim/core/float_bits.hpp>
#include <fmtsim/core/quantize.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <stdexcept>

namespace fmtsim::kernels::detail {

namespace {

std::int32_t bits_of(float v) { return static_cast<std::int32_t>(std::bit_cast<std::uint32_t>(v)); }

// The reference's quantum exponent for a nonzero finite magnitude whose top bit has exponent t
// (round_magnitude in core/quantize.hpp).
int reference_quantum(const element_format& f, int t) {
  const int low = grid_low_exp(f);
  return t >= low ? quantum_exp(f, t) : low_quantum_exp(f);
}

}  // namespace

namespace {

// Limits, overflow values and the fnu floor of f (the parts of the params that move with scale_exp).
void set_limits(simd_params& p, const element_format& f) {
  const int low = grid_low_exp(f);
  p.fnu_low_e = low;
  if (p.fnu) p.fnu_low_bits = bits_of(compose<float>(false, 1, low));
  const dyadic mp = max_finite(f);
  p.limit_pos = bits_of(compose<float>(false, mp.significand, mp.exponent));
  p.has_sign = has_sign(f);
  if (p.has_sign) {
    const dyadic mn = max_finite_negative(f);
    p.limit_neg = bits_of(compose<float>(false, mn.significand, mn.exponent));
  } else {
    p.limit_neg = p.limit_pos;
  }
  const std::int32_t inf_bits = bits_of(signed_inf<float>(false));
  const std::int32_t nan_bits = bits_of(quiet_nan<float>(false));
  p.big_pos = has_inf(f) ? inf_bits : (has_nan(f) ? nan_bits : p.limit_pos);
  p.big_neg = has_inf(f) ? inf_bits : (has_nan(f) ? nan_bits : p.limit_neg);
}

// Whether every float32 subnormal input gets one quantum (tops -149 .. -127, last bit at 2^-149), and that shift.
void set_subnormal(simd_params& p, const element_format& f) {
  const int q_sub = reference_quantum(f, -127);
  p.subnormal_uniform = true;
  for (int t = -149; t <= -127; ++t) {
    if (reference_quantum(f, t) != q_sub) p.subnormal_uniform = false;
  }
  p.subnormal_shift = q_sub + 149;
  p.shift_table[0] = p.subnormal_shift;
  // fnu: uniform only if every subnormal is below 2^grid_low_exp; logdomain: the geometric midpoint
  // depends on the input's width
  if ((p.fnu && grid_low_exp(f) <= -127) || p.log_domain) p.subnormal_uniform = false;
}

// The fast branch's ranges (see simd_params::fast). A lane qualifies when its shift lies in [1, 23]: the
// quantum is above the input's last bit (shift >= 1, so the rounding bias half - 1 is >= 0) and at most at
// its top bit (no rounding to 0 or to a power above). Float32 subnormal inputs qualify only under the table
// rule, when one shift in [1, 22] serves all of them (their significand has no implicit bit 23).
//
// Below the lowest qualifying field lo, when lo's shift is 23 (its quantum q = 2^(lo - 127) is the binade's
// leading bit) and every lower field f has the shift of that same quantum (q's exponent + 150 - f; float32
// subnormals: + 149, under a uniform rule), the format has no value in (0, q): those lanes round to 0 or q
// by comparing with q/2, which must be a normal float32 (lo >= 2) so that the compare is on bit patterns.
int rule_shift(const simd_params& p, int field) {
  if (field == 0) return p.subnormal_shift;
  if (p.table) return p.shift_table[static_cast<unsigned>(field)];
  const int e = field - 127;
  return e >= p.low_e ? p.shift_high : p.low_shift_base - e;
}

// (called by set_fast, which has reset fast_below)
void set_fast_below(simd_params& p, int lo) {
  if (p.fnu || lo < 2 || rule_shift(p, lo) != 23 || !p.subnormal_uniform) return;
  const int q_exp = lo - 127;
  for (int field = 0; field < lo; ++field) {
    if (rule_shift(p, field) != q_exp + (field == 0 ? 149 : 150 - field)) return;
  }
  p.fast_below = true;
  p.fast_lo = lo << 23;
  if (p.table) {
    for (int field = 0; field < lo; ++field) p.fast_table[static_cast<unsigned>(field)] = 24;
  }
}

// A W-entry window over a per-field table t: from the last field of the run of equal entries that starts at field 1
// (0 below the format's range, or fast_below's entry; float32 subnormals usually share it).
template <std::size_t W>
void set_window(const std::array<std::int32_t, 256>& t, field_window<W>& win) {
  constexpr int top = static_cast<int>(W) - 1;
  auto& w = win.entries;
  int lo = 2;
  while (lo < 255 && t[static_cast<unsigned>(lo)] == t[1]) ++lo;
  const int base = std::min(lo - 1, 255 - top);
  win.base = base;
  auto shared = [&](int from, int to) {  // the one value of fields from .. to, else 0
    const std::int32_t v = t[static_cast<unsigned>(from)];
    for (int f = from; f <= to; ++f) {
      if (t[static_cast<unsigned>(f)] != v) return 0;
    }
    return v;
  };
  w[0] = shared(0, base);
  for (int i = 1; i < top; ++i) w[static_cast<unsigned>(i)] = t[static_cast<unsigned>(base + i)];
  w[static_cast<unsigned>(top)] = shared(base + top, 255);
}

// The entry a window gives field f.
template <std::size_t W>
std::int32_t window_entry(const field_window<W>& win, int f) {
  return win.entries[static_cast<unsigned>(std::clamp(f - win.base, 0, static_cast<int>(W) - 1))];
}

// Both windows over t, narrow where w32 reads what w64 reads up to one above the largest value's field (limit_bits').
void set_windows(const std::array<std::int32_t, 256>& t, std::int32_t limit_bits, field_windows& ws) {
  set_window(t, ws.w64);
  set_window(t, ws.w32);
  ws.narrow = true;
  const int last = std::min(254, (limit_bits >> 23) + 1);
  for (int f = 0; f <= last && ws.narrow; ++f) ws.narrow = window_entry(ws.w32, f) == window_entry(ws.w64, f);
}

// simd_params::unit_profile for the table rule (after set_fast_below): the quantum per field from fast_table
void set_unit_profile(simd_params& p) {
  if (!p.table || p.fast_guards || p.has_negative_zero || p.limit_neg != p.limit_pos || p.big_neg != p.big_pos) return;
  const auto& t = p.fast_table;
  const int top = p.limit_pos >> 23;  // the largest value's field
  if (top < 1 || top > 254 || t[static_cast<unsigned>(top)] < 1 || t[static_cast<unsigned>(top)] > 23) return;
  const int lo = p.fast_below ? p.fast_lo >> 23 : 0;
  auto normal = [](int q_field) { return q_field >= 2 && q_field <= 253 ? q_field * (1 << 23) : 0; };
  const int q_top = top - 23 + t[static_cast<unsigned>(top)];
  for (int field = 0; field <= 255; ++field) {
    const int s = t[static_cast<unsigned>(field)];
    int q = 0;
    if (field == 255) {
      q = 0;  // inf / NaN
    } else if (field > top) {
      q = normal(q_top);
    } else if (p.fast_below && field < lo) {
      q = normal(lo);
    } else if (field >= 1 && s >= 1 && s <= 23) {
      q = normal(field - 23 + s);
    }
    p.unit_table[static_cast<unsigned>(field)] = q;
  }
  set_windows(p.unit_table, p.limit_pos, p.unit_windows);
  p.unit_profile = true;
}

// simd_params::unit for the arithmetic rule, where it reproduces the rule at every normal field (not for ftz grids,
// whose quantum jumps up below the normal range), and unit_sweep's lanes: those whose quantum's exponent field,
// max(field - m, q's field), lies in [2, 253] (fnu: at or above the floor too).
void set_unit(simd_params& p) {
  if (p.table) return;
  const int m = p.low_e >= (1 << 20) ? 255 : 23 - p.shift_high;  // integers: one quantum
  const int q = p.low_shift_base - 23;
  for (int field = 1; field <= 254; ++field) {
    const int e = field - 127;
    if (rule_shift(p, field) != std::max(e - m, q) - (e - 23)) return;
  }
  const int q_field = q + 127;
  int lo_field = 0, hi_field = 255;  // unit_sweep's lanes: fields [lo_field, hi_field), and zero
  if (m == 255) {
    if (q_field < 2 || q_field > 253) lo_field = hi_field = 0;  // no lane
  } else {
    if (q_field < 2) lo_field = m + 2;  // field - m >= 2
    hi_field = std::min(254 + m, 255);  // field - m <= 253
    if (q_field > 253 || lo_field >= hi_field) lo_field = hi_field = 0;
  }
  p.unit = true;
  p.unit_m_bits = m * (1 << 23);
  p.unit_low_bits = std::clamp(q_field, -1, 255) * (1 << 23);
  const bool unsigned_lanes = p.fast_nonneg;
  std::uint32_t lo = static_cast<std::uint32_t>(lo_field) << 23;
  if (p.fnu) lo = std::max(lo, static_cast<std::uint32_t>(p.fnu_low_bits));
  const std::uint32_t hi = static_cast<std::uint32_t>(hi_field) << 23;
  p.unit_vmask = unsigned_lanes ? 0xffffffffu : 0x7fffffffu;
  p.unit_lo = lo;
  p.unit_span = hi > lo ? hi - lo : 0;
  p.unit_zero = p.fnu || lo == 0 ? lo : 0;  // unit_lo adds nothing: it qualifies anyway (or no lane does)
  p.unit_ranged = unsigned_lanes || p.fnu || lo != 0 || hi != 0x7f800000u;
}

void set_fast(simd_params& p) {
  p.fast = !p.log_domain;
  p.fast_nonneg = !p.has_sign;
  p.fast_zero = !p.fnu;
  p.fast_guards = p.fast_nonneg || !p.fast_zero;
  p.fast_below = false;
  p.fast_lo = p.fast_hi = 0;
  p.fast_uniform = false;
  p.uni_lo = p.uni_span = 0;
  p.fast_fixed = false;
  p.fixed_up = p.fixed_down = 1.0f;
  p.fast_table.fill(0);
  p.fast_windows = {};
  p.unit = false;
  p.unit_m_bits = p.unit_low_bits = 0;
  p.unit_ranged = false;
  p.unit_vmask = 0x7fffffffu;
  p.unit_lo = p.unit_zero = 0;
  p.unit_span = 0x7f800000u;
  p.unit_profile = false;
  p.unit_table.fill(0);
  p.unit_windows = {};
  if (!p.fast) return;
  // fnu: the fields below the floor 2^fnu_low_e (forced up to it) and float32 subnormals never qualify (the
  // rule's shift there is above 23 already for fnu grids; the bound keeps the floor out of the branch regardless)
  const int first_field = p.fnu ? std::max(1, p.fnu_low_e + 127) : 1;
  const auto ok = [](int s) { return s >= 1 && s <= 23; };
  if (p.table) {
    int lowest = 0;
    for (int field = first_field; field <= 254; ++field) {
      const int s = rule_shift(p, field);
      p.fast_table[static_cast<unsigned>(field)] = ok(s) ? s : 0;
      if (ok(s) && lowest == 0) lowest = field;
    }
    if (!p.fnu && p.subnormal_uniform && p.subnormal_shift >= 1 && p.subnormal_shift <= 22)
      p.fast_table[0] = p.subnormal_shift;
    set_fast_below(p, lowest);
    set_windows(p.fast_table, p.limit_pos, p.fast_windows);
    set_unit_profile(p);
    return;
  }
  // the qualifying fields must form one interval (checked: the shift is non-increasing in the field except
  // that ftz formats jump up below low_e); zero lanes take the rule's shift at e = -127 capped at 24, which
  // must be >= 1 too (then every rounding mode gives 0)
  int lo = 0, hi = -1;
  for (int field = first_field; field <= 254; ++field) {
    if (!ok(rule_shift(p, field))) continue;
    if (lo == 0) lo = field;
    hi = field;
  }
  const int zero_shift = -127 >= p.low_e ? p.shift_high : p.low_shift_base + 127;
  bool interval = lo != 0 && (zero_shift >= 1 || !p.fast_zero);
  for (int field = lo; interval && field <= hi; ++field) {
    if (!ok(rule_shift(p, field))) interval = false;
  }
  if (!interval) {
    p.fast = false;
    return;
  }
  p.fast_lo = lo << 23;
  p.fast_hi = (hi + 1) << 23;
  set_fast_below(p, lo);
  // the uniform part: fields from max(lo, low_e's field) to hi, all with the shift shift_high
  const int ulo = std::max(lo, p.low_e + 127);
  bool uniform = ok(p.shift_high) && ulo <= hi;
  for (int field = ulo; uniform && field <= hi; ++field) uniform = rule_shift(p, field) == p.shift_high;
  if (uniform) {
    p.fast_uniform = true;
    p.uni_lo = ulo << 23;
    p.uni_span = (hi + 1 - ulo) << 23;
  }
  // without a uniform part (integer and fixed-point grids): the fixed-quantum case, when fields 1 .. hi all
  // have the quantum 2^q, q in [-126, 0] (for minifloats, whose subnormal lanes would take it in a minority of
  // batches, the branch's mispredictions measured 20-30% slower than the per-lane shift)
  const int q = 1 - 150 + rule_shift(p, 1);  // the quantum exponent at field 1
  bool fixed = !uniform && !p.fnu && q >= -126 && q <= 0;
  for (int field = 1; fixed && field <= hi; ++field) fixed = field - 150 + rule_shift(p, field) == q;
  if (fixed) {
    p.fast_uniform = true;  // the kernel loops' variant that tries it
    p.fast_fixed = true;
    p.uni_lo = (hi + 1) << 23;
    p.uni_span = 0;
    p.fixed_up = std::ldexp(1.0f, -q);
    p.fixed_down = std::ldexp(1.0f, q);
  }
  set_unit(p);
}

}  // namespace

simd_params make_simd_params(const element_format& f, const quantize_options& opt) {
  check_array_call<float>(f, opt, 0, 0);
  simd_params p;
  p.format = f;
  p.mode = opt.mode;
  p.seed = opt.seed;
  const int low = grid_low_exp(f);

  // per exponent field: shift = qe - (e - 23)
  for (int field = 1; field <= 254; ++field) {
    const int e = field - 127;
    p.shift_table[static_cast<unsigned>(field)] = reference_quantum(f, e) - (e - 23);
  }
  p.shift_table[255] = 0;

  p.fnu = f.kind == family::minifloat && f.conv == convention::fnu;
  p.log_domain = f.log_domain;
  set_subnormal(p, f);

  // the arithmetic rule, used only where it reproduces the table for every field
  p.table = true;
  if (f.kind == family::minifloat || f.kind == family::integer) {
    if (f.kind == family::minifloat) {
      p.low_e = low;
      p.shift_high = 23 - f.mantissa_bits;
    } else {
      p.low_e = 1 << 20;  // never: integers have one quantum everywhere
      p.shift_high = 0;
    }
    p.low_shift_base = low_quantum_exp(f) + 23;
    bool same = true;
    for (int field = 1; field <= 254; ++field) {
      const int e = field - 127;
      const int s = e >= p.low_e ? p.shift_high : p.low_shift_base - e;
      if (s != p.shift_table[static_cast<unsigned>(field)]) same = false;
    }
    if (same) p.table = false;
  }

  set_limits(p, f);
  p.saturate = f.saturate;
  p.inf_passes = has_inf(f) && !f.saturate;
  p.has_negative_zero = has_negative_zero(f);
  set_fast(p);
  return p;
}

const simd_params& cached_simd_params(const element_format& f, const quantize_options& opt) {
  struct cache_entry {
    bool valid = false;
    element_format base_format{};  // f with scale_exp 0
    round_mode mode{};
    std::uint64_t seed = 0;
    simd_params base{};    // params at scale_exp 0
    simd_params scaled{};  // the last scale asked for
  };
  thread_local cache_entry cache;
  element_format f0 = f;
  f0.scale_exp = 0;
  if (!cache.valid || !(cache.base_format == f0) || !(cache.mode == opt.mode) || cache.seed != opt.seed) {
    cache.valid = false;
    cache.base = make_simd_params(f0, opt);
    cache.base_format = f0;
    cache.mode = opt.mode;
    cache.seed = opt.seed;
    cache.scaled = cache.base;
    cache.valid = true;
  }
  if (cache.scaled.format == f) return cache.scaled;
  if (cache.base.table) {
    cache.scaled = make_simd_params(f, opt);  // profiles: rebuild the per-field table
    return cache.scaled;
  }
  // minifloats and integers: the grid moves with the scale (quantum_exp(f at s, e) = quantum_exp(f at 0, e - s) + s)
  check_array_call<float>(f, opt, 0, 0);
  simd_params& p = cache.scaled;
  p = cache.base;
  const int s = f.scale_exp;
  p.format = f;
  if (f.kind == family::minifloat) p.low_e = cache.base.low_e + s;
  p.low_shift_base = cache.base.low_shift_base + s;
  set_subnormal(p, f);
  set_limits(p, f);
  set_fast(p);
  return p;
}

float scalar_reference_f32(const simd_params& p, float x, std::uint64_t index, float previous) {
  return fmtsim::quantize<float>(p.format, x, p.mode, element_context<float>{p.seed, index, previous});
}

float scalar_reference_scaled_f32(const simd_params& p, int s, float x, std::uint64_t index) {
  element_format f = p.format;
  f.scale_exp = s;
  return fmtsim::quantize<float>(f, x, p.mode, element_context<float>{p.seed, index, 0.0f});
}

}  // namespace fmtsim::kernels::detail
