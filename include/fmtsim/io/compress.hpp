// SPDX-License-Identifier: MIT
// zlib-based decompression (gzip members and raw deflate streams) with output size limits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace fmtsim::io {

// True if the bytes start with the gzip magic 1f 8b.
bool is_gzip(std::span<const std::byte> bytes) noexcept;

// Decompresses one or more concatenated gzip members. Throws format_error (naming `source`) on a
// corrupt or truncated stream, or if the output would exceed max_output bytes.
std::vector<std::byte> gunzip(std::span<const std::byte> bytes, std::string_view source,
                              std::uint64_t max_output = std::uint64_t{1} << 32);

// Inflates a raw deflate stream (zip method 8) that must produce exactly expected_size bytes and
// consume all of `bytes`. Throws format_error otherwise.
std::vector<std::byte> inflate_raw(std::span<const std::byte> bytes, std::uint64_t expected_size,
                                   std::string_view source);

// CRC-32 (zip/gzip polynomial) of the bytes.
std::uint32_t crc32_of(std::span<const std::byte> bytes) noexcept;

}  // namespace fmtsim::io
