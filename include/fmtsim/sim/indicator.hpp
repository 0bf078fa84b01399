// SPDX-License-Identifier: MIT
// Gradient-angle indicator of Lee et al. 2022: theta_E / theta_A of a format against the FP32 gradients.
#pragma once

#include "fmtsim/core/rounding.hpp"
#include "fmtsim/formats/tensor.hpp"
#include "fmtsim/sim/model.hpp"
#include "fmtsim/sim/quant_hook.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace fmtsim::sim {

// errors (theta_E): the gradient at every quantization point is quantized in the backward pass,
// activations stay FP32. activations (theta_A): every quantization point's output is quantized in the
// forward pass, errors stay FP32.
enum class indicator_target { errors, activations };
std::string_view to_string(indicator_target t) noexcept;
std::optional<indicator_target> parse_indicator_target(std::string_view s);  // "errors" | "activations"

// Angle in degrees between two vectors (the concatenations of the parts, which must have equal sizes),
// computed in double as 2 atan2(|u - v|, |u + v|) with u = a/|a|, v = b/|b| (accurate for small angles;
// exactly 0 when a == b). Conventions: both zero -> 0; exactly one zero -> 90; any NaN/inf element -> 180
// (a broken gradient counts as the worst possible direction). Throws std::invalid_argument on a size
// mismatch.
double angle_degrees(std::span<const float> a, std::span<const float> b);
double angle_degrees(std::span<const std::span<const float>> a, std::span<const std::span<const float>> b);

// How the indicator quantizes one target. The element format and, for presets (MX, block minifloat),
// the groups and scale rule come from the candidate; for every other format the groups and scale rule
// below apply (default: one fresh per-tensor power-of-two scale with the top binade at
// floor(log2 amax) + room).
struct indicator_scale {
  scale_groups groups{};  // default: tensor
  scale_rule rule = scale_rule::room;
  int room = 3;
};

struct indicator_options {
  indicator_target target = indicator_target::errors;
  indicator_scale scale{};
  round_mode rounding{};   // rne
  std::uint64_t seed = 0;  // stochastic rounding: stream keyed by (seed, batch, point)
  // Compute every Conv/Linear weight gradient (per-layer and whole-network angles). When false only the
  // first layer's weight gradient is computed (the paper's score; the other weight-gradient GEMMs are
  // skipped).
  bool all_layers = false;
};

// The tensor format used at the quantization points for candidate spec `f` under `scale`: presets keep
// their own groups and rule; other formats get scale.groups / scale.rule / scale.room.
tensor_format indicator_format(const tensor_format& f, const indicator_scale& scale);

// Scale settings from text (the CLI's --error-rule/--error-groups/--error-room and their siblings): `rule`
// is room, floor, ceil, fp32 or none; `groups` as parse_groups. Throws std::invalid_argument with a message
// that starts "rule ..." or "groups: ..." (callers prefix the option name).
indicator_scale parse_indicator_scale(std::string_view rule, std::string_view groups, int room);

namespace detail {
// Seed of a sub-stream of stochastic rounding: a hash-combine of (seed, key) finished with the
// splitmix64 mixer. Used by the indicator (per batch and point) and the quantizer hook (per call).
constexpr std::uint64_t mix_seed(std::uint64_t a, std::uint64_t b) noexcept {
  std::uint64_t z = a ^ (b + 0x9E3779B97F4A7C15ull + (a << 6) + (a >> 2));
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
}  // namespace detail

// One format on one batch. `layers` follows indicator::layer_names(); `network` is the angle of all
// evaluated weight gradients concatenated (equal to first_layer when only the first layer is evaluated).
struct format_angles {
  double first_layer = 0;
  double network = 0;
  std::vector<double> layers;
};

// Computes the angles for one network replica. Not thread-safe: use one indicator (and one network)
// per thread. The network must stay alive and unmodified (except through this class) meanwhile.
class indicator {
 public:
  indicator(network& net, indicator_options opt);

  // Names of the evaluated weight gradients (Conv/Linear weights in state_dict order; only the first
  // one unless all_layers).
  const std::vector<std::string>& layer_names() const noexcept { return layer_names_; }
  const indicator_options& options() const noexcept { return opt_; }

  // Eval-mode FP32 forward (cached for the errors target) and the FP32 reference gradients of a batch.
  // `batch` feeds the stochastic-rounding streams. Throws std::invalid_argument if the data do not fit.
  void set_batch(const tensor& images, std::span<const std::int32_t> labels, std::int64_t batch = 0);
  // FP32 reference gradients of the evaluated layers (after set_batch).
  const std::vector<tensor>& reference() const noexcept { return reference_; }
  double reference_loss() const noexcept { return reference_loss_; }

  // Angles of format `f` (a tensor format from indicator_format) on the current batch.
  format_angles evaluate(const tensor_format& f);
  // The gradients of the last evaluate() for the evaluated layers (for tests).
  std::vector<tensor> last_gradients() const;

 private:
  network& net_;
  indicator_options opt_;
  std::vector<parameter*> layers_;
  std::vector<std::string> layer_names_;
  tensor images_;
  std::vector<std::int32_t> labels_;
  tensor dlogits_;
  std::vector<tensor> reference_;
  double reference_loss_ = 0;
  std::int64_t batch_ = 0;
  bool have_batch_ = false;
  bool forward_is_fp32_ = false;
};

// A quant_hook for the indicator: quantizes one kind (activation or error) with a tensor format and, at
// every error point, switches ctx.weight_grads on only for the layers whose weight gradient is wanted.
// (The engine calls the E hook of a layer before it computes that layer's weight gradient.)
class indicator_hook final : public quant_hook {
 public:
  indicator_hook(run_context& ctx, std::vector<std::string> wanted_layer_paths);
  // Quantize points of `kind` with `f`; std::nullopt = no quantization (FP32).
  void set_quantizer(std::optional<quant_kind> kind, const tensor_format& f, const quantize_options& opt);
  void apply(quant_kind kind, std::string_view point_name, std::span<float> data,
             std::span<const std::int64_t> shape) override;
  // Out of place: the tensor quantizer reads `in` and writes `out` (no copy first).
  void apply_to(quant_kind kind, std::string_view point_name, std::span<const float> in, std::span<float> out,
                std::span<const std::int64_t> shape) override;

 private:
  run_context& ctx_;
  std::vector<std::string> wanted_;
  std::optional<quant_kind> kind_;
  tensor_format format_{};
  quantize_options qopt_{};
};

}  // namespace fmtsim::sim
