// SPDX-License-Identifier: MIT
// libFuzzer target: the safetensors parser must accept or throw format_error, never crash.
#include <fmtsim/io/file.hpp>
#include <fmtsim/io/safetensors.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  try {
    const auto f = fmtsim::io::parse_safetensors(bytes, "fuzz");
    // Whatever parses must serialise and parse back to the same tensors.
    const auto again = fmtsim::io::parse_safetensors(fmtsim::io::serialize_safetensors(f), "again");
    if (again.tensors.size() != f.tensors.size()) std::abort();
    for (const auto& t : f.tensors) {
      if (t.dtype == fmtsim::io::st_dtype::F32 || t.dtype == fmtsim::io::st_dtype::F16 ||
          t.dtype == fmtsim::io::st_dtype::BF16 || t.dtype == fmtsim::io::st_dtype::F64) {
        (void)fmtsim::io::to_float32(t);
      }
    }
  } catch (const fmtsim::io::format_error&) {
  }
  return 0;
}
