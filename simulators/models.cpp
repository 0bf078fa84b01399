// SPDX-License-Identifier: MIT
// Architecture builders, state_dict export/import (safetensors) and weight initialisation.
#include "fmtsim/sim/model.hpp"

#include <cmath>
#include <numbers>
#include <set>
#include <stdexcept>

namespace fmtsim::sim {
namespace {

std::string join(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

std::unique_ptr<conv2d> conv(const std::string& path, std::int64_t in, std::int64_t out, std::int64_t k,
                             std::int64_t stride, std::int64_t pad) {
  conv2d_options o;
  o.in_channels = in, o.out_channels = out, o.kernel_h = k, o.kernel_w = k, o.stride = stride, o.padding = pad;
  return std::make_unique<conv2d>(path, o);
}

std::unique_ptr<residual> basic_block(const std::string& path, std::int64_t in, std::int64_t out, std::int64_t stride) {
  auto main = std::make_unique<sequential>(path);
  main->add(conv(join(path, "conv1"), in, out, 3, stride, 1));
  main->add(std::make_unique<batch_norm2d>(join(path, "bn1"), out));
  main->add(std::make_unique<relu>(join(path, "relu1")));
  main->add(conv(join(path, "conv2"), out, out, 3, 1, 1));
  main->add(std::make_unique<batch_norm2d>(join(path, "bn2"), out));
  std::unique_ptr<sequential> shortcut;
  if (stride != 1 || in != out) {
    const std::string sp = join(path, "shortcut");
    shortcut = std::make_unique<sequential>(sp);
    shortcut->add(conv(join(sp, "0"), in, out, 1, stride, 0));
    shortcut->add(std::make_unique<batch_norm2d>(join(sp, "1"), out));
  }
  return std::make_unique<residual>(path, std::move(main), std::move(shortcut), true);
}

std::unique_ptr<sequential> build_resnet(int blocks, const model_config& c) {
  auto body = std::make_unique<sequential>("");
  body->add(conv("conv1", c.in_channels, 16, 3, 1, 1));
  body->add(std::make_unique<batch_norm2d>("bn1", 16));
  body->add(std::make_unique<relu>("relu"));
  std::int64_t in = 16;
  const std::int64_t widths[3] = {16, 32, 64};
  for (int stage = 0; stage < 3; ++stage) {
    for (int b = 0; b < blocks; ++b) {
      const std::int64_t stride = (stage > 0 && b == 0) ? 2 : 1;
      body->add(basic_block("layer" + std::to_string(stage + 1) + "." + std::to_string(b), in, widths[stage], stride));
      in = widths[stage];
    }
  }
  body->add(std::make_unique<global_avg_pool>("avgpool"));
  body->add(std::make_unique<flatten>("flatten"));
  body->add(std::make_unique<linear>("fc", 64, c.num_classes));
  return body;
}

std::unique_ptr<sequential> build_vgg_small(const model_config& c) {
  auto body = std::make_unique<sequential>("");
  int idx = 0;
  std::int64_t in = c.in_channels;
  auto f = [&idx] { return "features." + std::to_string(idx++); };
  for (const std::int64_t width : {32, 64, 128}) {
    for (int rep = 0; rep < 2; ++rep) {
      body->add(conv(f(), in, width, 3, 1, 1));
      body->add(std::make_unique<batch_norm2d>(f(), width));
      body->add(std::make_unique<relu>(f()));
      in = width;
    }
    body->add(std::make_unique<max_pool2d>(f(), pool2d_options{2, 2, 0}));
  }
  body->add(std::make_unique<global_avg_pool>("avgpool"));
  body->add(std::make_unique<flatten>("flatten"));
  body->add(std::make_unique<linear>("classifier.0", 128, 128));
  body->add(std::make_unique<relu>("classifier.1"));
  body->add(std::make_unique<dropout>("classifier.2", 0.5f));
  body->add(std::make_unique<linear>("classifier.3", 128, c.num_classes));
  return body;
}

std::unique_ptr<sequential> build_mlp(const model_config& c) {
  auto body = std::make_unique<sequential>("");
  body->add(std::make_unique<flatten>("flatten"));
  body->add(std::make_unique<linear>("fc1", c.in_channels * c.height * c.width, 256));
  body->add(std::make_unique<relu>("relu1"));
  body->add(std::make_unique<linear>("fc2", 256, 256));
  body->add(std::make_unique<relu>("relu2"));
  body->add(std::make_unique<linear>("fc3", 256, c.num_classes));
  return body;
}

// Deterministic generator for weight initialisation (splitmix64; Box-Muller for normals).
struct init_rng {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  double normal() {
    const double u1 = 1.0 - uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }
};

}  // namespace

network::network(std::string arch, model_config config, std::unique_ptr<sequential> body)
    : arch_(std::move(arch)), config_(config), body_(std::move(body)) {
  body_->collect(params_, buffers_);
}

tensor network::forward(tensor images, run_context& ctx) {
  if (images.rank() != 4 || images.shape[1] != config_.in_channels || images.shape[2] != config_.height ||
      images.shape[3] != config_.width) {
    throw std::invalid_argument(arch_ + ": expected images [N, " + std::to_string(config_.in_channels) + ", " +
                                std::to_string(config_.height) + ", " + std::to_string(config_.width) + "], got " +
                                shape_string(images.shape));
  }
  return body_->forward(std::move(images), ctx);
}

tensor network::backward(const tensor& dlogits, run_context& ctx, bool need_input_grad) {
  return body_->backward(dlogits, ctx, need_input_grad);  // a copy: the caller keeps dlogits
}

parameter* network::find_parameter(std::string_view name) const noexcept {
  for (auto* p : params_)
    if (p->name == name) return p;
  return nullptr;
}

std::vector<std::string> network::quant_points() const {
  std::vector<std::string> out;
  body_->quant_points(out);
  return out;
}

std::int64_t network::parameter_count() const noexcept {
  std::int64_t n = 0;
  for (const auto* p : params_) n += p->value.numel();
  return n;
}

io::safetensors_file network::state_dict() const {
  io::safetensors_file f;
  // PyTorch order: per module, parameters then buffers. collect() emits a module's parameters
  // and buffers together, so merge by module prefix in collect order.
  std::size_t bi = 0;
  auto prefix_of = [](const std::string& n) { return n.substr(0, n.rfind('.')); };
  for (std::size_t pi = 0; pi < params_.size(); ++pi) {
    const parameter* p = params_[pi];
    f.tensors.push_back(io::make_f32_tensor(p->name, p->value.shape, p->value.data));
    const bool last_of_module = pi + 1 == params_.size() || prefix_of(params_[pi + 1]->name) != prefix_of(p->name);
    if (!last_of_module) continue;
    while (bi < buffers_.size() && prefix_of(buffers_[bi].name) == prefix_of(p->name)) {
      const buffer_ref& b = buffers_[bi++];
      if (b.values != nullptr) {
        f.tensors.push_back(io::make_f32_tensor(b.name, b.values->shape, b.values->data));
      } else {
        f.tensors.push_back(io::make_i64_tensor(b.name, {}, std::span<const std::int64_t>(b.counter, 1)));
      }
    }
  }
  return f;
}

void network::load_state_dict(const io::safetensors_file& file) {
  std::set<std::string> seen;
  std::string unexpected, wrong;
  for (const io::st_tensor& t : file.tensors) {
    seen.insert(t.name);
    parameter* p = find_parameter(t.name);
    const buffer_ref* b = nullptr;
    for (const auto& br : buffers_)
      if (br.name == t.name) b = &br;
    if (p == nullptr && b == nullptr) {
      unexpected += (unexpected.empty() ? "" : ", ") + t.name;
      continue;
    }
    if (b != nullptr && b->counter != nullptr) {
      if (!t.shape.empty() && !(t.shape.size() == 1 && t.shape[0] == 1)) {
        wrong += (wrong.empty() ? "" : "; ") + t.name + " has shape " + shape_string(t.shape) + ", expected []";
        continue;
      }
      if (t.dtype != io::st_dtype::I64 && t.dtype != io::st_dtype::I32 && t.dtype != io::st_dtype::U8) {
        wrong += (wrong.empty() ? "" : "; ") + t.name + " has dtype " + std::string(io::to_string(t.dtype)) +
                 ", expected I64";
        continue;
      }
      continue;
    }
    const tensor& target = p != nullptr ? p->value : *b->values;
    if (t.shape != target.shape) {
      wrong += (wrong.empty() ? "" : "; ") + t.name + " has shape " + shape_string(t.shape) + ", the " + arch_ +
               " architecture needs " + shape_string(target.shape);
    }
  }
  std::string missing;
  for (const auto* p : params_)
    if (!seen.count(p->name)) missing += (missing.empty() ? "" : ", ") + p->name;
  for (const auto& b : buffers_)
    if (!seen.count(b.name)) missing += (missing.empty() ? "" : ", ") + b.name;
  if (!unexpected.empty() || !wrong.empty() || !missing.empty()) {
    std::string msg = "checkpoint does not match the " + arch_ + " architecture:";
    if (!unexpected.empty()) msg += " unexpected tensors: " + unexpected + ".";
    if (!missing.empty()) msg += " missing tensors: " + missing + ".";
    if (!wrong.empty()) msg += " " + wrong + ".";
    throw std::runtime_error(msg);
  }
  // All checks passed: convert everything first, then assign (no partial load on a bad dtype).
  std::vector<std::pair<tensor*, std::vector<float>>> floats;
  std::vector<std::pair<std::int64_t*, std::int64_t>> counters;
  for (const io::st_tensor& t : file.tensors) {
    parameter* p = find_parameter(t.name);
    for (const auto& br : buffers_) {
      if (br.name != t.name) continue;
      if (br.counter != nullptr) {
        std::int64_t v = 0;
        const std::size_t es = io::element_size(t.dtype);
        for (std::size_t k = es; k-- > 0;) v = (v << 8) | std::to_integer<std::int64_t>(t.data[k]);
        if (t.dtype == io::st_dtype::I32 && (v & 0x80000000ll)) v -= (std::int64_t{1} << 32);
        counters.emplace_back(br.counter, v);
      } else {
        floats.emplace_back(br.values, io::to_float32(t));
      }
    }
    if (p != nullptr) floats.emplace_back(&p->value, io::to_float32(t));
  }
  for (auto& [dst, values] : floats) dst->data = std::move(values);
  for (auto& [dst, v] : counters) *dst = v;
}

void network::load(const std::filesystem::path& path) {
  const io::safetensors_file f = io::read_safetensors(path);
  try {
    load_state_dict(f);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(path.string() + ": " + e.what());
  }
}

void network::save(const std::filesystem::path& path, std::map<std::string, std::string> metadata) const {
  io::safetensors_file f = state_dict();
  metadata["fmtsim.arch"] = arch_;
  metadata["fmtsim.input"] =
      std::to_string(config_.in_channels) + "x" + std::to_string(config_.height) + "x" + std::to_string(config_.width);
  metadata["fmtsim.num_classes"] = std::to_string(config_.num_classes);
  f.metadata = std::move(metadata);
  io::write_safetensors_atomic(path, f);
}

void network::init_weights(std::uint64_t seed) {
  init_rng rng{seed ^ 0x5DEECE66Dull};
  for (parameter* p : params_) {
    const auto& s = p->value.shape;
    const bool is_weight = p->name.size() >= 7 && p->name.ends_with(".weight");
    if (p->quantizable && s.size() == 4) {  // conv: kaiming normal, fan_out, gain sqrt(2)
      const double fan_out = static_cast<double>(s[0] * s[2] * s[3]);
      const double stdv = std::sqrt(2.0 / fan_out);
      for (float& v : p->value.data) v = static_cast<float>(rng.normal() * stdv);
    } else if (p->quantizable && s.size() == 2) {  // linear weight: U(+-1/sqrt(fan_in))
      const double bound = 1.0 / std::sqrt(static_cast<double>(s[1]));
      for (float& v : p->value.data) v = static_cast<float>((2.0 * rng.uniform() - 1.0) * bound);
    } else if (is_weight) {  // BatchNorm weight
      for (float& v : p->value.data) v = 1.0f;
    } else {  // biases: BatchNorm 0; Linear/Conv U(+-1/sqrt(fan_in)) of their weight
      const std::string wname = p->name.substr(0, p->name.size() - 5) + ".weight";
      const parameter* w = find_parameter(wname);
      if (w != nullptr && w->quantizable) {
        const double fan_in = static_cast<double>(w->value.numel() / w->value.shape[0]);
        const double bound = 1.0 / std::sqrt(fan_in);
        for (float& v : p->value.data) v = static_cast<float>((2.0 * rng.uniform() - 1.0) * bound);
      } else {
        for (float& v : p->value.data) v = 0.0f;
      }
    }
  }
  for (const auto& b : buffers_) {
    if (b.counter != nullptr) {
      *b.counter = 0;
    } else {
      const bool is_var = b.name.ends_with("running_var");
      for (float& v : b.values->data) v = is_var ? 1.0f : 0.0f;
    }
  }
}

std::vector<std::string> model_names() { return {"resnet20", "resnet32", "resnet56", "vgg_small", "mlp"}; }

std::unique_ptr<network> make_model(std::string_view arch, const model_config& c, std::uint64_t seed) {
  if (c.in_channels <= 0 || c.height <= 0 || c.width <= 0 || c.num_classes <= 0) {
    throw std::invalid_argument("make_model: channels, image size and class count must be positive");
  }
  std::unique_ptr<sequential> body;
  if (arch == "resnet20") {
    body = build_resnet(3, c);
  } else if (arch == "resnet32") {
    body = build_resnet(5, c);
  } else if (arch == "resnet56") {
    body = build_resnet(9, c);
  } else if (arch == "vgg_small") {
    if (c.height < 8 || c.width < 8) throw std::invalid_argument("vgg_small needs images of at least 8x8");
    body = build_vgg_small(c);
  } else if (arch == "mlp") {
    body = build_mlp(c);
  } else {
    std::string names;
    for (const auto& n : model_names()) names += (names.empty() ? "" : ", ") + n;
    throw std::invalid_argument("unknown architecture '" + std::string(arch) + "' (known: " + names + ")");
  }
  auto net = std::make_unique<network>(std::string(arch), c, std::move(body));
  net->init_weights(seed);
  return net;
}

}  // namespace fmtsim::sim
