// SPDX-License-Identifier: MIT
// Minimal strict zip archive reader (stored and deflate entries, zip64), used for .npz files.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace fmtsim::io {

struct zip_member {
  std::string name;
  std::vector<std::byte> data;  // decompressed, CRC-checked
};

// Parses a whole zip archive held in memory through its central directory. Supports methods 0
// (stored) and 8 (deflate) and zip64 records. Rejects: no end-of-central-directory record,
// multi-disk archives, encrypted entries, other methods, records or data outside the file,
// local headers that do not match the central directory, size or CRC mismatches and duplicate
// names. Throws format_error naming `source`.
std::vector<zip_member> parse_zip(std::span<const std::byte> bytes, std::string_view source);

}  // namespace fmtsim::io
