// SPDX-License-Identifier: MIT
// quantizer_hook: per-kind tensor quantizers at the engine's A/E/W/G points (seeded SR, per-parameter hys).
#include "fmtsim/sim/quantizer_hook.hpp"

#include "fmtsim/sim/search.hpp"

#include <algorithm>
#include <stdexcept>

namespace fmtsim::sim {
namespace {

std::size_t index_of(quant_kind k) { return static_cast<std::size_t>(k); }

}  // namespace

tensor_format point_format(std::string_view spec, const indicator_scale& scale) {
  return indicator_format(spec_candidate(spec).format, scale);
}

void quantizer_hook::set(quant_kind kind, const point_quantizer& q) {
  if (q.rounding.kind == rounding::hys && (kind == quant_kind::activation || kind == quant_kind::error)) {
    throw std::invalid_argument(std::string("rounding hys at ") + std::string(to_string(kind)) +
                                ": hysteresis needs the same tensor at every call, so it applies to weights (W) and "
                                "weight gradients (G) only");
  }
  slot& s = slots_[index_of(kind)];
  s.on = true;
  s.q = q;
  s.stateful.clear();
}

void quantizer_hook::clear(quant_kind kind) { slots_[index_of(kind)] = slot{}; }

const point_quantizer* quantizer_hook::get(quant_kind kind) const {
  const slot& s = slots_[index_of(kind)];
  return s.on ? &s.q : nullptr;
}

bool quantizer_hook::any() const {
  for (const slot& s : slots_)
    if (s.on) return true;
  return false;
}

void quantizer_hook::reset() {
  for (slot& s : slots_) s.stateful.clear();
  calls_ = 0;
}

void quantizer_hook::apply(quant_kind kind, std::string_view point_name, std::span<float> data,
                           std::span<const std::int64_t> shape) {
  apply_to(kind, point_name, std::span<const float>(data.data(), data.size()), data, shape);
}

void quantizer_hook::apply_to(quant_kind kind, std::string_view point_name, std::span<const float> in,
                              std::span<float> data, std::span<const std::int64_t> shape) {
  if (in.size() != data.size()) throw std::invalid_argument("quantizer_hook: input and output sizes differ");
  slot& s = slots_[index_of(kind)];
  if (!s.on) {
    if (in.data() != data.data()) std::copy(in.begin(), in.end(), data.begin());
    return;
  }
  // the engine reads only the quantized values, not the clipped/flushed counts
  const quantize_options opt{.mode = s.q.rounding, .seed = detail::mix_seed(seed_, calls_++), .count = false};
  if (s.q.rounding.kind == rounding::hys) {
    auto it = s.stateful.find(point_name);
    if (it == s.stateful.end())
      it = s.stateful.emplace(std::string(point_name), tensor_quantizer(s.q.format, opt)).first;
    it->second.set_options(opt);
    it->second.quantize<float>(in, data, shape);
    return;
  }
  tensor_quantizer q(s.q.format, opt);
  q.quantize<float>(in, data, shape);
}

std::string describe(const quantizer_hook& h) {
  std::string out;
  for (const quant_kind k :
       {quant_kind::activation, quant_kind::error, quant_kind::weight, quant_kind::weight_gradient}) {
    const point_quantizer* q = h.get(k);
    if (q == nullptr) continue;
    if (!out.empty()) out += "; ";
    out += to_string(k);
    out += '=';
    out += tensor_format_name(q->format);
    out += ' ';
    out += rounding_name(q->rounding);
  }
  return out.empty() ? "FP32" : out;
}

}  // namespace fmtsim::sim
