// SPDX-License-Identifier: MIT
// Spec strings for the real-scaled families (asym<B>, scq<B>:dx|dw, sign, sbin, agp<B>[:det], smaq[:M,O], s2fp8).
#pragma once

#include <fmtsim/core/rounding.hpp>
#include <fmtsim/formats/families.hpp>
#include <fmtsim/formats/tensor.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace fmtsim {

enum class real_family : std::uint8_t {
  asymmetric,         // asym<B>: FracTrain min/max quantizer, B = 1..16 bits, groups (default tensor)
  sign,               // sign: 1-bit codes sign(x) * mean|x| per group
  stochastic_binary,  // sbin: unbiased stochastic +-max|x| per group
  agp,                // agp<B>[:det]: activation gradient pruning over samples (axis 0)
  smaq,               // smaq[:M,O]: SmaQ with M main bits and O outlier bits (default 6,8)
  s2fp8,              // s2fp8: shifted and squeezed e5m2, per tensor
};

// A parsed family spec. scq<B>:dx and scq<B>:dw are asym<B> with groups channel:0 (one group per sample,
// the copy of dY used for dX = dY W) and channel:1 (one per channel, the copy used for dW = dY^T X); both
// need a matrix [samples, channels].
struct real_family_spec {
  real_family kind = real_family::asymmetric;
  int bits = 8;
  bool deterministic = false;  // agp: the released code's top-ceil(N/B) selection
  bool matrix = false;         // scq: needs a 2-d tensor
  scale_groups groups;         // asym, sign, sbin
  bool groups_fixed = false;   // scq: the groups are part of the spec
  smaq_config smaq;            // main_bits, outlier_bits, sampling
  std::string spelling;        // canonical spec
};

// nullopt if `spec` is not a family spec (element and scaled specs go to parse_tensor_format); throws
// std::invalid_argument for a family spec with bad parameters ("asym0", "smaq:2,8", ...).
std::optional<real_family_spec> parse_real_family(std::string_view spec);
// One-line description, e.g. "asym8 groups=channel:0" or "smaq main_bits=6 outlier_bits=8".
std::string real_family_name(const real_family_spec& f);
// Whether the family takes scale groups (asym, sign, sbin) and they may be changed (not scq).
bool real_family_takes_groups(const real_family_spec& f);

// What one call produced besides the values.
struct real_family_result {
  quantize_stats stats;
  float alpha = 1, beta = 0;             // s2fp8
  std::vector<double> keep_probability;  // agp, per sample
  std::vector<std::uint8_t> kept;        // agp, per sample
};

// Fake-quantize a contiguous C-order tensor with the family. Rounding: opt.mode (rne or sr[<R>]; sbin is
// stochastic whatever the mode; s2fp8 takes any element rounding), seed and index_offset from opt.
// Throws std::invalid_argument on bad input (non-finite values, wrong rank, ...).
template <class T>
real_family_result real_family_quantize(const real_family_spec& f, std::span<const T> in, std::span<T> out,
                                        std::span<const std::int64_t> shape, const quantize_options& opt);

}  // namespace fmtsim
