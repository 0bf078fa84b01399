// SPDX-License-Identifier: MIT
// ONNX import: parses a ModelProto and builds a DAG module of engine layers (residual Adds as quant points).
#include "fmtsim/sim/onnx.hpp"

#include "fmtsim/sim/layers.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

#if defined(FMTSIM_HAVE_ONNX)
#include <onnx/onnx_pb.h>
#endif

namespace fmtsim::sim {

std::vector<std::string_view> onnx_supported_ops() {
  return {"Conv",    "Gemm",    "MatMul",      "BatchNormalization", "Relu",
          "Clip",    "MaxPool", "AveragePool", "GlobalAveragePool",  "Flatten",
          "Reshape", "Add",     "Dropout",     "Identity",           "Constant",
          "Pad"};
}

#if !defined(FMTSIM_HAVE_ONNX)

bool onnx_available() noexcept { return false; }

std::unique_ptr<network> load_onnx(const std::filesystem::path& path) {
  throw std::runtime_error(path.string() +
                           ": this fmtsim was built without ONNX support (install libonnx-dev and "
                           "libprotobuf-dev and reconfigure)");
}

#else

bool onnx_available() noexcept { return true; }

namespace {

[[noreturn]] void fail(const std::string& file, const std::string& msg) { throw std::runtime_error(file + ": " + msg); }

// A DAG of engine modules. Values are numbered; value 0 is the graph input.
class onnx_graph final : public module {
 public:
  enum class op_kind { layer, add, identity };
  struct op {
    op_kind kind = op_kind::layer;
    std::unique_ptr<module> layer;
    std::vector<int> in;
    int out = 0;
    std::string point;  // add: the quantization point name
  };

  explicit onnx_graph(std::string path) : module(std::move(path)) {}

  std::vector<op> ops;
  int values = 1;
  int output = 0;

  tensor forward(tensor x, run_context& ctx) override {
    std::vector<tensor> v(static_cast<std::size_t>(values));
    std::vector<int> uses = use_counts();
    v[0] = std::move(x);
    for (auto& o : ops) {
      auto take = [&](int id) -> tensor {
        // the last use of a value moves it, earlier uses copy it
        if (--uses[static_cast<std::size_t>(id)] == 0) return std::move(v[static_cast<std::size_t>(id)]);
        return v[static_cast<std::size_t>(id)];
      };
      if (o.kind == op_kind::layer) {
        v[static_cast<std::size_t>(o.out)] = o.layer->forward(take(o.in[0]), ctx);
      } else if (o.kind == op_kind::identity) {
        v[static_cast<std::size_t>(o.out)] = take(o.in[0]);
      } else {
        tensor a = take(o.in[0]);
        const tensor b = take(o.in[1]);
        if (a.shape != b.shape) {
          throw std::invalid_argument(o.point + ": Add of different shapes " + shape_string(a.shape) + " and " +
                                      shape_string(b.shape) + " (broadcasting is not supported)");
        }
        for (std::size_t i = 0; i < a.data.size(); ++i) a.data[i] += b.data[i];
        if (ctx.hook != nullptr) ctx.hook->apply(quant_kind::activation, o.point, a.data, a.shape);
        v[static_cast<std::size_t>(o.out)] = std::move(a);
      }
    }
    return std::move(v[static_cast<std::size_t>(output)]);
  }

  tensor backward(tensor dy, run_context& ctx, bool need_input_grad) override {
    std::vector<tensor> g(static_cast<std::size_t>(values));
    std::vector<bool> have(static_cast<std::size_t>(values), false);
    g[static_cast<std::size_t>(output)] = std::move(dy);
    have[static_cast<std::size_t>(output)] = true;
    auto accumulate = [&](int id, tensor&& d) {
      const auto i = static_cast<std::size_t>(id);
      if (id == 0 && !need_input_grad) return;
      if (!have[i]) {
        g[i] = std::move(d);
        have[i] = true;
        return;
      }
      for (std::size_t k = 0; k < g[i].data.size(); ++k) g[i].data[k] += d.data[k];
    };
    for (auto it = ops.rbegin(); it != ops.rend(); ++it) {
      op& o = *it;
      const auto oi = static_cast<std::size_t>(o.out);
      if (!have[oi]) continue;  // does not reach the output
      tensor go = std::move(g[oi]);
      have[oi] = false;
      if (o.kind == op_kind::layer) {
        const bool need = o.in[0] != 0 || need_input_grad;
        tensor dx = o.layer->backward(std::move(go), ctx, need);
        if (need) accumulate(o.in[0], std::move(dx));
      } else if (o.kind == op_kind::identity) {
        accumulate(o.in[0], std::move(go));
      } else {
        if (ctx.hook != nullptr) ctx.hook->apply(quant_kind::error, o.point, go.data, go.shape);
        tensor copy = go;
        accumulate(o.in[0], std::move(copy));
        accumulate(o.in[1], std::move(go));
      }
    }
    if (!need_input_grad) return {};
    return std::move(g[0]);
  }

  void collect(std::vector<parameter*>& params, std::vector<buffer_ref>& buffers) override {
    for (auto& o : ops)
      if (o.layer) o.layer->collect(params, buffers);
  }
  std::string describe() const override {
    std::string s = "ONNX graph {\n";
    for (const auto& o : ops) {
      if (o.kind == op_kind::layer)
        s += "  " + o.layer->path() + ": " + o.layer->describe() + "\n";
      else if (o.kind == op_kind::add)
        s += "  " + o.point + ": Add\n";
    }
    return s + "}\n";
  }
  void quant_points(std::vector<std::string>& out) const override {
    for (const auto& o : ops) {
      if (o.layer)
        o.layer->quant_points(out);
      else if (o.kind == op_kind::add)
        out.push_back(o.point);
    }
  }

 private:
  std::vector<int> use_counts() const {
    std::vector<int> u(static_cast<std::size_t>(values), 0);
    for (const auto& o : ops)
      for (const int i : o.in) ++u[static_cast<std::size_t>(i)];
    ++u[static_cast<std::size_t>(output)];
    return u;
  }
};

struct const_tensor {
  std::vector<std::int64_t> dims;
  std::vector<float> f;         // float data (FLOAT / DOUBLE)
  std::vector<std::int64_t> i;  // integer data (INT64 / INT32)
  bool is_float = false;
};

const_tensor read_tensor(const onnx::TensorProto& t, const std::string& file) {
  const_tensor c;
  for (const auto d : t.dims()) {
    if (d < 0) fail(file, "initializer '" + t.name() + "' has a negative dimension");
    c.dims.push_back(d);
  }
  if (t.data_location() == onnx::TensorProto_DataLocation_EXTERNAL)
    fail(file,
         "initializer '" + t.name() + "' uses external data, which is not supported (save with the weights inside)");
  std::int64_t n = 1;
  for (const auto d : c.dims) {
    if (d != 0 && n > (std::int64_t{1} << 40) / d) fail(file, "initializer '" + t.name() + "' is too large");
    n *= d;
  }
  const std::string& raw = t.raw_data();
  auto need_raw = [&](std::size_t elem) {
    if (raw.size() != static_cast<std::size_t>(n) * elem)
      fail(file, "initializer '" + t.name() + "' holds " + std::to_string(raw.size()) + " bytes, its shape needs " +
                     std::to_string(static_cast<std::size_t>(n) * elem));
  };
  switch (t.data_type()) {
    case onnx::TensorProto_DataType_FLOAT:
      c.is_float = true;
      if (!raw.empty()) {
        need_raw(4);
        c.f.resize(static_cast<std::size_t>(n));
        std::memcpy(c.f.data(), raw.data(), raw.size());
      } else {
        c.f.assign(t.float_data().begin(), t.float_data().end());
      }
      break;
    case onnx::TensorProto_DataType_DOUBLE:
      c.is_float = true;
      if (!raw.empty()) {
        need_raw(8);
        for (std::int64_t k = 0; k < n; ++k) {
          double d;
          std::memcpy(&d, raw.data() + 8 * k, 8);
          c.f.push_back(static_cast<float>(d));
        }
      } else {
        for (const double d : t.double_data()) c.f.push_back(static_cast<float>(d));
      }
      break;
    case onnx::TensorProto_DataType_INT64:
      if (!raw.empty()) {
        need_raw(8);
        c.i.resize(static_cast<std::size_t>(n));
        std::memcpy(c.i.data(), raw.data(), raw.size());
      } else {
        c.i.assign(t.int64_data().begin(), t.int64_data().end());
      }
      break;
    case onnx::TensorProto_DataType_INT32:
      if (!raw.empty()) {
        need_raw(4);
        for (std::int64_t k = 0; k < n; ++k) {
          std::int32_t v;
          std::memcpy(&v, raw.data() + 4 * k, 4);
          c.i.push_back(v);
        }
      } else {
        c.i.assign(t.int32_data().begin(), t.int32_data().end());
      }
      break;
    default:
      fail(file, "initializer '" + t.name() + "' has an unsupported data type (" + std::to_string(t.data_type()) + ")");
  }
  const std::size_t have = c.is_float ? c.f.size() : c.i.size();
  if (have != static_cast<std::size_t>(n))
    fail(file, "initializer '" + t.name() + "' holds " + std::to_string(have) + " values, its shape needs " +
                   std::to_string(n));
  return c;
}

const onnx::AttributeProto* find_attr(const onnx::NodeProto& n, std::string_view name) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}
std::int64_t attr_int(const onnx::NodeProto& n, std::string_view name, std::int64_t def) {
  const auto* a = find_attr(n, name);
  return a ? a->i() : def;
}
float attr_float(const onnx::NodeProto& n, std::string_view name, float def) {
  const auto* a = find_attr(n, name);
  return a ? a->f() : def;
}
std::vector<std::int64_t> attr_ints(const onnx::NodeProto& n, std::string_view name) {
  const auto* a = find_attr(n, name);
  if (!a) return {};
  return {a->ints().begin(), a->ints().end()};
}
std::string attr_string(const onnx::NodeProto& n, std::string_view name) {
  const auto* a = find_attr(n, name);
  return a ? a->s() : std::string();
}

std::string node_label(const onnx::NodeProto& n, int index) {
  std::string s = "'";
  if (n.name().empty()) {
    s += '#';
    s += std::to_string(index);
  } else {
    s += n.name();
  }
  s += "' (";
  s += n.op_type();
  s += ')';
  return s;
}

// One value for every entry of a square-kernel attribute (strides, pads, dilations), or fail.
std::int64_t uniform(const std::vector<std::int64_t>& v, std::int64_t def, const std::string& file,
                     const std::string& node, const char* what) {
  if (v.empty()) return def;
  for (const auto x : v)
    if (x != v[0]) fail(file, "node " + node + ": non-uniform " + what + " are not supported");
  return v[0];
}

}  // namespace

std::unique_ptr<network> load_onnx(const std::filesystem::path& path) {
  const std::string file = path.string();
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(file, "cannot open the file");
  std::ostringstream ss;
  ss << in.rdbuf();
  const std::string bytes = ss.str();
  onnx::ModelProto model;
  if (bytes.empty() || !model.ParseFromString(bytes)) fail(file, "not a valid ONNX model (protobuf parse failed)");
  if (!model.has_graph()) fail(file, "the model has no graph");
  const onnx::GraphProto& graph = model.graph();

  // ---- unsupported operators first: one message naming all of them
  {
    const auto ok = onnx_supported_ops();
    std::string bad;
    int idx = 0;
    for (const auto& n : graph.node()) {
      if (std::find(ok.begin(), ok.end(), n.op_type()) == ok.end() || (!n.domain().empty() && n.domain() != "ai.onnx"))
        bad += (bad.empty() ? "" : ", ") + node_label(n, idx);
      ++idx;
    }
    if (!bad.empty()) {
      std::string list;
      for (const auto s : ok) list += (list.empty() ? "" : ", ") + std::string(s);
      fail(file, "unsupported ONNX operators: " + bad + " (supported: " + list + ")");
    }
  }

  // ---- constants: initializers and Constant nodes
  std::map<std::string, const_tensor> consts;
  for (const auto& t : graph.initializer()) consts[t.name()] = read_tensor(t, file);
  for (const auto& n : graph.node()) {
    if (n.op_type() != "Constant") continue;
    const auto* a = find_attr(n, "value");
    if (a == nullptr || !a->has_t() || n.output_size() != 1)
      fail(file, "Constant node '" + n.name() + "' needs a tensor 'value' attribute");
    consts[n.output(0)] = read_tensor(a->t(), file);
  }

  // ---- the image input
  std::vector<const onnx::ValueInfoProto*> inputs;
  for (const auto& v : graph.input())
    if (!consts.count(v.name())) inputs.push_back(&v);
  if (inputs.size() != 1)
    fail(file, "the graph must have exactly one non-constant input, it has " + std::to_string(inputs.size()));
  if (graph.output_size() != 1)
    fail(file, "the graph must have exactly one output, it has " + std::to_string(graph.output_size()));
  model_config cfg;
  {
    const auto& ty = inputs[0]->type();
    if (!ty.has_tensor_type() || !ty.tensor_type().has_shape() || ty.tensor_type().shape().dim_size() != 4)
      fail(file, "input '" + inputs[0]->name() + "' must be a 4-D tensor [N, C, H, W]");
    const auto& sh = ty.tensor_type().shape();
    std::int64_t d[3];
    for (int k = 1; k < 4; ++k) {
      if (!sh.dim(k).has_dim_value() || sh.dim(k).dim_value() <= 0)
        fail(file, "input '" + inputs[0]->name() + "' must have fixed C, H and W");
      d[k - 1] = sh.dim(k).dim_value();
    }
    cfg.in_channels = d[0], cfg.height = d[1], cfg.width = d[2];
  }

  auto g = std::make_unique<onnx_graph>("");
  std::map<std::string, int> value_id{{inputs[0]->name(), 0}};
  std::set<std::string> paths;
  std::int32_t classes = 0;
  auto value_of = [&](const std::string& name, const std::string& node) {
    const auto it = value_id.find(name);
    if (it == value_id.end()) {
      if (consts.count(name))
        fail(file, "node " + node + ": constant input '" + name + "' where a computed tensor is expected");
      fail(file, "node " + node + ": input '" + name +
                     "' is not produced before it is used (the graph must be topologically sorted)");
    }
    return it->second;
  };
  auto weight = [&](const onnx::NodeProto& n, int k, const std::string& node) -> const const_tensor& {
    if (n.input_size() <= k || n.input(k).empty()) fail(file, "node " + node + ": missing input " + std::to_string(k));
    const auto it = consts.find(n.input(k));
    if (it == consts.end() || !it->second.is_float)
      fail(file, "node " + node + ": input '" + n.input(k) + "' must be a float initializer");
    return it->second;
  };
  auto unique_path = [&](std::string p, const onnx::NodeProto& n, int index) {
    if (p.empty()) p = n.name().empty() ? n.op_type() + "_" + std::to_string(index) : n.name();
    std::string q = p;
    for (int k = 2; paths.count(q); ++k) q = p + "#" + std::to_string(k);
    paths.insert(q);
    return q;
  };
  auto path_from_weight = [](const std::string& wname) {
    constexpr std::string_view suffix = ".weight";
    if (wname.size() > suffix.size() && wname.ends_with(suffix)) return wname.substr(0, wname.size() - suffix.size());
    return std::string();
  };
  auto assign = [&](tensor& dst, const const_tensor& src, const std::string& node, const std::string& what) {
    if (dst.shape != src.dims)
      fail(file, "node " + node + ": " + what + " has shape " + shape_string(src.dims) + ", expected " +
                     shape_string(dst.shape));
    dst.data = src.f;
  };

  int index = -1;
  for (const auto& n : graph.node()) {
    ++index;
    const std::string label = node_label(n, index);
    const std::string& op = n.op_type();
    if (op == "Constant") continue;
    if (n.output_size() < 1) fail(file, "node " + label + " has no output");
    onnx_graph::op o;
    if (op == "Conv") {
      const const_tensor& w = weight(n, 1, label);
      if (w.dims.size() != 4) fail(file, "node " + label + ": only 2-D convolutions are supported");
      if (!attr_string(n, "auto_pad").empty() && attr_string(n, "auto_pad") != "NOTSET")
        fail(file, "node " + label + ": auto_pad is not supported (export with explicit pads)");
      conv2d_options co;
      co.groups = attr_int(n, "group", 1);
      co.out_channels = w.dims[0];
      co.in_channels = w.dims[1] * co.groups;
      co.kernel_h = w.dims[2];
      co.kernel_w = w.dims[3];
      co.stride = uniform(attr_ints(n, "strides"), 1, file, label, "strides");
      co.padding = uniform(attr_ints(n, "pads"), 0, file, label, "pads");
      co.dilation = uniform(attr_ints(n, "dilations"), 1, file, label, "dilations");
      co.bias = n.input_size() > 2 && !n.input(2).empty();
      auto c = std::make_unique<conv2d>(unique_path(path_from_weight(n.input(1)), n, index), co);
      assign(c->weight.value, w, label, "weight");
      if (co.bias) assign(c->bias.value, weight(n, 2, label), label, "bias");
      o.layer = std::move(c);
    } else if (op == "Gemm" || op == "MatMul") {
      const const_tensor& w = weight(n, 1, label);
      if (w.dims.size() != 2) fail(file, "node " + label + ": the weight must be 2-D");
      bool trans_b = false;
      if (op == "Gemm") {
        if (attr_int(n, "transA", 0) != 0 || attr_float(n, "alpha", 1.0f) != 1.0f ||
            attr_float(n, "beta", 1.0f) != 1.0f)
          fail(file, "node " + label + ": only Gemm with transA = 0, alpha = 1, beta = 1 is supported");
        trans_b = attr_int(n, "transB", 0) != 0;
      }
      const std::int64_t out = trans_b ? w.dims[0] : w.dims[1], inf = trans_b ? w.dims[1] : w.dims[0];
      const bool has_bias = op == "Gemm" && n.input_size() > 2 && !n.input(2).empty();
      auto l = std::make_unique<linear>(unique_path(path_from_weight(n.input(1)), n, index), inf, out, has_bias);
      if (trans_b) {
        l->weight.value.data = w.f;
      } else {
        for (std::int64_t r = 0; r < out; ++r)
          for (std::int64_t c = 0; c < inf; ++c) l->weight.value.data[r * inf + c] = w.f[c * out + r];
      }
      if (has_bias) {
        const const_tensor& b = weight(n, 2, label);
        if (b.f.size() != static_cast<std::size_t>(out))
          fail(file, "node " + label + ": bias has " + std::to_string(b.f.size()) + " values, expected " +
                         std::to_string(out));
        l->bias.value.data = b.f;
      }
      classes = static_cast<std::int32_t>(out);
      o.layer = std::move(l);
    } else if (op == "BatchNormalization") {
      if (n.output_size() > 1 && !n.output(1).empty())
        fail(file,
             "node " + label + ": training-mode BatchNormalization (running-statistics outputs) is not supported");
      const const_tensor& scale = weight(n, 1, label);
      const std::int64_t ch = static_cast<std::int64_t>(scale.f.size());
      auto b = std::make_unique<batch_norm2d>(unique_path(path_from_weight(n.input(1)), n, index), ch,
                                              attr_float(n, "epsilon", 1e-5f));
      assign(b->weight.value, scale, label, "scale");
      const const_tensor& bias = weight(n, 2, label);
      const const_tensor& mean = weight(n, 3, label);
      const const_tensor& var = weight(n, 4, label);
      if (bias.f.size() != scale.f.size() || mean.f.size() != scale.f.size() || var.f.size() != scale.f.size())
        fail(file, "node " + label + ": scale, bias, mean and var must have the same length");
      b->bias.value.data = bias.f;
      b->running_mean.data = mean.f;
      b->running_var.data = var.f;
      o.layer = std::move(b);
    } else if (op == "Relu") {
      o.layer = std::make_unique<relu>(unique_path("", n, index));
    } else if (op == "Clip") {
      float lo = attr_float(n, "min", -3.4e38f), hi = attr_float(n, "max", 3.4e38f);
      for (int k = 1; k <= 2; ++k) {
        if (n.input_size() <= k || n.input(k).empty()) continue;
        const auto it = consts.find(n.input(k));
        if (it == consts.end() || it->second.f.size() != 1)
          fail(file, "node " + label + ": min/max must be constant scalars");
        (k == 1 ? lo : hi) = it->second.f[0];
      }
      if (lo != 0.0f || hi != 6.0f) fail(file, "node " + label + ": only Clip(0, 6) (ReLU6) is supported");
      o.layer = std::make_unique<relu>(unique_path("", n, index), 6.0f);
    } else if (op == "MaxPool" || op == "AveragePool") {
      const auto ks = attr_ints(n, "kernel_shape");
      if (ks.size() != 2 || ks[0] != ks[1])
        fail(file, "node " + label + ": only square 2-D pooling kernels are supported");
      if (attr_int(n, "ceil_mode", 0) != 0) fail(file, "node " + label + ": ceil_mode is not supported");
      if (!attr_string(n, "auto_pad").empty() && attr_string(n, "auto_pad") != "NOTSET")
        fail(file, "node " + label + ": auto_pad is not supported");
      pool2d_options po;
      po.kernel = ks[0];
      po.stride = uniform(attr_ints(n, "strides"), 1, file, label, "strides");
      po.padding = uniform(attr_ints(n, "pads"), 0, file, label, "pads");
      if (op == "MaxPool") {
        if (uniform(attr_ints(n, "dilations"), 1, file, label, "dilations") != 1)
          fail(file, "node " + label + ": dilated pooling is not supported");
        if (n.output_size() > 1 && !n.output(1).empty())
          fail(file, "node " + label + ": MaxPool indices output is not supported");
        o.layer = std::make_unique<max_pool2d>(unique_path("", n, index), po);
      } else {
        if (po.padding > 0 && attr_int(n, "count_include_pad", 0) != 1)
          fail(file, "node " + label + ": padded AveragePool must use count_include_pad = 1");
        o.layer = std::make_unique<avg_pool2d>(unique_path("", n, index), po);
      }
    } else if (op == "GlobalAveragePool") {
      o.layer = std::make_unique<global_avg_pool>(unique_path("", n, index));
    } else if (op == "Flatten") {
      if (attr_int(n, "axis", 1) != 1) fail(file, "node " + label + ": only Flatten with axis 1 is supported");
      o.layer = std::make_unique<flatten>(unique_path("", n, index));
    } else if (op == "Reshape") {
      const auto it = n.input_size() > 1 ? consts.find(n.input(1)) : consts.end();
      if (it == consts.end() || it->second.i.size() != 2 || !(it->second.i[1] == -1 || it->second.i[0] == 0))
        fail(file, "node " + label + ": only Reshape to [N, -1] with a constant shape is supported");
      o.layer = std::make_unique<flatten>(unique_path("", n, index));
    } else if (op == "Pad") {
      // PyTorch writes a Pad before AveragePool even when nothing is padded: only that case is an identity.
      std::vector<std::int64_t> pads = attr_ints(n, "pads");
      if (n.input_size() > 1 && !n.input(1).empty()) {
        const auto it = consts.find(n.input(1));
        if (it == consts.end()) fail(file, "node " + label + ": Pad needs constant pads");
        pads = it->second.i;
      }
      if (std::any_of(pads.begin(), pads.end(), [](std::int64_t p) { return p != 0; }))
        fail(file, "node " + label + ": only Pad with all pads 0 is supported (use the padding of Conv/pooling)");
      o.kind = onnx_graph::op_kind::identity;
    } else if (op == "Dropout" || op == "Identity") {
      if (n.output_size() > 1 && !n.output(1).empty())
        fail(file, "node " + label + ": Dropout mask output is not supported");
      o.kind = onnx_graph::op_kind::identity;
    } else if (op == "Add") {
      if (n.input_size() != 2) fail(file, "node " + label + ": Add needs two inputs");
      for (int k = 0; k < 2; ++k)
        if (consts.count(n.input(k)))
          fail(file, "node " + label + ": Add with a constant (a bias) is not supported, only residual sums");
      o.kind = onnx_graph::op_kind::add;
      o.point = unique_path("", n, index);
      o.in = {value_of(n.input(0), label), value_of(n.input(1), label)};
    }
    if (o.in.empty()) o.in = {value_of(n.input(0), label)};
    o.out = g->values++;
    if (value_id.count(n.output(0))) fail(file, "node " + label + ": output '" + n.output(0) + "' is produced twice");
    value_id[n.output(0)] = o.out;
    g->ops.push_back(std::move(o));
  }
  const auto out_it = value_id.find(graph.output(0).name());
  if (out_it == value_id.end())
    fail(file, "the graph output '" + graph.output(0).name() + "' is not computed by any node");
  g->output = out_it->second;
  {
    const auto& ty = graph.output(0).type();
    if (ty.has_tensor_type() && ty.tensor_type().has_shape() && ty.tensor_type().shape().dim_size() == 2 &&
        ty.tensor_type().shape().dim(1).has_dim_value())
      classes = static_cast<std::int32_t>(ty.tensor_type().shape().dim(1).dim_value());
  }
  if (classes <= 0) fail(file, "cannot tell the number of classes (no Gemm/MatMul and no static output shape)");
  cfg.num_classes = classes;
  auto body = std::make_unique<sequential>("");
  body->add(std::move(g));
  std::string name = graph.name().empty() ? path.stem().string() : graph.name();
  return std::make_unique<network>("onnx:" + name, cfg, std::move(body));
}

#endif

}  // namespace fmtsim::sim
