// SPDX-License-Identifier: MIT
// Unit suite: the scalar reference equals the oracle bit for bit on every named format and a spread of eXmY.
#include "oracle_compare.hpp"

#include <fmtsim/core/spec.hpp>

using namespace fmtsim;

namespace {

void check(const std::string& spec) {
  CAPTURE(spec);
  try {
    (void)parse_format(spec);
  } catch (const spec_error& e) {
    // only formats without any nonzero finite value are rejected (e.g. e1m0fn, e1m1:ftz)
    CHECK(std::string(e.what()).find("no nonzero finite value") != std::string::npos);
    return;
  }
  const auto mc = test::compare_with_oracle(spec);
  INFO("first mismatch: " << mc.first);
  CHECK(mc.checked > 0);
  CHECK(mc.mismatches == 0);
}

}  // namespace

TEST_CASE("named 8-bit and smaller formats match the oracle") {
  for (const auto& n : named_formats()) {
    const element_format f = parse_format(n.canonical);
    if (f.kind == family::profile || code_bits(f) > 8) continue;
    check(std::string(n.name));
    check(std::string(n.name) + ":sat");
  }
}

TEST_CASE("16-bit named formats match the oracle (rne and directed)") {
  check("bf16");
  check("fp16");
}

TEST_CASE("a spread of eXmY with every convention and modifier matches the oracle") {
  const char* suffixes[] = {"", "fn", "fnuz", "fin"};
  for (int e = 1; e <= 5; ++e) {
    for (int m = 0; m <= 4; ++m) {
      for (const char* suf : suffixes) {
        const std::string base = "e" + std::to_string(e) + "m" + std::to_string(m) + suf;
        element_format f;
        try {
          f = parse_format(base);
        } catch (const spec_error&) {
          continue;  // formats with no finite positive value (e.g. e1m0fn) are rejected by design
        }
        check(base);
        check(base + ":sat");
        if (e + m <= 6) {
          check(base + ":ftz");
          if (std::string(suf) != "fnuz") check(base + ":u");
        }
      }
    }
  }
  check("e8m0fnu");
  check("e6m1");
  check("e7m2fin");
  check("e8m3fn");
  check("e4m3b3");
  check("e4m3b-2fn");
  check("e3m2b0fin:sat");
}

TEST_CASE("integers and fixed point match the oracle") {
  for (const char* s : {"int1", "int2", "int4", "int8", "uint1", "uint4", "uint8", "fix8.4", "fix6.6", "fix4.0",
                        "int8:sat", "uint8:sat", "fix8.10"}) {
    check(s);
  }
}
