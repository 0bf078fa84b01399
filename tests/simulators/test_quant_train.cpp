// SPDX-License-Identifier: MIT
// Low-precision training and evaluation: quantizer_hook at A/E/W/G, seeded SR, hysteresis, fmtsim train/eval.
#include <doctest/doctest.h>

#include "../run_cli.hpp"

#include <fmtsim/core/float_bits.hpp>
#include <fmtsim/core/quantize.hpp>
#include <fmtsim/io/dataset.hpp>
#include <fmtsim/sim/indicator.hpp>
#include <fmtsim/sim/model.hpp>
#include <fmtsim/sim/quantizer_hook.hpp>
#include <fmtsim/sim/train.hpp>

#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

using namespace fmtsim;
using namespace fmtsim::sim;

namespace {

// The first n images of a split of Debian's Fashion-MNIST.
io::dataset subset(io::split which, std::int64_t n, const io::normalisation* norm = nullptr) {
  io::dataset d =
      norm ? io::load_dataset(io::default_data_dir, which, *norm) : io::load_dataset(io::default_data_dir, which);
  n = std::min(n, d.count);
  d.images.resize(static_cast<std::size_t>(n * d.image_elems()));
  d.labels.resize(static_cast<std::size_t>(n));
  d.count = n;
  return d;
}

bool have_data() { return std::filesystem::exists(io::default_data_dir / "train-images-idx3-ubyte.gz"); }

model_config config_of(const io::dataset& d) { return {d.channels, d.height, d.width, d.num_classes}; }

point_quantizer make_q(const char* spec, int room, const char* rounding = "rne") {
  indicator_scale s;
  s.room = room;
  return {point_format(spec, s), *parse_rounding(rounding)};
}

// Wraps a quantizer_hook: checks every A and W result against the scalar reference with the per-tensor room
// scale computed independently from the input, and records W values per parameter.
struct checking_hook final : quant_hook {
  quantizer_hook& inner;
  int room_a, room_w;
  std::int64_t checked_points = 0, changed_values = 0, mismatches = 0;
  std::map<std::string, std::vector<float>> last_w;
  checking_hook(quantizer_hook& h, int ra, int rw) : inner(h), room_a(ra), room_w(rw) {}
  void apply(quant_kind kind, std::string_view name, std::span<float> data,
             std::span<const std::int64_t> shape) override {
    const std::vector<float> orig(data.begin(), data.end());
    inner.apply(kind, name, data, shape);
    if (kind != quant_kind::activation && kind != quant_kind::weight) return;
    const point_quantizer* q = inner.get(kind);
    REQUIRE(q != nullptr);
    float amax = 0;
    for (const float v : orig) amax = std::max(amax, std::fabs(v));
    if (amax == 0) return;
    element_format e = q->format.element;
    const int room = kind == quant_kind::activation ? room_a : room_w;
    e.scale_exp = decompose(amax).top_exponent + room - element_emax(e);
    for (std::size_t i = 0; i < orig.size(); ++i) {
      const float want = quantize<float>(e, orig[i]);
      if (std::bit_cast<std::uint32_t>(want) != std::bit_cast<std::uint32_t>(data[i]) ||
          quantize<float>(e, data[i]) != data[i])
        ++mismatches;
      changed_values += data[i] != orig[i];
    }
    ++checked_points;
    if (kind == quant_kind::weight) last_w[std::string(name)] = std::vector<float>(data.begin(), data.end());
  }
};

std::vector<float> all_weights(network& net) {
  std::vector<float> w;
  for (const parameter* p : net.parameters()) w.insert(w.end(), p->value.data.begin(), p->value.data.end());
  return w;
}

// Counts, per training step, the W elements whose quantized value differs from the previous step's.
struct w_change_counter final : quant_hook {
  quantizer_hook& inner;
  std::map<std::string, std::vector<float>> prev;
  std::int64_t changes = 0, compared = 0;
  explicit w_change_counter(quantizer_hook& h) : inner(h) {}
  void apply(quant_kind kind, std::string_view name, std::span<float> data,
             std::span<const std::int64_t> shape) override {
    inner.apply(kind, name, data, shape);
    if (kind != quant_kind::weight) return;
    auto& p = prev[std::string(name)];
    if (!p.empty()) {
      for (std::size_t i = 0; i < data.size(); ++i) changes += p[i] != data[i];
      compared += static_cast<std::int64_t>(data.size());
    }
    p.assign(data.begin(), data.end());
  }
};

}  // namespace

TEST_CASE("quantizer_hook: formats from the search's parser, hys only at W/G, errors name the spec") {
  CHECK(make_q("fp134", 3).format.element.kind == parse_tensor_format("bp:5x7,4,3,2,1,0").element.kind);
  CHECK_THROWS_WITH_AS(point_format("e4m3q", indicator_scale{}), doctest::Contains("format 'e4m3q'"),
                       std::invalid_argument);
  quantizer_hook h;
  CHECK_FALSE(h.any());
  CHECK_THROWS_AS(h.set(quant_kind::activation, make_q("e4m3fn", 1, "hys")), std::invalid_argument);
  CHECK_NOTHROW(h.set(quant_kind::weight, make_q("e4m3fn", 3, "hys")));
  CHECK(h.any());
  // MX presets keep their own groups and rule (as in the search).
  CHECK(make_q("mxfp8_e4m3", 3).format.groups.kind == group_kind::block);
}

// A hook that implements only apply: E points reach it through quant_hook's default apply_to.
struct in_place_only final : quant_hook {
  quantizer_hook& inner;
  explicit in_place_only(quantizer_hook& h) : inner(h) {}
  void apply(quant_kind kind, std::string_view name, std::span<float> data,
             std::span<const std::int64_t> shape) override {
    inner.apply(kind, name, data, shape);
  }
};

bool same_bits(std::span<const float> a, std::span<const float> b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST_CASE("quant_hook::apply_to (out of place, used at E points) == copy then apply, for every hook") {
  std::vector<float> x(3000);
  std::uint64_t st = 0x9E3779B97F4A7C15ull;
  for (auto& v : x) {
    st = st * 6364136223846793005ull + 1442695040888963407ull;
    v = static_cast<float>(static_cast<std::int64_t>(st >> 11) % 2000001 - 1000000) * 1e-5f;
  }
  const std::vector<std::int64_t> shape{3, 10, 10, 10};
  // quantizer_hook: E with sr (the call counter feeds the seed: both hooks see the same call sequence),
  // W with rne, A off (a plain copy)
  quantizer_hook a(11), b(11);
  for (quantizer_hook* h : {&a, &b}) {
    h->set(quant_kind::error, make_q("e5m2", 3, "sr"));
    h->set(quant_kind::weight, make_q("e4m3fn", 3));
  }
  for (const quant_kind k : {quant_kind::error, quant_kind::weight, quant_kind::activation, quant_kind::error}) {
    std::vector<float> out(x.size(), -1.0f), ref = x;
    a.apply_to(k, "layer1.0.conv1", x, out, shape);
    b.apply(k, "layer1.0.conv1", ref, shape);
    CHECK(same_bits(out, ref));
    if (k != quant_kind::activation) CHECK_FALSE(same_bits(out, x));  // it did quantize
  }
  // the base class's default (copy, then the hook's apply) gives the same
  quantizer_hook c(11);
  c.set(quant_kind::error, make_q("e5m2", 3, "sr"));
  in_place_only wrapped(c);
  quantizer_hook d(11);
  d.set(quant_kind::error, make_q("e5m2", 3, "sr"));
  std::vector<float> out(x.size()), ref = x;
  wrapped.apply_to(quant_kind::error, "p", x, out, shape);
  d.apply(quant_kind::error, "p", ref, shape);
  CHECK(same_bits(out, ref));
  std::vector<float> short_out(10);
  CHECK_THROWS_AS(wrapped.apply_to(quant_kind::error, "p", x, short_out, shape), std::invalid_argument);
  CHECK_THROWS_AS(a.apply_to(quant_kind::error, "p", x, short_out, shape), std::invalid_argument);
  // indicator_hook: the quantized kind, another kind (copied), and the weight-gradient switch at E points
  run_context ctx;
  indicator_hook ih(ctx, {"conv1"});
  ih.set_quantizer(quant_kind::error, point_format("fp143", indicator_scale{}), quantize_options{});
  std::vector<float> o1(x.size()), r1 = x;
  ih.apply_to(quant_kind::error, "conv1", x, o1, shape);
  CHECK(ctx.weight_grads);
  ih.apply(quant_kind::error, "layer1.0.bn1", r1, shape);
  CHECK_FALSE(ctx.weight_grads);
  std::vector<float> r2 = x;
  ih.apply(quant_kind::error, "conv1", r2, shape);
  CHECK(same_bits(o1, r2));
  CHECK_FALSE(same_bits(o1, x));
  std::vector<float> o3(x.size());
  ih.apply_to(quant_kind::activation, "conv1", x, o3, shape);
  CHECK(same_bits(o3, x));
  CHECK_THROWS_AS(ih.apply_to(quant_kind::error, "conv1", x, short_out, shape), std::invalid_argument);
}

TEST_CASE("quantizer_hook: every A and W value is the scalar reference's at the group scale; forward uses W") {
  if (!have_data()) {
    MESSAGE("Fashion-MNIST not installed: skipped");
    return;
  }
  const io::dataset train = subset(io::split::train, 256);
  auto net = make_model("mlp", config_of(train), 1);
  quantizer_hook h(7);
  h.set(quant_kind::activation, make_q("e4m3fn", 1));
  h.set(quant_kind::weight, make_q("e4m3fn", 3));
  h.set(quant_kind::error, make_q("e5m2", 3, "sr"));
  checking_hook chk(h, 1, 3);
  train_options opt;
  opt.epochs = 1;
  opt.batch_size = 64;
  opt.lr = 0.05;
  opt.hook = &chk;
  sim::train(*net, train, nullptr, opt);
  CHECK(chk.mismatches == 0);
  CHECK(chk.checked_points == 4 * 6);  // 4 steps x (3 A + 3 W points)
  CHECK(chk.changed_values > 1000);    // the quantizer did something
  REQUIRE(chk.last_w.size() == 3);

  // The forward pass uses the quantized weights: W-only hook == FP32 forward of pre-quantized weights.
  quantizer_hook wonly;
  wonly.set(quant_kind::weight, make_q("e4m3fn", 3));
  auto net_q = make_model("mlp", config_of(train), 1);
  auto net_ref = make_model("mlp", config_of(train), 1);
  for (std::size_t i = 0; i < net_ref->parameters().size(); ++i) {
    parameter* p = net_ref->parameters()[i];
    if (!p->quantizable) continue;
    tensor_quantizer tq(wonly.get(quant_kind::weight)->format);
    tq.quantize<float>(std::span<const float>(p->value.data), p->value.data, p->value.shape);
  }
  tensor x({8, train.channels, train.height, train.width});
  x.data.assign(train.images.begin(), train.images.begin() + 8 * train.image_elems());
  run_context c1, c2;
  c1.hook = &wonly;
  const tensor y1 = net_q->forward(x, c1);
  const tensor y2 = net_ref->forward(x, c2);
  REQUIRE(y1.data.size() == y2.data.size());
  CHECK(std::memcmp(y1.data.data(), y2.data.data(), y1.data.size() * sizeof(float)) == 0);
  run_context c3;
  const tensor y3 = net_q->forward(x, c3);  // FP32 weights differ from the quantized ones
  CHECK(std::memcmp(y1.data.data(), y3.data.data(), y1.data.size() * sizeof(float)) != 0);
}

TEST_CASE("quantized training (e4m3fn A, e5m2 E with SR): loss drops, bit-reproducible per seed") {
  if (!have_data()) {
    MESSAGE("Fashion-MNIST not installed: skipped");
    return;
  }
  const io::dataset train = subset(io::split::train, 512);
  auto run = [&](std::uint64_t seed, double* before, double* after) {
    auto net = make_model("mlp", config_of(train), 3);
    quantizer_hook h(seed);
    h.set(quant_kind::activation, make_q("e4m3fn", 1));
    h.set(quant_kind::error, make_q("e5m2", 3, "sr"));
    quantizer_hook eval_hook;  // evaluation outside the training hook: its SR call counter stays untouched
    eval_hook.set(quant_kind::activation, make_q("e4m3fn", 1));
    if (before) *before = evaluate(*net, train, 256, &eval_hook).loss;
    train_options opt;
    opt.epochs = 3;
    opt.batch_size = 64;
    opt.lr = 0.05;
    opt.seed = 11;
    opt.hook = &h;
    sim::train(*net, train, nullptr, opt);
    if (after) *after = evaluate(*net, train, 256, &eval_hook).loss;
    return all_weights(*net);
  };
  double l0 = 0, l1 = 0;
  const auto w1 = run(5, &l0, &l1);
  const auto w2 = run(5, nullptr, nullptr);
  const auto w3 = run(6, nullptr, nullptr);
  MESSAGE("loss before " << l0 << " after " << l1);
  CHECK(std::isfinite(l1));
  CHECK(l1 < 0.8 * l0);
  REQUIRE(w1.size() == w2.size());
  CHECK(std::memcmp(w1.data(), w2.data(), w1.size() * sizeof(float)) == 0);
  CHECK(std::memcmp(w1.data(), w3.data(), w1.size() * sizeof(float)) != 0);  // the SR seed is used
}

TEST_CASE("hysteresis at W changes fewer weight codes per step than rne") {
  if (!have_data()) {
    MESSAGE("Fashion-MNIST not installed: skipped");
    return;
  }
  const io::dataset train = subset(io::split::train, 512);
  auto changes = [&](const char* rounding) {
    auto net = make_model("mlp", config_of(train), 3);
    quantizer_hook h;
    h.set(quant_kind::weight, make_q("e4m3fn", 3, rounding));
    w_change_counter cnt(h);
    train_options opt;
    opt.epochs = 2;
    opt.batch_size = 64;
    opt.lr = 0.05;
    opt.hook = &cnt;
    sim::train(*net, train, nullptr, opt);
    return std::pair{cnt.changes, cnt.compared};
  };
  const auto [rne_changes, compared] = changes("rne");
  const auto [hys_changes, compared2] = changes("hys");
  MESSAGE("W code changes over " << compared << " comparisons: rne " << rne_changes << ", hys " << hys_changes);
  CHECK(compared == compared2);
  CHECK(compared > 0);
  CHECK(hys_changes > 0);
  CHECK(static_cast<double>(hys_changes) < 0.9 * static_cast<double>(rne_changes));
}

namespace {

using fmtsim_test::run_result;

run_result run_cli(const std::string& args) { return fmtsim_test::run_fmtsim(args); }

// "test loss X acc Y%" from a line of fmtsim train / eval.
std::string test_metrics(const std::string& out) {
  const auto at = out.find("test loss ");
  if (at == std::string::npos) return {};
  const auto end = out.find('%', at);
  return end == std::string::npos ? std::string() : out.substr(at, end + 1 - at);
}

std::size_t lines(const std::string& s) { return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n')); }

}  // namespace

TEST_CASE("fmtsim eval reproduces fmtsim train's test accuracy; bad specs and files are one-line errors") {
  if (std::getenv("FMTSIM_EXE") == nullptr || !have_data()) {
    MESSAGE("FMTSIM_EXE not set or Fashion-MNIST not installed: skipped");
    return;
  }
  const auto dir = std::filesystem::temp_directory_path() / ("fmtsim_quant_train_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string ckpt = (dir / "mlp.safetensors").string(), js = (dir / "eval.json").string();
  const std::string quant = " --activations e4m3fn --errors e5m2 --weight-format fp134";
  const auto tr =
      run_cli("train --arch mlp --epochs 1 --max-batches 30 --batch-size 64 --lr 0.05 --quiet --out " + ckpt + quant);
  REQUIRE_MESSAGE(tr.status == 0, tr.output);
  CHECK(tr.output.find("quantizers: A=e4m3fn") != std::string::npos);
  const std::string want = test_metrics(tr.output);
  REQUIRE(!want.empty());
  const auto ev = run_cli("eval --arch mlp --weights " + ckpt + quant + " --json " + js);
  REQUIRE_MESSAGE(ev.status == 0, ev.output);
  CHECK(test_metrics(ev.output) == want);
  CHECK(std::filesystem::exists(js));
  // FP32 evaluation of the same weights differs (the quantizers are applied).
  const auto ev32 = run_cli("eval --arch mlp --weights " + ckpt);
  REQUIRE(ev32.status == 0);
  CHECK(test_metrics(ev32.output) != want);

  const auto bad = run_cli("eval --arch mlp --weights " + ckpt + " --errors e5m2q");
  CHECK(bad.status != 0);
  CHECK(lines(bad.output) == 1);
  CHECK(bad.output.find("--errors: format 'e5m2q'") != std::string::npos);
  const auto bad_train = run_cli("train --arch mlp --epochs 1 --max-batches 1 --weight-format nope");
  CHECK(bad_train.status != 0);
  CHECK(lines(bad_train.output) == 1);
  CHECK(bad_train.output.find("--weight-format: format 'nope'") != std::string::npos);
  const auto bad_rule = run_cli("eval --arch mlp --weights " + ckpt + " --errors e5m2 --error-rule wide");
  CHECK(bad_rule.status != 0);
  CHECK(bad_rule.output.find("--error-rule must be") != std::string::npos);
  // A truncated checkpoint.
  const std::string trunc = (dir / "trunc.safetensors").string();
  std::filesystem::copy_file(ckpt, trunc);
  std::filesystem::resize_file(trunc, 100);
  const auto bad_file = run_cli("eval --arch mlp --weights " + trunc);
  CHECK(bad_file.status != 0);
  CHECK(lines(bad_file.output) == 1);
  CHECK(bad_file.output.find("--weights:") != std::string::npos);
  std::filesystem::remove_all(dir);
}
