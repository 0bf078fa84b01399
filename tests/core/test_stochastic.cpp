// SPDX-License-Identifier: MIT
// Stochastic rounding: only the two neighbours, unbiased (5 sigma over >= 1e5 draws), reproducible per seed.
#include <fmtsim/core/array.hpp>
#include <fmtsim/core/quantize.hpp>
#include <fmtsim/core/spec.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <vector>

using namespace fmtsim;

namespace {

constexpr round_mode sr_exact{rounding::sr, 0};

struct stats {
  double mean = 0;
  double sigma_of_mean = 0;
  bool only_neighbours = true;
};

// Quantize x n times (element index 0..n-1, one seed) and measure the mean against x.
stats draw(const element_format& f, double x, round_mode mode, std::uint64_t seed, int n) {
  const double lo = quantize<double>(f, x, {rounding::rtz, 0});
  const double hi = quantize<double>(f, x, {x < 0 ? rounding::rdn : rounding::rup, 0});
  double sum = 0;
  stats s;
  for (int i = 0; i < n; ++i) {
    const double q = quantize<double>(f, x, mode, {seed, static_cast<std::uint64_t>(i), 0.0});
    if (q != lo && q != hi) s.only_neighbours = false;
    sum += q;
  }
  s.mean = sum / n;
  const double p = (x - lo) / (hi - lo);
  s.sigma_of_mean = std::abs(hi - lo) * std::sqrt(p * (1 - p) / n);
  return s;
}

}  // namespace

TEST_CASE("stochastic rounding returns only the two neighbours and is unbiased") {
  const int n = 200000;
  struct row {
    const char* spec;
    double x;
  };
  const row rows[] = {
      {"e4m3fn", 0.3},           {"e4m3fn", -0.3},     {"e4m3fn", 1.0 + 1.0 / 1024},
      {"e4m3fn", 447.0},         {"e5m2", 3.3e-6},     {"e5m2", -1000.5},
      {"e2m1fin", 2.6},          {"e2m1fin", 0.2},     {"int8", 3.999},
      {"int8", -100.25},         {"bf16", 1.0 + 1e-3}, {"fp16", 7.0001},
      {"bp:5x7,4,3,2,1,0", 0.7}, {"bp:1x7,0", 0.3},    {"e8m0fnu", 3.0},
      {"e3m2fin", 27.0},
  };
  for (const auto& r : rows) {
    CAPTURE(r.spec);
    CAPTURE(r.x);
    const element_format f = parse_format(r.spec);
    const stats s = draw(f, r.x, sr_exact, 12345, n);
    CHECK(s.only_neighbours);
    CHECK(s.sigma_of_mean > 0);
    CHECK(std::abs(s.mean - r.x) <= 5 * s.sigma_of_mean);
  }
}

TEST_CASE("exact values are never moved by stochastic rounding") {
  const element_format f = parse_format("e4m3fn");
  for (std::uint32_t c = 0; c < 256; ++c) {
    const double v = decode<double>(f, c);
    if (std::isnan(v)) continue;
    for (std::uint64_t i = 0; i < 64; ++i) CHECK(quantize<double>(f, v, sr_exact, {9, i, 0.0}) == v);
  }
}

TEST_CASE("srR rounds up with probability floor(f * 2^R) / 2^R") {
  const element_format f = parse_format("int8");
  // f = 0.3 in ulps: with R = 2, floor(0.3 * 4) / 4 = 0.25; with R = 1, 0 (never up)
  const int n = 200000;
  int up2 = 0, up1 = 0;
  for (int i = 0; i < n; ++i) {
    up2 += quantize<double>(f, 5.3, {rounding::sr, 2}, {77, static_cast<std::uint64_t>(i), 0.0}) == 6.0;
    up1 += quantize<double>(f, 5.3, {rounding::sr, 1}, {77, static_cast<std::uint64_t>(i), 0.0}) == 6.0;
  }
  const double p2 = static_cast<double>(up2) / n;
  CHECK(std::abs(p2 - 0.25) <= 5 * std::sqrt(0.25 * 0.75 / n));
  CHECK(up1 == 0);
}

TEST_CASE("sr (exact) and sr64 agree whenever the distance needs at most 64 bits") {
  const element_format f = parse_format("e4m3fn");
  std::mt19937_64 gen(5);
  std::uniform_real_distribution<double> dist(-440, 440);  // inside the finite range
  for (int i = 0; i < 20000; ++i) {
    const double x = dist(gen);  // float64 inputs: shift <= 52 + 3 bits for e4m3fn in range
    const element_context<double> ctx{3, static_cast<std::uint64_t>(i), 0.0};
    CHECK(quantize<double>(f, x, {rounding::sr, 0}, ctx) == quantize<double>(f, x, {rounding::sr, 64}, ctx));
  }
}

TEST_CASE("same seed gives the same bits, different seeds differ, any index offset reproduces") {
  const element_format f = parse_format("e5m2");
  std::vector<float> x(4096), a(4096), b(4096), c(4096), tail(2048);
  std::mt19937 gen(1);
  std::normal_distribution<float> nd(0, 1);
  for (auto& v : x) v = nd(gen);
  quantize_array<float>(f, x, a, {sr_exact, 99, 0});
  quantize_array<float>(f, x, b, {sr_exact, 99, 0});
  quantize_array<float>(f, x, c, {sr_exact, 100, 0});
  CHECK(a == b);
  CHECK(a != c);
  // the second half, quantized on its own with index_offset 2048, equals the second half of the whole
  quantize_array<float>(f, std::span<const float>(x).subspan(2048), tail, {sr_exact, 99, 2048});
  CHECK(std::equal(tail.begin(), tail.end(), a.begin() + 2048));
}
