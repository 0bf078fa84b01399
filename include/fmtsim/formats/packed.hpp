// SPDX-License-Identifier: MIT
// Packed tensors: bit-packed element codes + scales in a small versioned container (docs/packed.md).
#pragma once

#include <fmtsim/core/array.hpp>
#include <fmtsim/formats/families.hpp>
#include <fmtsim/formats/tensor.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace fmtsim {

// A malformed, truncated or inconsistent packed file. what() names the source and the problem.
class packed_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class packed_kind : std::uint8_t { scaled, smaq };

struct packed_tensor {
  packed_kind kind = packed_kind::scaled;
  tensor_format format;     // kind scaled
  smaq_config smaq;         // kind smaq (main_bits, outlier_bits)
  float mu = 0, sigma = 0;  // kind smaq
  std::vector<std::int64_t> shape;
  bool float64 = false;               // dtype of the original tensor (and of unpack's default output)
  std::vector<group_scale> scales;    // kind scaled: one per group (none for rule none)
  std::vector<std::uint32_t> codes;   // kind scaled: element codes; kind smaq: codes (two's complement / side)
  std::vector<std::uint8_t> outlier;  // kind smaq
};

// Quantize and pack. For rule none the element format's own scale_exp applies and no scale is stored.
template <class T>
packed_tensor pack_tensor(const tensor_format& f, std::span<const T> in, std::span<const std::int64_t> shape,
                          const quantize_options& opt = {});
template <class T>
packed_tensor pack_smaq(std::span<const T> in, std::span<const std::int64_t> shape, const smaq_config& cfg);

// The container bytes (version 1) and back. parse_packed rejects bad magic, unknown versions, truncated
// or oversized files, checksum mismatches and inconsistent headers, codes or scales.
std::vector<std::byte> serialize_packed(const packed_tensor& p);
packed_tensor parse_packed(std::span<const std::byte> bytes, const std::string& what);

// Decode to values (C order): decode(code) at the group's scale; fp32 rule: code value * S rounded once.
template <class T>
std::vector<T> unpack_values(const packed_tensor& p);

// LSB-first bit packing of `bits`-bit codes (1..32).
std::vector<std::byte> bit_pack(std::span<const std::uint32_t> codes, int bits);
std::vector<std::uint32_t> bit_unpack(std::span<const std::byte> bytes, int bits, std::size_t count);

}  // namespace fmtsim
