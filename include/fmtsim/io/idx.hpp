// SPDX-License-Identifier: MIT
// Strict reader for IDX files (MNIST, Fashion-MNIST), plain or gzipped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>
#include <vector>

namespace fmtsim::io {

// An IDX array of unsigned bytes (type code 0x08), the type the (Fashion-)MNIST files use.
struct idx_array {
  std::vector<std::uint32_t> dims;
  std::vector<std::uint8_t> data;  // row-major, size = product(dims)
};

// Parses IDX bytes (decompressing first if they start with the gzip magic). Rejects: bad magic
// (the first two bytes must be zero), type codes other than 0x08, zero dimensions, a header
// beyond the data, a dims product that overflows or does not equal the payload size (truncated
// data or trailing bytes). Throws format_error naming `source`.
idx_array parse_idx(std::span<const std::byte> bytes, std::string_view source);

idx_array read_idx(const std::filesystem::path& path);

}  // namespace fmtsim::io
