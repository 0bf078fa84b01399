// SPDX-License-Identifier: MIT
// Self-tests of the independent exact oracle: spec numbers, hand-derived cases, external references.
//
// Expected numbers here come from formats.md / RULES.md, the OCP 8-bit and MX specifications, the
// IEEE 754 binary16 / bfloat16 definitions, and hand derivations written in the comments; none of
// them was produced by running the oracle.
#include "oracle.hpp"

#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

using namespace fmtsim_oracle;
using C = Convention;

namespace {

constexpr double inf = std::numeric_limits<double>::infinity();
constexpr double qnan = std::numeric_limits<double>::quiet_NaN();
constexpr Mode all_modes[] = {Mode::rne, Mode::rna, Mode::rtz, Mode::rup, Mode::rdn, Mode::rto};

double p2(int k) { return std::ldexp(1.0, k); }

// Bit-identical doubles, or both NaN (distinguishes -0 from +0).
bool same(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return std::bit_cast<uint64_t>(a) == std::bit_cast<uint64_t>(b);
}

// Checks expected() and the slow rational transcription against a hand-derived result.
void check_q(const Spec& s, double x, Mode m, double want) {
  INFO(name(s), " ", std::string(mode_name(m)), " x=", x, " want=", want);
  const double got = expected(s, x, m);
  INFO("got=", got);
  CHECK(same(got, want));
  const double slow = expected_rational(s, x, m);
  INFO("rational path=", slow);
  CHECK(same(slow, want));
}

void check_all_modes(const Spec& s, double x, double want) {
  for (Mode m : all_modes) check_q(s, x, m, want);
}

// The formats the spec names (formats.md 1.1 table and aliases).
const Spec e4m3fn = minifloat(4, 3, C::fn);
const Spec e5m2 = minifloat(5, 2, C::ieee);
const Spec e4m3 = minifloat(4, 3, C::ieee);
const Spec e3m4 = minifloat(3, 4, C::ieee);
const Spec e4m3fnuz = minifloat(4, 3, C::fnuz);
const Spec e5m2fnuz = minifloat(5, 2, C::fnuz);
const Spec e4m3b11fnuz = minifloat(4, 3, C::fnuz, 11);
const Spec e8m0fnu = minifloat(8, 0, C::fnu);
const Spec e2m3fin = minifloat(2, 3, C::fin);
const Spec e3m2fin = minifloat(3, 2, C::fin);
const Spec e2m1fin = minifloat(2, 1, C::fin);
const Spec fp16 = minifloat(5, 10, C::ieee);
const Spec bf16 = minifloat(8, 7, C::ieee);
const Spec tf32 = minifloat(8, 10, C::ieee);
const Spec int8 = integer(8, 0, true);
const Spec uint8 = integer(8, 0, false);

// A spread of small formats for the property tests (including odd corners of the rules).
std::vector<Spec> small_formats() {
  return {e4m3fn,
          e5m2,
          e4m3,
          e3m4,
          e4m3fnuz,
          e5m2fnuz,
          e4m3b11fnuz,
          e8m0fnu,
          e2m3fin,
          e3m2fin,
          e2m1fin,
          minifloat(5, 0, C::ieee),  // M = 0 with inf, no NaN
          minifloat(2, 0, C::ieee),
          minifloat(3, 0, C::fn),
          minifloat(1, 2, C::fin),
          minifloat(1, 1, C::fn),
          minifloat(1, 3, C::ieee),     // no normal values at all: field 1 is inf/NaN
          minifloat(3, 3, C::fin, -1),  // a negative bias override
          minifloat(6, 3, C::ieee),     // 10 bits
          minifloat(4, 4, C::fnu, 7),   // fnu with a mantissa
          with_sat(e4m3fn),
          with_sat(e5m2),
          with_ftz(e4m3fn),
          with_ftz(e4m3fnuz),
          with_sat(with_ftz(e5m2)),
          with_unsigned(e4m3fn),
          with_unsigned(e5m2),
          with_unsigned(e3m2fin),
          with_unsigned(e4m3fnuz),
          int8,
          uint8,
          integer(4, 0, true),
          integer(4, 0, false),
          integer(8, 4, true),  // fix8.4
          integer(6, 3, false),
          integer(1, 0, true),  // int1: {-1, 0}
          integer(1, 0, false)};
}

}  // namespace

TEST_CASE("max, min normal, min subnormal match the spec") {
  struct Row {
    Spec s;
    double max, min_normal, min_sub;
  };
  // formats.md 1.1 table maxima; min normal 2^(1-bias), min subnormal 2^(1-bias-M) (hand computed).
  const Row rows[] = {
      {e4m3fn, 448, p2(-6), p2(-9)},        // bias 7: 1.75 * 2^8
      {e5m2, 57344, p2(-14), p2(-16)},      // bias 15: 1.75 * 2^15
      {e4m3fnuz, 240, p2(-7), p2(-10)},     // bias 8: 1.875 * 2^7
      {e5m2fnuz, 57344, p2(-15), p2(-17)},  // bias 16: 1.75 * 2^15
      {e2m3fin, 7.5, 1, 0.125},             // bias 1: 1.875 * 2^2
      {e3m2fin, 28, 0.25, 0.0625},          // bias 3: 1.75 * 2^4
      {e2m1fin, 6, 1, 0.5},                 // bias 1: 1.5 * 2^2
      {e4m3, 240, p2(-6), p2(-9)},          // ieee: top field is inf/NaN, so field 14: 1.875 * 2^7
      {e3m4, 15.5, 0.25, p2(-6)},           // bias 3: field 6: 1.9375 * 2^3
      {e4m3b11fnuz, 30, p2(-10), p2(-13)},  // bias 11: 1.875 * 2^4
      {e8m0fnu, p2(127), p2(-127), 0},      // fields 0..254 are 2^(f-127); 255 is NaN; no subnormals
      {fp16, 65504, p2(-14), p2(-24)},      // IEEE binary16
      {bf16, (2 - p2(-7)) * p2(127), p2(-126), p2(-133)},
      {tf32, (2 - p2(-10)) * p2(127), p2(-126), p2(-136)},
      {with_ftz(e4m3fn), 448, p2(-6), 0},  // ftz: no subnormals in the value set
      {int8, 127, 1, 0},                   // integers: min_normal is the smallest nonzero magnitude
      {uint8, 255, 1, 0},
      {integer(8, 4, true), 127.0 / 16, 1.0 / 16, 0},
  };
  for (const Row& r : rows) {
    INFO(name(r.s));
    const Props p = props(r.s);
    CHECK(p.max == r.max);
    CHECK(p.min_normal == r.min_normal);
    CHECK(p.min_subnormal == r.min_sub);
  }
}

TEST_CASE("finite value counts and specials (hand counted)") {
  struct Row {
    Spec s;
    uint64_t finite;
    bool has_inf, has_nan;
  };
  const Row rows[] = {
      // 256 codes; only S.1111.111 (2 codes) is NaN
      {e4m3fn, 254, false, true},
      // 256 codes; top field 11111 holds 4 mantissas x 2 signs = 8 codes (2 inf + 6 NaN)
      {e5m2, 248, true, true},
      // ieee e4m3: top field 1111 holds 8 x 2 = 16 non-finite codes
      {e4m3, 240, true, true},
      // ieee e3m4: top field 111 holds 16 x 2 = 32 non-finite codes
      {e3m4, 224, true, true},
      // fnuz: only 1000.0000 is NaN; there is no -0 (so 255 finite, one zero)
      {e4m3fnuz, 255, false, true},
      {e5m2fnuz, 255, false, true},
      {e4m3b11fnuz, 255, false, true},
      // fin: every code finite
      {e2m1fin, 16, false, false},
      {e2m3fin, 64, false, false},
      {e3m2fin, 64, false, false},
      // e8m0fnu: 256 codes, 255 is NaN
      {e8m0fnu, 255, false, true},
      // binary16: 65536 - 2 x 1024 (top field)
      {fp16, 63488, true, true},
      // bfloat16: 65536 - 2 x 128
      {bf16, 65280, true, true},
      // e4m3fn:ftz: 254 minus the 2 x 7 subnormal codes
      {with_ftz(e4m3fn), 240, false, true},
      // e4m3fn:u: 128 codes (no sign bit), 0x7f is NaN
      {with_unsigned(e4m3fn), 127, false, true},
      // ieee with M = 0: the top field is inf only, there is no NaN code: 32 - 1 = 31 per sign
      {minifloat(5, 0, C::ieee), 62, true, false},
      {int8, 256, false, false},
      {uint8, 256, false, false},
  };
  for (const Row& r : rows) {
    INFO(name(r.s));
    const Props p = props(r.s);
    CHECK(p.finite_values == r.finite);
    CHECK(p.has_inf == r.has_inf);
    CHECK(p.has_nan == r.has_nan);
  }
}

TEST_CASE("decoded codes match the published encodings") {
  SUBCASE("e2m1fin is the OCP MX FP4 table") {
    const auto c = codes(e2m1fin);
    REQUIRE(c.size() == 16);
    const double want[8] = {0, 0.5, 1, 1.5, 2, 3, 4, 6};
    for (uint32_t i = 0; i < 8; ++i) {
      CHECK(c[i].value == cpp_rational(want[i] * 2) / 2);
      CHECK(c[i + 8].value == -(cpp_rational(want[i] * 2) / 2));
      CHECK(!c[i].negative);
      CHECK(c[i + 8].negative);  // includes 1000 = -0
    }
  }
  SUBCASE("e4m3fn") {
    const auto c = codes(e4m3fn);
    REQUIRE(c.size() == 256);
    CHECK(c[0x7e].value == 448);
    CHECK(c[0x7f].is_nan);
    CHECK(c[0xff].is_nan);
    CHECK(!c[0x7e].is_nan);
    CHECK((c[0x80].value == 0 && c[0x80].negative && !c[0x80].is_nan));
    CHECK(c[0x01].value == cpp_rational(1, 512));
    CHECK(c[0x08].value == cpp_rational(1, 64));
    CHECK(c[0x38].value == 1);
    CHECK(c[0xb8].value == -1);
  }
  SUBCASE("e5m2") {
    const auto c = codes(e5m2);
    CHECK((c[0x7c].is_inf && !c[0x7c].negative));
    CHECK((c[0xfc].is_inf && c[0xfc].negative));
    CHECK(c[0x7b].value == 57344);
    CHECK((c[0x7d].is_nan && c[0x7e].is_nan && c[0x7f].is_nan));
    CHECK(c[0x3c].value == 1);
  }
  SUBCASE("e4m3fnuz") {
    const auto c = codes(e4m3fnuz);
    int nans = 0;
    for (const Code& k : c) nans += k.is_nan;
    CHECK(nans == 1);
    CHECK(c[0x80].is_nan);
    CHECK(c[0x7f].value == 240);
    CHECK(c[0x40].value == 1);
  }
  SUBCASE("e8m0fnu") {
    const auto c = codes(e8m0fnu);
    CHECK(c[0x7f].value == 1);
    CHECK(c[0x00].value == cpp_rational(1, cpp_int(1) << 127));
    CHECK(c[0xfe].value == cpp_rational(cpp_int(1) << 127));
    CHECK(c[0xff].is_nan);
  }
  SUBCASE("binary16 and bfloat16") {
    const auto h = codes(fp16);
    CHECK(h[0x3c00].value == 1);
    CHECK(h[0x7bff].value == 65504);
    CHECK(h[0x0001].value == cpp_rational(1, 1 << 24));
    CHECK(h[0x7c00].is_inf);
    CHECK(h[0x7e00].is_nan);
    const auto b = codes(bf16);
    CHECK(b[0x3f80].value == 1);
    CHECK(b[0x7f80].is_inf);
    CHECK(b[0xc000].value == -2);
  }
  SUBCASE("integers") {
    const auto c = codes(int8);
    CHECK(c[0x80].value == -128);
    CHECK(c[0xff].value == -1);
    CHECK(c[0x7f].value == 127);
    const auto f = codes(integer(8, 4, true));
    CHECK(f[0x10].value == 1);
    CHECK(f[0x80].value == -8);
    CHECK(f[0x01].value == cpp_rational(1, 16));
    CHECK(codes(uint8)[0xff].value == 255);
  }
  SUBCASE("ftz marks subnormal codes unused") {
    const auto c = codes(with_ftz(e4m3fn));
    CHECK(c[0x01].unused);
    CHECK(c[0x87].unused);
    CHECK(!c[0x00].unused);
    CHECK(!c[0x08].unused);
  }
}

TEST_CASE("canonical codes for NaN, inf and zero") {
  CHECK(expected_code(e5m2, qnan, Mode::rne) == 0x7eu);
  CHECK(expected_code(e5m2, -qnan, Mode::rne) == 0xfeu);
  CHECK(expected_code(e5m2, inf, Mode::rne) == 0x7cu);
  CHECK(expected_code(e5m2, -inf, Mode::rne) == 0xfcu);
  CHECK(expected_code(e5m2, 61440, Mode::rne) == 0x7cu);  // overflow to inf
  CHECK(expected_code(e4m3fn, qnan, Mode::rne) == 0x7fu);
  CHECK(expected_code(e4m3fn, -qnan, Mode::rne) == 0xffu);
  CHECK(expected_code(e4m3fn, -1000, Mode::rne) == 0xffu);  // overflow to NaN keeps the sign
  CHECK(expected_code(e4m3fnuz, qnan, Mode::rne) == 0x80u);
  CHECK(expected_code(e4m3fnuz, -qnan, Mode::rne) == 0x80u);
  CHECK(expected_code(e8m0fnu, qnan, Mode::rne) == 0xffu);
  CHECK(expected_code(e8m0fnu, -1, Mode::rne) == 0xffu);
  CHECK(expected_code(fp16, qnan, Mode::rne) == 0x7e00u);
  CHECK(expected_code(bf16, qnan, Mode::rne) == 0x7fc0u);
  CHECK(expected_code(with_unsigned(e4m3fn), qnan, Mode::rne) == 0x7fu);
  // NaN into a NaN-less format is an error in fmtsim: no code. quantize still gives NaN.
  CHECK_FALSE(expected_code(e2m1fin, qnan, Mode::rne).has_value());
  CHECK_FALSE(expected_code(int8, qnan, Mode::rne).has_value());
  CHECK_FALSE(expected_code(minifloat(5, 0, C::ieee), qnan, Mode::rne).has_value());
  CHECK(std::isnan(expected(e2m1fin, qnan, Mode::rne)));
  CHECK(std::isnan(expected(int8, qnan, Mode::rne)));
  // zeros
  CHECK(expected_code(e4m3fn, -0.0, Mode::rne) == 0x80u);
  CHECK(expected_code(e4m3fn, 0.0, Mode::rne) == 0x00u);
  CHECK(expected_code(e4m3fnuz, -0.0, Mode::rne) == 0x00u);
  CHECK(expected_code(int8, -0.0, Mode::rne) == 0x00u);
  CHECK(expected_code(int8, -1, Mode::rne) == 0xffu);
  CHECK(expected_code(int8, -128, Mode::rne) == 0x80u);
  CHECK(expected_code(e2m1fin, -6, Mode::rne) == 0xfu);
}

TEST_CASE("ties and overflow in round-to-nearest") {
  // e4m3fn: top binade [256, 512) has quantum 32; max 448 = 14 * 32 (even), the next grid point 480 is
  // the NaN code's place. 464 is the tie: even 14 -> 448. Above it rounds to 480 > max -> NaN.
  check_q(e4m3fn, 464, Mode::rne, 448);
  check_q(e4m3fn, 465, Mode::rne, qnan);
  check_q(e4m3fn, 480, Mode::rne, qnan);
  check_q(e4m3fn, std::nextafter(464.0, 0.0), Mode::rne, 448);
  check_q(e4m3fn, 464, Mode::rna, qnan);  // ties away -> 480 -> overflow
  check_q(e4m3fn, -464, Mode::rne, -448);
  // e5m2: max 57344 = 7 * 8192 (odd); 61440 is the tie -> 8 * 8192 = 65536 > max -> inf.
  check_q(e5m2, 61440, Mode::rne, inf);
  check_q(e5m2, std::nextafter(61440.0, 0.0), Mode::rne, 57344);
  check_q(e5m2, -61440, Mode::rne, -inf);
  // in-range ties: e4m3fn binade [1, 2) quantum 1/8
  check_q(e4m3fn, 1.0625, Mode::rne, 1);     // n = 8 even
  check_q(e4m3fn, 1.1875, Mode::rne, 1.25);  // n = 9 odd -> 10
  check_q(e4m3fn, 1.0625, Mode::rna, 1.125);
  check_q(e4m3fn, -1.0625, Mode::rna, -1.125);
  // subnormal / normal boundary: 7/512 and 8/512 = 2^-6, tie at 7.5/512: n = 7 odd -> 8/512
  check_q(e4m3fn, 7.5 / 512, Mode::rne, p2(-6));
  // half the smallest subnormal: tie between 0 (n = 0, even) and 2^-9
  check_q(e4m3fn, p2(-10), Mode::rne, 0);
  check_q(e4m3fn, -p2(-10), Mode::rne, -0.0);
  check_q(e4m3fn, std::nextafter(p2(-10), 1.0), Mode::rne, p2(-9));
  // e2m1fin: 5 is a tie between 4 (n = 2 at quantum 2) and 6 (n = 3) -> 4; 2.5 -> 2; 3.5 -> 4;
  // 0.25 -> 0; 0.75 is a tie between 0.5 (n = 1 at quantum 0.5) and 1 (n = 2) -> 1.
  check_q(e2m1fin, 5, Mode::rne, 4);
  check_q(e2m1fin, 2.5, Mode::rne, 2);
  check_q(e2m1fin, 3.5, Mode::rne, 4);
  check_q(e2m1fin, 0.25, Mode::rne, 0);
  check_q(e2m1fin, 0.75, Mode::rne, 1);
  check_q(e2m1fin, 5, Mode::rna, 6);
}

TEST_CASE("e8m0fnu (M = 0: ties always go up; no zero; no sign)") {
  // candidates in [2^e, 2^(e+1)) are 1*2^e (n = 1, odd) and 2*2^e: a tie goes to 2*2^e.
  check_q(e8m0fnu, 1.5, Mode::rne, 2);
  check_q(e8m0fnu, 3, Mode::rne, 4);
  check_q(e8m0fnu, 6, Mode::rne, 8);
  check_q(e8m0fnu, 0.75, Mode::rne, 1);
  check_q(e8m0fnu, 1.4, Mode::rne, 1);
  check_q(e8m0fnu, 1.5, Mode::rtz, 1);
  check_q(e8m0fnu, 1.1, Mode::rup, 2);
  check_q(e8m0fnu, 1.9, Mode::rto, 1);  // n = 1 is odd
  // zero, negatives, -0: NaN in every mode
  for (double x : {0.0, -0.0, -1.0, -p2(-130), -inf}) check_all_modes(e8m0fnu, x, qnan);
  // below 2^-127: 2^-127 in every mode
  for (double x : {p2(-128), p2(-140), std::numeric_limits<double>::denorm_min(), 0.75 * p2(-127)})
    check_all_modes(e8m0fnu, x, p2(-127));
  // overflow above 2^127: the tie 1.5 * 2^127 goes up to 2^128 > max -> NaN (no inf)
  check_q(e8m0fnu, 1.5 * p2(127), Mode::rne, qnan);
  check_q(e8m0fnu, 1.4 * p2(127), Mode::rne, p2(127));
  check_q(e8m0fnu, 1.9 * p2(127), Mode::rtz, p2(127));
  check_q(e8m0fnu, inf, Mode::rne, qnan);
  check_q(e8m0fnu, inf, Mode::rtz, p2(127));
  check_q(e8m0fnu, p2(127), Mode::rup, p2(127));
}

TEST_CASE("fin formats saturate (no inf, no NaN)") {
  check_q(e2m1fin, 7, Mode::rne, 6);  // tie between 6 (n = 3) and 8 (n = 4) -> 8 > max -> max
  check_q(e2m1fin, 100, Mode::rne, 6);
  check_all_modes(e2m1fin, inf, 6);
  check_all_modes(e2m1fin, -inf, -6);
  check_q(e2m1fin, -7, Mode::rne, -6);
  check_q(e3m2fin, 30, Mode::rne, 28);  // 28 = 7 * 4 (odd), 30 is the tie -> 32 -> max
  check_q(e2m3fin, 7.75, Mode::rup, 7.5);
  check_q(e2m1fin, -0.0, Mode::rne, -0.0);  // fin has -0
}

TEST_CASE("fnuz has no negative zero") {
  check_all_modes(e4m3fnuz, -0.0, 0.0);
  check_q(e4m3fnuz, -p2(-20), Mode::rne, 0.0);
  check_q(e4m3fnuz, -p2(-20), Mode::rup, 0.0);
  check_q(e4m3fnuz, -p2(-20), Mode::rdn, -p2(-10));
  check_q(e4m3fnuz, 241, Mode::rne, 240);   // 240 = 15 * 16 (odd), tie at 248
  check_q(e4m3fnuz, 248, Mode::rne, qnan);  // -> 256 > max -> NaN
  check_q(e4m3fnuz, inf, Mode::rne, qnan);
  check_q(e4m3b11fnuz, 31, Mode::rne, qnan);  // 30 = 15 * 2, tie at 31 -> 32 > max
  check_q(e4m3b11fnuz, 30.9, Mode::rne, 30);
}

TEST_CASE("integers and fixed point") {
  // int8: 127.5 is a tie between 127 (odd) and 128 -> 128 > 127 -> no inf/NaN -> max 127
  check_q(int8, 127.5, Mode::rne, 127);
  check_q(int8, -128.5, Mode::rne, -128);  // tie between 128 (even) and 129 -> -128
  check_q(int8, -129, Mode::rne, -128);
  check_q(int8, 126.5, Mode::rne, 126);
  check_q(int8, 2.5, Mode::rne, 2);
  check_q(int8, -2.5, Mode::rne, -2);
  check_q(int8, 2.5, Mode::rna, 3);
  check_q(int8, -2.5, Mode::rna, -3);
  check_q(int8, 1e30, Mode::rne, 127);
  check_all_modes(int8, -0.0, 0.0);  // one zero
  check_q(int8, -0.3, Mode::rne, 0.0);
  check_q(int8, -0.3, Mode::rdn, -1);
  check_q(int8, inf, Mode::rne, 127);
  check_q(int8, -inf, Mode::rne, -128);
  // uint8: negatives -> +0 in every mode (including rdn)
  check_all_modes(uint8, -3, 0.0);
  check_all_modes(uint8, -0.0, 0.0);
  check_all_modes(uint8, -inf, 0.0);
  check_q(uint8, 255.5, Mode::rne, 255);
  check_q(uint8, 254.5, Mode::rne, 254);
  check_q(uint8, 3.2, Mode::rup, 4);
  // fix8.4: q = 1/16; 1/32 ties to 0, 3/32 ties to 2/16
  const Spec fix84 = integer(8, 4, true);
  check_q(fix84, 1.0 / 32, Mode::rne, 0);
  check_q(fix84, 3.0 / 32, Mode::rne, 0.125);
  check_q(fix84, -8.03125, Mode::rne, -8);          // -8 - 1/32: tie between 128/16 (even) and 129/16
  check_q(fix84, 7.96875, Mode::rne, 7.9375);       // 127.5/16: tie, 127 odd -> 128/16 > max -> max
  check_q(integer(1, 0, true), 0.7, Mode::rne, 0);  // int1 = {-1, 0}: 1 > max 0 -> 0
  check_q(integer(1, 0, true), -0.7, Mode::rne, -1);
}

TEST_CASE("round to odd") {
  check_q(e4m3fn, 1.0, Mode::rto, 1.0);
  check_q(e4m3fn, 1.01, Mode::rto, 1.125);  // between 1 (n = 8) and 1.125 (n = 9): the odd one
  check_q(e4m3fn, 1.2, Mode::rto, 1.125);   // between 1.125 (n = 9) and 1.25 (n = 10)
  check_q(e4m3fn, 1.25, Mode::rto, 1.25);   // exact: unchanged even though n = 10 is even
  check_q(e4m3fn, 1.3, Mode::rto, 1.375);
  check_q(e4m3fn, -1.01, Mode::rto, -1.125);
  check_q(e4m3fn, p2(-20), Mode::rto, p2(-9));  // between 0 and the smallest subnormal (n = 1)
  check_q(e4m3fn, -p2(-20), Mode::rto, -p2(-9));
  check_q(e4m3fn, 460, Mode::rto, 448);  // between 448 (n = 14) and 480 (n = 15) -> overflow -> max
  check_q(e4m3fn, 1e10, Mode::rto, 448);
  check_q(e5m2, 1e10, Mode::rto, 57344);
  check_q(e5m2, -inf, Mode::rto, -inf);  // inf input is representable
  check_q(e4m3fn, inf, Mode::rto, 448);
  check_q(int8, 2.5, Mode::rto, 3);
  check_q(int8, 3.5, Mode::rto, 3);
  check_q(int8, 4.2, Mode::rto, 5);
  check_q(int8, 4, Mode::rto, 4);
}

TEST_CASE("ftz: the band below the smallest normal rounds to 0 or the smallest normal") {
  const Spec f = with_ftz(e4m3fn);
  check_q(f, p2(-7), Mode::rne, 0);  // half the min normal: tie, n = 0 even
  check_q(f, std::nextafter(p2(-7), 1.0), Mode::rne, p2(-6));
  check_q(f, -p2(-7), Mode::rne, -0.0);
  check_q(f, p2(-9), Mode::rne, 0);  // a subnormal of plain e4m3fn
  check_q(f, 3 * p2(-8), Mode::rne, p2(-6));
  check_q(f, p2(-20), Mode::rup, p2(-6));
  check_q(f, p2(-20), Mode::rto, p2(-6));  // odd of n = 0, 1
  check_q(f, std::nextafter(p2(-6), 0.0), Mode::rtz, 0);
  check_q(f, p2(-6), Mode::rtz, p2(-6));
  check_q(f, p2(-7), Mode::rna, p2(-6));
  for (double x : hard_inputs(f))
    for (Mode m : all_modes) {
      const auto c = expected_code(f, x, m);
      if (c) CHECK_FALSE(codes(f)[*c].unused);
    }
}

TEST_CASE("directed modes at overflow") {
  check_q(e5m2, 60000, Mode::rup, inf);
  check_q(e5m2, 60000, Mode::rdn, 57344);
  check_q(e5m2, -60000, Mode::rup, -57344);
  check_q(e5m2, -60000, Mode::rdn, -inf);
  check_q(e5m2, 1e6, Mode::rtz, 57344);
  check_q(e5m2, -1e6, Mode::rtz, -57344);
  check_q(e5m2, inf, Mode::rtz, inf);  // inf input is representable: stays inf
  check_q(e5m2, inf, Mode::rdn, inf);
  check_q(e4m3fn, 449, Mode::rup, qnan);
  check_q(e4m3fn, 449, Mode::rdn, 448);
  check_q(e4m3fn, -449, Mode::rdn, qnan);
  check_q(e4m3fn, -449, Mode::rup, -448);
  check_q(e4m3fn, -1e9, Mode::rup, -448);
  check_q(e4m3fn, inf, Mode::rtz, 448);
  check_q(e4m3fn, inf, Mode::rup, qnan);
  check_q(e4m3fn, inf, Mode::rdn, 448);
  check_q(e4m3fn, -inf, Mode::rdn, qnan);
  check_q(e4m3fn, inf, Mode::rne, qnan);
  check_q(e2m1fin, 6.5, Mode::rup, 6);  // no inf, no NaN -> max
  check_q(e2m1fin, -100, Mode::rdn, -6);
  check_q(int8, 127.2, Mode::rup, 127);
  check_q(int8, -128.2, Mode::rdn, -128);
  // in range
  check_q(e4m3fn, 1.01, Mode::rup, 1.125);
  check_q(e4m3fn, -1.01, Mode::rdn, -1.125);
  check_q(e4m3fn, -1.01, Mode::rup, -1);
  check_q(e4m3fn, 1.01, Mode::rdn, 1);
  check_q(e4m3fn, -p2(-20), Mode::rup, -0.0);
  check_q(e4m3fn, p2(-20), Mode::rdn, 0.0);
  check_q(e4m3fn, p2(-20), Mode::rup, p2(-9));
  check_q(e4m3fn, 448, Mode::rup, 448);
}

TEST_CASE("sat and u modifiers") {
  const Spec s = with_sat(e5m2);
  for (Mode m : all_modes) {
    check_q(s, 1e6, m, 57344);
    check_q(s, -1e6, m, -57344);
    check_q(s, inf, m, 57344);
    check_q(s, -inf, m, -57344);
  }
  check_q(s, 60000, Mode::rne, 57344);
  check_q(with_sat(e4m3fn), 464, Mode::rna, 448);
  check_q(with_sat(e4m3fn), qnan, Mode::rne, qnan);
  const Spec u = with_unsigned(e4m3fn);
  check_all_modes(u, -3, 0.0);
  check_all_modes(u, -0.0, 0.0);
  check_all_modes(u, -inf, 0.0);
  check_q(u, 464, Mode::rne, 448);
  check_q(u, 465, Mode::rne, qnan);
  CHECK(codes(u).size() == 128);
  const Spec ue = with_unsigned(e5m2);
  check_q(ue, inf, Mode::rne, inf);
  check_q(ue, -inf, Mode::rne, 0.0);
}

TEST_CASE("argument validation") {
  CHECK_THROWS_AS(props(minifloat(8, 23, C::ieee)), std::invalid_argument);  // 32 bits > 20
  CHECK_THROWS_AS(minifloat(0, 3, C::ieee), std::invalid_argument);
  CHECK_THROWS_AS(minifloat(9, 3, C::ieee), std::invalid_argument);
  CHECK_THROWS_AS(minifloat(4, 24, C::ieee), std::invalid_argument);
  CHECK_THROWS_AS(integer(21, 0, true), std::invalid_argument);
  CHECK_THROWS_AS(integer(8, -1, true), std::invalid_argument);
  CHECK_THROWS_AS(props(with_ftz(int8)), std::invalid_argument);
  CHECK_THROWS_AS(props(with_unsigned(int8)), std::invalid_argument);
  CHECK_THROWS_AS(props(minifloat(1, 0, C::ieee)), std::invalid_argument);                      // only zeros and inf
  CHECK_THROWS_AS(props(minifloat(8, 7, C::ieee, 1100)), std::invalid_argument);                // values below 2^-1074
  CHECK_THROWS_AS(Float32Table(minifloat(8, 3, C::ieee, 150), Mode::rne), std::runtime_error);  // 2^-152
  CHECK_NOTHROW(props(tf32));
  CHECK_NOTHROW(props(minifloat(8, 11, C::ieee)));  // 20 bits
  CHECK(codes(minifloat(5, 10, C::ieee)).size() == 65536);
  CHECK(codes(e8m0fnu).size() == 256);
  CHECK(codes(integer(16, 0, true)).size() == 65536);
  CHECK(name(e4m3b11fnuz) == "e4m3b11fnuz");
  CHECK(name(with_sat(e4m3fn)) == "e4m3fn:sat");
  CHECK(name(integer(8, 4, true)) == "fix8.4");
}

namespace {

// The distinct used finite values of a format, ascending (-0 merged into 0), with a code for each.
struct ValueList {
  std::vector<double> v;
  std::map<double, uint32_t> code;  // for 0: the +0 code
};

ValueList value_list(const Spec& s) {
  ValueList out;
  for (const Code& k : codes(s)) {
    if (k.is_nan || k.is_inf || k.unused) continue;
    const auto d = detail::exact_double(k.value);
    REQUIRE(d.has_value());
    if (*d == 0 && k.negative && out.code.count(0.0)) continue;
    if (*d == 0 && !k.negative)
      out.code[0.0] = k.code;
    else if (!out.code.count(*d))
      out.code[*d] = k.code;
  }
  for (auto& [d, c] : out.code) out.v.push_back(d);
  return out;
}

bool is_int(const Spec& s) { return s.kind == Spec::Kind::integer; }

}  // namespace

// Properties that follow from the definitions, checked over every hard input of many small formats
// in every mode, with logic written separately from the oracle's (neighbours found by plain double
// comparisons over codes(), distances compared in cpp_rational, ties decided by code parity).
TEST_CASE("rounding properties over the hard inputs of many formats") {
  for (const Spec& s : small_formats()) {
    const ValueList vl = value_list(s);
    const Props pr = props(s);
    const std::vector<Code> cs = codes(s);
    const bool unsigned_fmt = is_int(s) ? !s.int_signed : (s.is_unsigned || s.convention == C::fnu);
    const double min_v = vl.v.front(), max_v = vl.v.back();
    bool has_neg_zero = false;
    for (const Code& k : cs) has_neg_zero |= !k.is_nan && !k.is_inf && !k.unused && k.value == 0 && k.negative;
    const std::vector<double> xs = hard_inputs(s);
    for (Mode m : all_modes) {
      INFO(name(s), " ", std::string(mode_name(m)));
      double prev = -inf;
      for (double x : xs) {
        INFO("x=", x);
        const double got = expected(s, x, m);
        INFO("got=", got);
        // 1. encode/decode agree: the code of the result decodes to the result
        const auto code = expected_code(s, x, m);
        if (std::isnan(got)) {
          CHECK(code.has_value() == pr.has_nan);
          if (code) CHECK(cs[*code].is_nan);
        } else {
          REQUIRE(code.has_value());
          const Code& k = cs[*code];
          CHECK_FALSE(k.unused);
          CHECK(k.negative == std::signbit(got));
          if (std::isinf(got))
            CHECK(k.is_inf);
          else
            CHECK((!k.is_inf && !k.is_nan && detail::exact_double(k.value) == got));
        }
        if (std::isnan(x)) {
          CHECK(std::isnan(got));
          continue;
        }
        // 2. monotone in x over the finite inputs (NaN results excluded; -0 == +0)
        if (std::isfinite(x) && !std::isnan(got)) {
          CHECK(got >= prev);
          prev = got;
        }
        // 3. unsigned formats
        if (unsigned_fmt && std::signbit(x)) {
          if (s.convention == C::fnu && !is_int(s))
            CHECK(std::isnan(got));
          else
            CHECK(same(got, 0.0));
          continue;
        }
        if (std::isinf(x)) continue;  // pinned by the hand cases
        if (!is_int(s) && s.convention == C::fnu) {
          if (x == 0) {
            CHECK(std::isnan(got));
            continue;
          }
          if (x < min_v) {
            CHECK(got == min_v);
            continue;
          }
        }
        // 4. the result is one of the two neighbours of x in the value set
        const auto hi_it = std::lower_bound(vl.v.begin(), vl.v.end(), x);  // first value >= x
        const bool beyond = hi_it == vl.v.end() || x < min_v;
        if (beyond) {  // outside [min, max]: an overflow value
          const double edge = x > 0 ? max_v : min_v;
          CHECK((std::isnan(got) || std::isinf(got) || got == edge));
          if (s.sat) CHECK(got == edge);
          continue;
        }
        if (*hi_it == x) {  // exact
          CHECK(got == x);
          if (x == 0) CHECK(std::signbit(got) == (std::signbit(x) && has_neg_zero));
          continue;
        }
        const double hi = *hi_it, lo = *(hi_it - 1);
        // rounding toward the larger magnitude may legitimately overflow only past max / below min
        if (std::isnan(got) || std::isinf(got)) {
          CHECK(false);
          continue;
        }
        REQUIRE((got == lo || got == hi));
        const bool toward_hi = got == hi;
        const double mag_lo = std::min(std::abs(lo), std::abs(hi)), mag_hi = std::max(std::abs(lo), std::abs(hi));
        const bool bigger_mag = std::abs(got) == mag_hi;
        const cpp_rational X = detail::to_rational(x);
        const cpp_rational dlo = X - detail::to_rational(lo), dhi = detail::to_rational(hi) - X;
        const bool tie = dlo == dhi;
        const bool band = mag_lo == 0;  // between 0 and the smallest nonzero value: n = 0 below
        const bool code_parity = band ? false : (is_int(s) || s.mantissa_bits >= 1);
        const uint32_t code_got = vl.code.at(got);
        switch (m) {
          case Mode::rup:
            CHECK(toward_hi);
            break;
          case Mode::rdn:
            CHECK_FALSE(toward_hi);
            break;
          case Mode::rtz:
            CHECK_FALSE(bigger_mag);
            break;
          case Mode::rna:
            if (tie)
              CHECK(bigger_mag);
            else
              CHECK(toward_hi == (dhi < dlo));
            break;
          case Mode::rne:
            if (!tie)
              CHECK(toward_hi == (dhi < dlo));
            else if (band)
              CHECK_FALSE(bigger_mag);  // n = 0 is even
            else if (code_parity)
              CHECK(code_got % 2 == 0);  // M >= 1: even code
            else
              CHECK(bigger_mag);  // M = 0: n = 1 is odd, ties go up
            break;
          case Mode::rto:
            if (band)
              CHECK(bigger_mag);  // n + 1 = 1 is the odd one
            else if (code_parity)
              CHECK(code_got % 2 == 1);
            else
              CHECK_FALSE(bigger_mag);  // M = 0: n = 1
            break;
        }
        // 5. zero sign: a negative input rounded to zero is -0 where the format has -0
        if (got == 0) CHECK(std::signbit(got) == (std::signbit(x) && has_neg_zero));
      }
    }
  }
}

TEST_CASE("the table search agrees with the literal rational transcription of RULES.md") {
  for (const Spec& s : small_formats()) {
    const std::vector<double> xs = hard_inputs(s);
    for (Mode m : all_modes) {
      INFO(name(s), " ", std::string(mode_name(m)));
      size_t bad = 0;
      for (size_t i = 0; i < xs.size(); ++i) {
        if (m != Mode::rne && i % 3 != 0) continue;  // keep the unit suite quick
        const double a = expected(s, xs[i], m), b = expected_rational(s, xs[i], m);
        if (!same(a, b)) {
          if (++bad <= 5) FAIL_CHECK("x=" << xs[i] << " table=" << a << " rational=" << b);
        }
      }
      CHECK(bad == 0);
    }
  }
}

TEST_CASE("every code round-trips: encode(decode(c)) == c") {
  for (const Spec& s : small_formats()) {
    const auto cs = codes(s);
    for (Mode m : all_modes) {
      INFO(name(s), " ", std::string(mode_name(m)));
      for (const Code& k : cs) {
        if (k.is_nan || k.unused) continue;
        double x = k.is_inf ? inf : *detail::exact_double(k.value);
        if (k.negative && (k.is_inf || k.value == 0)) x = -x;  // -inf, -0
        INFO("code=", k.code);
        if (k.is_inf && s.sat) continue;  // sat: inf input gives max
        CHECK(expected_code(s, x, m) == k.code);
        CHECK(same(expected(s, x, m), x));
      }
    }
  }
}

namespace {
// bfloat16 round-to-nearest-even by the standard integer trick on float32 bits (finite inputs).
float bf16_rne_trick(float f) {
  uint32_t u = std::bit_cast<uint32_t>(f);
  u += 0x7fffu + ((u >> 16) & 1u);
  return std::bit_cast<float>(u & 0xffff0000u);
}
}  // namespace

TEST_CASE("bfloat16 rne agrees with the standard float32 bit trick") {
  std::mt19937 rng(12345);
  size_t bad = 0;
  auto check_bits = [&](uint32_t b) {
    const float f = std::bit_cast<float>(b);
    if (std::isnan(f)) return;
    const double want = static_cast<double>(bf16_rne_trick(f));
    const double got = expected(bf16, static_cast<double>(f), Mode::rne);
    if (!same(got, want) && ++bad <= 5) FAIL_CHECK("bits=" << b << " got=" << got << " want=" << want);
  };
  for (double x : hard_inputs(bf16))
    if (static_cast<double>(static_cast<float>(x)) == x || std::isinf(x))
      check_bits(std::bit_cast<uint32_t>(static_cast<float>(x)));
  for (int i = 0; i < 200000; ++i) check_bits(rng());
  CHECK(bad == 0);
}

#if defined(__FLT16_MAX__)
TEST_CASE("binary16 rne agrees with the compiler's _Float16 conversion") {
  std::mt19937 rng(777);
  size_t bad = 0;
  auto check_x = [&](double x) {
    if (std::isnan(x)) return;
    const double want = static_cast<double>(static_cast<_Float16>(x));  // IEEE conversion, one rounding
    const double got = expected(fp16, x, Mode::rne);
    if (!same(got, want) && ++bad <= 5) FAIL_CHECK("x=" << x << " got=" << got << " want=" << want);
  };
  for (double x : hard_inputs(fp16)) check_x(x);
  for (int i = 0; i < 200000; ++i) check_x(static_cast<double>(std::bit_cast<float>(static_cast<uint32_t>(rng()))));
  CHECK(bad == 0);
}
#endif

TEST_CASE("Float32Table agrees with expected at every float32 hard input and nearby") {
  std::vector<Spec> specs = small_formats();
  for (const Spec& s : specs) {
    for (Mode m : all_modes) {
      if (!is_int(s) && s.exponent_bits + s.mantissa_bits > 9 && m != Mode::rne) continue;
      INFO(name(s), " ", std::string(mode_name(m)));
      const Float32Table tab(s, m);
      size_t bad = 0;
      auto cmp = [&](uint32_t b, float f) {
        const double want = expected(s, static_cast<double>(std::bit_cast<float>(b)), m);
        if (!same(static_cast<double>(f), want) && ++bad <= 5)
          FAIL_CHECK("bits=" << b << " table=" << f << " expected=" << want);
      };
      for (double x : hard_inputs(s)) {
        const float f = static_cast<float>(x);
        if (static_cast<double>(f) != x && !std::isnan(x)) continue;
        const uint32_t b = std::bit_cast<uint32_t>(f);
        cmp(b, tab.at(b));
        const uint32_t lo = (b & 0x7fffffffu) < 3 ? (b & 0x80000000u) : b - 3;
        const uint32_t hi = (b & 0x7fffffffu) > 0x7ffffffcu ? (b | 0x7fffffffu) : b + 3;
        tab.walk(lo, hi, cmp);
      }
      CHECK(bad == 0);
    }
  }
}

TEST_CASE("Float32Table walk agrees with expected on random float32 patterns") {
  for (const Spec& s : {e4m3fn, e5m2, int8, e2m1fin}) {
    for (Mode m : {Mode::rne, Mode::rup, Mode::rto}) {
      INFO(name(s), " ", std::string(mode_name(m)));
      const Float32Table tab(s, m);
      std::mt19937 rng(99);
      size_t bad = 0, seen = 0;
      for (int k = 0; k < 20; ++k) {
        const uint32_t start = rng();
        const uint32_t end = start > 0xffffffffu - 5000 ? 0xffffffffu : start + 5000;
        uint32_t expect_bits = start;
        tab.walk(start, end, [&](uint32_t b, float f) {
          if (b != expect_bits) ++bad;  // every pattern once, in order
          ++expect_bits;
          ++seen;
          const double want = expected(s, static_cast<double>(std::bit_cast<float>(b)), m);
          if (!same(static_cast<double>(f), want) || !same(static_cast<double>(tab.at(b)), want)) ++bad;
        });
      }
      CHECK(seen > 0);
      CHECK(bad == 0);
    }
  }
}
