// SPDX-License-Identifier: MIT
// Strict .npy reader and atomic writer (C order, little-endian numeric dtypes).
#pragma once

#include <fmtsim/io/file.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace fmtsim::io {

enum class dtype : std::uint8_t { f32, f64, u8, u16, u32, i8, i16, i32, i64, u64 };

std::size_t dtype_size(dtype t);
std::string dtype_descr(dtype t);  // numpy descr, e.g. "<f4"

// Malformed .npy input: the readers' common error type.
using npy_error = format_error;

struct npy_array {
  dtype type = dtype::f32;
  std::vector<std::int64_t> shape;
  std::vector<std::byte> data;  // prod(shape) * dtype_size(type) bytes, C order

  std::size_t size() const;  // number of elements
  template <class T>
  std::span<const T> as() const {
    return {reinterpret_cast<const T*>(data.data()), data.size() / sizeof(T)};
  }
  template <class T>
  std::span<T> as() {
    return {reinterpret_cast<T*>(data.data()), data.size() / sizeof(T)};
  }
};

// Parse a whole .npy file held in memory; `what` names the source in error messages.
npy_array parse_npy(std::span<const std::byte> bytes, const std::string& what);
npy_array read_npy(const std::filesystem::path& path);
std::vector<std::byte> serialize_npy(const npy_array& a);
// Write to a temporary file beside `path`, then rename: no partial file is ever left at `path`.
void write_npy_atomic(const std::filesystem::path& path, const npy_array& a);

}  // namespace fmtsim::io
