// SPDX-License-Identifier: MIT
// tensor_quantizer's float32 fast path (kernels/scaled.hpp) against its generic per-group path, bit for bit:
// outputs, every statistic, the per-group scales and error messages, on every SIMD ISA of the machine, for MX,
// block minifloat, profiles, log, int and plain minifloat elements, every rounding mode but hys, hard inputs
// (float32 subnormals, values near 2^-126 after scaling, zero and non-finite blocks, clamped scales, short
// significands at and one ulp off every format's limits and ties), in-place calls, odd lengths, blocks that tile
// the tensor (the kernel's block mode) and several thread counts.
#include <fmtsim/core/spec.hpp>
#include <fmtsim/formats/tensor.hpp>
#include <fmtsim/kernels/elementwise.hpp>
#include <fmtsim/kernels/scaled.hpp>

#include <doctest/doctest.h>

#include "../sr_inputs.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <vector>

using namespace fmtsim;

namespace {

struct outcome {
  std::vector<float> y;
  quantize_stats st;
  std::vector<group_scale> scales;
  std::string error;
  std::uint64_t kernel_calls = 0;
};

// Switches the fast path for one scope (restores "auto").
struct path_guard {
  explicit path_guard(std::string_view p) { kernels::set_scaled_fast_path(p); }
  ~path_guard() { kernels::set_scaled_fast_path("auto"); }
};

outcome run(const tensor_format& tf, const quantize_options& opt, const std::vector<float>& x,
            const std::vector<std::int64_t>& shape, bool in_place, std::string_view path) {
  path_guard guard(path);
  tensor_quantizer q(tf, opt);
  outcome r;
  r.y = in_place ? x : std::vector<float>(x.size(), 1234.5f);
  const std::uint64_t calls0 = kernels::scaled_kernel_calls();
  try {
    if (in_place) {
      r.st = q.quantize<float>(std::span<const float>(r.y), std::span<float>(r.y), shape);
    } else {
      r.st = q.quantize<float>(x, r.y, shape);
    }
  } catch (const std::exception& e) {
    r.error = e.what();
  }
  r.kernel_calls = kernels::scaled_kernel_calls() - calls0;
  r.scales = q.last_scales();
  return r;
}

void check_same(const outcome& fast, const outcome& slow, const std::vector<float>& x, const std::string& what) {
  INFO(what);
  REQUIRE(fast.error == slow.error);
  if (!fast.error.empty()) return;
  REQUIRE(fast.y.size() == slow.y.size());
  std::size_t bad = 0;
  for (std::size_t i = 0; i < fast.y.size(); ++i) {
    if (std::bit_cast<std::uint32_t>(fast.y[i]) != std::bit_cast<std::uint32_t>(slow.y[i]) && bad++ < 5)
      FAIL_CHECK("element " << i << " input " << x[i] << " (bits " << std::hex << std::bit_cast<std::uint32_t>(x[i])
                            << ") fast " << std::bit_cast<std::uint32_t>(fast.y[i]) << " generic "
                            << std::bit_cast<std::uint32_t>(slow.y[i]) << std::dec);
  }
  CHECK_MESSAGE(bad == 0, bad << " mismatching elements");
  const quantize_stats &a = fast.st, &b = slow.st;
  CHECK(a.elements == b.elements);
  CHECK(a.groups == b.groups);
  CHECK(a.zero_groups == b.zero_groups);
  CHECK(a.nan_groups == b.nan_groups);
  CHECK(a.nonfinite == b.nonfinite);
  CHECK(a.clipped == b.clipped);
  CHECK(a.flushed_to_zero == b.flushed_to_zero);
  CHECK(a.outliers == b.outliers);
  CHECK(a.outliers_clamped == b.outliers_clamped);
  CHECK(a.scale_clamped == b.scale_clamped);
  CHECK(a.scale_exp_min == b.scale_exp_min);
  CHECK(a.scale_exp_max == b.scale_exp_max);
  CHECK(a.payload_bits == b.payload_bits);
  CHECK(a.scale_bits == b.scale_bits);
  REQUIRE(fast.scales.size() == slow.scales.size());
  std::size_t bad_scales = 0;
  for (std::size_t g = 0; g < fast.scales.size(); ++g) {
    const group_scale &s = fast.scales[g], &t = slow.scales[g];
    if (s.scale_exp != t.scale_exp || s.nan != t.nan || s.clamped != t.clamped ||
        std::bit_cast<std::uint32_t>(s.real_scale) != std::bit_cast<std::uint32_t>(t.real_scale))
      ++bad_scales;
  }
  CHECK_MESSAGE(bad_scales == 0, bad_scales << " groups with different scales");
}

// Data with per-block magnitudes over the whole float32 range, and the hard cases mixed in by `kind`.
std::vector<float> make_data(std::mt19937_64& rng, std::size_t n, std::size_t block, int kind, int mag_span = 125) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(n);
  for (std::size_t b0 = 0; b0 < n; b0 += block) {
    const std::size_t b1 = std::min(n, b0 + block);
    const int mag = static_cast<int>(rng() % static_cast<unsigned>(2 * mag_span)) - mag_span;  // block magnitude 2^mag
    const int variant = static_cast<int>(rng() % 12);
    for (std::size_t i = b0; i < b1; ++i) {
      float v = std::ldexp(normal(rng), mag);
      switch (kind) {
        case 1:  // float32 subnormals everywhere
          if (rng() % 3 == 0)
            v = std::bit_cast<float>(static_cast<std::uint32_t>(rng() % 0x00800000u) |
                                     static_cast<std::uint32_t>(rng() & 1) << 31);
          break;
        case 2: {  // a large value and values that land near 2^-126 (and below) after scaling
          const int e = static_cast<int>(rng() % 40) - 30;  // relative to 2^-126 * 2^s, s ~ mag
          if (rng() % 2 == 0)
            v = std::ldexp(1.0f + std::ldexp(float(rng() % 1024), -10), std::max(-149, mag - 126 + e));
          if (rng() % 2 == 0) v = -v;
          break;
        }
        case 4: {  // short significands, exact or one ulp off, from the block's top binade down: every format's
                   // limits, rounding ties and the ties below its lowest quantum at the block's scale
          if (rng() % 2 == 0) {  // in the top binade, 2 - 2^-t: the largest values of every format there
            v = std::ldexp(2.0f - std::ldexp(1.0f, -1 - static_cast<int>(rng() % 8)), mag);
          } else {
            const int d = static_cast<int>(rng() % 4 == 0 ? rng() % 4 : rng() % 32);
            const int t = static_cast<int>(rng() % 8);
            v = std::ldexp(1.0f + std::ldexp(float(rng() % (1u << t)), -t), std::max(-140, mag - d));
          }
          const unsigned r = static_cast<unsigned>(rng() % 4);
          if (r == 1) v = std::nextafter(v, 0.0f);
          if (r == 2) v = std::nextafter(v, 1e38f);
          if (rng() % 2 == 0) v = -v;
          break;
        }
        default:
          break;
      }
      x[i] = v;
    }
    if (kind == 2 && b1 > b0) x[b0 + rng() % (b1 - b0)] = std::ldexp(1.5f, std::min(mag + 10, 127));
    // special blocks
    if (variant == 0) std::fill(x.begin() + b0, x.begin() + b1, 0.0f);
    if (variant == 1) std::fill(x.begin() + b0, x.begin() + b1, -0.0f);
    if (variant == 2 && kind == 3) x[b0 + rng() % (b1 - b0)] = std::numeric_limits<float>::quiet_NaN();
    if (variant == 3 && kind == 3) x[b0 + rng() % (b1 - b0)] = -std::numeric_limits<float>::infinity();
    if (variant == 4 && mag_span > 100) {  // tiny and huge blocks: scales that clamp
      const float t = (rng() & 1) ? 1e-42f : 3e38f;
      for (std::size_t i = b0; i < b1; ++i) x[i] = t * normal(rng);
    }
    if (variant == 5 && b1 > b0) x[b0] = std::bit_cast<float>(0x00000001u);  // the smallest subnormal
  }
  return x;
}

struct fcase {
  std::string spec;
  std::string groups;  // empty: the spec's default
  scale_rule rule;
  int room;
  int stored_min, stored_max;  // 0, 0: the spec's default
};

tensor_format make_format(const fcase& c) {
  tensor_format tf = parse_tensor_format(c.spec);
  if (!c.groups.empty()) tf.groups = parse_groups(c.groups);
  if (tf.preset.empty()) {
    tf.rule = c.rule;
    tf.room = c.room;
  }
  if (c.stored_min != 0 || c.stored_max != 0) {
    tf.stored_min = c.stored_min;
    tf.stored_max = c.stored_max;
  }
  return tf;
}

const fcase cases[] = {
    {"mxfp8_e4m3", "", scale_rule::floor, 0, 0, 0},
    {"mxfp8_e5m2", "", scale_rule::floor, 0, 0, 0},
    {"mxfp6_e2m3", "", scale_rule::floor, 0, 0, 0},
    {"mxfp6_e3m2", "", scale_rule::floor, 0, 0, 0},
    {"mxfp4_e2m1", "", scale_rule::floor, 0, 0, 0},
    {"mxint8", "", scale_rule::floor, 0, 0, 0},
    {"mxfp8_e4m3", "block:7", scale_rule::floor, 0, 0, 0},
    {"bm8", "", scale_rule::floor, 0, 0, 0},  // 48x48 tiles: contiguous when the last axis is <= 48
    {"bm4:bwd", "", scale_rule::floor, 0, 0, 0},
    {"bp:5x7,4,3,2,1,0", "", scale_rule::room, 0, 0, 0},
    {"bp:5x7,4,3,2,1,0", "", scale_rule::room, 2, 0, 0},
    {"bp:5x7,4,3,2,1,0", "block:32", scale_rule::floor, 0, 0, 0},
    {"bp:5x7,4,3,2,1,0", "block:32", scale_rule::ceil, 0, -40, 40},
    {"log4", "", scale_rule::room, 0, 0, 0},
    {"log4", "channel:0", scale_rule::room, 1, 0, 0},
    {"int8", "block:16", scale_rule::room, 1, 0, 0},
    {"int8", "block:16", scale_rule::room, -1, 0, 0},  // overflow past both limits (127 q and -128 q)
    {"int8", "", scale_rule::ceil, 0, 0, 0},
    {"int25", "block:16", scale_rule::floor, 0, 0, 0},   // amaxes at 2^(q + 23) and above: no float-unit snap
    {"e4m3fn", "block:32", scale_rule::room, -1, 0, 0},  // overflow to NaN (no saturation)
    {"e5m2", "block:32", scale_rule::room, -2, 0, 0},    // overflow to inf
    {"e4m3fnuz", "block:32", scale_rule::ceil, 0, 0, 0},
    {"e2m1fin:u", "block:32", scale_rule::floor, 0, 0, 0},  // unsigned: negatives go to 0
    {"e8m0fnu", "block:32", scale_rule::floor, 0, 0, 0},    // no zero
    {"e7m3:ftz", "block:32", scale_rule::room, 0, 0, 0},
    {"bf16", "", scale_rule::room, 0, 0, 0},
    {"fix8.4", "channel:0", scale_rule::floor, 0, -20, 20},
    {"e4m3fn:sat", "block:32", scale_rule::floor, 0, -5, 50},  // zero blocks (s = -8) clamp to -5
};

std::vector<round_mode> all_modes() {
  return {{rounding::rne, 0}, {rounding::rna, 0}, {rounding::rtz, 0}, {rounding::rup, 0},
          {rounding::rdn, 0}, {rounding::rto, 0}, {rounding::sr, 0},  {rounding::sr, 3}};
}

}  // namespace

TEST_CASE("fast path: bit-identical to the generic path (outputs, statistics, scales) on every ISA") {
  std::mt19937_64 rng(20261201);
  // (groups longer than 4096 elements take the kernel built at their own scale: {5000}, {2, 4500} per channel;
  // blocks that tile the last axis take the block mode where the ISA serves their length: {3, 128}, {2, 3, 64})
  const std::vector<std::vector<std::int64_t>> shapes = {{3, 77}, {1001},    {5, 33},  {40, 40},  {2, 3, 48},
                                                         {5000},  {2, 4500}, {3, 128}, {2, 3, 64}};
  std::vector<std::string_view> isas = kernels::simd_isas();
  REQUIRE_FALSE(isas.empty());
  std::uint64_t fast_calls = 0;
  std::size_t checked = 0;
  for (const fcase& c : cases) {
    const tensor_format tf = make_format(c);
    for (const round_mode& mode : all_modes()) {
      for (std::size_t si = 0; si < shapes.size(); ++si) {
        const auto& shape = shapes[si];
        std::size_t n = 1;
        for (auto d : shape) n *= static_cast<std::size_t>(d);
        const int kind = static_cast<int>(rng() % 5);
        const auto x = make_data(rng, n, static_cast<std::size_t>(rng() % 2 ? 32 : 7), kind);
        for (nonfinite_policy pol :
             {nonfinite_policy::nan_group, nonfinite_policy::passthrough, nonfinite_policy::error}) {
          if (kind != 3 && pol != nonfinite_policy::nan_group) continue;
          tensor_format t = tf;
          t.nonfinite = pol;
          quantize_options opt;
          opt.mode = mode;
          opt.seed = (si & 1) ? 7 : 0x9e3779b97f4a7c15ull;
          opt.index_offset = (si & 2) ? 1000003 : 0;
          const bool in_place = (rng() & 1) != 0;
          const std::string what = c.spec + " groups=" + groups_name(t.groups) +
                                   " rule=" + std::string(scale_rule_name(t.rule)) + " room=" + std::to_string(t.room) +
                                   " mode=" + std::to_string(int(mode.kind)) + "/" + std::to_string(mode.sr_bits) +
                                   " shape#" + std::to_string(si) + " kind=" + std::to_string(kind) +
                                   " policy=" + std::string(nonfinite_name(pol)) + (in_place ? " in-place" : "");
          const outcome slow = run(t, opt, x, shape, in_place, "off");
          CHECK(slow.kernel_calls == 0);
          for (std::string_view isa : isas) {
            const outcome fast = run(t, opt, x, shape, in_place, isa);
            fast_calls += fast.kernel_calls;
            check_same(fast, slow, x, what + " isa=" + std::string(isa));
            ++checked;
            if (shape.size() == 1 && shape[0] == 5000) {
              // count = false (the engine's quantization points): the same values and scales, the two counts 0
              // (the per-tensor kernel skips them)
              quantize_options uncounted = opt;
              uncounted.count = false;
              outcome expect = slow;
              expect.st.clipped = 0;
              expect.st.flushed_to_zero = 0;
              check_same(run(t, uncounted, x, shape, in_place, isa), expect, x,
                         what + " isa=" + std::string(isa) + " count=false");
            }
          }
        }
      }
    }
  }
  MESSAGE(checked << " comparisons, " << fast_calls << " scaled-kernel calls");
  CHECK(fast_calls > checked / 2);  // the fast path did run (calls whose groups are all generic make none)
}

TEST_CASE("fast path: whole tensors at the ends of the float32 range (quanta near 2^-126 and 2^127)") {
  // per-tensor scales put a profile's lowest quantum below 2^-125 (its float-unit rounding must not take those
  // lanes) and its top binade near 2^127; MX and int blocks likewise at the blocks' own scales
  std::mt19937_64 rng(4242);
  const fcase fcs[] = {
      {"bp:5x7,4,3,2,1,0", "", scale_rule::room, 0, 0, 0}, {"log4", "", scale_rule::room, 0, 0, 0},
      {"bp:5x7,4,3,2,1,0", "", scale_rule::room, 2, 0, 0}, {"mxfp4_e2m1", "", scale_rule::floor, 0, 0, 0},
      {"mxfp8_e5m2", "", scale_rule::floor, 0, 0, 0},      {"mxint8", "", scale_rule::floor, 0, 0, 0},
      {"e4m3fn", "", scale_rule::room, 0, 0, 0},
  };
  std::size_t checked = 0;
  for (const fcase& c : fcs) {
    const tensor_format tf = make_format(c);
    for (const round_mode& mode : all_modes()) {
      for (int at : {-149, -140, -130, -126, -120, -110, 100, 115, 120, 125, 127}) {
        const int kind = static_cast<int>(rng() % 5);
        auto x = make_data(rng, 2048, 32, kind, 4);
        for (float& v : x) v = std::ldexp(v, at);  // float32 subnormals and infinities where it leaves the range
        quantize_options opt;
        opt.mode = mode;
        opt.seed = 11;
        const std::vector<std::int64_t> shape{16, 128};
        const std::string what = c.spec + " room=" + std::to_string(c.room) +
                                 " mode=" + std::to_string(int(mode.kind)) + "/" + std::to_string(mode.sr_bits) +
                                 " at=" + std::to_string(at) + " kind=" + std::to_string(kind);
        const outcome slow = run(tf, opt, x, shape, false, "off");
        for (std::string_view isa : kernels::simd_isas()) {
          check_same(run(tf, opt, x, shape, false, isa), slow, x, what + " isa=" + std::string(isa));
          ++checked;
#if defined(__x86_64__) || defined(__i386__)
          // and with FTZ + DAZ set by the caller (the tensor quantizer's fp_env_scope switches them off)
          const unsigned csr0 = _mm_getcsr();
          _mm_setcsr(csr0 | 0x8040u);
          const outcome daz = run(tf, opt, x, shape, false, isa);
          _mm_setcsr(csr0);
          check_same(daz, slow, x, what + " isa=" + std::string(isa) + " ftz+daz");
#endif
        }
      }
    }
  }
  MESSAGE(checked << " comparisons");
}

TEST_CASE("fast path: large tensors over several tasks and thread counts, in place, per tensor and per block") {
  std::mt19937_64 rng(77);
  struct big {
    fcase c;
    std::vector<std::int64_t> shape;
  };
  const big bigs[] = {
      {{"mxfp8_e4m3", "", scale_rule::floor, 0, 0, 0}, {301, 1000}},
      {{"mxfp8_e4m3", "", scale_rule::floor, 0, 0, 0}, {300, 1024}},  // the block mode
      {{"mxfp4_e2m1", "", scale_rule::floor, 0, 0, 0}, {70016}},
      {{"mxint8", "", scale_rule::floor, 0, 0, 0}, {35, 2048}},
      {{"mxint8", "", scale_rule::floor, 0, 0, 0}, {70001}},
      {{"bp:5x7,4,3,2,1,0", "", scale_rule::room, 0, 0, 0}, {200003}},
      {{"log4", "channel:0", scale_rule::room, 0, 0, 0}, {3, 90001}},
  };
  for (const big& b : bigs) {
    const tensor_format tf = make_format(b.c);
    std::size_t n = 1;
    for (auto d : b.shape) n *= static_cast<std::size_t>(d);
    for (int kind : {0, 1, 2, 3, 4}) {
      const auto x = make_data(rng, n, 32, kind, 30);
      for (const round_mode mode : {round_mode{rounding::rne, 0}, round_mode{rounding::sr, 0}}) {
        quantize_options opt;
        opt.mode = mode;
        opt.seed = 5;
        opt.index_offset = 17;
        kernels::set_thread_count(1);
        const outcome slow = run(tf, opt, x, b.shape, false, "off");
        for (unsigned th : {1u, 2u, 3u}) {
          kernels::set_thread_count(th);
          for (bool in_place : {false, true}) {
            const outcome fast = run(tf, opt, x, b.shape, in_place, "auto");
            if (kind != 3) CHECK(fast.kernel_calls > 0);  // kind 3 has NaN/inf: per tensor, that group is generic
            check_same(fast, slow, x,
                       b.c.spec + " n=" + std::to_string(n) + " kind=" + std::to_string(kind) +
                           " threads=" + std::to_string(th) + (in_place ? " in-place" : ""));
          }
        }
      }
    }
  }
  kernels::set_thread_count(0);
}

TEST_CASE("fast path: long groups out of place are quantized in one pass at a guessed scale, wrong guesses redone") {
  // P = 8 pieces of 2^16 per group. One thread takes the pieces in order (in tasks of several pieces, each
  // prefetching the next), so the scaled-kernel calls are known: P when the first piece holds the group's largest
  // binade, P + P - 1 when every piece is two binades above the one before (each guess but the last is wrong), and P
  // in place (amax first, then one quantization per piece).
  const std::size_t piece = std::size_t{1} << 16, P = 8;
  const fcase fcs[] = {
      {"bp:5x7,4,3,2,1,0", "", scale_rule::room, 0, 0, 0},  {"log4", "", scale_rule::room, 1, 0, 0},
      {"e4m3fn", "tensor", scale_rule::floor, 0, 0, 0},     {"int8", "tensor", scale_rule::ceil, 0, 0, 0},
      {"e2m1fin", "channel:0", scale_rule::floor, 0, 0, 0},
  };
  std::mt19937_64 rng(4242);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (const fcase& c : fcs) {
    const tensor_format tf = make_format(c);
    const bool per_channel = c.groups == "channel:0";
    const std::vector<std::int64_t> shape = per_channel ? std::vector<std::int64_t>{2, std::int64_t(P * piece)}
                                                        : std::vector<std::int64_t>{std::int64_t(P * piece)};
    const std::size_t groups = per_channel ? 2 : 1, n = groups * P * piece;
    for (bool ramp : {false, true}) {
      std::vector<float> x(n);
      for (std::size_t i = 0; i < n; ++i) {
        const std::size_t k = (i / piece) % P;  // the piece within its group
        x[i] = std::ldexp(normal(rng), ramp ? 2 * static_cast<int>(k) : 0);
      }
      // the group's largest binade 2^k (k = 6 in piece 0, or 2 P + 1 in the last piece of a ramp), with the largest
      // magnitudes of e2m1 (1.5 2^k) and e4m3 (1.75 2^k) there at a floor scale and the floats just above them:
      // exactly at and one ulp above the clip threshold
      const int k = ramp ? 2 * static_cast<int>(P) + 1 : 6;
      const std::size_t at = ramp ? (P - 1) * piece + 100 : 5;
      const float marks[] = {1.5625f, 1.5f, std::nextafter(1.5f, 2.0f), -1.75f, -std::nextafter(1.75f, 2.0f), 1.75f};
      for (std::size_t g = 0; g < groups; ++g)
        for (std::size_t j = 0; j < std::size(marks); ++j) x[g * P * piece + at + j] = std::ldexp(marks[j], k);
      for (const round_mode mode : {round_mode{rounding::rne, 0}, round_mode{rounding::sr, 0}}) {
        quantize_options opt;
        opt.mode = mode;
        opt.seed = 11;
        kernels::set_thread_count(1);
        const outcome slow = run(tf, opt, x, shape, false, "off");
        for (unsigned th : {1u, 2u}) {
          kernels::set_thread_count(th);
          for (bool in_place : {false, true}) {
            const std::string what = c.spec + (ramp ? " ramp" : " peak first") + " threads=" + std::to_string(th) +
                                     (in_place ? " in-place" : "") + " mode=" + std::to_string(int(mode.kind));
            const outcome fast = run(tf, opt, x, shape, in_place, "auto");
            check_same(fast, slow, x, what);
            INFO(what);
            if (th == 1) CHECK(fast.kernel_calls == groups * ((ramp && !in_place) ? 2 * P - 1 : P));
            CHECK(fast.kernel_calls >= groups * P);
            CHECK(fast.kernel_calls <= groups * 2 * P);
          }
        }
      }
    }
  }
  kernels::set_thread_count(0);
}

#if defined(__x86_64__) || defined(__i386__)
TEST_CASE("results do not depend on the caller's MXCSR: rounding control, FTZ, DAZ (x86)") {
  // The library defines its results in the default environment (fp_env.hpp): its entry points switch to it and back,
  // its workers run in it. The generic path at the default MXCSR is the reference; the generic and fast paths run
  // under each other MXCSR (FTZ and DAZ as torch.set_flush_denormal(True) sets them, the directed roundings), on
  // data full of float32 subnormals and values near 2^-126 after scaling, on one thread and on three (the workers
  // are started while the caller's MXCSR is changed); then the elementwise kernels, the scalar one and the SIMD one.
  const fcase fcs[] = {
      {"mxfp4_e2m1", "", scale_rule::floor, 0, 0, 0},
      {"mxfp8_e4m3", "", scale_rule::floor, 0, 0, 0},
      {"mxfp6_e3m2", "", scale_rule::floor, 0, 0, 0},
      {"mxint8", "", scale_rule::floor, 0, 0, 0},
      {"int8", "block:16", scale_rule::room, -1, 0, 0},
      {"e4m3fn", "block:32", scale_rule::room, -1, 0, 0},
      {"bf16", "", scale_rule::room, 0, 0, 0},
      {"bp:5x7,4,3,2,1,0", "", scale_rule::room, 0, 0, 0},
      {"fix8.4", "channel:0", scale_rule::floor, 0, -20, 20},
  };
  const unsigned csr0 = _mm_getcsr();
  // FTZ 0x8000, DAZ 0x0040, rounding control 0x6000 (0x2000 down, 0x4000 up, 0x6000 toward zero)
  const unsigned csrs[] = {csr0 | 0x8040u, (csr0 & ~0x6000u) | 0x4000u, (csr0 & ~0x6000u) | 0x2000u | 0x8040u,
                           csr0 | 0x6000u | 0x8040u};
  std::mt19937_64 rng(99);
  std::size_t checked = 0;
  for (unsigned threads : {1u, 3u}) {
    kernels::set_thread_count(threads);
    // three threads: tensors of many tasks, on the formats of three kernels (block mode, per tensor, segments)
    const std::vector<std::int64_t> shape{threads == 1 ? 4 : 4096, 128};
    const std::size_t n = static_cast<std::size_t>(shape[0] * shape[1]);
    for (const fcase& c : fcs) {
      if (threads > 1 && c.spec != "mxfp4_e2m1" && c.spec != "bp:5x7,4,3,2,1,0" && c.spec != "int8") continue;
      const tensor_format tf = make_format(c);
      for (const round_mode& mode : all_modes()) {
        if (threads > 1 && mode.kind != rounding::rne && mode.kind != rounding::rup) continue;
        for (int kind : {1, 2, 4}) {
          if (threads > 1 && kind != 1) continue;
          const auto x = make_data(rng, n, 32, kind);
          quantize_options opt;
          opt.mode = mode;
          opt.seed = 3;
          const outcome ref = run(tf, opt, x, shape, false, "off");
          for (const unsigned csr : csrs) {
            for (std::string_view path : {"off", "auto"}) {
              _mm_setcsr(csr);
              kernels::set_thread_count(1);  // the workers restart under csr (they inherit it)
              kernels::set_thread_count(threads);
              const outcome got = run(tf, opt, x, shape, false, path);
              const unsigned after = _mm_getcsr();
              _mm_setcsr(csr0);
              CHECK((after & ~0x3fu) == (csr & ~0x3fu));  // the caller's MXCSR is back (status flags aside)
              check_same(got, ref, x,
                         c.spec + " groups=" + c.groups + " mode=" + std::to_string(int(mode.kind)) + "/" +
                             std::to_string(mode.sr_bits) + " kind=" + std::to_string(kind) +
                             " mxcsr=" + std::to_string(csr) + " path=" + std::string(path) +
                             " threads=" + std::to_string(threads));
              ++checked;
            }
          }
        }
      }
    }
  }
  kernels::set_thread_count(1);
  for (const char* spec : {"e4m3fn", "bf16", "e2m1fin", "int8", "fix8.4", "e5m2", "fp16"}) {
    const element_format f = parse_format(spec);
    for (const round_mode& mode : all_modes()) {
      const auto x = make_data(rng, 4096, 32, 1);
      quantize_options opt;
      opt.mode = mode;
      opt.seed = 3;
      std::vector<float> ref(x.size()), got(x.size());
      kernels::quantize<float>(kernels::backend::scalar, f, x, ref, opt);
      for (const unsigned csr : csrs) {
        for (kernels::backend b : {kernels::backend::scalar, kernels::backend::simd}) {
          _mm_setcsr(csr);
          kernels::quantize<float>(b, f, x, got, opt);
          _mm_setcsr(csr0);
          std::size_t bad = 0;
          for (std::size_t i = 0; i < x.size(); ++i)
            bad += std::bit_cast<std::uint32_t>(got[i]) != std::bit_cast<std::uint32_t>(ref[i]);
          CHECK_MESSAGE(bad == 0, spec << " mode " << int(mode.kind) << " mxcsr " << csr << " backend "
                                       << kernels::backend_name(b) << ": " << bad << " elements differ");
          ++checked;
        }
      }
    }
  }
  MESSAGE(checked << " comparisons");
  kernels::set_thread_count(0);
}
#endif

TEST_CASE("fast path: sr with a first random word equal to the threshold's top word (MX blocks, per-tensor profile)") {
  // Both the block mode (MX) and profile_sweep (a per-tensor profile) draw one 32-bit word per element. Below the
  // grid's smallest positive value q (at the group's scale) a magnitude rounds to 0 or q. There x = F 2^-33 q with
  // F = 2 w0 + 1 < 2^24 has f = x / q = F 2^-33: its top 32 bits are w0, its 33rd bit is 1. Under exact sr the
  // element's second word decides (up, to q, iff its top bit is 0), so the kernel must leave the element to the
  // scalar reference; under sr32 the threshold is w0 and u = w0 is not below it (0). The element sits at several
  // places (index_offset puts the chosen random stream there). q is read off the generic path: rup of a tiny value.
  struct tcase {
    const char* spec;
    std::vector<std::int64_t> shape;
    std::size_t amax_at;  // where the group's amax goes (a block of 32 at scale 2^0, or the whole tensor)
    float amax;
    std::vector<std::size_t> positions;
    float q;  // the smallest positive value at the group's scale where known independently, else 0
  };
  const tcase tcs[] = {
      {"mxfp8_e4m3", {4, 32}, 40, 256.0f, {32, 37, 49, 63}, std::ldexp(1.0f, -9)},  // block 1: e4m3's 2^-9 at 2^0
      {"bp:5x7,4,3,2,1,0", {8192}, 4100, 4.0f, {0, 1, 15, 4097, 8191}, 0.0f},       // one group: profile_sweep
  };
  const std::uint64_t seed = 5;
  std::size_t checked = 0;
  for (const tcase& c : tcs) {
    const tensor_format tf = parse_tensor_format(c.spec);
    std::size_t n = 1;
    for (auto d : c.shape) n *= static_cast<std::size_t>(d);
    for (int want_up = 0; want_up < 2; ++want_up) {
      std::uint32_t w0 = 0;
      const std::uint64_t index = fmtsim_sr_inputs::first_word_tie_index(seed, 1000, want_up == 1, w0);
      for (std::size_t pos : c.positions) {
        std::vector<float> data(n);
        for (std::size_t i = 0; i < n; ++i) data[i] = (i % 3 == 0 ? -1.3f : 0.75f) * float(1 + i % 5) / 16.0f;
        data[pos == c.amax_at ? c.amax_at + 1 : c.amax_at] = c.amax;
        quantize_options rup;
        rup.mode = round_mode{rounding::rup, 0};
        data[pos] = std::ldexp(1.0f, -120);
        const outcome smallest = run(tf, rup, data, c.shape, false, "off");
        REQUIRE(smallest.error.empty());
        const float q = smallest.y[pos];
        REQUIRE(q > 0.0f);
        if (c.q != 0.0f) REQUIRE(std::bit_cast<std::uint32_t>(q) == std::bit_cast<std::uint32_t>(c.q));
        REQUIRE(std::ldexp(q, -33) >= std::numeric_limits<float>::min());
        data[pos] = std::ldexp(static_cast<float>(2 * w0 + 1), -33) * q;
        for (const char* mode : {"sr", "sr32"}) {
          quantize_options opt;
          opt.mode = *parse_rounding(mode);
          opt.seed = seed;
          opt.index_offset = index - pos;
          const bool exact = std::string_view(mode) == "sr";
          const float expect = exact && want_up ? q : 0.0f;
          const std::string what = std::string(c.spec) + " " + mode + " want_up=" + std::to_string(want_up) +
                                   " pos=" + std::to_string(pos) + " q=" + std::to_string(std::ilogb(q));
          const outcome slow = run(tf, opt, data, c.shape, false, "off");
          REQUIRE(slow.error.empty());
          CHECK_MESSAGE(std::bit_cast<std::uint32_t>(slow.y[pos]) == std::bit_cast<std::uint32_t>(expect), what);
          for (std::string_view isa : kernels::simd_isas()) {
            const outcome fast = run(tf, opt, data, c.shape, false, isa);
            CHECK(fast.kernel_calls > 0);
            check_same(fast, slow, data, what + " isa=" + std::string(isa));
            ++checked;
          }
        }
      }
    }
  }
  MESSAGE(checked << " comparisons");
}

TEST_CASE("fast path: the non-finite error names the first bad element, as the generic path does") {
  const tensor_format tf = [] {
    tensor_format t = parse_tensor_format("mxfp8_e4m3");
    t.nonfinite = nonfinite_policy::error;
    return t;
  }();
  std::vector<float> x(300000, 1.0f);
  x[200001] = std::numeric_limits<float>::infinity();
  x[250000] = std::numeric_limits<float>::quiet_NaN();
  const std::vector<std::int64_t> shape{300000};
  kernels::set_thread_count(2);
  const outcome slow = run(tf, {}, x, shape, false, "off");
  const outcome fast = run(tf, {}, x, shape, false, "auto");
  CHECK(slow.error.find("element 200001 is infinite") != std::string::npos);
  CHECK(fast.error == slow.error);
  kernels::set_thread_count(0);
}

TEST_CASE("fast path switch: auto, off, named ISAs, unknown names rejected") {
  CHECK(kernels::scaled_fast_path() == "auto");
  kernels::set_scaled_fast_path("off");
  CHECK(kernels::scaled_fast_path() == "off");
  CHECK_FALSE(kernels::scaled_fast_path_enabled());
  for (std::string_view isa : kernels::simd_isas()) {
    kernels::set_scaled_fast_path(isa);
    CHECK(kernels::scaled_fast_path() == isa);
    CHECK(kernels::scaled_fast_path_enabled());
  }
  CHECK_THROWS_AS(kernels::set_scaled_fast_path("mmx"), std::invalid_argument);
  kernels::set_scaled_fast_path("auto");
  CHECK(kernels::scaled_fast_path() == "auto");
}

TEST_CASE("a quantizer called again resets every group's record, on every path") {
  // the first call leaves NaN groups (nan), zero groups at a clamped scale (clamped) and large scales in the
  // records; the second, on other data, must give the records a new quantizer gives (the fast path resets each
  // task's records itself)
  const fcase formats[] = {
      {"e4m3fn:sat", "block:32", scale_rule::floor, 0, -5, 50},  // the block mode
      {"int8", "", scale_rule::ceil, 0, 0, 0},                   // per tensor: the large groups' pieces
      {"e4m3fn", "channel:0", scale_rule::floor, 0, -5, 50},     // small groups, segments
  };
  const std::vector<std::int64_t> shape{6, 4096};
  std::vector<float> first(6 * 4096), second(6 * 4096);
  std::mt19937_64 rng(7);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (float& v : first) v = nd(rng) * 1e6f;
  for (float& v : second) v = nd(rng);
  for (std::size_t i = 0; i < 32; ++i) first[i] = 0.0f;  // a zero block (and a smaller amax for its channel)
  first[4096 + 100] = std::numeric_limits<float>::quiet_NaN();
  for (std::size_t i = 2 * 4096; i < 3 * 4096; ++i) first[i] = 0.0f;  // a zero channel
  for (const fcase& c : formats) {
    const tensor_format tf = make_format(c);
    for (std::string_view path : {"auto", "off"}) {
      INFO(c.spec << " groups=" << c.groups << " path=" << path);
      path_guard guard(path);
      tensor_quantizer again(tf, quantize_options{}), fresh(tf, quantize_options{});
      std::vector<float> y(first.size());
      again.quantize<float>(first, y, shape);
      const std::vector<group_scale> before = again.last_scales();
      CHECK(std::any_of(before.begin(), before.end(), [](const group_scale& s) { return s.nan || s.clamped; }));
      again.quantize<float>(second, y, shape);
      fresh.quantize<float>(second, y, shape);
      const std::vector<group_scale>&a = again.last_scales(), &b = fresh.last_scales();
      REQUIRE(a.size() == b.size());
      std::size_t bad = 0;
      for (std::size_t g = 0; g < a.size(); ++g)
        bad += a[g].scale_exp != b[g].scale_exp || a[g].nan != b[g].nan || a[g].clamped != b[g].clamped ||
               std::bit_cast<std::uint32_t>(a[g].real_scale) != std::bit_cast<std::uint32_t>(b[g].real_scale);
      CHECK(bad == 0);
    }
  }
}
