// SPDX-License-Identifier: MIT
// Spec parser: every alias resolves to the parameters of formats.md; malformed specs name the position.
#include <fmtsim/core/named.hpp>
#include <fmtsim/core/spec.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace fmtsim;

namespace {

element_format mf(int e, int m, convention c, int bias) {
  element_format f = formats::minifloat(e, m, c);
  f.bias = bias;
  return f;
}

}  // namespace

TEST_CASE("aliases parse to exactly the parameters of formats.md") {
  struct row {
    const char* spec;
    element_format want;
  };
  const row rows[] = {
      {"float8_e5m2", mf(5, 2, convention::ieee, 15)},
      {"E5M2", mf(5, 2, convention::ieee, 15)},
      {"float8_e4m3", mf(4, 3, convention::ieee, 7)},
      {"float8_e3m4", mf(3, 4, convention::ieee, 3)},
      {"float8_e4m3fn", mf(4, 3, convention::fn, 7)},
      {"E4M3", mf(4, 3, convention::fn, 7)},
      {"float8_e4m3fnuz", mf(4, 3, convention::fnuz, 8)},
      {"float8_e5m2fnuz", mf(5, 2, convention::fnuz, 16)},
      {"float8_e4m3b11fnuz", mf(4, 3, convention::fnuz, 11)},
      {"float8_e8m0fnu", mf(8, 0, convention::fnu, 127)},
      {"float6_e2m3fn", mf(2, 3, convention::fin, 1)},
      {"float6_e3m2fn", mf(3, 2, convention::fin, 3)},
      {"float4_e2m1fn", mf(2, 1, convention::fin, 1)},
      {"bf16", mf(8, 7, convention::ieee, 127)},
      {"bfloat16", mf(8, 7, convention::ieee, 127)},
      {"fp16", mf(5, 10, convention::ieee, 15)},
      {"half", mf(5, 10, convention::ieee, 15)},
      {"tf32", mf(8, 10, convention::ieee, 127)},
      {"fp32", mf(8, 23, convention::ieee, 127)},
      {"e4m3b11fnuz", mf(4, 3, convention::fnuz, 11)},
      {"e5m2b-3fin", mf(5, 2, convention::fin, -3)},
  };
  for (const auto& r : rows) {
    const std::string spec = r.spec;
    CAPTURE(spec);
    CHECK(parse_format(r.spec) == r.want);
  }
  CHECK(parse_format("int8") == formats::integer(8));
  CHECK(parse_format("uint4") == formats::integer(4, false));
  CHECK(parse_format("fix8.4") == formats::integer(8, true, 4));
}

TEST_CASE("modifiers") {
  element_format f = parse_format("e4m3fn:sat:ftz");
  CHECK(f.saturate);
  CHECK(f.ftz);
  CHECK(parse_format("e4m3:u").is_unsigned);
  CHECK(code_bits(parse_format("e4m3:u")) == 7);
  CHECK(parse_format("log4:logdomain").log_domain);
  CHECK(parse_format("e5m2:sat") == parse_format("float8_e5m2:sat"));
}

TEST_CASE("profiles, fp1xy and log formats") {
  const element_format fp134 = parse_format("bp:5x7,4,3,2,1,0");
  CHECK(fp134.kind == family::profile);
  CHECK(fp134.profile_len == 12);
  CHECK(parse_format("fp134") == fp134);
  CHECK(parse_format("fp143") == parse_format("bp:4x15,3,2,1,0"));
  CHECK(parse_format("fp152") == parse_format("bp:3x31,2,1,0"));
  CHECK(parse_format("log4") == parse_format("bp:1x7,0"));
  CHECK(code_bits(fp134) == 8);
  CHECK(code_bits(parse_format("log4")) == 4);
  CHECK(code_bits(parse_format("bp:4x15,1x7,0")) == 8);
  CHECK(format_name(fp134) == "bp:5x7,4,3,2,1,0");
}

TEST_CASE("format_name is canonical and parses back to the same format") {
  for (const char* s : {"e4m3fn", "e5m2", "e4m3b11fnuz", "e8m0fnu", "e2m1fin:sat", "e3m2b5:ftz", "int7", "uint3",
                        "fix8.3", "bp:5x7,4,3,2,1,0", "bp:1x7,0:logdomain", "e4m3:u", "bp:7,6,5,4,3,2,1,0"}) {
    const std::string spec = s;
    CAPTURE(spec);
    const element_format f = parse_format(s);
    CHECK(format_name(f) == s);
    CHECK(parse_format(format_name(f)) == f);
  }
  for (const auto& n : named_formats()) {
    CAPTURE(n.name);
    CHECK(format_name(parse_format(n.name)) == n.canonical);
  }
}

TEST_CASE("malformed specs are rejected with the offending position") {
  struct bad {
    const char* spec;
    std::size_t pos;
    const char* needle;
  };
  const bad rows[] = {
      {"", 0, "empty"},
      {"e4x3", 2, "expected 'm'"},
      {"e4m3fx", 4, "suffix"},
      {"e9m3", 1, "exponent bits must be 1..8"},
      {"e4m24", 3, "mantissa bits"},
      {"E4M3FN", 0, "case-sensitive"},
      {"float8_e4m3FN", 0, "expected"},
      {"e4m3fn:sta", 7, "unknown modifier 'sta'"},
      {"e4m3fn:", 7, "expected a modifier"},
      {"int0", 3, "1..32"},
      {"int8x", 4, "unexpected character"},
      {"fix8", 4, "expected '.'"},
      {"bp:5x7,4,,3", 9, "expected a number"},
      {"bp:5x7;4", 6, "expected ','"},
      {"bp:3,0,2", 3, "zero band"},
      {"e8m2fnu", 3, "M = 0"},
      {"e4m3fnuz:u", 9, "'u' cannot"},
      {"int8:ftz", 5, "minifloats only"},
      {"e1m0fn", 0, "no nonzero finite value"},
      {"e1m1:ftz", 0, "flushed"},
      {"log9", 3, "N = 2..8"},
      {"e4m3b", 5, "expected a number (bias)"},
  };
  for (const auto& r : rows) {
    const std::string spec = r.spec;
    CAPTURE(spec);
    try {
      (void)parse_format(r.spec);
      FAIL("accepted a malformed spec");
    } catch (const spec_error& e) {
      const std::string msg = e.what();
      CAPTURE(msg);
      CHECK(e.position() == r.pos);
      CHECK(msg.find(r.needle) != std::string::npos);
      if (r.pos < std::string(r.spec).size())
        CHECK(msg.find(std::string("('") + r.spec[r.pos] + "')") != std::string::npos);
    }
  }
}
