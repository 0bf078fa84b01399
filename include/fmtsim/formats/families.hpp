// SPDX-License-Identifier: MIT
// Real-scaled families: asymmetric min/max (FracTrain, b-bit gradients), 1-bit codes, AGP, SCQ, SmaQ, S2FP8.
#pragma once

#include <fmtsim/core/rounding.hpp>
#include <fmtsim/formats/tensor.hpp>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <vector>

namespace fmtsim {

// Exact sign of the sum of finite doubles (Shewchuk expansion; no overflow assumed).
int sign_of_sum(std::initializer_list<double> terms);

// ---- asymmetric min/max quantizer (FracTrain; the b-bit group quantizer of 1-bit FQT) -----------
// Per group: lo = min x, hi = max x (float32 values of the input), step D = (hi - lo) / (2^bits - 1)
// rounded once to float32, code k = round((x - lo) / D) decided exactly (nearest: ties to even k;
// stochastic: up iff u < floor(f * 2^R), f the exact fraction, R = sr_bits or 29 if larger/0), k
// clamped to [0, 2^bits - 1], value lo + k * D rounded once to T. A group with hi == lo keeps lo.
struct asymmetric_group {
  float lo = 0, step = 0;
};
template <class T>
quantize_stats asymmetric_quantize(std::span<const T> in, std::span<T> out, std::span<const std::int64_t> shape,
                                   const scale_groups& groups, int bits, const quantize_options& opt,
                                   std::vector<asymmetric_group>* group_out = nullptr,
                                   std::vector<std::uint32_t>* codes = nullptr);

// ---- 1-bit codes (Gao et al. 2024) --------------------------------------------------------------
// sign(x) * scale with scale = mean |x| of the group (accumulated in double, rounded once to float32);
// sign(0) = +1 (a 1-bit code has no zero). Output = +-scale exactly.
template <class T>
quantize_stats sign_quantize(std::span<const T> in, std::span<T> out, std::span<const std::int64_t> shape,
                             const scale_groups& groups, std::vector<float>* scales = nullptr);
// Unbiased stochastic binary: the asymmetric quantizer with 1 bit over [-a, a], a = max |x| of the group
// (E[y] = x up to the 2^-R resolution of the random threshold).
template <class T>
quantize_stats stochastic_binary(std::span<const T> in, std::span<T> out, std::span<const std::int64_t> shape,
                                 const scale_groups& groups, const quantize_options& opt);

// Activation Gradient Pruning. Groups = samples (axis 0). R_i = range of sample i, p_i = min(1, N R_i /
// (b sum R)); a group is kept iff u_i < p_i (u_i from Philox keyed by (seed, i)), kept groups are
// quantized with the b-bit asymmetric quantizer and (probabilistic mode) divided by p_i; pruned groups
// are 0. deterministic = the released code: keep the ceil(N / b) groups of largest range, no rescale.
struct agp_result {
  std::vector<double> keep_probability;
  std::vector<std::uint8_t> kept;
  quantize_stats stats;
};
template <class T>
agp_result agp_quantize(std::span<const T> in, std::span<T> out, std::span<const std::int64_t> shape, int bits,
                        bool deterministic, const quantize_options& opt);

// SCQ: the activation gradient dY [N, C] quantized twice with b bits, per sample (for dX = dY W) and per
// channel (for dW = dY^T X), so each scale factors out of its GEMM.
template <class T>
void scq_quantize(std::span<const T> dy, std::span<const std::int64_t> shape, int bits, const quantize_options& opt,
                  std::span<T> for_input_grad, std::span<T> for_weight_grad);

// ---- SmaQ (methods.md 4) -------------------------------------------------------------------------
struct smaq_config {
  int main_bits = 6;     // 1 flag + (main_bits - 1) data bits; K = 2^(main_bits - 2) - 1
  int outlier_bits = 8;  // 1 flag + (outlier_bits - 1) data bits; Ko = 2^(outlier_bits - 2) - 1
  bool sampled = false;  // statistics from a random sample of sample_size elements (with replacement)
  std::size_t sample_size = 1024;
  std::uint64_t sample_seed = 0;
  round_mode mode{rounding::sr, 0};  // sr (default) or rne
  std::uint64_t seed = 0;
};
struct smaq_encoded {
  float mu = 0, sigma = 0;
  std::vector<std::int32_t> code;     // main: [-K, K]; outlier: [-Ko, Ko]
  std::vector<std::uint8_t> outlier;  // 0 = main code, 1 = outlier above (z > 1), 2 = outlier below (z < -1)
};
// mu, sigma: mean and population standard deviation accumulated in double, rounded once to float32.
// Main (|x - mu| <= sigma): code = round((x - mu) / sigma * K); outliers: round((z -+ 1) * Ko / 1.5),
// clamped to [-Ko, Ko] and counted. The code decision is exact given the float32 mu and sigma.
template <class T>
smaq_encoded smaq_encode(std::span<const T> in, const smaq_config& cfg, quantize_stats* stats = nullptr);
// decode: mu + sigma * c / K, or mu + sigma * (+-1 + 1.5 c / Ko), the exact value rounded once to T.
template <class T>
void smaq_decode(const smaq_encoded& e, const smaq_config& cfg, std::span<T> out);
template <class T>
quantize_stats smaq_quantize(std::span<const T> in, std::span<T> out, const smaq_config& cfg);

// ---- S2FP8 (methods.md 5) ------------------------------------------------------------------------
// Over the non-zero finite elements: mu = mean(log2|x|), m = max(log2|x|) (double, std::log2), alpha =
// 15 / (m - mu) and beta = -alpha mu rounded to float32 (alpha = 1, beta = -mu when m == mu). The stored
// e5m2 value is quantize(e5m2, sign(x) 2^(beta + alpha log2|x|)) (the power evaluated in double: exact
// rounding of a transcendental is not claimed); decode sign(y) 2^((log2|y| - beta) / alpha) in double,
// rounded to T. Zeros stay zero.
struct s2fp8_params {
  float alpha = 1, beta = 0;
};
template <class T>
s2fp8_params s2fp8_quantize(std::span<const T> in, std::span<T> out, const quantize_options& opt,
                            std::vector<std::uint8_t>* codes = nullptr, quantize_stats* stats = nullptr);

}  // namespace fmtsim
