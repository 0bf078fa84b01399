// SPDX-License-Identifier: MIT
// Internal: the E quantization point at the start of a layer's backward pass.
#pragma once

#include "fmtsim/sim/layers.hpp"

#include <string_view>

namespace fmtsim::sim::detail {

// Quantizes dy in place at the E point `point` when ctx has a hook (the layer owns dy: module::backward
// takes it by value).
inline void quantize_error(tensor& dy, run_context& ctx, std::string_view point) {
  if (ctx.hook != nullptr) ctx.hook->apply(quant_kind::error, point, dy.data, dy.shape);
}

}  // namespace fmtsim::sim::detail
