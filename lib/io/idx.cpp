// SPDX-License-Identifier: MIT
// IDX (MNIST-style) parser: magic 00 00 type ndims, big-endian u32 dims, row-major payload.
#include "fmtsim/io/idx.hpp"

#include "fmtsim/io/compress.hpp"
#include "fmtsim/io/file.hpp"

#include <cstdio>
#include <string>

namespace fmtsim::io {
namespace {

[[noreturn]] void fail(std::string_view source, const std::string& what) {
  throw format_error(std::string(source) + ": IDX: " + what);
}

// Upper bound on decompressed IDX payloads (the largest standard file is 47 MB).
constexpr std::uint64_t idx_max_bytes = std::uint64_t{1} << 32;

}  // namespace

idx_array parse_idx(std::span<const std::byte> input, std::string_view source) {
  std::vector<std::byte> inflated;
  std::span<const std::byte> bytes = input;
  if (is_gzip(input)) {
    inflated = gunzip(input, source, idx_max_bytes);
    bytes = inflated;
  }
  if (bytes.size() < 4) fail(source, "file is " + std::to_string(bytes.size()) + " bytes, too short for the magic");
  if (bytes[0] != std::byte{0} || bytes[1] != std::byte{0}) {
    fail(source, "bad magic (the first two bytes must be zero)");
  }
  const auto type = std::to_integer<unsigned>(bytes[2]);
  const auto ndims = std::to_integer<unsigned>(bytes[3]);
  if (type != 0x08) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02x", type);
    fail(source, std::string("unsupported element type ") + hex + " (only unsigned byte, 0x08, is supported)");
  }
  if (ndims == 0) fail(source, "zero dimensions");
  const std::uint64_t header = 4 + 4 * std::uint64_t{ndims};
  if (bytes.size() < header) {
    fail(source, "header declares " + std::to_string(ndims) + " dimensions but the file ends at byte " +
                     std::to_string(bytes.size()));
  }
  idx_array out;
  std::uint64_t count = 1;
  for (unsigned i = 0; i < ndims; ++i) {
    const std::byte* p = bytes.data() + 4 + 4 * i;
    const std::uint32_t d = (std::to_integer<std::uint32_t>(p[0]) << 24) |
                            (std::to_integer<std::uint32_t>(p[1]) << 16) | (std::to_integer<std::uint32_t>(p[2]) << 8) |
                            std::to_integer<std::uint32_t>(p[3]);
    if (d != 0 && count > idx_max_bytes / d) {
      fail(source, "product of the dimensions overflows the size limit");
    }
    count *= d;
    out.dims.push_back(d);
  }
  const std::uint64_t payload = bytes.size() - header;
  if (payload != count) {
    fail(source, "dimensions need " + std::to_string(count) + " data bytes but the file has " +
                     std::to_string(payload) + (payload < count ? " (truncated)" : " (trailing bytes)"));
  }
  out.data.resize(count);
  for (std::uint64_t i = 0; i < count; ++i) out.data[i] = std::to_integer<std::uint8_t>(bytes[header + i]);
  return out;
}

idx_array read_idx(const std::filesystem::path& path) {
  const auto bytes = read_file(path, idx_max_bytes);
  return parse_idx(bytes, path.string());
}

}  // namespace fmtsim::io
