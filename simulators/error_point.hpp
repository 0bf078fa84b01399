// SPDX-License-Identifier: MIT
// Internal: the E quantization point at the start of a layer's backward pass.
#pragma once

#include "fmtsim/sim/layers.hpp"

#include <string_view>

namespace fmtsim::sim::detail {

// dy as quantized at the E point `point` when ctx has a hook, else dy itself. The hook writes the
// quantized copy straight into a per-thread scratch tensor that keeps its capacity (quant_hook::apply_to:
// no copy first, no reallocation once it is large enough). The result is valid until the next call on this
// thread, so a layer uses it only inside its own backward and calls no other layer's backward meanwhile.
const tensor& quantized_error(const tensor& dy, run_context& ctx, std::string_view point);

}  // namespace fmtsim::sim::detail
