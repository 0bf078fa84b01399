// SPDX-License-Identifier: MIT
// ONNX import against PyTorch (files from make_onnx.py): logits and gradients, errors, a search on it.
#include <doctest/doctest.h>

#include <fmtsim/io/npy.hpp>
#include <fmtsim/sim/onnx.hpp>
#include <fmtsim/sim/search.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>

using namespace fmtsim;
using namespace fmtsim::sim;
namespace fs = std::filesystem;

namespace {

fs::path dir() {
  const char* d = std::getenv("FMTSIM_ONNX_DIR");
  REQUIRE_MESSAGE(d != nullptr, "run through make_onnx.py");
  return d;
}

std::vector<float> floats(const std::string& name) {
  const io::npy_array a = io::read_npy(dir() / name);
  const auto s = a.as<float>();
  return {s.begin(), s.end()};
}

double rel_error(std::span<const float> got, const std::vector<float>& want) {
  REQUIRE(got.size() == want.size());
  double num = 0, den = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    num = std::max(num, std::fabs(static_cast<double>(got[i]) - want[i]));
    den = std::max(den, std::fabs(static_cast<double>(want[i])));
  }
  return num / den;
}

}  // namespace

TEST_CASE("ONNX import matches PyTorch: logits, input gradient and weight gradients") {
  REQUIRE(onnx_available());
  auto net = load_onnx(dir() / "net.onnx");
  CHECK(net->config().in_channels == 1);
  CHECK(net->config().height == 8);
  CHECK(net->config().num_classes == 5);
  // parameters named after the PyTorch state_dict
  REQUIRE(net->find_parameter("conv1.weight") != nullptr);
  REQUIRE(net->find_parameter("layer2.shortcut.0.weight") != nullptr);
  REQUIRE(net->find_parameter("fc.weight") != nullptr);
  const auto points = net->quant_points();
  CHECK(points.front() == "conv1");
  CHECK(std::count_if(points.begin(), points.end(),
                      [](const std::string& p) { return p.find("Add") != std::string::npos; }) == 2);

  const io::npy_array xa = io::read_npy(dir() / "x.npy");
  tensor x(xa.shape);
  const auto xs = xa.as<float>();
  std::copy(xs.begin(), xs.end(), x.data.begin());
  const io::npy_array la = io::read_npy(dir() / "labels.npy");
  const auto ls = la.as<std::int32_t>();
  const std::vector<std::int32_t> labels(ls.begin(), ls.end());

  run_context ctx;
  const tensor logits = net->forward(x, ctx);
  CHECK(rel_error(logits.values(), floats("logits.npy")) < 1e-4);
  tensor dl;
  softmax_cross_entropy(logits, labels, &dl);
  const tensor dx = net->backward(dl, ctx, true);
  CHECK(rel_error(dx.values(), floats("dx.npy")) < 1e-4);
  CHECK(rel_error(net->find_parameter("conv1.weight")->grad.values(), floats("conv1_grad.npy")) < 1e-4);
  CHECK(rel_error(net->find_parameter("fc.weight")->grad.values(), floats("fc_grad.npy")) < 1e-4);
}

TEST_CASE("ONNX import names every unsupported operator; bad files give clear errors") {
  try {
    load_onnx(dir() / "bad.onnx");
    FAIL("no error");
  } catch (const std::runtime_error& e) {
    const std::string m = e.what();
    CHECK(m.find("bad.onnx") != std::string::npos);
    CHECK(m.find("unsupported ONNX operators") != std::string::npos);
    CHECK(m.find("(Sigmoid)") != std::string::npos);
    CHECK(m.find("(Softmax)") != std::string::npos);
  }
  CHECK_THROWS_WITH_AS(load_onnx(dir() / "x.npy"), doctest::Contains("not a valid ONNX model"), std::runtime_error);
  CHECK_THROWS_WITH_AS(load_onnx(dir() / "nonexistent.onnx"), doctest::Contains("cannot open"), std::runtime_error);
}

TEST_CASE("a search on an ONNX model: FP32 angle 0, coarse worse than fine") {
  const io::npy_array xa = io::read_npy(dir() / "x.npy");
  io::dataset d;
  d.source = "x.npy";
  d.count = xa.shape[0], d.channels = 1, d.height = 8, d.width = 8, d.num_classes = 5;
  const auto xs = xa.as<float>();
  d.images.assign(xs.begin(), xs.end());
  for (std::int64_t i = 0; i < d.count; ++i) d.labels.push_back(static_cast<std::int32_t>(i % 5));
  d.norm.mean = {0.0f};
  d.norm.stddev = {1.0f};
  model_source src;
  src.kind = "onnx";
  src.path = (dir() / "net.onnx").string();
  src.hash = file_hash(src.path);
  src.make = [p = src.path] { return load_onnx(p); };
  search_options opt;
  opt.batches = 2;
  opt.batch_size = 6;
  opt.targets = {indicator_target::errors, indicator_target::activations};
  opt.all_layers = true;
  search_io io;
  io.json = dir() / "search.json";
  const auto cands = spec_candidates(std::vector<std::string>{"fp32", "e5m10", "bp:3,2,1,0"});
  const search_summary s = run_search(src, d, cands, opt, io);
  for (const auto& t : s.targets) {
    CHECK(t.formats[0].mean == 0.0);
    CHECK(*t.formats[0].network == 0.0);
    CHECK(t.formats[1].mean > 0.0);
    CHECK(*t.formats[1].network < *t.formats[2].network);
  }
  fs::remove(io.json);
  fs::remove(io.json.string() + ".progress");
}
