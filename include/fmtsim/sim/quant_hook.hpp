// SPDX-License-Identifier: MIT
// Quantization points of the network engine (Lee et al. 2022): the hook a model calls at each.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string_view>

namespace fmtsim::sim {

// A: forward output of Conv2d / Linear / BatchNorm2d and of residual sums.
// E: the gradient w.r.t. those same outputs in the backward pass (before it is used).
// W: the weights of Conv2d / Linear as used by the forward and backward passes.
// G: the weight gradients of Conv2d / Linear (after they are computed).
enum class quant_kind { activation, error, weight, weight_gradient };

constexpr std::string_view to_string(quant_kind k) noexcept {
  switch (k) {
    case quant_kind::activation:
      return "A";
    case quant_kind::error:
      return "E";
    case quant_kind::weight:
      return "W";
    case quant_kind::weight_gradient:
      return "G";
  }
  return "?";
}

// Called by the engine at every quantization point when set (a null hook means FP32). `data` is
// modified in place. Point names: the module's state_dict path for A and E ("layer1.0.bn2",
// "layer1.0.add" for a residual sum), the parameter name for W and G ("layer1.0.conv1.weight").
// Calls come from the engine's calling thread only, in a deterministic order.
struct quant_hook {
  virtual ~quant_hook() = default;
  virtual void apply(quant_kind kind, std::string_view point_name, std::span<float> data,
                     std::span<const std::int64_t> shape) = 0;
  // The same as apply on a copy of `in` written to `out` (same size, not overlapping): the engine's E
  // points, whose input it must keep, call this. Hooks that can quantize out of place override it and
  // save the copy; the result must equal copy-then-apply.
  virtual void apply_to(quant_kind kind, std::string_view point_name, std::span<const float> in, std::span<float> out,
                        std::span<const std::int64_t> shape) {
    if (in.size() != out.size()) throw std::invalid_argument("quant_hook::apply_to: input and output sizes differ");
    std::copy(in.begin(), in.end(), out.begin());
    apply(kind, point_name, out, shape);
  }
};

}  // namespace fmtsim::sim
