// SPDX-License-Identifier: MIT
// Hysteresis, profile/log formats (hand-derived values from formats.md), array API errors.
#include <fmtsim/core/array.hpp>
#include <fmtsim/core/named.hpp>
#include <fmtsim/core/quantize.hpp>
#include <fmtsim/core/spec.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

using namespace fmtsim;

TEST_CASE("hysteresis: q moves only when w crosses the next grid point") {
  const element_format f = parse_format("int8");
  const round_mode hys{rounding::hys, 0};
  // (w, expected q) with q carried from step to step, starting at q = 2
  const double steps[][2] = {{2.6, 2}, {2.99, 2}, {3.0, 3},  {2.4, 3},  {2.01, 3}, {2.0, 2}, {1.5, 2},
                             {1.0, 1}, {1.9, 1},  {-0.5, 0}, {-0.2, 0}, {0.7, 0},  {1.0, 1}};
  double q = 2;
  for (const auto& s : steps) {
    CAPTURE(s[0]);
    q = quantize<double>(f, s[0], hys, {0, 0, q});
    CHECK(q == s[1]);
  }
}

TEST_CASE("binade-profile values follow formats.md 1.3") {
  const element_format fp134 = parse_format("fp134");
  // binade 0 is [1, 2) with 16 points, clamp at 2 - 2^(1-5) = 1.9375
  CHECK(quantize<double>(fp134, 1.9) == 1.875);
  CHECK(quantize<double>(fp134, 1.97) == 1.9375);
  CHECK(quantize<double>(fp134, 100.0) == 1.9375);
  CHECK(quantize<double>(fp134, -100.0) == -1.9375);
  // binade 7 ([2^-7, 2^-6)) has 8 points (m = 4): spacing 2^-10
  CHECK(quantize<double>(fp134, std::ldexp(1.0, -7) + std::ldexp(1.2, -10)) ==
        std::ldexp(1.0, -7) + std::ldexp(1.0, -10));
  // binade 10 holds only 2^-10 (m = 1); binade 11 (m = 0) rounds to 0 or 2^-10; below it the same grid
  CHECK(quantize<double>(fp134, std::ldexp(1.4, -10)) == std::ldexp(1.0, -10));
  CHECK(quantize<double>(fp134, std::ldexp(1.6, -10)) == std::ldexp(1.0, -9));
  CHECK(quantize<double>(fp134, std::ldexp(1.0, -11)) == 0.0);  // tie between 0 and 2^-10: even (0)
  CHECK(quantize<double>(fp134, std::ldexp(1.01, -11)) == std::ldexp(1.0, -10));
  CHECK(quantize<double>(fp134, std::ldexp(1.0, -14), {rounding::rup, 0}) == std::ldexp(1.0, -10));
  // one zero: a negative value that rounds to zero gives +0
  CHECK(!std::signbit(quantize<double>(fp134, -1e-9)));
  // the scale exponent s shifts the whole grid exactly
  element_format scaled = fp134;
  scaled.scale_exp = 5;
  CHECK(quantize<double>(scaled, 62.5) == 62.0);  // spacing 2 in [32, 64)
  CHECK(quantize<double>(scaled, 1e6) == 62.0);
}

TEST_CASE("log formats round in the linear domain by default, the exponent with :logdomain") {
  const element_format log4 = parse_format("log4");
  CHECK(quantize<double>(log4, 0.75) == 1.0);  // the paper's rule: 0.75 -> 1
  CHECK(quantize<double>(log4, 0.74) == 0.5);
  CHECK(quantize<double>(log4, 5.0) == 1.0);  // clamp at 2^s
  CHECK(quantize<double>(log4, std::ldexp(1.0, -7)) == 0.0);
  CHECK(quantize<double>(log4, std::ldexp(1.5, -7)) == std::ldexp(1.0, -6));
  const element_format logd = parse_format("log4:logdomain");
  CHECK(quantize<double>(logd, 0.70) == 0.5);                // log2(0.70) = -0.515 -> -1
  CHECK(quantize<double>(logd, 0.71) == 1.0);                // log2(0.71) = -0.494 -> 0
  CHECK(quantize<double>(logd, 0.7071067811865475) == 0.5);  // just below 2^-0.5
  CHECK(quantize<double>(logd, 0.7071067811865476) == 1.0);  // just above 2^-0.5
  CHECK(code_bits(log4) == 4);
  CHECK(finite_values(log4) == 15);
}

TEST_CASE("profile codes round-trip: decode is strictly increasing and encode inverts it") {
  for (const char* s :
       {"fp134", "fp143", "fp152", "bp:4x15,1x7,0", "log4", "bp:7,6,5,4,3,2,1,0", "bp:3,3,2", "bp:5,4,4:u"}) {
    const std::string spec = s;
    CAPTURE(spec);
    const element_format f = parse_format(s);
    const int bits = code_bits(f);
    const std::uint32_t half = has_sign(f) ? (1u << (bits - 1)) : (1u << bits);
    double prev = -1;
    for (std::uint32_t c = 0; c < half; ++c) {
      if (!code_in_range(f, c)) continue;
      const double v = decode<double>(f, c);
      CHECK(v > prev);
      prev = v;
      CHECK(quantize<double>(f, v) == v);
      CHECK(encode_value<double>(f, v).code == c);
      if (has_sign(f) && c != 0) CHECK(encode_value<double>(f, -v).code == (c | half));
    }
    CHECK(prev == compose<double>(false, max_finite(f).significand, max_finite(f).exponent));
  }
}

TEST_CASE("array API errors name the element") {
  const element_format f = parse_format("e2m1fin");
  std::vector<float> x = {1.0f, 2.0f, std::numeric_limits<float>::quiet_NaN(), 3.0f};
  std::vector<std::uint8_t> codes(4);
  try {
    encode_array<float, std::uint8_t>(f, x, codes, {});
    FAIL("NaN was encoded into a NaN-less format");
  } catch (const element_error& e) {
    CHECK(e.index() == 2);
    CHECK(std::string(e.what()).find("element 2") != std::string::npos);
  }
  std::vector<float> out(4);
  quantize_array<float>(f, x, out, {});
  CHECK(std::isnan(out[2]));  // quantize (fake quantization) passes NaN through
  const std::vector<std::uint8_t> bad = {1, 16};
  std::vector<float> dec(2);
  CHECK_THROWS_AS((decode_array<float, std::uint8_t>(f, bad, dec)), element_error);
  // float32 cannot hold the values of e8m23fin exactly
  std::vector<float> y(1, 1.0f), z(1);
  CHECK_THROWS_AS(quantize_array<float>(parse_format("e8m23fin"), y, z, {}), std::invalid_argument);
  // hysteresis needs previous values
  CHECK_THROWS_AS(quantize_array<float>(f, y, z, {{rounding::hys, 0}, 0, 0}), std::invalid_argument);
}

TEST_CASE("rounding names") {
  for (const char* s : {"rne", "rna", "rtz", "rup", "rdn", "rto", "sr", "sr8", "sr64", "hys"}) {
    CAPTURE(s);
    const auto m = parse_rounding(s);
    REQUIRE(m.has_value());
    CHECK(rounding_name(*m) == s);
  }
  for (const char* s : {"nearest", "sr0", "sr65", "sr08", "RNE", ""}) CHECK(!parse_rounding(s).has_value());
}
