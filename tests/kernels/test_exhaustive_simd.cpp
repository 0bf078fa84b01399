// SPDX-License-Identifier: MIT
// Exhaustive: every one of the 2^32 float32 inputs, SIMD (every ISA of this machine) vs the scalar reference, rne,
// for e4m3fn, e5m2, e2m1fin, bf16 and fp16.
#include <doctest/doctest.h>

#include <fmtsim/core/array.hpp>
#include <fmtsim/core/quantize.hpp>
#include <fmtsim/core/spec.hpp>
#include <fmtsim/kernels/elementwise.hpp>

#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

using namespace fmtsim;

TEST_CASE("all 2^32 float32 inputs: SIMD == scalar reference (rne)") {
  const std::vector<std::string_view> isas = kernels::simd_isas();
  REQUIRE(!isas.empty());
  constexpr std::uint64_t chunk = std::uint64_t{1} << 22;
  const unsigned workers = std::max(1u, std::thread::hardware_concurrency());
  std::vector<float> x(chunk), ref(chunk), got(chunk);
  for (const char* spec : {"e4m3fn", "e5m2", "e2m1fin", "bf16", "fp16"}) {
    const element_format f = parse_format(spec);
    const quantize_options opt;
    std::uint64_t mismatches = 0;
    for (std::uint64_t start = 0; start < (std::uint64_t{1} << 32); start += chunk) {
      for (std::uint64_t i = 0; i < chunk; ++i) x[i] = std::bit_cast<float>(static_cast<std::uint32_t>(start + i));
      std::vector<std::thread> threads;
      for (unsigned w = 0; w < workers; ++w) {
        threads.emplace_back([&, w] {
          const std::uint64_t b = chunk * w / workers, e = chunk * (w + 1) / workers;
          for (std::uint64_t i = b; i < e; ++i) ref[i] = quantize<float>(f, x[i], opt.mode);
        });
      }
      for (std::thread& t : threads) t.join();
      for (std::string_view isa : isas) {
        kernels::quantize_simd_isa(isa, f, x, got, opt);
        if (std::memcmp(ref.data(), got.data(), chunk * sizeof(float)) != 0) {
          for (std::uint64_t i = 0; i < chunk; ++i) {
            if (std::bit_cast<std::uint32_t>(ref[i]) != std::bit_cast<std::uint32_t>(got[i])) {
              if (++mismatches <= 10)
                std::printf("%s %.*s: input 0x%08llx reference 0x%08x simd 0x%08x\n", spec,
                            static_cast<int>(isa.size()), isa.data(), static_cast<unsigned long long>(start + i),
                            std::bit_cast<std::uint32_t>(ref[i]), std::bit_cast<std::uint32_t>(got[i]));
            }
          }
        }
      }
    }
    INFO("format ", spec, " on ", isas.size(), " ISAs");
    CHECK(mismatches == 0);
  }
}
