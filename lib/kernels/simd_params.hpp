// SPDX-License-Identifier: MIT
// Per-call constants of the float32 SIMD quantizer, derived once from the format by the core's constexpr functions.
#pragma once

#include <fmtsim/core/array.hpp>
#include <fmtsim/core/format.hpp>
#include <fmtsim/core/rounding.hpp>

#include <array>
#include <cstddef>
#include <cstdint>

namespace fmtsim::kernels::detail {

// A per-field table t (fast_table, unit_table) as a W-entry window for an in-register lookup (AVX-512: permutes
// instead of a gather): field f reads entries[clamp(f - base, 0, W - 1)]. Entries 1 .. W - 2 are t's; the end entries
// hold the value every field beyond that end shares, or 0 (the lane does not qualify) when those differ. So a window
// entry is either the field's table entry or 0: a lane the window sends to the generic pipeline is still exact, and the
// window covers t exactly when its nonzero entries (and any differing ones below them) span at most W - 2 fields.
template <std::size_t W>
struct field_window {
  std::int32_t base = 0;
  alignas(64) std::array<std::int32_t, W> entries{};
};

// Both windows of one table. w64: two two-register permutes and a blend; w32: one permute, taken by profile_sweep where
// `narrow`: it reads what w64 reads on every field up to one above the largest value's. Lanes further out may leave
// that loop where w64 would have kept them: speed only, since both windows hold table entries or 0.
struct field_windows {
  field_window<64> w64;
  field_window<32> w32;
  bool narrow = false;
};

// Everything the vector pipeline needs, as float32 bit patterns and exponent offsets. Built by
// make_simd_params (lib/kernels/simd_params.cpp) from grid_low_exp / quantum_exp / low_quantum_exp /
// max_finite of include/fmtsim/core/format.hpp: the vector code never re-derives the grid.
//
// Notation for a finite input x with float32 exponent field `field` (1..254) and e = field - 127:
// the input's last significand bit has exponent e - 23, the format's quantum there is 2^qe, and
// shift = qe - (e - 23) is the number of input significand bits rounded away (<= 0: already on the grid).
struct simd_params {
  element_format format{};
  round_mode mode{};
  std::uint64_t seed = 0;

  bool table = false;  // profiles: shift looked up per exponent field; else the arithmetic rule below
  // arithmetic rule (minifloats, integers): shift = e >= low_e ? shift_high : low_shift_base - e
  std::int32_t low_e = 0;
  std::int32_t shift_high = 0;
  std::int32_t low_shift_base = 0;
  // table rule: shift_table[field] for field 0..255 (entry 0 = subnormal inputs, 255 unused)
  alignas(64) std::array<std::int32_t, 256> shift_table{};

  // float32 subnormal inputs (field 0): one shift for all of them when every subnormal lies below the
  // format's grid_low_exp; otherwise those lanes go to the scalar reference.
  std::int32_t subnormal_shift = 0;
  bool subnormal_uniform = true;

  // fnu (no zero): magnitudes below 2^grid_low_exp give 2^grid_low_exp
  bool fnu = false;
  std::int32_t fnu_low_e = 0;     // e < fnu_low_e -> forced
  std::int32_t fnu_low_bits = 0;  // float32 bits of 2^grid_low_exp

  bool log_domain = false;  // profile `logdomain`: rne/rna choose between powers of two geometrically

  // limits and the overflow values (float32 magnitude bits)
  std::int32_t limit_pos = 0;  // max_finite
  std::int32_t limit_neg = 0;  // max_finite_negative (two's complement integers reach one further)
  std::int32_t big_pos = 0;    // overflow value when not saturating: inf, else NaN, else max
  std::int32_t big_neg = 0;
  bool saturate = false;
  bool inf_passes = false;  // has_inf && !saturate: +-inf input stays +-inf
  bool has_sign = true;
  bool has_negative_zero = true;

  // The common-case rule (quantize_batch's fast branch, set_fast in simd_params.cpp): a batch whose lanes
  // are all zero or finite with a quantum 1..23 bits above the input's last bit needs only the rounding
  // add and the overflow compare. `fast` is false for logdomain formats (their midpoints are geometric).
  // Unsigned formats (fast_nonneg) qualify only in batches without a negative lane (-0 included: those
  // give +0 or NaN), fnu formats (no zero) only in batches without a zero lane and only above their
  // floor 2^grid_low_exp. Arithmetic rule: the nonzero magnitudes (float32 bits) in [fast_lo, fast_hi) qualify.
  // Table rule: fast_table[field] is the shift where the field qualifies, else 0.
  // fast_below: the magnitudes below the lowest qualifying binade (float32 bits < fast_lo, float32
  // subnormals included) lie on the uniform grid {0, q} with q = 2^(fast_lo's exponent), the quantum of
  // that binade, so they qualify too and round to 0 or q (arithmetic rule: then every magnitude below
  // fast_hi qualifies; table rule: their fast_table entry is 24).
  bool fast = false;
  bool fast_nonneg = false;  // unsigned: every lane's sign bit must be clear
  bool fast_zero = true;     // zero lanes qualify (not for fnu)
  bool fast_guards = false;  // fast_nonneg || !fast_zero: only the elementwise kernel's guarded variant serves it
  bool fast_below = false;
  std::int32_t fast_lo = 0;
  std::int32_t fast_hi = 0;
  alignas(64) std::array<std::int32_t, 256> fast_table{};
  // Arithmetic rule only: the format's normal range inside [fast_lo, fast_hi), where every field has the one
  // shift shift_high (float-like formats: the quantum is a fixed number of bits below the input's leading
  // bit). A batch whose lanes are all there (or zero, where zero qualifies) rounds with splat constants
  // instead of a per-lane shift: fast_uniform, magnitudes (float32 bits) in [uni_lo, uni_lo + uni_span).
  bool fast_uniform = false;
  std::int32_t uni_lo = 0;
  std::int32_t uni_span = 0;
  // Integer and fixed-point grids (no uniform part): every normal float32 magnitude below uni_lo has the one
  // quantum 2^fixed_exp (fast_fixed, with fast_uniform set for the loops and uni_span = 0). With fixed_exp in
  // [-126, 0] a batch of such lanes (or zeros) rounds as n = round(|x| 2^-fixed_exp) in the float unit
  // (scalings by powers of two that stay normal: exact; rounding instructions with the mode in the instruction:
  // independent of MXCSR, FTZ and DAZ), result n 2^fixed_exp. Not for sr.
  bool fast_fixed = false;
  float fixed_up = 1.0f;    // 2^-fixed_exp
  float fixed_down = 1.0f;  // 2^fixed_exp
  // The float unit's rule (signed formats with a zero, arithmetic rule, not logdomain): the quantum of every normal
  // float32 magnitude with exponent e is 2^max(e - unit_m, unit_q) - minifloats with subnormals (unit_m the
  // mantissa bits, 2^unit_q the subnormal quantum) and integer and fixed-point grids (one quantum; unit_m = 255).
  // A magnitude then rounds as n = round(|x| 2^-qe) in the float unit, result n 2^qe: exact while 2^qe and 2^-qe are
  // normal (the block mode checks that per amax field), and float32 subnormal inputs round to 0 in rne, rna and rtz
  // whenever 2^unit_q >= 2^-125 (|x| < 2^-126 is below half the quantum), whether or not DAZ / FTZ are set.
  bool unit = false;
  std::int32_t unit_m_bits = 0;    // unit_m << 23
  std::int32_t unit_low_bits = 0;  // (unit_q + 127) << 23, the exponent field of 2^unit_q (<= 0 when not normal)
  // The lanes the element kernel's unit_sweep takes (set with unit; unit_sweep: for rne, rna, rtz): v = bits &
  // unit_vmask (the magnitude; unsigned formats: the whole bits, so that negative lanes and -0 do not qualify) in
  // [unit_lo, unit_lo + unit_span) unsigned, or v == unit_zero (0 where zero is on the grid and below unit_lo, else
  // unit_lo). There every quantum 2^qe and its inverse are normal, the lowest (zero lanes: unit_low_bits raised to
  // 2^-125) at least 2^-125, and fnu lanes at or above the format's floor. unit_ranged: the range is not just
  // "finite" (unit_lo > 0, a top below inf, or an unsigned / fnu format).
  bool unit_ranged = false;
  std::uint32_t unit_vmask = 0x7fffffffu;
  std::uint32_t unit_lo = 0;
  std::uint32_t unit_span = 0x7f800000u;
  std::uint32_t unit_zero = 0;
  // The same for the table rule (profiles): unit_table[field] is the float32 bits of the quantum 2^qe of the inputs
  // with that exponent field, or 0 where the lane does not qualify (qe's field outside [2, 253], or no fast_table
  // entry): 2^(fast_lo's exponent) below fast_lo (fast_below; float32 subnormal inputs too), and the top binade's
  // quantum for every field above the largest value's (those lanes overflow: |x| - 2^qe / 2 is above the limit).
  // unit_windows: unit_table's windows, as fast_windows over fast_table.
  bool unit_profile = false;
  alignas(64) std::array<std::int32_t, 256> unit_table{};
  field_windows unit_windows;
  field_windows fast_windows;  // fast_table's windows
};

// Whether quanta 2^qe from the float32 bits low_bits to high_bits are all normal with a normal inverse 2^-qe, the
// lowest at least 2^-125 (simd_params::unit: then a float32 subnormal input is below half of every quantum).
inline bool unit_quanta_normal(std::int32_t low_bits, std::int32_t high_bits) {
  return low_bits >= 2 * (1 << 23) && high_bits <= 253 * (1 << 23);
}

// Whether sr rounds in the float unit at quanta whose lowest is 2^q (float32 bits low_bits; unit_sweep, the block
// mode's unit rules, profile_sweep; at p's scale): the first random word decides or flags (exact sr, sr<R> with
// R <= 32), and 2^-94 <= 2^q <= 1: |x| 2^-qe is then a normal float for every normal input x, so its fraction is
// exact, and a float32 subnormal input has f < 2^-32, so T = 0 whether or not DAZ / FTZ flush it (never up; exact
// sr flags w0 == 0).
inline bool unit_sr_low_serves(const simd_params& p, std::int32_t low_bits) {
  return p.mode.sr_bits <= 32 && low_bits <= 127 * (1 << 23) && low_bits >= (127 - 94) * (1 << 23);
}
// unit_sr_low_serves for the arithmetic rule's quanta (simd_params::unit)
inline bool unit_sr_serves(const simd_params& p) { return unit_sr_low_serves(p, p.unit_low_bits); }
// unit_sr_low_serves for the table rule's quanta (simd_params::unit_profile): the lowest is that of field 0, the
// float32 subnormal inputs' (with fast_below, which profile_sweep requires: every field below the lowest binade's)
inline bool profile_sr_serves(const simd_params& p) { return p.unit_profile && unit_sr_low_serves(p, p.unit_table[0]); }

// Whether the sweeps' per-lane branch for the signed float-like formats (simd_impl.hpp element_sweep, block_sweep)
// serves p: arithmetic rule, fast branch without guards or the fixed-quantum case, one limit for both signs.
inline bool element_sweep_serves(const simd_params& p) {
  return !p.table && p.fast && !p.fast_guards && !p.fast_fixed && p.limit_neg == p.limit_pos && p.big_neg == p.big_pos;
}
// Whether the sweeps take the lanes below the format's lowest qualifying binade (simd_params::fast_below): the
// deterministic modes always, sr when its first random word decides or flags (exact sr, sr<R> with R <= 32).
inline bool sweep_below(const simd_params& p) {
  return p.fast_below && (p.mode.kind != rounding::sr || p.mode.sr_bits <= 32);
}
// Whether element_sweep's per-lane branch serves p as an integer or fixed-point grid (simd_params::fast_fixed) under
// sr, whose lanes the fixed-quantum case does not take: the per-lane shift is the grid's one quantum, and the
// negative limit may differ from the positive one (element_sweep's Asym variant).
inline bool fixed_sr_sweep_serves(const simd_params& p) {
  return !p.table && p.fast && !p.fast_guards && p.fast_fixed && p.mode.kind == rounding::sr;
}
// Whether the block mode's fixed-quantum variant serves p (integer and fixed-point grids: simd_params::fast_fixed,
// no guards; the deterministic modes).
inline bool fixed_sweep_serves(const simd_params& p) { return p.fast && p.fast_fixed && !p.fast_guards; }
// Whether the scaled kernel's block mode may take this format and mode (params at scale 0; each block's scale is
// checked again): element_sweep_serves in every mode but hys, or fixed_sweep_serves in the deterministic modes and
// under sr where the float unit rounds it (unit_sr_serves: the block mode's unit_one rule).
inline bool block_mode_serves(const simd_params& p) {
  if (p.mode.kind == rounding::hys) return false;
  if (fixed_sweep_serves(p)) return p.mode.kind != rounding::sr || (p.unit && unit_sr_serves(p));
  return element_sweep_serves(p);
}

// Throws std::invalid_argument if the format's values are not representable in float32.
simd_params make_simd_params(const element_format& f, const quantize_options& opt);

// make_simd_params through a per-thread cache: the last format (at scale_exp 0), mode and seed are kept,
// and minifloat / integer grids are moved to a new scale_exp without rebuilding (a scaled tensor
// format calls the kernel once per group, each with its own scale). Throws like make_simd_params.
const simd_params& cached_simd_params(const element_format& f, const quantize_options& opt);

// The scalar reference for one element (fmtsim::quantize<float>), compiled with the baseline flags: the
// per-ISA translation units call this for their fallback lanes instead of instantiating the reference
// themselves (an inline copy compiled with -mavx512f could otherwise be the one the linker keeps).
float scalar_reference_f32(const simd_params& p, float x, std::uint64_t index, float previous);
// The same at p.format moved to scale_exp s (the scaled kernel's lanes whose scaling is inexact).
float scalar_reference_scaled_f32(const simd_params& p, int s, float x, std::uint64_t index);

}  // namespace fmtsim::kernels::detail
