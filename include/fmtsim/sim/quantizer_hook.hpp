// SPDX-License-Identifier: MIT
// A quant_hook with one optional tensor quantizer per kind (A, E, W, G) for low-precision training and eval.
#pragma once

#include "fmtsim/core/rounding.hpp"
#include "fmtsim/formats/tensor.hpp"
#include "fmtsim/sim/indicator.hpp"
#include "fmtsim/sim/quant_hook.hpp"

#include <array>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>

namespace fmtsim::sim {

// The tensor format of one kind built the way `fmtsim search` builds its candidates: `spec` is resolved by
// spec_candidate (catalog id or short name, else any tensor-format spec) and `scale` applied by
// indicator_format (presets such as MX keep their own groups and rule). Throws std::invalid_argument
// "format 'SPEC': <the parser's message>".
tensor_format point_format(std::string_view spec, const indicator_scale& scale);

// How one kind is quantized.
struct point_quantizer {
  tensor_format format;
  round_mode rounding{};  // rne; hys only for W and G (the same tensor at every call)
};

// Quantizes every point of the kinds that have a quantizer; the others stay FP32.
// - Scales: whatever the tensor format says (the CLI default is a fresh per-tensor room scale per call).
// - Stochastic rounding: call k (counted over all quantizing calls since construction or reset()) uses the
//   stream seed mix(seed, k), so a run is bit-reproducible for a fixed seed and call order (the engine
//   calls hooks in a deterministic order from one thread).
// - Hysteresis (W, G): one tensor quantizer per parameter keeps that parameter's previous quantized values;
//   a parameter's first call rounds to nearest, even.
class quantizer_hook final : public quant_hook {
 public:
  explicit quantizer_hook(std::uint64_t seed = 0) : seed_(seed) {}

  // Throws std::invalid_argument for hys at A or E (their tensors change shape with the batch).
  void set(quant_kind kind, const point_quantizer& q);
  void clear(quant_kind kind);
  const point_quantizer* get(quant_kind kind) const;
  bool any() const;
  // Forget the hysteresis state and restart the call counter.
  void reset();
  std::uint64_t calls() const noexcept { return calls_; }

  void apply(quant_kind kind, std::string_view point_name, std::span<float> data,
             std::span<const std::int64_t> shape) override;
  // Out of place: the tensor quantizer reads `in` and writes `out` (no copy first).
  void apply_to(quant_kind kind, std::string_view point_name, std::span<const float> in, std::span<float> out,
                std::span<const std::int64_t> shape) override;

 private:
  struct slot {
    bool on = false;
    point_quantizer q;
    std::map<std::string, tensor_quantizer, std::less<>> stateful;  // hys: per parameter
  };
  std::array<slot, 4> slots_{};
  std::uint64_t seed_ = 0;
  std::uint64_t calls_ = 0;
};

// "A, E, W, G" description of the active quantizers, e.g. "A=e4m3fn groups=tensor rule=room room=1 rne".
std::string describe(const quantizer_hook& h);

}  // namespace fmtsim::sim
