// SPDX-License-Identifier: MIT
// libFuzzer target: the IDX parser (plain and gzip) must accept or throw format_error, never crash.
#include <fmtsim/io/file.hpp>
#include <fmtsim/io/idx.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  try {
    const auto a = fmtsim::io::parse_idx(bytes, "fuzz");
    std::size_t n = 1;
    for (auto d : a.dims) n *= d;
    if (n != a.data.size()) std::abort();
  } catch (const fmtsim::io::format_error&) {
  }
  return 0;
}
