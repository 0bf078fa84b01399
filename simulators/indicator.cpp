// SPDX-License-Identifier: MIT
// Gradient-angle indicator: FP32 reference gradients, quantized backward/forward passes, angles.
#include "fmtsim/sim/indicator.hpp"

#include "fmtsim/core/float_bits.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <numbers>
#include <stdexcept>

namespace fmtsim::sim {
namespace {

std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (const char c : s) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
  return h;
}

std::string module_path_of(const std::string& weight_name) {
  constexpr std::string_view suffix = ".weight";
  if (weight_name.size() > suffix.size() && weight_name.ends_with(suffix))
    return weight_name.substr(0, weight_name.size() - suffix.size());
  return weight_name;
}

}  // namespace

std::string_view to_string(indicator_target t) noexcept {
  return t == indicator_target::errors ? "errors" : "activations";
}

std::optional<indicator_target> parse_indicator_target(std::string_view s) {
  if (s == "errors") return indicator_target::errors;
  if (s == "activations") return indicator_target::activations;
  return std::nullopt;
}

double angle_degrees(std::span<const std::span<const float>> a, std::span<const std::span<const float>> b) {
  if (a.size() != b.size()) throw std::invalid_argument("angle_degrees: different numbers of parts");
  double na = 0, nb = 0;
  bool finite = true;
  for (std::size_t p = 0; p < a.size(); ++p) {
    if (a[p].size() != b[p].size()) {
      throw std::invalid_argument("angle_degrees: part " + std::to_string(p) + " has " + std::to_string(a[p].size()) +
                                  " and " + std::to_string(b[p].size()) + " elements");
    }
    for (std::size_t i = 0; i < a[p].size(); ++i) {
      const double x = a[p][i], y = b[p][i];
      if (!std::isfinite(x) || !std::isfinite(y)) finite = false;
      na += x * x;
      nb += y * y;
    }
  }
  if (!finite) return 180.0;
  if (na == 0 && nb == 0) return 0.0;
  if (na == 0 || nb == 0) return 90.0;
  const double ia = 1.0 / std::sqrt(na), ib = 1.0 / std::sqrt(nb);
  double d = 0, s = 0;
  for (std::size_t p = 0; p < a.size(); ++p) {
    for (std::size_t i = 0; i < a[p].size(); ++i) {
      const double u = a[p][i] * ia, v = b[p][i] * ib;
      d += (u - v) * (u - v);
      s += (u + v) * (u + v);
    }
  }
  return 2.0 * std::atan2(std::sqrt(d), std::sqrt(s)) * (180.0 / std::numbers::pi);
}

double angle_degrees(std::span<const float> a, std::span<const float> b) {
  const std::span<const float> pa[1] = {a}, pb[1] = {b};
  return angle_degrees(std::span<const std::span<const float>>(pa), std::span<const std::span<const float>>(pb));
}

tensor_format indicator_format(const tensor_format& f, const indicator_scale& scale) {
  if (!f.preset.empty()) return f;
  tensor_format t = f;
  t.groups = scale.groups;
  t.rule = scale.rule;
  t.room = scale.room;
  t.tracking = false;
  return t;
}

indicator_scale parse_indicator_scale(std::string_view rule, std::string_view groups, int room) {
  indicator_scale s;
  const auto r = parse_scale_rule(rule);
  if (!r) throw std::invalid_argument("rule must be room, floor, ceil, fp32 or none, not '" + std::string(rule) + "'");
  s.rule = *r;
  s.room = room;
  try {
    s.groups = parse_groups(groups);
  } catch (const std::exception& e) {
    throw std::invalid_argument(std::string("groups: ") + e.what());
  }
  return s;
}

// ---------------------------------------------------------------- hook
indicator_hook::indicator_hook(run_context& ctx, std::vector<std::string> wanted_layer_paths)
    : ctx_(ctx), wanted_(std::move(wanted_layer_paths)) {}

void indicator_hook::set_quantizer(std::optional<quant_kind> kind, const tensor_format& f,
                                   const quantize_options& opt) {
  kind_ = kind;
  format_ = f;
  qopt_ = opt;
}

void indicator_hook::apply(quant_kind kind, std::string_view point_name, std::span<float> data,
                           std::span<const std::int64_t> shape) {
  apply_to(kind, point_name, std::span<const float>(data.data(), data.size()), data, shape);
}

void indicator_hook::apply_to(quant_kind kind, std::string_view point_name, std::span<const float> in,
                              std::span<float> out, std::span<const std::int64_t> shape) {
  if (in.size() != out.size()) throw std::invalid_argument("indicator_hook: input and output sizes differ");
  if (kind_ && kind == *kind_) {
    quantize_options o = qopt_;
    o.seed = detail::mix_seed(qopt_.seed, fnv1a(point_name));
    o.count = false;  // the indicator reads only the quantized values
    tensor_quantizer q(format_, o);
    q.quantize<float>(in, out, shape);
  } else if (in.data() != out.data()) {
    std::copy(in.begin(), in.end(), out.begin());
  }
  if (kind == quant_kind::error) {
    // The layer at this point computes its weight gradient right after this call, if ctx says so.
    ctx_.weight_grads = std::find(wanted_.begin(), wanted_.end(), point_name) != wanted_.end();
  }
}

// ---------------------------------------------------------------- indicator
indicator::indicator(network& net, indicator_options opt) : net_(net), opt_(opt) {
  for (parameter* p : net_.parameters()) {
    if (!p->quantizable) continue;
    layers_.push_back(p);
    layer_names_.push_back(p->name);
    if (!opt_.all_layers) break;
  }
  if (layers_.empty()) throw std::invalid_argument(net_.arch() + ": the network has no Conv2d or Linear weights");
}

void indicator::set_batch(const tensor& images, std::span<const std::int32_t> labels, std::int64_t batch) {
  images_ = images;
  labels_.assign(labels.begin(), labels.end());
  batch_ = batch;
  std::vector<std::string> wanted;
  for (const parameter* p : layers_) wanted.push_back(module_path_of(p->name));
  run_context ctx;
  ctx.training = false;
  tensor logits = net_.forward(images_, ctx);
  reference_loss_ = softmax_cross_entropy(logits, labels_, &dlogits_);
  indicator_hook hook(ctx, wanted);  // FP32 everywhere; only the evaluated weight gradients
  ctx.hook = &hook;
  ctx.weight_grads = false;
  net_.backward(dlogits_, ctx, false);
  reference_.clear();
  for (const parameter* p : layers_) {
    if (p->grad.data.size() != p->value.data.size())
      throw std::logic_error("indicator: no weight gradient for " + p->name);
    reference_.push_back(p->grad);
  }
  forward_is_fp32_ = true;
  have_batch_ = true;
}

format_angles indicator::evaluate(const tensor_format& f) {
  if (!have_batch_) throw std::logic_error("indicator::evaluate before set_batch");
  std::vector<std::string> wanted;
  for (const parameter* p : layers_) wanted.push_back(module_path_of(p->name));
  run_context ctx;
  ctx.training = false;
  indicator_hook hook(ctx, wanted);
  const quantize_options qo{opt_.rounding, detail::mix_seed(opt_.seed, static_cast<std::uint64_t>(batch_)), 0};
  // Clear the gradients so a layer the engine failed to recompute cannot pass silently.
  for (parameter* p : layers_) p->grad = tensor();
  if (opt_.target == indicator_target::errors) {
    if (!forward_is_fp32_) {
      tensor logits = net_.forward(images_, ctx);
      softmax_cross_entropy(logits, labels_, &dlogits_);
      forward_is_fp32_ = true;
    }
    hook.set_quantizer(quant_kind::error, f, qo);
    ctx.hook = &hook;
    ctx.weight_grads = false;
    net_.backward(dlogits_, ctx, false);
  } else {
    hook.set_quantizer(quant_kind::activation, f, qo);
    ctx.hook = &hook;
    forward_is_fp32_ = false;
    tensor logits = net_.forward(images_, ctx);
    tensor dlogits;
    softmax_cross_entropy(logits, labels_, &dlogits);
    ctx.weight_grads = false;
    net_.backward(dlogits, ctx, false);
  }
  format_angles r;
  std::vector<std::span<const float>> ref, got;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    const parameter* p = layers_[i];
    if (p->grad.data.size() != p->value.data.size())
      throw std::logic_error("indicator: no weight gradient for " + p->name);
    r.layers.push_back(angle_degrees(reference_[i].values(), p->grad.values()));
    ref.push_back(reference_[i].values());
    got.push_back(p->grad.values());
  }
  r.first_layer = r.layers.front();
  r.network = layers_.size() == 1 ? r.first_layer : angle_degrees(ref, got);
  return r;
}

std::vector<tensor> indicator::last_gradients() const {
  std::vector<tensor> out;
  for (const parameter* p : layers_) out.push_back(p->grad);
  return out;
}

}  // namespace fmtsim::sim
