// SPDX-License-Identifier: MIT
// Dense float32 tensor (row-major; images are NCHW) used by the network engine.
#pragma once

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace fmtsim::sim {

struct tensor {
  std::vector<std::int64_t> shape;
  std::vector<float> data;

  tensor() = default;
  explicit tensor(std::vector<std::int64_t> dims, float fill = 0.0f)
      : shape(std::move(dims)), data(static_cast<std::size_t>(count(shape)), fill) {}

  static std::int64_t count(const std::vector<std::int64_t>& dims) {
    std::int64_t n = 1;
    for (const auto d : dims) {
      if (d < 0) throw std::invalid_argument("tensor: negative dimension");
      n *= d;
    }
    return n;
  }

  std::int64_t numel() const noexcept { return static_cast<std::int64_t>(data.size()); }
  std::int64_t dim(std::size_t i) const { return shape.at(i); }
  std::size_t rank() const noexcept { return shape.size(); }
  bool empty() const noexcept { return shape.empty() && data.empty(); }
  std::span<float> values() noexcept { return data; }
  std::span<const float> values() const noexcept { return data; }
  float* ptr() noexcept { return data.data(); }
  const float* ptr() const noexcept { return data.data(); }
};

// "[128, 16, 28, 28]"
inline std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

}  // namespace fmtsim::sim
