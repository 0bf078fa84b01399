// SPDX-License-Identifier: MIT
// libFuzzer target: the .npy parser and the .npz (zip) reader must accept or throw, never crash.
#include <fmtsim/io/file.hpp>
#include <fmtsim/io/npy.hpp>
#include <fmtsim/io/npz.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  try {
    const auto a = fmtsim::io::parse_npy(bytes, "fuzz");
    if (a.data.size() != a.size() * fmtsim::io::dtype_size(a.type)) std::abort();
  } catch (const fmtsim::io::npy_error&) {
  }
  try {
    (void)fmtsim::io::parse_npz(bytes, "fuzz.npz");
  } catch (const fmtsim::io::npy_error&) {
  } catch (const fmtsim::io::format_error&) {
  }
  return 0;
}
