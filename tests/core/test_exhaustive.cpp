// SPDX-License-Identifier: MIT
// Exhaustive suite: all 2^32 float32 inputs, scalar reference vs the oracle's table sweep (rne).
#include "oracle_compare.hpp"

#include <atomic>
#include <cstring>
#include <thread>

using namespace fmtsim;

namespace {

struct sweep_result {
  std::uint64_t checked = 0, mismatches = 0;
  std::uint32_t first_bits = 0;
  float first_got = 0, first_want = 0;
};

sweep_result sweep(const std::string& spec) {
  const element_format f = parse_format(spec);
  const auto os = test::oracle_spec(f);
  sweep_result r;
  fmtsim_oracle::sweep_float32(os, fmtsim_oracle::Mode::rne, [&](std::uint32_t bits, float want) {
    float x;
    std::memcpy(&x, &bits, 4);
    const float got = quantize<float>(f, x);
    ++r.checked;
    if (!test::same(got, want)) {
      if (r.mismatches++ == 0) {
        r.first_bits = bits;
        r.first_got = got;
        r.first_want = want;
      }
    }
  });
  return r;
}

}  // namespace

TEST_CASE("all 2^32 float32 inputs match the oracle (rne)") {
  const char* specs[] = {"e4m3fn", "e5m2", "e2m1fin", "bf16", "fp16"};
  sweep_result results[std::size(specs)];
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i; (i = next++) < std::size(specs);) results[i] = sweep(specs[i]);
  };
  std::thread t1(worker), t2(worker);
  t1.join();
  t2.join();
  for (std::size_t i = 0; i < std::size(specs); ++i) {
    CAPTURE(specs[i]);
    const auto& r = results[i];
    INFO("first mismatch: bits 0x" << std::hex << r.first_bits << " got " << test::hex(r.first_got) << " want "
                                   << test::hex(r.first_want));
    CHECK(r.checked == (std::uint64_t{1} << 32));
    CHECK(r.mismatches == 0);
  }
}

TEST_CASE("wider eXmY spread matches the oracle (every mode, hard inputs)") {
  for (const char* s : {"e6m5", "e7m6fn", "e8m4fin", "e5m7fnuz", "e8m10", "e3m10fin", "e6m9", "e8m2:sat", "e7m3:ftz"}) {
    CAPTURE(s);
    const auto mc = test::compare_with_oracle(s);
    INFO("first mismatch: " << mc.first);
    CHECK(mc.mismatches == 0);
  }
}
