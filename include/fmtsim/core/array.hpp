// SPDX-License-Identifier: MIT
// Array API over the scalar reference: quantize / encode / decode spans with clear errors.
#pragma once

#include <fmtsim/core/format.hpp>
#include <fmtsim/core/rounding.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>

namespace fmtsim {

struct quantize_options {
  round_mode mode{};
  std::uint64_t seed = 0;          // stochastic rounding stream
  std::uint64_t index_offset = 0;  // element i uses random stream index_offset + i
  // tensor_quantizer: count the clipped and flushed-to-zero elements of quantize_stats. false reports 0 for both
  // and lets the kernels skip the counting (the search's quantization points never read them).
  bool count = true;
};

// An element that cannot be encoded (NaN into a NaN-less format) or a code that is not a code.
class element_error : public std::invalid_argument {
 public:
  element_error(const std::string& message, std::size_t index) : std::invalid_argument(message), index_(index) {}
  std::size_t index() const noexcept { return index_; }

 private:
  std::size_t index_;
};

// Throws std::invalid_argument if the values of f are not exactly representable in T, or if a
// hysteresis call has no previous values.
template <class T>
void check_array_call(const element_format& f, const quantize_options& opt, std::size_t n, std::size_t n_prev);

// out[i] = quantize(f, in[i]); `previous` (same length) is required for rounding::hys.
// in and out may be the same span.
template <class T>
void quantize_array(const element_format& f, std::span<const T> in, std::span<T> out, const quantize_options& opt,
                    std::span<const T> previous = {});

// codes[i] = encode(f, in[i]); C is uint8_t, uint16_t or uint32_t and must hold code_bits(f) bits.
// Throws element_error naming the first NaN element if f has no NaN.
template <class T, class C>
void encode_array(const element_format& f, std::span<const T> in, std::span<C> codes, const quantize_options& opt,
                  std::span<const T> previous = {});

// out[i] = decode(f, codes[i]); throws element_error naming the first code outside the format.
template <class T, class C>
void decode_array(const element_format& f, std::span<const C> codes, std::span<T> out);

}  // namespace fmtsim
