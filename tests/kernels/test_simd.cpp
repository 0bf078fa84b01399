// SPDX-License-Identifier: MIT
// SIMD kernels vs the scalar reference, bit for bit: every compiled ISA this CPU runs, every format family,
// convention, modifier and rounding mode (sr with several seeds and bit counts, hys), hard and random inputs.
#include <doctest/doctest.h>

#include <fmtsim/core/array.hpp>
#include <fmtsim/core/spec.hpp>
#include <fmtsim/kernels/elementwise.hpp>
#include <fmtsim/kernels/scaled.hpp>

#include "../sr_inputs.hpp"
#include "kernel_inputs.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

using namespace fmtsim;
using namespace fmtsim_kernel_tests;

namespace {

// A small deterministic generator for test data (xorshift64).
struct xorshift64 {
  std::uint64_t state;
  std::uint64_t operator()() {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  }
};

// Previous quantized values for hysteresis: the grid values near x (from each side), x itself, NaN and zeros.
std::vector<float> previous_for(const element_format& f, std::span<const float> x) {
  std::vector<float> prev(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    switch (i % 5) {
      case 0:
        prev[i] = quantize<float>(f, x[i], round_mode{rounding::rup});
        break;
      case 1:
        prev[i] = quantize<float>(f, x[i], round_mode{rounding::rdn});
        break;
      case 2:
        prev[i] = x[i];
        break;
      case 3:
        prev[i] = (i % 2) ? 0.0f : std::numeric_limits<float>::quiet_NaN();
        break;
      default:
        prev[i] = quantize<float>(f, x[(i * 7) % x.size()], round_mode{rounding::rne});
        break;
    }
  }
  return prev;
}

void check_isa(std::string_view isa, const element_format& f, const std::vector<float>& x, const quantize_options& opt,
               const std::vector<float>& prev, const std::vector<float>& expect) {
  const bool hys = opt.mode.kind == rounding::hys;
  std::vector<float> got(x.size());
  kernels::quantize_simd_isa(isa, f, x, got, opt, hys ? std::span<const float>(prev) : std::span<const float>());
  const long d = first_difference(expect, got);
  INFO("isa ", std::string(isa), " format ", format_name(f), " scale_exp ", f.scale_exp, " mode ",
       rounding_name(opt.mode), " seed ", opt.seed, " index_offset ", opt.index_offset);
  if (d >= 0) {
    INFO("element ", d, " x = ", hex(x[static_cast<std::size_t>(d)]),
         hys ? " previous = " + hex(prev[static_cast<std::size_t>(d)]) : std::string(), " reference ",
         hex(expect[static_cast<std::size_t>(d)]), " simd ", hex(got[static_cast<std::size_t>(d)]));
    CHECK(d < 0);
  } else {
    CHECK(d < 0);
  }
  // in place, from an unaligned start and with a length that leaves a partial batch
  if (x.size() > 40) {
    std::vector<float> buf(x.begin() + 1, x.end() - 2);
    std::vector<float> pv;
    if (hys) pv.assign(prev.begin() + 1, prev.end() - 2);
    quantize_options o = opt;
    o.index_offset += 1;
    kernels::quantize_simd_isa(isa, f, buf, buf, o, pv);
    const long d2 = first_difference(std::span<const float>(expect).subspan(1, buf.size()), buf);
    INFO("in place, offset 1: first difference at ", d2);
    CHECK(d2 < 0);
  }
}

}  // namespace

TEST_CASE("the SIMD ISAs of this machine are found and used") {
  const std::vector<std::string_view> isas = kernels::simd_isas();
  MESSAGE("compiled ISAs supported here: ", isas.size(), ", dispatch picks ", std::string(kernels::simd_isa()));
#if defined(__x86_64__)
  // every x86-64 CPU this project targets has SSE4.2; the kernels must be compiled in
  REQUIRE(!kernels::simd_isas_compiled().empty());
  CHECK(std::find(isas.begin(), isas.end(), std::string_view("sse4_2")) != isas.end());
#endif
  if (!isas.empty()) CHECK(kernels::simd_isa() == isas.front());
  CHECK_THROWS_AS(kernels::quantize_simd_isa("no-such-isa", parse_format("e4m3fn"), {}, {}, {}), std::invalid_argument);
}

TEST_CASE("SIMD == scalar reference for every format, scale and rounding mode (hard + random inputs)") {
  const std::vector<std::string_view> isas = kernels::simd_isas();
  if (isas.empty()) {
    MESSAGE("no SIMD ISA available: nothing to compare");
    return;
  }
  std::uint64_t case_seed = 1;
  for (const std::string& spec : test_format_specs()) {
    const element_format base = parse_format(spec);
    for (const element_format& f : with_scales(base)) {
      std::vector<float> x = hard_inputs(f);
      const std::vector<float> r = random_inputs(f, 4000, ++case_seed);
      // the hard inputs again, ordered by magnitude: most batches then hold lanes of one or two binades
      // only and take the kernel's common-case branch (quantize_batch_fast), which mixed batches skip
      std::vector<float> sorted = x;
      std::stable_sort(sorted.begin(), sorted.end(),
                       [](float a, float b) { return (bits(a) & 0x7fffffffu) < (bits(b) & 0x7fffffffu); });
      // and their magnitudes (sign bits cleared), sorted: batches without negative lanes, the only ones in
      // which unsigned and fnu formats take the common-case branch
      std::vector<float> magnitudes = sorted;
      for (float& v : magnitudes) v = std::bit_cast<float>(bits(v) & 0x7fffffffu);
      x.insert(x.end(), r.begin(), r.end());
      x.insert(x.end(), sorted.begin(), sorted.end());
      x.insert(x.end(), magnitudes.begin(), magnitudes.end());
      for (const std::string& mode_name : test_rounding_names()) {
        quantize_options opt;
        opt.mode = *parse_rounding(mode_name);
        const std::vector<std::pair<std::uint64_t, std::uint64_t>> streams =
            opt.mode.kind == rounding::sr
                ? std::vector<std::pair<std::uint64_t, std::uint64_t>>{{0, 0}, {0x123456789abcdefull, 0xfffffff0ull}}
                : std::vector<std::pair<std::uint64_t, std::uint64_t>>{{0, 0}};
        for (auto [seed, offset] : streams) {
          opt.seed = seed;
          opt.index_offset = offset;
          const std::vector<float> prev = previous_for(f, x);
          const bool hys = opt.mode.kind == rounding::hys;
          std::vector<float> expect(x.size());
          quantize_array<float>(f, x, expect, opt, hys ? std::span<const float>(prev) : std::span<const float>());
          for (std::string_view isa : isas) check_isa(isa, f, x, opt, prev, expect);
        }
      }
    }
  }
}

TEST_CASE("SIMD float-unit lanes at the edges of their ranges (unsigned, fnu, bf16's tiny values)") {
  // unit_sweep takes a batch only when every lane lies in its format's range (simd_params::unit_lo / unit_span /
  // unit_zero): batches made of one edge value's neighbours, so that some qualify whole and some do not
  const std::vector<std::string_view> isas = kernels::simd_isas();
  if (isas.empty()) return;
  std::vector<float> edges = {0.0f,
                              -0.0f,
                              std::ldexp(1.0f, -125),
                              std::ldexp(1.0f, -126),
                              std::ldexp(1.0f, -127),
                              std::ldexp(1.0f, -118),
                              std::ldexp(1.5f, -119),
                              std::ldexp(1.0f, 127),
                              std::ldexp(1.5f, 126),
                              std::ldexp(1.75f, 126),
                              std::ldexp(1.0f, -133),
                              std::ldexp(1.0f, -24),
                              1.5f,
                              255.5f,
                              256.0f,
                              28.0f};
  std::vector<float> x;
  for (float e : edges) {
    for (float v : {e, -e}) {
      for (int k = 0; k < 64; ++k) {  // v and its neighbours above, several full batches on every ISA
        float y = v;
        for (int j = 0; j < k % 8; ++j) y = std::nextafter(y, std::numeric_limits<float>::infinity());
        x.push_back(y);
      }
    }
  }
  for (const char* spec : {"e8m0fnu", "bf16", "uint8", "e3m2:u", "e5m2:sat:u"}) {
    const element_format f = parse_format(spec);
    for (const char* mode : {"rne", "rtz", "rna"}) {
      quantize_options opt;
      opt.mode = *parse_rounding(mode);
      std::vector<float> expect(x.size());
      quantize_array<float>(f, x, expect, opt);
      for (std::string_view isa : isas) check_isa(isa, f, x, opt, {}, expect);
    }
  }
}

TEST_CASE("SIMD stochastic rounding on integer and fixed-point grids: both limits, below the quantum") {
  // Data without a lane outside the per-lane branch, so that the element kernel's sweep takes every batch: values
  // between the grid's two limits and up to 3 quanta beyond (int8: -128 is one quantum further out than 127, so
  // sr of x in (-128, -127) may give -128 where x in (127, 128) gives at most 127), and below the quantum.
  const std::vector<std::string_view> isas = kernels::simd_isas();
  if (isas.empty()) return;
  xorshift64 rng{0x5eed1234abcdull};
  for (const char* spec : {"int8", "int4", "fix8.4", "int8:sat", "uint8"}) {
    const element_format f = parse_format(spec);
    auto value = [](const dyadic& d) { return std::ldexp(static_cast<double>(d.significand), d.exponent); };
    const double lo = has_sign(f) ? -value(max_finite_negative(f)) : 0.0, hi = value(max_finite(f));
    const double q = std::ldexp(1.0, min_quantum_exp(f));
    std::vector<float> x(4096);
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double u = static_cast<double>(rng() >> 11) * 0x1p-53;
      switch (i % 4) {
        case 0:  // anywhere between the limits, 3 quanta beyond
          x[i] = static_cast<float>(lo - 3 * q + u * (hi - lo + 6 * q));
          break;
        case 1:  // within one quantum of the negative limit
          x[i] = static_cast<float>(lo - q + 2 * q * u);
          break;
        case 2:  // within one quantum of the positive limit
          x[i] = static_cast<float>(hi - q + 2 * q * u);
          break;
        default:  // below the quantum, either sign
          x[i] = static_cast<float>((u - 0.5) * 2 * q);
          break;
      }
      if (!has_sign(f)) x[i] = std::fabs(x[i]);
    }
    for (const char* mode : {"sr", "sr4"}) {
      quantize_options opt;
      opt.mode = *parse_rounding(mode);
      opt.seed = 99;
      opt.index_offset = 12345;
      std::vector<float> expect(x.size());
      quantize_array<float>(f, x, expect, opt);
      for (std::string_view isa : isas) check_isa(isa, f, x, opt, {}, expect);
    }
  }
}

TEST_CASE("SIMD stochastic rounding: same stream across ISAs and index offsets near 2^32 and 2^64") {
  const std::vector<std::string_view> isas = kernels::simd_isas();
  if (isas.empty()) return;
  const element_format f = parse_format("e4m3fn");
  std::vector<float> x(1000);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = 1.0f + static_cast<float>(i) / 4096.0f;  // many off-grid values
  // the third offset wraps past 2^64 inside the array (indices are taken modulo 2^64)
  for (std::uint64_t offset :
       {std::uint64_t{0xffffffffu} - 500, ~std::uint64_t{0} - 1500, ~std::uint64_t{0} - 300, std::uint64_t{7}}) {
    quantize_options opt;
    opt.mode = *parse_rounding("sr");
    opt.seed = 42;
    opt.index_offset = offset;
    std::vector<float> expect(x.size());
    quantize_array<float>(f, x, expect, opt);
    for (std::string_view isa : isas) check_isa(isa, f, x, opt, {}, expect);
  }
}

namespace {

// x at position `at` of a batch-sized array of `fill` values whose stream starts so that x is element `index`:
// the reference must give `value` there, and every ISA the reference's whole array. Twice: as the array's first
// batches, and after 256 elements of `lead` (below e4m3fn's normal range), whose batches fail the element kernel's
// uniform case, so that it has given that case up (fast_hint) before x's batch: the kernel's sweeps each see x.
void check_sr_element(const element_format& f, float x, float fill, std::size_t at, round_mode mode, std::uint64_t seed,
                      std::uint64_t index, float value) {
  const float lead = 0.001f;
  for (std::size_t start : {std::size_t{0}, std::size_t{256}}) {
    std::vector<float> in(start + 80, fill);
    std::fill(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(start), lead);
    in[start + at] = x;
    quantize_options opt;
    opt.mode = mode;
    opt.seed = seed;
    opt.index_offset = index - (start + at);
    std::vector<float> expect(in.size());
    quantize_array<float>(f, in, expect, opt);
    INFO("mode ", rounding_name(mode), " element ", index, " at ", at, " after ", start);
    CHECK(expect[start + at] == value);  // the reference's own decision, from the construction
    for (std::string_view isa : kernels::simd_isas()) check_isa(isa, f, in, opt, {}, expect);
  }
}

}  // namespace

TEST_CASE("SIMD stochastic rounding: a first random word equal to the threshold's top word draws further words") {
  // The kernels draw one 32-bit word per element; when it equals the top 32 bits of the threshold and more of
  // the threshold follows, the decision needs the element's next words (the scalar reference's job). Such
  // inputs are built here: for e4m3fn (subnormal quantum 2^-9), x = F 2^-42 with F = 2 w0 + 1 < 2^24 has
  // f = x / 2^-9 = F 2^-33, whose top 32 bits are w0 and whose 33rd bit is 1. The element is chosen so that
  // its second word's top bit is 0 (then u < f: up, to 2^-9) or 1 (then not: 0), for sr, sr33 and sr40.
  const std::vector<std::string_view> isas = kernels::simd_isas();
  if (isas.empty()) return;
  const element_format f = parse_format("e4m3fn");
  const std::uint64_t seed = 99;
  for (int want_up = 0; want_up < 2; ++want_up) {
    std::uint32_t w0 = 0;
    // at 400 or later: check_sr_element puts it at most 256 + 70 elements into the array
    const std::uint64_t index = fmtsim_sr_inputs::first_word_tie_index(seed, 400, want_up == 1, w0);
    const float x = std::ldexp(static_cast<float>(2 * w0 + 1), -42);
    const float expect_value = want_up ? std::ldexp(1.0f, -9) : 0.0f;
    for (const char* mode : {"sr", "sr33", "sr40"}) {
      for (std::size_t at : {std::size_t{0}, std::size_t{5}, std::size_t{17}, std::size_t{63}, std::size_t{70}}) {
        // neighbours 0.75: ordinary sr lanes
        check_sr_element(f, x, 0.75f, at, *parse_rounding(mode), seed, index, expect_value);
      }
    }
  }
}

TEST_CASE("SIMD stochastic rounding: a first random word equal to a 32-bit threshold does not round up") {
  // In e4m3fn's normal range the quantum is 20 bits above a float's last bit: x = 1 + r 2^-23 has f = r / 2^20
  // and T = floor(f 2^R) 2^(32-R) (R = 32 for exact sr). With w0 == T exactly, u >= T: never up (the
  // kernels' fast branch compares the word alone). Batches of in-range neighbours take that branch.
  const std::vector<std::string_view> isas = kernels::simd_isas();
  if (isas.empty()) return;
  const element_format f = parse_format("e4m3fn");
  const std::uint64_t seed = 7;
  for (int bits : {0, 20, 16}) {
    const int kept = bits == 0 ? 20 : std::min(bits, 20);  // bits of r that T keeps
    const std::uint32_t low_zero = (std::uint32_t{1} << (32 - kept)) - 1;
    std::uint64_t index = 400;  // as above
    std::uint32_t w0 = 0;
    for (;; ++index) {
      w0 = element_random(seed, index).next32();
      if ((w0 & low_zero) == 0 && w0 != 0) break;
    }
    // r's top `kept` bits are w0's top bits; below them (sr16) any bits: 0b0101
    const std::uint32_t r = ((w0 >> (32 - kept)) << (20 - kept)) | (kept < 20 ? 5u : 0u);
    const float x = 1.0f + std::ldexp(static_cast<float>(r), -23);
    const round_mode mode =
        bits == 0 ? *parse_rounding("sr") : round_mode{rounding::sr, static_cast<std::uint8_t>(bits)};
    for (std::size_t at : {std::size_t{0}, std::size_t{9}, std::size_t{16}, std::size_t{47}}) {
      // neighbours 1.3: in-range lanes; the reference: u == T is not below T
      check_sr_element(f, x, 1.3f, at, mode, seed, index, 1.0f);
    }
  }
}

TEST_CASE("SIMD errors match the array API") {
  std::vector<float> x(10, 1.0f), y(9);
  CHECK_THROWS_AS(kernels::quantize<float>(kernels::backend::simd, parse_format("e4m3fn"), x, y, {}),
                  std::invalid_argument);
  std::vector<float> z(10);
  CHECK_THROWS_AS(kernels::quantize<float>(kernels::backend::simd, parse_format("e8m23fin"), x, z, {}),
                  std::invalid_argument);
  quantize_options hys;
  hys.mode = *parse_rounding("hys");
  CHECK_THROWS_AS(kernels::quantize<float>(kernels::backend::simd, parse_format("e4m3fn"), x, z, hys),
                  std::invalid_argument);
  CHECK(kernels::parse_backend("simd") == kernels::backend::simd);
  CHECK(kernels::backend_name(kernels::backend::automatic) == "auto");
}

// ---- the scaled kernel (tensor_quantizer's float32 fast path) -----------------------------------

namespace {

// y against the scalar reference of fs (at opt's mode, seed and offset) bit for bit, reporting the first three
// differences; returns the clipped (|x| above lim_p / lim_n by sign) and flushed (x != 0, y == 0) counts the kernel
// must report. The kernel compares magnitude bits, so a NaN counts as clipped (the tensor quantizer never sends it a
// group with a NaN or an inf: those take the generic per-group code).
std::pair<std::uint64_t, std::uint64_t> check_scaled(std::string_view isa, const char* spec, const element_format& fs,
                                                     const quantize_options& opt, const std::vector<float>& x,
                                                     const std::vector<float>& y, double lim_p, double lim_n) {
  std::uint64_t clipped = 0, flushed = 0;
  std::size_t bad = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const float want = quantize<float>(fs, x[i], opt.mode, element_context<float>{opt.seed, opt.index_offset + i, 0});
    if (std::bit_cast<std::uint32_t>(want) != std::bit_cast<std::uint32_t>(y[i]) && bad++ < 3)
      FAIL_CHECK(isa << " " << spec << " s=" << fs.scale_exp << " mode " << int(opt.mode.kind) << " i " << i
                     << " x bits " << std::hex << std::bit_cast<std::uint32_t>(x[i]) << " got "
                     << std::bit_cast<std::uint32_t>(y[i]) << " want " << std::bit_cast<std::uint32_t>(want)
                     << std::dec);
    if (std::isnan(x[i]) || std::fabs(double(x[i])) > (std::signbit(x[i]) ? lim_n : lim_p)) ++clipped;
    if (x[i] != 0 && y[i] == 0) ++flushed;
  }
  CHECK(bad == 0);
  return {clipped, flushed};
}

}  // namespace

TEST_CASE("scaled kernel == scalar reference at scale 2^s on every ISA (extreme s, float32 subnormals, stats)") {
  const char* specs[] = {"e4m3fn:sat",     "e4m3fn",           "e5m2", "e2m1fin:sat", "e2m1fin:u",
                         "e8m0fnu",        "fix8.6:sat",       "int8", "e7m3:ftz",    "log4",
                         "log4:logdomain", "bp:5x7,4,3,2,1,0", "bf16", "e4m3fnuz"};
  const std::vector<round_mode> modes = {{rounding::rne, 0}, {rounding::rna, 0}, {rounding::rtz, 0}, {rounding::rup, 0},
                                         {rounding::rdn, 0}, {rounding::rto, 0}, {rounding::sr, 0},  {rounding::sr, 5}};
  const int scales[] = {-127, -126, -125, -120, -100, -30, -1, 0, 1, 7, 60, 100, 119, 120, 125, 126, 127};
  xorshift64 next{0x243f6a8885a308d3ull};
  std::size_t checked = 0;
  for (std::string_view isa : kernels::simd_isas()) {
    for (const char* spec : specs) {
      const element_format f0 = parse_format(spec);
      for (const round_mode& mode : modes) {
        const quantize_options opt{mode, 0x5eedull + checked, 1000 + checked};
        const kernels::scaled_f32_kernel k(f0, opt, isa);
        CHECK(k.isa() == isa);
        for (int s : scales) {
          element_format fs = f0;
          fs.scale_exp = s;
          if (!representable_in<float>(fs)) continue;
          // inputs up to 2^(top of the format + 2) * 2^s (finite after scaling), many binades below, float32
          // subnormals, exponent fields next to s (the scaled value lands at 2^-126), zeros of both signs
          const int top = s + 10;
          std::vector<float> x(301);
          for (std::size_t i = 0; i < x.size(); ++i) {
            const std::uint64_t r = next();
            const std::uint32_t sign = static_cast<std::uint32_t>(r >> 63) << 31;
            const std::uint32_t mant = static_cast<std::uint32_t>(r) & 0x7fffffu;
            int field = 0;
            switch (i % 6) {
              case 0:
                field = 0;  // subnormal
                break;
              case 1:
                field = s + static_cast<int>(r >> 40) % 5 - 2;  // scaled into the subnormals / just above 2^-126
                break;
              default:
                field = top + 127 - static_cast<int>((r >> 40) % 40);
                break;
            }
            field = std::clamp(field, 0, std::min(254, top + 127));
            x[i] = std::bit_cast<float>(sign | static_cast<std::uint32_t>(field) << 23 | mant);
            if (i % 37 == 0) x[i] = (i & 1) ? -0.0f : 0.0f;
          }
          std::vector<float> y(x.size());
          const dyadic mp = max_finite(fs), mn = max_finite_negative(fs);
          const double lim_p = std::ldexp(double(mp.significand), mp.exponent),
                       lim_n = std::ldexp(double(mn.significand), mn.exponent);
          kernels::scaled_segment seg;
          seg.begin = 0;
          seg.len = x.size();
          seg.scale_exp = s;
          seg.clip_pos = std::bit_cast<std::uint32_t>(static_cast<float>(lim_p));
          seg.clip_neg = std::bit_cast<std::uint32_t>(static_cast<float>(lim_n));
          // the amax entry
          std::uint32_t amax = 0, want_amax = 0;
          k.amax_bits(x.data(), std::span(&seg, 1), &amax);
          for (float v : x) want_amax = std::max(want_amax, std::bit_cast<std::uint32_t>(v) & 0x7fffffffu);
          CHECK(amax == want_amax);
          const kernels::scaled_counts cnt = k.quantize(x.data(), y.data(), std::span(&seg, 1), opt.index_offset);
          const auto [clipped, flushed] = check_scaled(isa, spec, fs, opt, x, y, lim_p, lim_n);
          CHECK(cnt.clipped == clipped);
          CHECK(cnt.flushed_to_zero == flushed);
          // the same with the parameters built at scale s (the path of long per-tensor groups)
          std::vector<float> y2(x.size());
          const auto at = k.params_at(s);
          const kernels::scaled_counts cnt2 =
              k.quantize_at(*at, x.data(), y2.data(), std::span(&seg, 1), opt.index_offset);
          CHECK(std::memcmp(y.data(), y2.data(), y.size() * sizeof(float)) == 0);
          CHECK(cnt2.clipped == clipped);
          CHECK(cnt2.flushed_to_zero == flushed);
          ++checked;
        }
      }
    }
  }
  MESSAGE(checked << " (ISA, format, mode, scale) combinations");
  CHECK(checked > 100);
}

// The per-tensor profile sweep (simd_impl.hpp profile_sweep): long segments where batches in range alternate with
// batches the sweep skips (a lane far above the format's top, or for the wide profiles outside the 64-entry window)
// in runs longer than its 64 recorded positions, float32 subnormals, zeros of both signs and a partial tail; the
// statistics; and with non-temporal stores.
TEST_CASE("scaled kernel, long per-tensor segments: skipped batches, runs of them, statistics") {
  const char* specs[] = {"fp143", "fp134", "bp:4x13,3,2x9,1,0", "bp:1x90,0", "log4", "bp:3,2x40,1x40,0"};
  const std::vector<round_mode> modes = {{rounding::rne, 0}, {rounding::rna, 0}, {rounding::rtz, 0},
                                         {rounding::rup, 0}, {rounding::rdn, 0}, {rounding::rto, 0}};
  xorshift64 next{0x9e3779b97f4a7c15ull};
  constexpr std::size_t batches = 700;  // in units of 16 floats: two or four SIMD batches each
  std::size_t checked = 0;
  for (std::string_view isa : kernels::simd_isas()) {
    for (const char* spec : specs) {
      const element_format f0 = parse_format(spec);
      for (const round_mode& mode : modes) {
        const quantize_options opt{mode, 1, 77};
        const kernels::scaled_f32_kernel k(f0, opt, isa);
        for (const int s : {-3, 0, 4}) {
          element_format fs = f0;
          fs.scale_exp = s;
          std::vector<float> x(batches * 16 + 11);
          for (std::size_t i = 0; i < x.size(); ++i) {
            const std::size_t b = i / 16;
            const std::uint64_t r = next();
            const std::uint32_t sign = static_cast<std::uint32_t>(r >> 63) << 31;
            std::uint32_t mant = static_cast<std::uint32_t>(r) & 0x7fffffu;
            // a quarter keep only their top 0-7 significand bits: powers of two, midpoints, ties
            if ((r >> 56) % 4 == 0) mant &= ~((1u << (23 - (r >> 50) % 8)) - 1);
            // mostly the binades of the format at scale s (and a few above it: clipped), sometimes far below
            int field = 127 + s + 2 - static_cast<int>((r >> 40) % 24);
            if ((r >> 32) % 53 == 0) field = static_cast<int>((r >> 44) % 90);  // float32 subnormals and tiny values
            x[i] = std::bit_cast<float>(sign | static_cast<std::uint32_t>(std::clamp(field, 0, 254)) << 23 | mant);
            if ((r >> 20) % 29 == 0) x[i] = sign ? -0.0f : 0.0f;
            // batches 100-299 skipped in a run (longer than 64), others now and then; one lane each
            const bool skip = (b >= 100 && b < 300) || b % 7 == 3;
            if (skip && i % 16 == (b * 5) % 16) {
              // far above the format's top (the window's shift there is not in 1..24), or inf, or NaN (field 255:
              // beyond every window's clamped end)
              const std::uint32_t high = b % 4 == 1   ? 0x7f000000u | mant
                                         : b % 4 == 3 ? 0x7f800000u | (b % 8 == 3 ? mant | 0x400000u : 0u)
                                                      : static_cast<std::uint32_t>(127 + s + 40 + b % 5) << 23 | mant;
              x[i] = std::bit_cast<float>(sign | high);
            }
          }
          const dyadic mp = max_finite(fs);
          const double lim = std::ldexp(double(mp.significand), mp.exponent);
          kernels::scaled_segment seg;
          seg.len = x.size();
          seg.scale_exp = s;
          seg.clip_pos = seg.clip_neg = std::bit_cast<std::uint32_t>(static_cast<float>(lim));
          std::vector<float> y(x.size());
          const auto at = k.params_at(s);
          const kernels::scaled_counts cnt =
              k.quantize_at(*at, x.data(), y.data(), std::span(&seg, 1), opt.index_offset);
          const auto [clipped, flushed] = check_scaled(isa, spec, fs, opt, x, y, lim, lim);
          CHECK(cnt.clipped == clipped);
          CHECK(cnt.flushed_to_zero == flushed);
          // non-temporal stores, the output at every offset from a 64-byte boundary (the head before the first
          // aligned batch goes through the general loop)
          std::vector<float> buf(x.size() + 16);
          const std::size_t off = checked % 16;
          const kernels::scaled_counts cnt3 =
              k.quantize_at(*at, x.data(), buf.data() + off, std::span(&seg, 1), opt.index_offset, true);
          CHECK(std::memcmp(buf.data() + off, y.data(), y.size() * sizeof(float)) == 0);
          CHECK(cnt3.clipped == clipped);
          CHECK(cnt3.flushed_to_zero == flushed);
          ++checked;
        }
      }
    }
  }
  MESSAGE(checked << " (ISA, format, mode, scale) combinations");
  CHECK(checked >= 108);
}
