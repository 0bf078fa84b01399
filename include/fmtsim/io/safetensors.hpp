// SPDX-License-Identifier: MIT
// Strict reader and atomic writer for the safetensors checkpoint format (Hugging Face).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace fmtsim::io {

// Element types of the safetensors format, spelled as in the header.
enum class st_dtype { BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64 };

std::string_view to_string(st_dtype dtype) noexcept;
std::optional<st_dtype> parse_st_dtype(std::string_view name) noexcept;
std::size_t element_size(st_dtype dtype) noexcept;

struct st_tensor {
  std::string name;
  st_dtype dtype = st_dtype::F32;
  std::vector<std::int64_t> shape;  // empty: a scalar (one element)
  std::vector<std::byte> data;      // little-endian, size = element_size * product(shape)

  std::int64_t numel() const noexcept;
};

struct safetensors_file {
  std::vector<st_tensor> tensors;               // in the order of their data offsets
  std::map<std::string, std::string> metadata;  // the optional "__metadata__" object

  const st_tensor* find(std::string_view name) const noexcept;
};

// Limits the reader enforces (the header limit matches the reference implementation).
inline constexpr std::uint64_t safetensors_max_header_bytes = 100'000'000;

// Parses a complete safetensors file held in memory. `source` names the input in error messages.
// Rejects: a file shorter than 8 bytes, a header length beyond the file or above the limit, a
// header that is not a JSON object (or does not start with '{'), duplicate names, unknown or
// missing fields, unsupported dtypes, negative or overflowing shapes, data offsets that are out of
// range, reversed, inconsistent with dtype * shape, overlapping or leaving holes in the data
// buffer, and non-string metadata. Throws format_error.
safetensors_file parse_safetensors(std::span<const std::byte> bytes, std::string_view source);

safetensors_file read_safetensors(const std::filesystem::path& path);

// Builds a tensor from float32 values (shape product must equal values.size()).
st_tensor make_f32_tensor(std::string name, std::vector<std::int64_t> shape, std::span<const float> values);
st_tensor make_i64_tensor(std::string name, std::vector<std::int64_t> shape, std::span<const std::int64_t> values);

// Converts F32, F64, F16 and BF16 tensors to float32 (F64 rounds to nearest, ties to even);
// other dtypes throw format_error naming the tensor.
std::vector<float> to_float32(const st_tensor& tensor);

// Serialises (tensors in the given order, header padded with spaces to a multiple of 8 bytes).
// Throws std::invalid_argument on duplicate names or data sizes that do not match dtype * shape.
std::vector<std::byte> serialize_safetensors(const safetensors_file& file);

// serialize_safetensors + write_file_atomic.
void write_safetensors_atomic(const std::filesystem::path& path, const safetensors_file& file);

}  // namespace fmtsim::io
