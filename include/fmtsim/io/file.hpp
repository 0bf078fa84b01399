// SPDX-License-Identifier: MIT
// Whole-file reading with a size limit and the error type of the data/checkpoint readers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace fmtsim::io {

// Thrown for malformed or unreadable input; the message names the file and what is wrong.
class format_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Reads a whole file. Throws format_error if it cannot be opened or is larger than max_bytes.
std::vector<std::byte> read_file(const std::filesystem::path& path, std::uint64_t max_bytes = std::uint64_t{1} << 34);

// Writes to a temporary file beside `path` (flushed and fsynced), then renames it into place: no
// partial file is ever left at `path`. Throws format_error naming the path.
void write_file_atomic(const std::filesystem::path& path, std::span<const std::byte> bytes);

}  // namespace fmtsim::io
