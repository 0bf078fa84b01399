// SPDX-License-Identifier: MIT
// CIFAR-10/100 binary batch parser.
#include "fmtsim/io/cifar.hpp"

#include "fmtsim/io/file.hpp"

#include <string>

namespace fmtsim::io {

void parse_cifar(std::span<const std::byte> bytes, cifar_kind kind, std::string_view source, cifar_batch& out) {
  const std::size_t label_bytes = kind == cifar_kind::cifar10 ? 1 : 2;
  const std::size_t record = label_bytes + cifar_image_bytes;
  const std::string where = std::string(source) + ": CIFAR: ";
  if (bytes.empty()) throw format_error(where + "file is empty");
  if (bytes.size() % record != 0) {
    throw format_error(where + "size " + std::to_string(bytes.size()) + " is not a multiple of the " +
                       std::to_string(record) + "-byte record (truncated file, or wrong CIFAR kind)");
  }
  const std::size_t n = bytes.size() / record;
  out.images.reserve(out.images.size() + n * cifar_image_bytes);
  for (std::size_t i = 0; i < n; ++i) {
    const std::byte* r = bytes.data() + i * record;
    if (kind == cifar_kind::cifar10) {
      const int label = std::to_integer<int>(r[0]);
      if (label >= 10) {
        throw format_error(where + "record " + std::to_string(i) + " has label " + std::to_string(label) +
                           " (CIFAR-10 labels are 0..9)");
      }
      out.labels.push_back(label);
    } else {
      const int coarse = std::to_integer<int>(r[0]);
      const int fine = std::to_integer<int>(r[1]);
      if (coarse >= 20 || fine >= 100) {
        throw format_error(where + "record " + std::to_string(i) + " has labels " + std::to_string(coarse) + "/" +
                           std::to_string(fine) + " (CIFAR-100 coarse 0..19, fine 0..99)");
      }
      out.coarse_labels.push_back(coarse);
      out.labels.push_back(fine);
    }
    for (std::size_t k = 0; k < cifar_image_bytes; ++k)
      out.images.push_back(std::to_integer<std::uint8_t>(r[label_bytes + k]));
  }
  out.count += static_cast<std::int64_t>(n);
}

cifar_batch read_cifar(std::span<const std::filesystem::path> files, cifar_kind kind) {
  cifar_batch out;
  for (const auto& f : files) {
    const auto bytes = read_file(f, std::uint64_t{1} << 32);
    parse_cifar(bytes, kind, f.string(), out);
  }
  return out;
}

}  // namespace fmtsim::io
