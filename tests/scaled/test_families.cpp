// SPDX-License-Identifier: MIT
// Asymmetric min/max (FracTrain, b-bit), 1-bit codes, AGP, SCQ, SmaQ and S2FP8 against their formulas.
#include "scaled_oracle.hpp"

#include <fmtsim/formats/families.hpp>
#include <fmtsim/formats/family_spec.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <vector>

using namespace fmtsim;
namespace so = scaled_oracle;
namespace fo = fmtsim_oracle;
using so::cpp_int;
using so::cpp_rational;

namespace {

std::vector<float> randn(std::mt19937_64& rng, std::size_t n, double scale = 1.0) {
  std::normal_distribution<double> d(0.3, 1.0);
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(d(rng) * scale);
  return v;
}

cpp_rational signed_round32(const cpp_rational& r) {
  return r < 0 ? cpp_rational(-so::round_to_float32(-r)) : so::round_to_float32(r);
}

// round to nearest integer, ties to even (exact)
cpp_int round_even(const cpp_rational& t) {
  cpp_int fl = so::floor_int(t < 0 ? cpp_rational(-t) : t);
  cpp_rational a = t < 0 ? cpp_rational(-t) : t;
  const cpp_rational f = a - cpp_rational(fl);
  if (f > cpp_rational(1, 2) || (f == cpp_rational(1, 2) && !so::is_even(fl))) fl += 1;
  return t < 0 ? cpp_int(-fl) : fl;
}

// The FracTrain / b-bit asymmetric rule written from methods.md 7 and families.hpp's contract.
std::vector<float> asym_oracle(const std::vector<float>& x, const std::vector<std::vector<size_t>>& groups, int bits) {
  std::vector<float> y(x.size());
  const long long L = (1LL << bits) - 1;
  for (const auto& g : groups) {
    cpp_rational lo = so::rat(x[g[0]]), hi = lo;
    for (auto i : g) {
      lo = std::min(lo, so::rat(x[i]));
      hi = std::max(hi, so::rat(x[i]));
    }
    if (lo == hi) {
      for (auto i : g) y[i] = static_cast<float>(so::to_double(lo));
      continue;
    }
    const cpp_rational D = so::round_to_float32((hi - lo) / L);
    for (auto i : g) {
      cpp_int k = round_even((so::rat(x[i]) - lo) / D);
      if (k < 0) k = 0;
      if (k > L) k = L;
      y[i] = static_cast<float>(so::to_double(signed_round32(lo + cpp_rational(k) * D)));
    }
  }
  return y;
}

}  // namespace

TEST_CASE("sign_of_sum is exact") {
  std::mt19937_64 rng(4);
  for (int i = 0; i < 3000; ++i) {
    double t[4];
    cpp_rational sum = 0;
    for (auto& v : t) {
      v = std::ldexp(static_cast<double>(rng() >> 11), static_cast<int>(rng() % 300) - 150) * ((rng() & 1) ? 1 : -1);
      sum += so::rat(v);
    }
    if (i % 3 == 0) {  // make the sum cancel exactly sometimes
      t[3] = -(t[0] + t[1]);
      sum = so::rat(t[0]) + so::rat(t[1]) + so::rat(t[2]) + so::rat(t[3]);
    }
    CHECK(sign_of_sum({t[0], t[1], t[2], t[3]}) == (sum > 0 ? 1 : (sum < 0 ? -1 : 0)));
  }
}

TEST_CASE("asymmetric min/max quantizer (FracTrain; b-bit group quantizer): nearest, bit for bit") {
  std::mt19937_64 rng(8);
  for (int bits : {1, 3, 4, 6, 8}) {
    auto x = randn(rng, 60, 3.0);
    x[5] = x[7];  // duplicates, exact midpoints are covered by the exact tie rule
    const std::vector<int64_t> shape{6, 10};
    quantize_options opt;
    std::vector<float> y(60);
    asymmetric_quantize<float>(x, y, shape, scale_groups{}, bits, opt);
    CHECK(y == asym_oracle(x, so::groups_of(shape, so::Groups{so::GroupKind::tensor}), bits));
    asymmetric_quantize<float>(x, y, shape, parse_groups("channel:0"), bits, opt);
    CHECK(y == asym_oracle(x, so::groups_of(shape, so::Groups{so::GroupKind::channel, 0}), bits));
  }
  // ties: x exactly halfway between two levels goes to the even code
  const std::vector<float> t{0.0f, 1.0f, 2.0f, 3.0f};  // bits 1: levels 0 and 3 (D = 3); 1.5 would tie
  std::vector<float> y(4);
  asymmetric_quantize<float>(t, y, std::vector<int64_t>{4}, scale_groups{}, 1, quantize_options{});
  CHECK(y == std::vector<float>{0.0f, 0.0f, 3.0f, 3.0f});
}

TEST_CASE("asymmetric stochastic rounding, stochastic binary and AGP with rescale are unbiased") {
  std::mt19937_64 rng(10);
  const auto x = randn(rng, 16);
  const std::vector<int64_t> shape{4, 4};
  const int N = 4000;
  std::vector<double> m_asym(16, 0), m_bin(16, 0), m_agp(16, 0);
  for (int s = 0; s < N; ++s) {
    quantize_options opt;
    opt.mode = round_mode{rounding::sr, 0};
    opt.seed = static_cast<std::uint64_t>(s);
    std::vector<float> y(16);
    asymmetric_quantize<float>(x, y, shape, scale_groups{}, 2, opt);
    for (int i = 0; i < 16; ++i) m_asym[i] += y[i];
    stochastic_binary<float>(x, y, shape, scale_groups{}, opt);
    for (int i = 0; i < 16; ++i) m_bin[i] += y[i];
    agp_quantize<float>(x, y, shape, 4, false, opt);
    for (int i = 0; i < 16; ++i) m_agp[i] += y[i];
  }
  double amax = 0;
  for (float v : x) amax = std::max(amax, std::fabs(double(v)));
  for (int i = 0; i < 16; ++i) {
    // each estimator's variance is bounded by (its value range)^2 / 4 per draw; 5 sigma bounds below
    CHECK(std::fabs(m_asym[i] / N - x[i]) < 5 * (2 * amax / 3) / std::sqrt(double(N)));
    CHECK(std::fabs(m_bin[i] / N - x[i]) < 5 * amax / std::sqrt(double(N)));
    CHECK(std::fabs(m_agp[i] / N - x[i]) < 5 * 4 * 2 * amax / std::sqrt(double(N)));
  }
  // deterministic AGP (released code): top ceil(N/b) samples by range, no rescale
  std::vector<float> y(16);
  const auto r = agp_quantize<float>(x, y, shape, 4, true, quantize_options{});
  int kept = 0;
  for (auto k : r.kept) kept += k;
  CHECK(kept == 1);
}

TEST_CASE("sign quantizer: +-mean|x| per group; SCQ uses per-sample and per-channel groups") {
  std::mt19937_64 rng(12);
  const auto x = randn(rng, 24);
  const std::vector<int64_t> shape{4, 6};
  std::vector<float> y(24);
  std::vector<float> scales;
  sign_quantize<float>(x, y, shape, parse_groups("channel:1"), &scales);
  const auto groups = so::groups_of(shape, so::Groups{so::GroupKind::channel, 1});
  for (std::size_t g = 0; g < groups.size(); ++g) {
    cpp_rational sum = 0;
    for (auto i : groups[g]) sum += so::rabs(so::rat(x[i]));
    const double scale = so::to_double(so::round_to_float32(sum / static_cast<long long>(groups[g].size())));
    CHECK(scales[g] == scale);
    for (auto i : groups[g]) CHECK(y[i] == static_cast<float>(x[i] < 0 ? -scale : scale));
  }
  std::vector<float> a(24), b(24);
  scq_quantize<float>(x, shape, 4, quantize_options{}, a, b);
  CHECK(a == asym_oracle(x, so::groups_of(shape, so::Groups{so::GroupKind::channel, 0}), 4));
  CHECK(b == asym_oracle(x, so::groups_of(shape, so::Groups{so::GroupKind::channel, 1}), 4));
}

TEST_CASE("SmaQ: z-score codes, outliers clamped and counted, decode, memory accounting") {
  std::mt19937_64 rng(14);
  auto x = randn(rng, 500, 2.0);
  x[3] = 40.0f;  // far outliers: beyond the outlier code range (|z| > 2.5)
  x[4] = -35.0f;
  smaq_config cfg;
  cfg.mode = round_mode{rounding::rne, 0};
  quantize_stats st;
  const auto enc = smaq_encode<float>(x, cfg, &st);
  // oracle statistics: exact mean and population variance, float32 mu and the float32 nearest sqrt(var)
  cpp_rational sum = 0;
  for (float v : x) sum += so::rat(v);
  const cpp_rational mean = sum / 500;
  cpp_rational var = 0;
  for (float v : x) var += (so::rat(v) - mean) * (so::rat(v) - mean);
  var /= 500;
  CHECK(so::rat(enc.mu) == signed_round32(mean));
  const cpp_rational sg = so::rat(enc.sigma);
  const cpp_rational up = so::rat(std::nextafter(enc.sigma, 1e30f)), dn = so::rat(std::nextafter(enc.sigma, 0.0f));
  CHECK(((sg + up) / 2) * ((sg + up) / 2) >= var);
  CHECK(((sg + dn) / 2) * ((sg + dn) / 2) <= var);
  const cpp_rational mu = so::rat(enc.mu);
  std::size_t outliers = 0, clamped = 0;
  std::vector<float> dec(500);
  smaq_decode<float>(enc, cfg, dec);
  for (std::size_t i = 0; i < 500; ++i) {
    const cpp_rational z = (so::rat(x[i]) - mu) / sg;
    cpp_int code;
    cpp_rational zhat;
    if (z <= 1 && z >= -1) {
      code = round_even(z * 15);  // bm = 6: K = 2^4 - 1
      CHECK(enc.outlier[i] == 0);
      zhat = cpp_rational(code) / 15;
    } else {
      ++outliers;
      code =
          round_even((z > 0 ? cpp_rational(z - 1) : cpp_rational(z + 1)) * 63 / cpp_rational(3, 2));  // bo = 8: Ko = 63
      if (code > 63 || code < -63) {
        ++clamped;
        code = code > 0 ? 63 : -63;
      }
      CHECK(enc.outlier[i] == (z > 0 ? 1 : 2));
      zhat = (z > 0 ? 1 : -1) + cpp_rational(3, 2) * cpp_rational(code) / 63;
    }
    CHECK(cpp_int(enc.code[i]) == code);
    CHECK(so::rat(dec[i]) == signed_round32(mu + sg * zhat));
  }
  CHECK(st.outliers == outliers);
  CHECK(st.outliers_clamped == clamped);
  CHECK(clamped >= 2);
  CHECK(st.payload_bits == doctest::Approx(6.0 * (500 - outliers) + 8.0 * outliers));
  CHECK(st.bits_per_element() == doctest::Approx((6.0 * (500 - outliers) + 8.0 * outliers + 64) / 500));
  // sampled statistics use only the sample
  cfg.sampled = true;
  cfg.sample_size = 50;
  const auto enc2 = smaq_encode<float>(x, cfg);
  CHECK(enc2.mu != enc.mu);
  // stochastic codes are unbiased in z
  cfg.sampled = false;
  cfg.mode = round_mode{rounding::sr, 0};
  double m = 0;
  const int N = 400;
  for (int s = 0; s < N; ++s) {
    cfg.seed = static_cast<std::uint64_t>(s);
    m += smaq_encode<float>(std::span<const float>(x.data(), 40), cfg).code[0];
  }
  const auto e40 = smaq_encode<float>(std::span<const float>(x.data(), 40), cfg);  // mu, sigma of the 40
  const double z0 = static_cast<double>((so::rat(x[0]) - so::rat(e40.mu)) / so::rat(e40.sigma));
  REQUIRE(std::fabs(z0) <= 1);
  CHECK(std::fabs(m / N - z0 * 15) < 5 * 0.5 / std::sqrt(double(N)));
}

TEST_CASE("SmaQ through its family spec: seed and rounding from the options; index_offset is refused") {
  std::mt19937_64 rng(23);
  const auto x = randn(rng, 300, 1.5);
  const auto spec = parse_real_family("smaq:6,8");
  REQUIRE(spec.has_value());
  const std::int64_t shape[1] = {300};
  quantize_options opt;
  opt.mode = round_mode{rounding::sr, 0};
  opt.seed = 77;
  std::vector<float> got(300), want(300);
  real_family_quantize<float>(*spec, x, got, shape, opt);
  smaq_config cfg;  // main 6, outlier 8 bits: the spec's
  cfg.mode = opt.mode;
  cfg.seed = 77;
  smaq_quantize<float>(x, want, cfg);
  CHECK(got == want);
  // another seed draws other codes (the seed is used)
  opt.seed = 78;
  std::vector<float> other(300);
  real_family_quantize<float>(*spec, x, other, shape, opt);
  CHECK(other != got);
  // SmaQ's mean, deviation and random stream are per tensor: a chunk of a larger tensor (index_offset)
  // cannot be quantized on its own, and saying so beats a silently different result
  opt.index_offset = 1000;
  CHECK_THROWS_WITH_AS(real_family_quantize<float>(*spec, x, other, shape, opt),
                       doctest::Contains("smaq: index_offset is not supported"), std::invalid_argument);
}

TEST_CASE("S2FP8: alpha/beta from log2 statistics of the non-zero elements, e5m2 underneath") {
  std::mt19937_64 rng(16);
  std::vector<float> x = randn(rng, 300, 1e-3);
  x[0] = 0.0f;
  x[1] = -0.0f;
  std::vector<float> y(300);
  std::vector<std::uint8_t> codes;
  const auto p = s2fp8_quantize<float>(x, y, quantize_options{}, &codes);
  long double sum = 0, mx = -1e300L;
  int cnt = 0;
  for (float v : x) {
    if (v == 0) continue;
    const long double l = std::log2(std::fabs(static_cast<long double>(v)));
    sum += l;
    mx = std::max(mx, l);
    ++cnt;
  }
  const long double mu = sum / cnt, alpha = 15 / (mx - mu), beta = -alpha * mu;
  CHECK(double(p.alpha) == doctest::Approx(double(alpha)).epsilon(1e-6));
  CHECK(double(p.beta) == doctest::Approx(double(beta)).epsilon(1e-6));
  CHECK(y[0] == 0.0f);
  CHECK(std::signbit(y[1]));
  const fo::Spec e5m2 = fo::minifloat(5, 2, fo::Convention::ieee);
  int checked = 0;
  for (std::size_t i = 2; i < x.size(); ++i) {
    const long double yt = std::copysign(
        std::pow(2.0L, (long double)p.beta) * std::pow(std::fabs((long double)x[i]), (long double)p.alpha),
        (long double)x[i]);
    const double q = fo::expected(e5m2, static_cast<double>(yt), fo::Mode::rne);
    // skip values within 1e-9 (relative) of an e5m2 rounding boundary: the power is not claimed exact
    const double qa = fo::expected(e5m2, static_cast<double>(yt * (1 + 1e-9L)), fo::Mode::rne);
    const double qb = fo::expected(e5m2, static_cast<double>(yt * (1 - 1e-9L)), fo::Mode::rne);
    if (qa != qb) continue;
    ++checked;
    const long double back = std::copysign(
        std::pow(std::fabs((long double)q) / std::pow(2.0L, (long double)p.beta), 1 / (long double)p.alpha),
        (long double)q);
    CHECK(double(y[i]) == doctest::Approx(double(back)).epsilon(1e-6));
  }
  CHECK(checked > 250);
  // the max maps to 2^(alpha m + beta) = 2^(15 + alpha mu - alpha mu)... = 2^15 up to rounding: in e5m2 range
  for (auto c : codes) CHECK((c & 0x7c) != 0x7c);  // no inf/NaN codes
}
