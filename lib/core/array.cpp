// SPDX-License-Identifier: MIT
// Array API instantiations over the scalar reference.
#include <fmtsim/core/array.hpp>
#include <fmtsim/core/fp_env.hpp>
#include <fmtsim/core/quantize.hpp>
#include <fmtsim/core/spec.hpp>

#include <cmath>
#include <string>

namespace fmtsim {

template <class T>
void check_array_call(const element_format& f, const quantize_options& opt, std::size_t n, std::size_t n_prev) {
  if (!representable_in<T>(f)) {
    throw std::invalid_argument("format " + format_name(f) + " has values that are not exactly representable in " +
                                (sizeof(T) == 4 ? std::string("float32; use float64 data") : std::string("float64")));
  }
  if (opt.mode.kind == rounding::hys && n_prev != n)
    throw std::invalid_argument("hysteresis rounding (hys) needs the previous quantized values (" + std::to_string(n) +
                                " elements, got " + std::to_string(n_prev) + ")");
  if (opt.mode.kind != rounding::hys && n_prev != 0 && n_prev != n)
    throw std::invalid_argument("previous values given with a length different from the input");
}

template <class T>
void quantize_array(const element_format& f, std::span<const T> in, std::span<T> out, const quantize_options& opt,
                    std::span<const T> previous) {
  if (in.size() != out.size()) throw std::invalid_argument("quantize_array: input and output lengths differ");
  const fp_env_scope env;
  check_array_call<T>(f, opt, in.size(), previous.size());
  const bool hys = opt.mode.kind == rounding::hys;
  for (std::size_t i = 0; i < in.size(); ++i) {
    element_context<T> ctx{opt.seed, opt.index_offset + i, hys ? previous[i] : T(0)};
    out[i] = quantize(f, in[i], opt.mode, ctx);
  }
}

template <class T, class C>
void encode_array(const element_format& f, std::span<const T> in, std::span<C> codes, const quantize_options& opt,
                  std::span<const T> previous) {
  if (in.size() != codes.size()) throw std::invalid_argument("encode_array: input and code lengths differ");
  const fp_env_scope env;
  if (code_bits(f) > static_cast<int>(8 * sizeof(C)))
    throw std::invalid_argument("encode_array: codes of " + format_name(f) + " need " + std::to_string(code_bits(f)) +
                                " bits, wider than the code type");
  check_array_call<T>(f, opt, in.size(), previous.size());
  const bool hys = opt.mode.kind == rounding::hys;
  for (std::size_t i = 0; i < in.size(); ++i) {
    element_context<T> ctx{opt.seed, opt.index_offset + i, hys ? previous[i] : T(0)};
    const encode_result r = encode(f, in[i], opt.mode, ctx);
    if (!r.ok)
      throw element_error("element " + std::to_string(i) + " is NaN and format " + format_name(f) +
                              " has no NaN code (quantize passes NaN through; encode cannot)",
                          i);
    codes[i] = static_cast<C>(r.code);
  }
}

template <class T, class C>
void decode_array(const element_format& f, std::span<const C> codes, std::span<T> out) {
  if (codes.size() != out.size()) throw std::invalid_argument("decode_array: code and output lengths differ");
  const fp_env_scope env;
  check_array_call<T>(f, quantize_options{}, codes.size(), 0);
  for (std::size_t i = 0; i < codes.size(); ++i) {
    if (!code_in_range(f, codes[i]))
      throw element_error("element " + std::to_string(i) + ": code " + std::to_string(codes[i]) +
                              " is not a code of format " + format_name(f) + " (" + std::to_string(code_bits(f)) +
                              "-bit codes)",
                          i);
    out[i] = decode<T>(f, static_cast<std::uint32_t>(codes[i]));
  }
}

#define FMTSIM_INSTANTIATE(T)                                                                                        \
  template void check_array_call<T>(const element_format&, const quantize_options&, std::size_t, std::size_t);       \
  template void quantize_array<T>(const element_format&, std::span<const T>, std::span<T>, const quantize_options&,  \
                                  std::span<const T>);                                                               \
  template void encode_array<T, std::uint8_t>(const element_format&, std::span<const T>, std::span<std::uint8_t>,    \
                                              const quantize_options&, std::span<const T>);                          \
  template void encode_array<T, std::uint16_t>(const element_format&, std::span<const T>, std::span<std::uint16_t>,  \
                                               const quantize_options&, std::span<const T>);                         \
  template void encode_array<T, std::uint32_t>(const element_format&, std::span<const T>, std::span<std::uint32_t>,  \
                                               const quantize_options&, std::span<const T>);                         \
  template void decode_array<T, std::uint8_t>(const element_format&, std::span<const std::uint8_t>, std::span<T>);   \
  template void decode_array<T, std::uint16_t>(const element_format&, std::span<const std::uint16_t>, std::span<T>); \
  template void decode_array<T, std::uint32_t>(const element_format&, std::span<const std::uint32_t>, std::span<T>);

FMTSIM_INSTANTIATE(float)
FMTSIM_INSTANTIATE(double)

}  // namespace fmtsim
