// SPDX-License-Identifier: MIT
// Reader for the CIFAR-10 / CIFAR-100 binary batch files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>
#include <vector>

namespace fmtsim::io {

enum class cifar_kind { cifar10, cifar100 };

// Records of one or more batch files: images as uint8 NCHW (3 x 32 x 32, the file's own layout).
struct cifar_batch {
  std::int64_t count = 0;
  std::vector<std::uint8_t> images;         // count * 3072
  std::vector<std::int32_t> labels;         // CIFAR-10 label, or CIFAR-100 fine label
  std::vector<std::int32_t> coarse_labels;  // CIFAR-100 only
};

inline constexpr std::size_t cifar_image_bytes = 3 * 32 * 32;

// Record = label byte(s) + 3072 pixel bytes; CIFAR-10 has 1 label byte (< 10), CIFAR-100 two
// (coarse < 20, fine < 100). Rejects sizes that are not a whole number of records, empty files
// and out-of-range labels. Appends to `out`.
void parse_cifar(std::span<const std::byte> bytes, cifar_kind kind, std::string_view source, cifar_batch& out);

cifar_batch read_cifar(std::span<const std::filesystem::path> files, cifar_kind kind);

}  // namespace fmtsim::io
