// SPDX-License-Identifier: MIT
// Tensor quantizer vs the independent scaled oracle: MX, profiles (whole lee22 catalog), log, int, block
// minifloat, ceil and fp32 rules, strided layouts, non-finite policies, statistics, tracking, hysteresis.
#include "scaled_oracle.hpp"

#include <fmtsim/core/spec.hpp>
#include <fmtsim/formats/catalog.hpp>
#include <fmtsim/formats/tensor.hpp>
#include <fmtsim/kernels/scaled.hpp>

#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

using namespace fmtsim;
namespace so = scaled_oracle;
namespace fo = fmtsim_oracle;
using Mode = fo::Mode;

namespace {

constexpr Mode all_modes[] = {Mode::rne, Mode::rna, Mode::rtz, Mode::rup, Mode::rdn, Mode::rto};

round_mode to_mode(Mode m) {
  switch (m) {
    case Mode::rne:
      return {rounding::rne, 0};
    case Mode::rna:
      return {rounding::rna, 0};
    case Mode::rtz:
      return {rounding::rtz, 0};
    case Mode::rup:
      return {rounding::rup, 0};
    case Mode::rdn:
      return {rounding::rdn, 0};
    case Mode::rto:
      return {rounding::rto, 0};
  }
  return {};
}

template <class T>
bool same_bits(T a, T b) {
  if (std::isnan(a) && std::isnan(b)) return true;
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}

// Random values over a range of binades, zeros and both signs.
template <class T>
std::vector<T> random_values(std::mt19937_64& rng, std::size_t n, int emin, int emax) {
  std::uniform_int_distribution<int> e(emin, emax);
  std::uniform_real_distribution<double> u(1.0, 2.0);
  std::vector<T> v(n);
  for (auto& x : v) {
    const int k = static_cast<int>(rng() % 16);
    if (k == 0)
      x = T(0);
    else
      x = static_cast<T>(std::ldexp(u(rng), e(rng)) * ((rng() & 1) ? -1 : 1));
  }
  return v;
}

so::Groups oracle_groups(const scale_groups& g, std::size_t nd) {
  so::Groups o;
  switch (g.kind) {
    case group_kind::tensor:
      o.kind = so::GroupKind::tensor;
      break;
    case group_kind::channel:
      o.kind = so::GroupKind::channel;
      break;
    case group_kind::block:
      o.kind = so::GroupKind::block;
      break;
    case group_kind::tile:
      o.kind = so::GroupKind::tile;
      break;
  }
  o.axis = g.axis < 0 ? g.axis + static_cast<int>(nd) : g.axis;
  o.block = g.block;
  o.rows = g.tile_rows;
  o.cols = g.tile_cols;
  return o;
}

// Power-of-two-scaled minifloat/int elements: oracle output for scale exponent rule `expo(amax)`.
template <class T, class ExpFn>
std::vector<T> oracle_pow2(const fo::Spec& spec, const std::vector<T>& x, const std::vector<int64_t>& shape,
                           const so::Groups& g, Mode mode, ExpFn expo, std::vector<int>* scales = nullptr,
                           std::uint64_t* clipped = nullptr) {
  std::vector<T> y(x.size());
  for (const auto& grp : so::groups_of(shape, g)) {
    so::cpp_rational amax = 0;
    for (auto i : grp) amax = std::max(amax, so::rabs(so::rat(double(x[i]))));
    const int s = expo(amax);
    if (scales) scales->push_back(amax == 0 ? std::numeric_limits<int>::min() : s);
    const double mx = std::ldexp(fo::props(spec).max, s);
    // two's complement reaches one quantum further on the negative side (formats.md 1.2)
    const bool twos = spec.kind == fo::Spec::Kind::integer && spec.int_signed;
    const double mx_neg = twos ? std::ldexp(1.0, spec.int_bits - 1 - spec.frac_bits + s) : mx;
    for (auto i : grp) {
      y[i] = static_cast<T>(so::element_scaled(spec, double(x[i]), s, mode));
      if (clipped && std::fabs(double(x[i])) > (x[i] < 0 ? mx_neg : mx)) ++*clipped;
    }
  }
  return y;
}

template <class T>
void check_equal(const std::vector<T>& got, const std::vector<T>& want, const std::vector<T>& in,
                 const std::string& what) {
  REQUIRE(got.size() == want.size());
  std::size_t bad = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (!same_bits(got[i], want[i])) {
      if (bad++ < 5)
        FAIL_CHECK(what << ": element " << i << " input " << double(in[i]) << " got " << double(got[i]) << " want "
                        << double(want[i]));
    }
  }
  CHECK_MESSAGE(bad == 0, what << ": " << bad << " mismatches");
}

struct mx_case {
  const char* name;
  fo::Spec spec;
};

std::vector<mx_case> mx_cases() {
  using C = fo::Convention;
  return {
      {"mxfp8_e4m3", fo::with_sat(fo::minifloat(4, 3, C::fn))},
      {"mxfp8_e5m2", fo::with_sat(fo::minifloat(5, 2, C::ieee))},
      {"mxfp6_e2m3", fo::with_sat(fo::minifloat(2, 3, C::fin))},
      {"mxfp6_e3m2", fo::with_sat(fo::minifloat(3, 2, C::fin))},
      {"mxfp4_e2m1", fo::with_sat(fo::minifloat(2, 1, C::fin))},
      // OCP MX v1.0: MXINT8 elements are 8-bit two's complement with 6 fraction bits (1.6 fixed point)
      {"mxint8", fo::with_sat(fo::integer(8, 6, true))},
  };
}

// OCP MX rule: X = 2^(floor(log2 amax) - emax_elem), E8M0 range [-127, 127]; amax = 0 gives zeros.
auto mx_rule(const fo::Spec& spec) {
  const int emax = so::element_emax(spec);
  return [emax](const so::cpp_rational& amax) {
    if (amax == 0) return 0;
    return std::clamp(so::floor_log2(amax) - emax, -127, 127);
  };
}

}  // namespace

TEST_CASE("element emax of the MX element formats (OCP MX v1.0 table)") {
  // OCP MX v1.0: emax_elem = 8 (E4M3), 15 (E5M2), 2 (E2M3), 4 (E3M2), 2 (E2M1), 0 (INT8)
  CHECK(element_emax(parse_tensor_format("mxfp8_e4m3").element) == 8);
  CHECK(element_emax(parse_tensor_format("mxfp8_e5m2").element) == 15);
  CHECK(element_emax(parse_tensor_format("mxfp6_e2m3").element) == 2);
  CHECK(element_emax(parse_tensor_format("mxfp6_e3m2").element) == 4);
  CHECK(element_emax(parse_tensor_format("mxfp4_e2m1").element) == 2);
  CHECK(element_emax(parse_tensor_format("mxint8").element) == 0);
  for (const auto& c : mx_cases()) CHECK(element_emax(parse_tensor_format(c.name).element) == so::element_emax(c.spec));
}

TEST_CASE("MX presets match the OCP rule bit for bit, incl. block maxima just below a power of two") {
  std::mt19937_64 rng(42);
  const std::vector<std::vector<int64_t>> shapes = {{4, 70}, {3, 5, 32}, {100}, {1}, {2, 0, 3}};
  for (const auto& c : mx_cases()) {
    const tensor_format tf = parse_tensor_format(c.name);
    CHECK(tf.groups.kind == group_kind::block);
    CHECK(tf.groups.block == 32);
    const std::uint64_t fast0 = kernels::scaled_kernel_calls();
    for (const auto& shape : shapes) {
      std::size_t n = 1;
      for (auto d : shape) n *= static_cast<std::size_t>(d);
      for (int trial = 0; trial < 6; ++trial) {
        auto x = random_values<float>(rng, n, -20, 20);
        // blocks whose maximum is the float just below a power of two, or exactly one
        for (std::size_t b = 0; b < n; b += 32) {
          const int k = static_cast<int>(rng() % 60) - 30;
          const float edge = trial % 2 == 0 ? std::nextafter(std::ldexp(1.0f, k), 0.0f) : std::ldexp(1.0f, k);
          for (std::size_t i = b; i < std::min(n, b + 32); ++i) x[i] = std::ldexp(x[i], k - 22);  // all below 2^(k-1)
          x[b + (rng() % std::min<std::size_t>(32, n - b))] = (rng() & 1) ? edge : -edge;
        }
        if (trial == 5 && n > 0) std::fill(x.begin(), x.begin() + std::min<std::size_t>(n, 32), 0.0f);  // a zero block
        std::vector<float> y(n);
        tensor_quantizer q(tf);
        const auto st = q.quantize<float>(x, y, shape);
        std::uint64_t clipped = 0;
        std::vector<int> scales;
        const auto want = oracle_pow2<float>(c.spec, x, shape, oracle_groups(tf.groups, shape.size()), Mode::rne,
                                             mx_rule(c.spec), &scales, &clipped);
        check_equal(y, want, x, std::string(c.name));
        CHECK(st.clipped == clipped);
        REQUIRE(q.last_scales().size() == scales.size());
        for (std::size_t g = 0; g < scales.size(); ++g)
          if (scales[g] != std::numeric_limits<int>::min() && q.last_scales()[g].scale_exp != scales[g])
            FAIL_CHECK("scale of group " << g);
        if (n)
          CHECK(st.bits_per_element() == doctest::Approx((double(n) * code_bits(tf.element) + 8.0 * st.groups) / n));
      }
    }
    CHECK(kernels::scaled_kernel_calls() > fast0);  // float32 MX blocks go through the fast path
  }
}

TEST_CASE("MX: float64 input, other axes, block sizes and the E8M0 clamp") {
  std::mt19937_64 rng(7);
  for (const auto& c : mx_cases()) {
    tensor_format tf = parse_tensor_format(c.name);
    for (const char* groups : {"block:8:0", "block:5:1", "block:32"}) {
      tf.groups = parse_groups(groups);
      const std::vector<int64_t> shape = {17, 6};
      auto x = random_values<double>(rng, 102, -140, 130);  // reaches the E8M0 clamp at both ends
      std::vector<double> y(x.size());
      tensor_quantizer q(tf);
      q.quantize<double>(x, y, shape);
      const auto want = oracle_pow2<double>(c.spec, x, shape, oracle_groups(tf.groups, 2), Mode::rne, mx_rule(c.spec));
      check_equal(y, want, x, std::string(c.name) + " " + groups);
    }
  }
}

TEST_CASE("block minifloat presets: shared exponent floor(log2 amax) clamped to [-128, 127], 48x48 tiles") {
  using C = fo::Convention;
  struct bm {
    const char* name;
    fo::Spec spec;
  };
  const bm cases[] = {
      {"bm8", fo::with_sat(fo::minifloat(2, 5, C::fin))}, {"bm8:bwd", fo::with_sat(fo::minifloat(4, 3, C::fin))},
      {"bm6", fo::with_sat(fo::minifloat(2, 3, C::fin))}, {"bm6:bwd", fo::with_sat(fo::minifloat(3, 2, C::fin))},
      {"bm5", fo::with_sat(fo::minifloat(2, 2, C::fin))}, {"bm5:bwd", fo::with_sat(fo::minifloat(3, 1, C::fin))},
      {"bm4", fo::with_sat(fo::minifloat(2, 1, C::fin))}, {"bm4:bwd", fo::with_sat(fo::minifloat(3, 0, C::fin))},
  };
  std::mt19937_64 rng(11);
  for (const auto& c : cases) {
    const tensor_format tf = parse_tensor_format(c.name);
    CHECK(tf.groups.kind == group_kind::tile);
    CHECK(tf.groups.tile_rows == 48);
    CHECK(tf.groups.tile_cols == 48);
    const int emax = so::element_emax(c.spec);
    auto rule = [emax](const so::cpp_rational& amax) {
      if (amax == 0) return 0;
      return std::clamp(so::floor_log2(amax), -128, 127) - emax;
    };
    // 48x48 tiles of a tensor at most 48 wide are contiguous runs: those go through the float32 fast path
    for (const std::vector<int64_t>& shape : {std::vector<int64_t>{100, 70}, std::vector<int64_t>{2, 50, 49},
                                              std::vector<int64_t>{100, 40}, std::vector<int64_t>{3, 50, 48}}) {
      std::size_t n = 1;
      for (auto d : shape) n *= static_cast<std::size_t>(d);
      auto x = random_values<float>(rng, n, -12, 12);
      const std::size_t W = static_cast<std::size_t>(shape.back());
      for (std::size_t r = 0; r < 48; ++r)
        for (std::size_t c = 0; c < 48; ++c) x[r * W + c] = std::ldexp(x[r * W + c], -145);  // tile amax below 2^-128
      std::vector<float> y(n);
      tensor_quantizer q(tf);
      const std::uint64_t fast0 = kernels::scaled_kernel_calls();
      const auto st = q.quantize<float>(x, y, shape);
      if (shape.back() <= 48) CHECK(kernels::scaled_kernel_calls() > fast0);
      const auto want = oracle_pow2<float>(c.spec, x, shape, oracle_groups(tf.groups, shape.size()), Mode::rne, rule);
      check_equal(y, want, x, c.name);
      CHECK(st.scale_clamped >= 1);
    }
  }
}

TEST_CASE("binade profiles: the whole lee22 catalog, rooms 0/1/3, every deterministic mode, edges and clamp") {
  std::mt19937_64 rng(2022);
  std::size_t profiles = 0;
  for (const char* cat : {"lee22", "lee22-extra"}) {
    for (const catalog_entry& e : catalog(cat)) {
      ++profiles;
      const std::vector<int> m(e.profile.begin(), e.profile.end());
      tensor_format tf;
      tf.element = parse_format(std::string(e.id));
      tf.rule = scale_rule::room;
      const int L = static_cast<int>(m.size());
      for (int room : {0, 1, 3}) {
        tf.room = room;
        const int A = static_cast<int>(rng() % 41) - 20;
        // amax in binade A (sometimes the float just below 2^(A+1): above the clamp value for room 0)
        const float amax = (rng() & 1) ? std::nextafter(std::ldexp(1.0f, A + 1), 0.0f) : std::ldexp(1.5f, A);
        const int s = A + room;
        std::vector<float> x{amax};
        for (int d = 0; d <= L + 1; ++d) {
          const int md = d < L ? std::max(m[static_cast<std::size_t>(d)], 1) : 1;
          for (int j = 0; j < 5; ++j) {
            const double v = std::ldexp(1.0 + std::ldexp(double(j), -md - 1), s - d);  // points and midpoints
            if (v <= amax) x.push_back(static_cast<float>((j & 1) ? -v : v));
          }
        }
        for (int i = 0; i < 40; ++i) {
          const double v =
              std::ldexp(std::uniform_real_distribution<double>(1, 2)(rng), s - static_cast<int>(rng() % (L + 3)));
          if (v <= amax) x.push_back(static_cast<float>((rng() & 1) ? -v : v));
        }
        x.push_back(0.0f);
        x.push_back(-0.0f);
        const auto rvals = so::profile_values(m, s);
        const auto vals = so::to_doubles(rvals);
        if (profiles % 50 == 1) {  // cross-check the exact-double oracle against the rational one
          for (Mode mode : all_modes)
            for (float v : x)
              REQUIRE(so::round_on(vals, double(v), mode) == so::to_double(so::round_on(rvals, so::rat(v), mode)));
        }
        for (Mode mode : all_modes) {
          quantize_options opt;
          opt.mode = to_mode(mode);
          std::vector<float> y(x.size());
          const std::vector<int64_t> shape{static_cast<int64_t>(x.size())};
          tensor_format t = tf;
          if (room == 0 && mode == Mode::rtz) t.rule = scale_rule::floor;  // floor is room 0
          tensor_quantizer q(t, opt);
          const std::uint64_t fast0 = kernels::scaled_kernel_calls();
          q.quantize<float>(x, y, shape);
          CHECK(kernels::scaled_kernel_calls() == fast0 + 1);  // per tensor: one fast-path kernel call
          CHECK(q.last_scales()[0].scale_exp == s);
          std::vector<float> want(x.size());
          for (std::size_t i = 0; i < x.size(); ++i)
            want[i] = static_cast<float>(so::round_on(vals, double(x[i]), mode));
          check_equal(y, want, x, std::string(e.id) + " room " + std::to_string(room) + " " + fo::mode_name(mode));
        }
      }
    }
  }
  CHECK(profiles > 498);
}

TEST_CASE("profiles per channel and log<N> per output channel (linear and log-domain rounding)") {
  std::mt19937_64 rng(5);
  struct lc {
    const char* spec;
    std::vector<int> m;
    bool logdomain;
  };
  const lc cases[] = {
      {"log4", {1, 1, 1, 1, 1, 1, 1, 0}, false},
      {"log4:logdomain", {1, 1, 1, 1, 1, 1, 1, 0}, true},
      {"log5", std::vector<int>(15, 1), false},
      {"fp134", {5, 5, 5, 5, 5, 5, 5, 4, 3, 2, 1, 0}, false},
  };
  for (const auto& c : cases) {
    std::vector<int> m = c.m;
    if (std::string(c.spec) == "log5") m.push_back(0);
    tensor_format tf = parse_tensor_format(c.spec);
    CHECK(tf.rule == scale_rule::room);
    tf.groups = parse_groups("channel:0");
    const std::vector<int64_t> shape{8, 3, 3, 3};
    auto x = random_values<float>(rng, 216, -12, 3);
    std::vector<float> y(x.size());
    tensor_quantizer q(tf);
    const std::uint64_t fast0 = kernels::scaled_kernel_calls();
    q.quantize<float>(x, y, shape);
    CHECK(kernels::scaled_kernel_calls() > fast0);  // channel:0 groups are contiguous: the fast path
    std::vector<float> want(x.size());
    for (const auto& grp : so::groups_of(shape, so::Groups{so::GroupKind::channel, 0})) {
      so::cpp_rational amax = 0;
      for (auto i : grp) amax = std::max(amax, so::rabs(so::rat(x[i])));
      const auto vals = so::profile_values(m, amax == 0 ? 0 : so::floor_log2(amax));
      for (auto i : grp) {
        const auto r = so::round_on(vals, so::rat(x[i]), Mode::rne, c.logdomain);
        want[i] = static_cast<float>(so::to_double(r));
      }
    }
    check_equal(y, want, x, c.spec);
  }
}

TEST_CASE("power-of-two scaled two's complement (int8/int4 with room) and the ceil rule never clips") {
  std::mt19937_64 rng(9);
  for (int bits : {8, 4}) {
    const fo::Spec spec = fo::integer(bits, 0, true);
    for (int room : {0, 1, 2}) {
      tensor_format tf = parse_tensor_format("int" + std::to_string(bits));
      tf.rule = scale_rule::room;
      tf.room = room;
      tf.groups = parse_groups("channel:1");
      const std::vector<int64_t> shape{9, 4};
      auto x = random_values<float>(rng, 36, -8, 8);
      std::vector<float> y(36);
      tensor_quantizer q(tf);
      q.quantize<float>(x, y, shape);
      const int emax = bits - 2;  // 2^(N-1) - 1 lies in [2^(N-2), 2^(N-1))
      const auto want = oracle_pow2<float>(
          spec, x, shape, so::Groups{so::GroupKind::channel, 1}, Mode::rne,
          [&](const so::cpp_rational& a) { return a == 0 ? room - emax : so::floor_log2(a) + room - emax; });
      check_equal(y, want, x, "int" + std::to_string(bits) + " room " + std::to_string(room));
    }
  }
  for (const char* el : {"e4m3fn", "int8", "e2m1fin", "e5m2"}) {
    tensor_format tf = parse_tensor_format(el);
    tf.rule = scale_rule::ceil;
    tf.groups = parse_groups("block:7");
    auto x = random_values<float>(rng, 70, -10, 10);
    for (std::size_t i = 0; i < 70; i += 7) x[i] = std::ldexp(std::nextafter(1.75f, 2.0f), static_cast<int>(rng() % 9));
    std::vector<float> y(70);
    const std::vector<int64_t> shape{70};
    tensor_quantizer q(tf);
    const std::uint64_t fast0 = kernels::scaled_kernel_calls();
    const auto st = q.quantize<float>(x, y, shape);
    CHECK(kernels::scaled_kernel_calls() > fast0);
    CHECK(st.clipped == 0);
    const fo::Spec spec = std::string(el) == "int8"     ? fo::integer(8, 0, true)
                          : std::string(el) == "e4m3fn" ? fo::minifloat(4, 3, fo::Convention::fn)
                          : std::string(el) == "e5m2"   ? fo::minifloat(5, 2, fo::Convention::ieee)
                                                        : fo::minifloat(2, 1, fo::Convention::fin);
    const so::cpp_rational mx = so::rat(fo::props(spec).max);
    const auto want = oracle_pow2<float>(spec, x, shape, so::Groups{so::GroupKind::block, 0, 7}, Mode::rne,
                                         [&](const so::cpp_rational& a) {
                                           if (a == 0) return -so::element_emax(spec);
                                           int s = -400;
                                           while (a > mx * so::p2(s)) ++s;  // smallest s with amax <= max * 2^s
                                           return s;
                                         });
    check_equal(y, want, x, std::string("ceil ") + el);
  }
}

TEST_CASE("fp32 real scale: S = amax/max rounded once to float32, x/S rounded exactly, y*S rounded once") {
  std::mt19937_64 rng(3);
  using C = fo::Convention;
  struct fc {
    const char* el;
    fo::Spec spec;
  };
  const fc cases[] = {
      {"e4m3fn", fo::minifloat(4, 3, C::fn)},   {"e4m3fn:sat", fo::with_sat(fo::minifloat(4, 3, C::fn))},
      {"e5m2", fo::minifloat(5, 2, C::ieee)},   {"int8", fo::integer(8, 0, true)},
      {"e2m1fin", fo::minifloat(2, 1, C::fin)}, {"int4", fo::integer(4, 0, true)}};
  for (const auto& c : cases) {
    tensor_format tf = parse_tensor_format(c.el);
    tf.rule = scale_rule::fp32;
    tf.scale_bits = 32;
    tf.groups = parse_groups("block:16");
    const so::cpp_rational mx = so::rat(fo::props(c.spec).max);
    for (Mode mode : all_modes) {
      for (int trial = 0; trial < 4; ++trial) {
        auto xf = random_values<float>(rng, 64, -30, 30);
        auto xd = random_values<double>(rng, 64, -30, 30);
        // elements exactly at grid points and midpoints of the scaled grid
        for (std::size_t i = 1; i < 64; i += 5) xf[i] = xf[i - 1] * 0.5f;
        std::vector<float> yf(64);
        std::vector<double> yd(64);
        const std::vector<int64_t> shape{64};
        quantize_options opt;
        opt.mode = to_mode(mode);
        tensor_quantizer(tf, opt).quantize<float>(xf, yf, shape);
        tensor_quantizer(tf, opt).quantize<double>(xd, yd, shape);
        auto oracle = [&](auto& x, auto& want, bool is_float) {
          for (const auto& grp : so::groups_of(shape, so::Groups{so::GroupKind::block, 0, 16})) {
            so::cpp_rational amax = 0;
            for (auto i : grp) amax = std::max(amax, so::rabs(so::rat(double(x[i]))));
            const so::cpp_rational S = amax == 0 ? so::cpp_rational(1) : so::round_to_float32(amax / mx);
            for (auto i : grp) {
              using T = std::decay_t<decltype(x[0])>;
              const auto y = so::element_round_rational(c.spec, so::rat(double(x[i])) / S, mode);
              if (!y) {
                want[i] = static_cast<T>(so::element_scaled(c.spec, double(x[i]) > 0 ? 1e300 : -1e300, 0, mode));
                continue;
              }
              const so::cpp_rational out = *y * S;
              const so::cpp_rational r =
                  is_float ? (out < 0 ? so::cpp_rational(-so::round_to_float32(-out)) : so::round_to_float32(out))
                           : out;
              want[i] = static_cast<T>(so::to_double(r));
              if (r == 0 && x[i] < 0 && std::string(c.el).find("int") == std::string::npos) want[i] = -T(0);
            }
          }
        };
        std::vector<float> wf(64);
        std::vector<double> wd(64);
        oracle(xf, wf, true);
        oracle(xd, wd, false);
        check_equal(yf, wf, xf, std::string("fp32 rule f32 ") + c.el + " " + fo::mode_name(mode));
        check_equal(yd, wd, xd, std::string("fp32 rule f64 ") + c.el + " " + fo::mode_name(mode));
      }
    }
  }
}

TEST_CASE("fp32 real scale: stochastic rounding is unbiased (exact fraction)") {
  // block [3, 1]: S = fl32(3 / 448); x = 1: x/S = 448/3 * (3/fl32(3/448)/448)... the exact probability is
  // the fraction f of x/S between its grid neighbours, computed here with rationals.
  tensor_format tf = parse_tensor_format("e4m3fn");
  tf.rule = scale_rule::fp32;
  const std::vector<float> x{3.0f, 1.0f};
  const so::cpp_rational S = so::round_to_float32(so::cpp_rational(3) / 448);
  const so::cpp_rational t = so::cpp_rational(1) / S;  // x/S for x = 1: between 144 and 160 (quantum 16 in [128, 256))
  REQUIRE(t > 144);
  REQUIRE(t < 160);
  const double f = static_cast<double>((t - 144) / 16);
  for (std::uint8_t R : {std::uint8_t{0}, std::uint8_t{3}}) {
    quantize_options opt;
    opt.mode = round_mode{rounding::sr, R};
    const double p = R == 0 ? f : std::floor(f * 8) / 8;
    int ups = 0;
    const int N = 20000;
    for (int k = 0; k < N; ++k) {
      opt.seed = static_cast<std::uint64_t>(k);
      std::vector<float> y(2);
      const std::vector<int64_t> shape{2};
      tensor_quantizer(tf, opt).quantize<float>(x, y, shape);
      const so::cpp_rational yr = so::rat(y[1]);
      if (yr == so::round_to_float32(160 * S))
        ++ups;
      else
        REQUIRE(yr == so::round_to_float32(144 * S));
    }
    const double sigma = std::sqrt(N * p * (1 - p));
    CHECK(std::fabs(ups - N * p) < 5 * sigma + 1);
  }
}

TEST_CASE("real-scale helpers are exact") {
  std::mt19937_64 rng(1);
  for (int i = 0; i < 4000; ++i) {
    const float a = std::ldexp(static_cast<float>(rng() % (1u << 24)), static_cast<int>(rng() % 80) - 60);
    const double den = std::ldexp(static_cast<double>(rng() % (1u << 20) + 1), static_cast<int>(rng() % 20) - 10);
    const float got = divide_to_float(a, den);
    CHECK(so::rat(got) == so::round_to_float32(so::rat(a) / so::rat(den)));
    const double b =
        std::ldexp(static_cast<double>(rng() >> 11), static_cast<int>(rng() % 200) - 100) * ((rng() & 1) ? 1 : -1);
    const double c =
        std::ldexp(static_cast<double>(rng() >> 11), static_cast<int>(rng() % 200) - 100) * ((rng() & 1) ? 1 : -1);
    const double x = (rng() & 1) ? b + c : std::nextafter(b + c, 0.0);
    const so::cpp_rational diff = so::rat(x) - (so::rat(b) + so::rat(c));
    CHECK(exact_compare_sum(x, b, c) == (diff > 0 ? 1 : (diff < 0 ? -1 : 0)));
    const so::cpp_rational sum = so::rat(b) + so::rat(c);
    const float rs = round_sum<float>(b, c);
    const so::cpp_rational want = sum < 0 ? so::cpp_rational(-so::round_to_float32(-sum)) : so::round_to_float32(sum);
    if (std::fabs(double(rs)) < 1e38) CHECK(so::rat(rs) == want);
  }
}

TEST_CASE("strided layouts give the same result as the materialised tensor") {
  std::mt19937_64 rng(17);
  const auto a = random_values<float>(rng, 6 * 40, -10, 10);  // A: 6 x 40, C order
  // transposed view: shape {40, 6}, strides {1, 40}
  std::vector<float> t(240);
  for (int r = 0; r < 40; ++r)
    for (int c = 0; c < 6; ++c) t[static_cast<std::size_t>(r * 6 + c)] = a[static_cast<std::size_t>(c * 40 + r)];
  for (const char* spec : {"mxfp4_e2m1", "fp143", "bm6"}) {
    for (const char* groups : {"block:4:0", "channel:1", "tile:5x4", "tensor"}) {
      tensor_format tf = parse_tensor_format(spec);
      tf.groups = parse_groups(groups);
      quantize_options opt;
      opt.mode = round_mode{rounding::sr, 0};
      opt.seed = 99;
      std::vector<float> want(240);
      tensor_quantizer(tf, opt).quantize<float>(t, want, std::vector<int64_t>{40, 6});
      // strided input, strided output (output transposed too, into a 6 x 40 buffer)
      std::vector<float> out(240, -1.0f);
      const tensor_layout in_l{{40, 6}, {1, 40}}, out_l{{40, 6}, {1, 40}};
      tensor_quantizer(tf, opt).quantize<float>(a, in_l, out, out_l);
      std::vector<float> got(240);
      for (int r = 0; r < 40; ++r)
        for (int c = 0; c < 6; ++c)
          got[static_cast<std::size_t>(r * 6 + c)] = out[static_cast<std::size_t>(c * 40 + r)];
      check_equal(got, want, t, std::string(spec) + " " + groups);
    }
  }
}

TEST_CASE("non-finite elements: NaN group (default), error naming the element, pass-through") {
  std::vector<float> x(64, 1.5f);
  x[3] = std::numeric_limits<float>::quiet_NaN();
  x[40] = -std::numeric_limits<float>::infinity();
  x[41] = 100.0f;
  const std::vector<int64_t> shape{64};
  tensor_format tf = parse_tensor_format("mxfp8_e4m3");
  std::vector<float> y(64);
  auto st = tensor_quantizer(tf).quantize<float>(x, y, shape);
  CHECK(st.nonfinite == 2);
  CHECK(st.nan_groups == 2);
  for (float v : y) CHECK(std::isnan(v));
  tf.nonfinite = nonfinite_policy::error;
  try {
    tensor_quantizer(tf).quantize<float>(x, y, shape);
    FAIL("expected an error");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()).find("element 3 is NaN") != std::string::npos);
  }
  tf.nonfinite = nonfinite_policy::passthrough;
  st = tensor_quantizer(tf).quantize<float>(x, y, shape);
  CHECK(std::isnan(y[3]));
  CHECK(y[40] == -std::numeric_limits<float>::infinity());
  CHECK(y[0] == 1.5f);    // block 0: amax 1.5, X = 2^-8, 1.5 exact
  CHECK(y[41] == 96.0f);  // block 1: amax 100 -> X = 2^(6-8); 100/X = 400 -> e4m3 grid at 256..512 step 32: 384 -> 96
  CHECK(st.nan_groups == 0);
}

TEST_CASE("statistics: flushed to zero, clipped, zero groups, bits per element") {
  tensor_format tf = parse_tensor_format("fp134");  // room 0 per tensor
  const std::vector<float> x{1.0f, 1.99f, std::ldexp(1.0f, -20), 0.0f, -std::ldexp(1.0f, -13)};
  std::vector<float> y(5);
  const auto st = tensor_quantizer(tf).quantize<float>(x, y, std::vector<int64_t>{5});
  // s = 0: max = 2 - 2^-4 = 1.9375 < 1.99 (clipped); lowest binade d = 11 has m = 0: values below 2^-10 round to 0 or
  // 2^-10
  CHECK(st.clipped == 1);
  CHECK(y[1] == 1.9375f);
  CHECK(st.flushed_to_zero == 2);
  CHECK(st.zero_groups == 0);
  CHECK(st.bits_per_element() == doctest::Approx((5.0 * 8 + 8) / 5));
  const std::vector<float> z(4, 0.0f);
  std::vector<float> yz(4);
  CHECK(tensor_quantizer(tf).quantize<float>(z, yz, std::vector<int64_t>{4}).zero_groups == 1);
}

TEST_CASE("scale tracking moves s by at most one binade per call; state saves and restores") {
  tensor_format tf = parse_tensor_format("fp134");
  tf.room = 1;
  tf.tracking = true;
  tensor_quantizer q(tf);
  const std::vector<int64_t> shape{2};
  std::vector<float> y(2);
  auto call = [&](float amax) {
    const std::vector<float> x{amax, amax / 3};
    q.quantize<float>(x, y, shape);
    return q.last_scales()[0].scale_exp;
  };
  // hand-derived from formats.md 3: target = floor(log2 amax) + room; first call s = target, then s moves
  // one binade toward the target
  CHECK(call(1.0f) == 1);  // target 1
  CHECK(call(8.0f) == 2);  // target 4: up one (8 lands above the top `room` binades of s = 1)
  const std::string saved = save_state(q.state());
  CHECK(call(8.0f) == 3);
  CHECK(call(8.0f) == 4);
  CHECK(call(8.0f) == 4);   // on target
  CHECK(call(0.25f) == 3);  // target -1: down one
  CHECK(call(0.0f) == 3);   // all zeros: unchanged
  CHECK(call(1.0f) == 2);
  // the output uses the tracked s: with s = 2 the value 1/3 rounds on binade d = 4 ([2^-2, 2^-1), m = 5)
  CHECK(y[1] == std::ldexp(1.0f + 5.0f / 16, -2));
  tensor_quantizer r(tf);
  r.set_state(load_state(saved));
  const std::vector<float> x{8.0f, 1.0f};
  r.quantize<float>(x, y, shape);
  CHECK(r.last_scales()[0].scale_exp == 3);
  tensor_format other = tf;
  other.room = 2;
  tensor_quantizer wrong(other);
  CHECK_THROWS_AS(wrong.set_state(load_state(saved)), std::invalid_argument);
  CHECK_THROWS_AS(load_state("{\"fmtsim_quantizer_state\": 2}"), std::invalid_argument);
  CHECK_THROWS_AS(load_state("not json"), std::invalid_argument);
}

TEST_CASE("hysteresis: the quantized weight moves only when w crosses the next grid point") {
  tensor_format tf = parse_tensor_format("int8");  // no scale: plain int8 grid, step 1
  quantize_options opt;
  opt.mode = round_mode{rounding::hys, 0};
  tensor_quantizer q(tf, opt);
  const std::vector<int64_t> shape{1};
  std::vector<float> y(1);
  auto step = [&](float w) {
    const std::vector<float> x{w};
    q.quantize<float>(x, y, shape);
    return y[0];
  };
  CHECK(step(0.4f) == 0.0f);  // first call: nearest
  CHECK(step(0.6f) == 0.0f);  // w >= q: floor
  CHECK(step(1.2f) == 1.0f);  // crossed 1
  CHECK(step(0.9f) == 1.0f);  // w < q: ceil
  CHECK(step(0.1f) == 1.0f);
  CHECK(step(-0.1f) == 0.0f);  // crossed 0 downward: ceil(-0.1) = 0
  CHECK(!std::signbit(y[0]));
  const auto st = load_state(save_state(q.state()));
  CHECK(st.previous == std::vector<double>{0.0});
  // with a scale: log4 per tensor (room 0); amax fixed by element 0 = 1
  tensor_quantizer lq(parse_tensor_format("log4"), opt);
  std::vector<float> ly(2);
  const std::vector<int64_t> s2{2};
  lq.quantize<float>(std::vector<float>{1.0f, 0.3f}, ly, s2);
  CHECK(ly[1] == 0.25f);  // nearest: between 0.25 and 0.5, below 0.375
  lq.quantize<float>(std::vector<float>{1.0f, 0.45f}, ly, s2);
  CHECK(ly[1] == 0.25f);  // w >= q: floor
  lq.quantize<float>(std::vector<float>{1.0f, 0.5f}, ly, s2);
  CHECK(ly[1] == 0.5f);
  lq.quantize<float>(std::vector<float>{1.0f, 0.26f}, ly, s2);
  CHECK(ly[1] == 0.5f);  // w < q: ceil
}

TEST_CASE("bad input is rejected with clear errors") {
  CHECK_THROWS_AS(parse_groups("block:0"), std::invalid_argument);
  CHECK_THROWS_AS(parse_groups("tile:4"), std::invalid_argument);
  CHECK_THROWS_AS(parse_groups("rows"), std::invalid_argument);
  tensor_format tf = parse_tensor_format("mxfp4_e2m1");
  tf.groups = parse_groups("block:32:3");
  std::vector<float> x(8), y(8);
  CHECK_THROWS_AS(tensor_quantizer(tf).quantize<float>(x, y, std::vector<int64_t>{8}), std::invalid_argument);
  tf.groups = parse_groups("tile:2x2");
  CHECK_THROWS_AS(tensor_quantizer(tf).quantize<float>(x, y, std::vector<int64_t>{8}), std::invalid_argument);
  CHECK_THROWS_AS(tensor_quantizer(tf).quantize<float>(x, y, std::vector<int64_t>{9}), std::invalid_argument);
  const tensor_layout big{{4, 4}, {4, 1}};
  CHECK_THROWS_AS(tensor_quantizer(parse_tensor_format("fp134")).quantize<float>(x, big, y, big),
                  std::invalid_argument);
  tensor_format t2 = parse_tensor_format("e4m3fn");
  t2.tracking = true;
  CHECK_THROWS_AS(tensor_quantizer{t2}, std::invalid_argument);
}
