// SPDX-License-Identifier: MIT
// Reader for .npz archives (a zip of .npy files, stored or deflated) and npy element conversion.
#pragma once

#include "fmtsim/io/npy.hpp"

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fmtsim::io {

struct npz_file {
  std::vector<std::pair<std::string, npy_array>> arrays;  // names without the ".npy" suffix

  const npy_array* find(std::string_view name) const noexcept;
};

// Parses the zip (see parse_zip) and every member as .npy. Members must be named "*.npy".
// Throws format_error / npy_error naming `source` and the member.
npz_file parse_npz(std::span<const std::byte> bytes, std::string_view source);
npz_file read_npz(const std::filesystem::path& path);

// Element conversions. npy_to_f32: float32 as is, float64 rounded (nearest-even), integers
// converted exactly when representable (rounded otherwise). npy_to_u8: u8 only. npy_to_i64: any
// integer dtype (u64 above INT64_MAX is rejected). Throw format_error for other dtypes.
std::vector<float> npy_to_f32(const npy_array& a);
std::vector<std::uint8_t> npy_to_u8(const npy_array& a);
std::vector<std::int64_t> npy_to_i64(const npy_array& a);

}  // namespace fmtsim::io
