// SPDX-License-Identifier: MIT
// Engine FP32 forward/backward against PyTorch, tensor by tensor (run via torch_reference.py).
#include <doctest/doctest.h>

#include <fmtsim/io/safetensors.hpp>
#include <fmtsim/sim/model.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>

using namespace fmtsim;
using namespace fmtsim::sim;

namespace {

// max |a - b| / max |b| over the tensor (b is PyTorch's).
double rel_error(std::span<const float> a, std::span<const float> b) {
  REQUIRE(a.size() == b.size());
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, std::abs(static_cast<double>(a[i]) - b[i]));
    scale = std::max(scale, std::abs(static_cast<double>(b[i])));
  }
  return scale == 0 ? diff : diff / scale;
}

// `zoo` in torch_models.py; zoo_nodrop is the same with Dropout(p=0) for train-mode comparisons.
std::unique_ptr<network> make_zoo(const model_config& c, float dropout_p) {
  auto body = std::make_unique<sequential>("");
  conv2d_options o1{c.in_channels, 8, 3, 3, 1, 1, 1, 1, true};
  body->add(std::make_unique<conv2d>("c1", o1));
  body->add(std::make_unique<batch_norm2d>("b1", 8));
  body->add(std::make_unique<relu>("r1", 6.0f));
  conv2d_options o2{8, 8, 3, 3, 2, 2, 2, 8, false};
  body->add(std::make_unique<conv2d>("c2", o2));
  body->add(std::make_unique<batch_norm2d>("b2", 8));
  body->add(std::make_unique<relu>("r2"));
  conv2d_options o3{8, 12, 3, 3, 1, 1, 1, 2, true};
  body->add(std::make_unique<conv2d>("c3", o3));
  body->add(std::make_unique<max_pool2d>("mp", pool2d_options{3, 2, 1}));
  body->add(std::make_unique<avg_pool2d>("ap", pool2d_options{3, 1, 1}));
  body->add(std::make_unique<global_avg_pool>("gap"));
  body->add(std::make_unique<flatten>("flat"));
  body->add(std::make_unique<linear>("fc1", 12, 16));
  body->add(std::make_unique<relu>("r3"));
  body->add(std::make_unique<dropout>("drop", dropout_p));
  body->add(std::make_unique<linear>("fc2", 16, c.num_classes));
  return std::make_unique<network>("zoo", c, std::move(body));
}

void run_case(const std::string& dir, const std::string& name) {
  const io::safetensors_file expected = io::read_safetensors(dir + "/" + name + ".expected.safetensors");
  const std::string arch = expected.metadata.at("arch");
  const bool train = expected.metadata.at("train") == "1";
  const io::st_tensor* in = expected.find("input");
  REQUIRE(in != nullptr);
  model_config cfg{in->shape[1], in->shape[2], in->shape[3], std::stoi(expected.metadata.at("classes"))};
  auto net = arch == "zoo"          ? make_zoo(cfg, 0.3f)
             : arch == "zoo_nodrop" ? make_zoo(cfg, 0.0f)
                                    : make_model(arch, cfg, 0);
  net->load(dir + "/" + name + ".weights.safetensors");

  tensor x(in->shape);
  x.data = io::to_float32(*in);
  const io::st_tensor* lab = expected.find("labels");
  std::vector<std::int32_t> labels;
  for (std::int64_t i = 0; i < lab->numel(); ++i) {
    std::int64_t v = 0;
    std::memcpy(&v, lab->data.data() + 8 * i, 8);
    labels.push_back(static_cast<std::int32_t>(v));
  }
  run_context ctx;
  ctx.training = train;
  const tensor logits = net->forward(x, ctx);
  tensor dlogits;
  const double loss = softmax_cross_entropy(logits, labels, &dlogits);
  const tensor dx = net->backward(dlogits, ctx, true);

  double grad_scale = 0;  // largest |gradient| over all parameters, from PyTorch
  for (const io::st_tensor& t : expected.tensors) {
    if (!t.name.starts_with("grad.")) continue;
    for (const float v : io::to_float32(t)) grad_scale = std::max(grad_scale, static_cast<double>(std::abs(v)));
  }
  REQUIRE(grad_scale > 0);
  std::ostringstream report;
  double worst = 0;
  auto check = [&](const std::string& what, std::span<const float> got, const std::string& key) {
    const io::st_tensor* t = expected.find(key);
    REQUIRE_MESSAGE(t != nullptr, key);
    const std::vector<float> ref = io::to_float32(*t);
    double e = rel_error(got, ref);
    double ref_max = 0;
    for (const float v : ref) ref_max = std::max(ref_max, static_cast<double>(std::abs(v)));
    if (key.starts_with("grad.") && ref_max < 1e-6 * grad_scale) {
      // Zero in exact arithmetic (e.g. a conv bias followed by train-mode BatchNorm): both sides
      // hold rounding noise, so the error is taken relative to the case's largest gradient.
      double diff = 0;
      for (std::size_t i = 0; i < ref.size(); ++i)
        diff = std::max(diff, std::abs(static_cast<double>(got[i]) - ref[i]));
      e = diff / grad_scale;
    }
    worst = std::max(worst, e);
    char line[160];
    std::snprintf(line, sizeof line, "  %-40s %.3e\n", what.c_str(), e);
    report << line;
    CHECK_MESSAGE(e < 1e-4, name << ": " << what << " relative error " << e);
  };
  check("logits", logits.data, "logits");
  const float loss_f = static_cast<float>(loss);
  check("loss", std::span<const float>(&loss_f, 1), "loss");
  check("input gradient", dx.data, "input_grad");
  for (const parameter* p : net->parameters()) check("grad " + p->name, p->grad.data, "grad." + p->name);
  if (train) {
    for (const buffer_ref& b : net->buffers()) {
      if (b.values != nullptr) check("after step " + b.name, b.values->data, "after." + b.name);
    }
  }
  MESSAGE(name << " (" << std::string(arch) << std::string(train ? ", train mode" : ", eval mode")
               << "): max relative error " << worst << "\n"
               << report.str());
}

}  // namespace

TEST_CASE("engine FP32 forward and gradients equal PyTorch's") {
  const char* dir = std::getenv("FMTSIM_TORCH_REF_DIR");
  const char* cases = std::getenv("FMTSIM_TORCH_REF_CASES");
  REQUIRE_MESSAGE(dir != nullptr, "run through tests/simulators/torch_reference.py (meson test engine_vs_torch)");
  REQUIRE(cases != nullptr);
  std::stringstream list(cases);
  std::string name;
  int count = 0;
  while (std::getline(list, name, ',')) {
    INFO("case " << name);
    run_case(dir, name);
    ++count;
  }
  CHECK(count >= 6);
}
