// SPDX-License-Identifier: MIT
// Engine unit tests: convolution against a direct loop, thread-count determinism, quantization
// points, state_dict round trip and strict loading, loss, dropout, BatchNorm running statistics.
#include <doctest/doctest.h>

#include <fmtsim/sim/model.hpp>
#include <fmtsim/sim/parallel.hpp>

#include "../../simulators/winograd.hpp"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>

using namespace fmtsim;
using namespace fmtsim::sim;

namespace {

void fill(tensor& t, std::uint64_t seed) {
  for (auto& v : t.data) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    v = static_cast<float>(static_cast<std::int64_t>(seed >> 40) % 2001 - 1000) / 1000.0f;
  }
}

// Calls tap(output index, input index, weight index) for every product of a direct convolution
// (7 nested loops, independent of im2col and Winograd); input [n, in_channels, h, wd].
template <class Tap>
void for_each_tap(const conv2d_options& o, std::int64_t n, std::int64_t h, std::int64_t wd, std::int64_t ho,
                  std::int64_t wo, Tap tap) {
  const std::int64_t cg = o.in_channels / o.groups, og = o.out_channels / o.groups;
  for (std::int64_t b = 0; b < n; ++b)
    for (std::int64_t co = 0; co < o.out_channels; ++co)
      for (std::int64_t oh = 0; oh < ho; ++oh)
        for (std::int64_t ow = 0; ow < wo; ++ow)
          for (std::int64_t ci = 0; ci < cg; ++ci)
            for (std::int64_t ki = 0; ki < o.kernel_h; ++ki)
              for (std::int64_t kj = 0; kj < o.kernel_w; ++kj) {
                const std::int64_t ih = oh * o.stride - o.padding + ki * o.dilation;
                const std::int64_t iw = ow * o.stride - o.padding + kj * o.dilation;
                if (ih < 0 || ih >= h || iw < 0 || iw >= wd) continue;
                tap(static_cast<std::size_t>(((b * o.out_channels + co) * ho + oh) * wo + ow),
                    static_cast<std::size_t>(((b * o.in_channels + co / og * cg + ci) * h + ih) * wd + iw),
                    static_cast<std::size_t>(((co * cg + ci) * o.kernel_h + ki) * o.kernel_w + kj));
              }
}

// Direct convolution in double.
std::vector<double> direct_conv(const tensor& x, const tensor& w, const conv2d_options& o, std::int64_t ho,
                                std::int64_t wo) {
  std::vector<double> y(static_cast<std::size_t>(x.shape[0] * o.out_channels * ho * wo), 0.0);
  for_each_tap(o, x.shape[0], x.shape[2], x.shape[3], ho, wo, [&](std::size_t out, std::size_t in, std::size_t k) {
    y[out] += static_cast<double>(x.data[in]) * w.data[k];
  });
  return y;
}

struct recording_hook final : quant_hook {
  std::vector<std::string> calls;
  void apply(quant_kind k, std::string_view point, std::span<float> data, std::span<const std::int64_t>) override {
    calls.push_back(std::string(to_string(k)) + ":" + std::string(point));
    (void)data;
  }
};

// Rounds every value to a multiple of 1/4 (a stand-in quantizer whose effect is visible).
struct coarse_hook final : quant_hook {
  quant_kind only;
  explicit coarse_hook(quant_kind k) : only(k) {}
  void apply(quant_kind k, std::string_view, std::span<float> data, std::span<const std::int64_t>) override {
    if (k != only) return;
    for (auto& v : data) v = std::round(v * 4.0f) / 4.0f;
  }
};

}  // namespace

// The input gradient by the direct loop in double: every (output, kernel tap) pair adds dy * w to
// the input element it read. abs_sum gets the sum of the terms' magnitudes (for error bounds).
std::vector<double> direct_input_grad(const tensor& dy, const tensor& w, const conv2d_options& o,
                                      const std::vector<std::int64_t>& in, std::vector<double>& abs_sum) {
  std::vector<double> dx(static_cast<std::size_t>(in[0] * o.in_channels * in[2] * in[3]), 0.0);
  abs_sum.assign(dx.size(), 0.0);
  for_each_tap(o, in[0], in[2], in[3], dy.shape[2], dy.shape[3], [&](std::size_t out, std::size_t i, std::size_t k) {
    const double t = static_cast<double>(dy.data[out]) * w.data[k];
    dx[i] += t;
    abs_sum[i] += std::abs(t);
  });
  return dx;
}

TEST_CASE("conv2d forward and gradients match direct loops for stride, padding, dilation, groups, both algorithms") {
  struct conv_case {
    conv2d_options o;
    std::int64_t h, w;
  };
  // The 3x3 stride-1 padding-1 single-group cases take the Winograd path under conv_algorithm::winograd:
  // even and odd sizes (a last tile cut in half), 1x1 and 1-row inputs, one input channel, bias.
  const conv_case cases[] = {
      {{3, 4, 3, 3, 1, 1, 1, 1, false}, 9, 8},   {{4, 6, 3, 3, 2, 1, 1, 2, true}, 9, 8},
      {{6, 6, 3, 3, 1, 2, 2, 6, false}, 9, 8},   {{2, 3, 1, 1, 2, 0, 1, 1, true}, 9, 8},
      {{3, 2, 2, 3, 3, 1, 1, 1, false}, 9, 8},   {{5, 7, 3, 3, 1, 1, 1, 1, true}, 7, 7},
      {{1, 16, 3, 3, 1, 1, 1, 1, false}, 6, 10}, {{16, 5, 3, 3, 1, 1, 1, 1, true}, 1, 1},
      {{4, 4, 3, 3, 1, 1, 1, 1, false}, 1, 5},   {{4, 3, 3, 3, 1, 1, 1, 1, false}, 3, 2},
      {{8, 8, 3, 3, 1, 1, 1, 2, false}, 6, 6},   {{3, 4, 3, 3, 1, 1, 2, 1, false}, 9, 8},
  };
  for (const conv_algorithm algo : {conv_algorithm::winograd, conv_algorithm::winograd4, conv_algorithm::im2col}) {
    for (const auto& [o, h, wd] : cases) {
      CAPTURE(to_string(algo));
      CAPTURE(o.in_channels);
      CAPTURE(o.out_channels);
      CAPTURE(o.stride);
      CAPTURE(o.groups);
      CAPTURE(h);
      CAPTURE(wd);
      conv2d conv("c", o);
      fill(conv.weight.value, 7);
      if (o.bias) fill(conv.bias.value, 9);
      tensor x({3, o.in_channels, h, wd});
      fill(x, 11);
      run_context ctx;
      ctx.conv = algo;
      const tensor y = conv.forward(x, ctx);
      const auto ref = direct_conv(x, conv.weight.value, o, y.shape[2], y.shape[3]);
      const std::int64_t l = y.shape[2] * y.shape[3];
      // Every term is a product of two values in [-1, 1]: a bound of 16 float ulps per unit of the
      // terms' count is loose for im2col and F(2x2) and far below any indexing mistake (errors of the
      // order of the values). F(4x4)'s transforms have coefficients up to 8 (and 1/24 in the kernel's):
      // its rounding errors are several times larger, so its bounds are ten times looser.
      const double loose = algo == conv_algorithm::winograd4 ? 10.0 : 1.0;
      const double terms = static_cast<double>(o.in_channels / o.groups * o.kernel_h * o.kernel_w);
      for (std::size_t i = 0; i < ref.size(); ++i) {
        const double b = o.bias ? conv.bias.value.data[(i / l) % o.out_channels] : 0.0;
        CHECK(std::abs(y.data[i] - (ref[i] + b)) <= loose * 1e-6 * (terms + 1));
      }
      tensor dy(y.shape);
      fill(dy, 13);
      const tensor dx = conv.backward(dy, ctx, true);
      std::vector<double> abs_sum;
      const auto dref = direct_input_grad(dy, conv.weight.value, o, x.shape, abs_sum);
      REQUIRE(dx.data.size() == dref.size());
      for (std::size_t i = 0; i < dref.size(); ++i) {
        CHECK(std::abs(dx.data[i] - dref[i]) <= loose * (4e-7 * abs_sum[i] + 1e-7));
      }
      // Weight gradient: d<dy, y>/dw[j] = <dy, conv_with(e_j)(x)>.
      for (std::int64_t j = 0; j < conv.weight.value.numel(); j += 5) {
        tensor we(conv.weight.value.shape);
        we.data[j] = 1.0f;
        const auto col = direct_conv(x, we, o, y.shape[2], y.shape[3]);
        double dot = 0;
        for (std::size_t i = 0; i < col.size(); ++i) dot += col[i] * dy.data[i];
        CHECK(std::abs(conv.weight.grad.data[j] - dot) < 1e-4);
      }
    }
  }
}

TEST_CASE("conv2d backward: Winograd's input gradient in place of dy over several sample chunks") {
  // Without weight gradients a Winograd convolution with as many outputs as inputs writes dx over dy (backward
  // consumes dy): the same bits as the separate output. 32 channels of 16x16 (F(2x2)) or 20x20 (F(4x4), 36
  // products): winograd_conv3x3 takes two samples per chunk, so three samples make two chunks, and the in-place
  // write of one chunk must not disturb the other's input.
  for (const auto& [algo, side] : {std::pair{conv_algorithm::winograd, 16}, std::pair{conv_algorithm::winograd4, 20}}) {
    CAPTURE(to_string(algo));
    conv2d conv("c", {32, 32, 3, 3, 1, 1, 1, 1, false});
    fill(conv.weight.value, 3);
    tensor x({3, 32, side, side});
    fill(x, 5);
    run_context ctx;
    ctx.conv = algo;
    const tensor y = conv.forward(x, ctx);
    tensor dy(y.shape);
    fill(dy, 7);
    const tensor separate = conv.backward(dy, ctx, true);  // with the weight gradient: a separate dx
    run_context nctx = ctx;
    nctx.weight_grads = false;
    const tensor in_place = conv.backward(dy, nctx, true);
    CHECK(in_place.shape == separate.shape);
    CHECK(in_place.data == separate.data);
  }
}

TEST_CASE("Winograd F(4x4): the two-row (AVX) and one-row (SSE) transforms give the same bits") {
  if (!detail::winograd_wide_transforms(true)) {
    MESSAGE("no AVX on this CPU: only the one-row transforms run");
    return;
  }
  // odd and even tile rows and columns (the two-row pass leaves a last single row), partial tiles, bias
  const std::pair<std::int64_t, std::int64_t> sizes[] = {{28, 28}, {14, 14}, {7, 7}, {9, 13}, {13, 9}, {5, 4}, {1, 6}};
  for (const auto& [h, w] : sizes) {
    CAPTURE(h);
    CAPTURE(w);
    conv2d conv("c", {8, 8, 3, 3, 1, 1, 1, 1, true});
    fill(conv.weight.value, 3);
    fill(conv.bias.value, 4);
    tensor x({3, 8, h, w});
    fill(x, 5);
    tensor dy({3, 8, h, w});
    fill(dy, 6);
    run_context ctx;
    ctx.conv = conv_algorithm::winograd4;
    std::vector<float> y[2], dx[2];
    for (int wide = 0; wide < 2; ++wide) {
      REQUIRE(detail::winograd_wide_transforms(wide == 1));
      y[wide] = conv.forward(x, ctx).data;
      dx[wide] = conv.backward(dy, ctx, true).data;
    }
    CHECK(std::memcmp(y[0].data(), y[1].data(), y[0].size() * sizeof(float)) == 0);
    CHECK(std::memcmp(dx[0].data(), dx[1].data(), dx[0].size() * sizeof(float)) == 0);
  }
  detail::winograd_wide_transforms(true);
}

TEST_CASE("conv algorithm: names, the process-wide default and run_context") {
  CHECK(parse_conv_algorithm("winograd") == conv_algorithm::winograd);
  CHECK(parse_conv_algorithm("im2col") == conv_algorithm::im2col);
  CHECK(parse_conv_algorithm("winograd4") == conv_algorithm::winograd4);
  for (const conv_algorithm a : {conv_algorithm::winograd, conv_algorithm::winograd4, conv_algorithm::im2col})
    CHECK(parse_conv_algorithm(to_string(a)) == a);
  CHECK_THROWS_WITH_AS(parse_conv_algorithm("fft"),
                       "unknown convolution algorithm 'fft' (expected winograd, winograd4 or im2col)",
                       std::invalid_argument);
  CHECK(default_conv_algorithm() == conv_algorithm::winograd4);
  set_conv_algorithm(conv_algorithm::im2col);
  CHECK(run_context{}.conv == conv_algorithm::im2col);
  set_conv_algorithm(conv_algorithm::winograd);
  CHECK(run_context{}.conv == conv_algorithm::winograd);
  set_conv_algorithm(standard_conv_algorithm);
  CHECK(run_context{}.conv == conv_algorithm::winograd4);
  // The three algorithms round differently (so the setting is real), by float rounding only.
  conv2d conv("c", {16, 16, 3, 3, 1, 1, 1, 1, false});
  fill(conv.weight.value, 3);
  tensor x({2, 16, 12, 12});
  fill(x, 5);
  run_context ictx;
  ictx.conv = conv_algorithm::im2col;
  const tensor yi = conv.forward(x, ictx);
  for (const conv_algorithm a : {conv_algorithm::winograd, conv_algorithm::winograd4}) {
    CAPTURE(to_string(a));
    run_context wctx;
    wctx.conv = a;
    const tensor yw = conv.forward(x, wctx);
    double max_diff = 0;
    for (std::size_t i = 0; i < yw.data.size(); ++i)
      max_diff = std::max<double>(max_diff, std::abs(yw.data[i] - yi.data[i]));
    CHECK(max_diff > 0);
    CHECK(max_diff < 1e-4);
  }
}

TEST_CASE("results are bitwise identical for 1 and 2 threads") {
  auto run = [](int threads) {
    set_num_threads(threads);
    auto net = make_model("resnet20", {2, 14, 14, 5}, 3);
    tensor x({9, 2, 14, 14});
    fill(x, 5);
    std::vector<std::int32_t> labels = {0, 1, 2, 3, 4, 0, 1, 2, 3};
    run_context ctx;
    ctx.training = true;
    tensor logits = net->forward(x, ctx);
    tensor g;
    softmax_cross_entropy(logits, labels, &g);
    tensor dx = net->backward(g, ctx, true);
    std::vector<float> all = logits.data;
    all.insert(all.end(), dx.data.begin(), dx.data.end());
    for (const auto* p : net->parameters()) all.insert(all.end(), p->grad.data.begin(), p->grad.data.end());
    return all;
  };
  const auto one = run(1), two = run(2);
  set_num_threads(2);
  REQUIRE(one.size() == two.size());
  CHECK(std::memcmp(one.data(), two.data(), one.size() * sizeof(float)) == 0);
}

TEST_CASE("quantization points: A at conv/linear/bn/add outputs, E at the same in reverse, W and G") {
  auto net = make_model("resnet20", {1, 8, 8, 3}, 1);
  recording_hook hook;
  run_context ctx;
  ctx.hook = &hook;
  tensor x({2, 1, 8, 8});
  fill(x, 3);
  tensor logits = net->forward(x, ctx);
  const std::vector<std::string> points = net->quant_points();
  std::vector<std::string> forward_a;
  for (const auto& c : hook.calls)
    if (c.starts_with("A:")) forward_a.push_back(c.substr(2));
  CHECK(forward_a.size() == points.size());
  // resnet20: conv1, bn1, 9 blocks x (conv1, bn1, conv2, bn2, add) + 2 shortcuts x (conv, bn) + fc
  CHECK(points.size() == 2 + 9 * 5 + 2 * 2 + 1);
  CHECK(std::count(hook.calls.begin(), hook.calls.end(), "W:conv1.weight") == 1);
  CHECK(std::count(hook.calls.begin(), hook.calls.end(), "A:layer2.0.add") == 1);
  CHECK(std::count(hook.calls.begin(), hook.calls.end(), "A:layer2.0.shortcut.1") == 1);
  hook.calls.clear();
  tensor g;
  softmax_cross_entropy(logits, std::vector<std::int32_t>{0, 2}, &g);
  net->backward(g, ctx);
  CHECK(hook.calls.front() == "E:fc");
  CHECK(hook.calls.back() == "G:conv1.weight");
  std::size_t e_count = 0, g_count = 0;
  for (const auto& c : hook.calls) {
    e_count += c.starts_with("E:");
    g_count += c.starts_with("G:");
  }
  CHECK(e_count == points.size());
  CHECK(g_count == 19 + 2 + 1);  // 19 3x3 convs, 2 shortcut convs, fc
  // No hook: no change; an E-only hook leaves the forward pass alone but changes gradients.
  auto plain = make_model("mlp", {1, 4, 4, 3}, 2);
  tensor xi({4, 1, 4, 4});
  fill(xi, 8);
  std::vector<std::int32_t> lab = {0, 1, 2, 1};
  run_context c0;
  const tensor l0 = plain->forward(xi, c0);
  tensor g0;
  softmax_cross_entropy(l0, lab, &g0);
  plain->backward(g0, c0);
  const auto grad0 = plain->find_parameter("fc1.weight")->grad.data;
  coarse_hook eh(quant_kind::error);
  run_context c1;
  c1.hook = &eh;
  const tensor l1 = plain->forward(xi, c1);
  CHECK(l1.data == l0.data);
  plain->backward(g0, c1);
  CHECK(plain->find_parameter("fc1.weight")->grad.data != grad0);
}

TEST_CASE("state_dict round trip and strict loading") {
  auto a = make_model("resnet20", {3, 16, 16, 10}, 1);
  auto b = make_model("resnet20", {3, 16, 16, 10}, 2);
  CHECK(a->parameters()[0]->value.data != b->parameters()[0]->value.data);
  const auto path = std::filesystem::temp_directory_path() / "fmtsim_test_state.safetensors";
  a->save(path, {{"note", "test"}});
  b->load(path);
  for (std::size_t i = 0; i < a->parameters().size(); ++i)
    CHECK(a->parameters()[i]->value.data == b->parameters()[i]->value.data);
  const io::safetensors_file sd = a->state_dict();
  CHECK(sd.tensors.front().name == "conv1.weight");
  CHECK(sd.find("layer2.0.shortcut.0.weight") != nullptr);
  CHECK(sd.find("layer3.2.bn2.num_batches_tracked") != nullptr);
  CHECK(sd.find("fc.bias") != nullptr);
  // resnet20 with option-B shortcuts: 272,474 parameters for 3 input channels and 10 classes.
  CHECK(a->parameter_count() == 272474);

  auto c = make_model("resnet20", {1, 16, 16, 10}, 1);  // conv1 needs 1 input channel
  try {
    c->load(path);
    FAIL("loaded a checkpoint with the wrong conv1 shape");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find("conv1.weight has shape [16, 3, 3, 3]") != std::string::npos);
  }
  io::safetensors_file extra = sd;
  extra.tensors.push_back(io::make_f32_tensor("layer4.0.conv1.weight", {1}, std::vector<float>{1.0f}));
  extra.tensors.erase(extra.tensors.begin() + 1);  // drop bn1.weight
  try {
    a->load_state_dict(extra);
    FAIL("loaded a checkpoint with extra and missing tensors");
  } catch (const std::runtime_error& e) {
    const std::string m = e.what();
    CHECK(m.find("unexpected tensors: layer4.0.conv1.weight") != std::string::npos);
    CHECK(m.find("missing tensors: bn1.weight") != std::string::npos);
  }
  std::filesystem::remove(path);
  CHECK_THROWS_AS(make_model("resnet18", {3, 32, 32, 10}), std::invalid_argument);
}

TEST_CASE("softmax cross-entropy, dropout and BatchNorm running statistics") {
  tensor z({1, 2});
  tensor g;
  std::int64_t correct = -1;
  const double loss = softmax_cross_entropy(z, std::vector<std::int32_t>{1}, &g, &correct);
  CHECK(loss == doctest::Approx(std::log(2.0)).epsilon(1e-12));
  CHECK(g.data[0] == 0.5f);
  CHECK(g.data[1] == -0.5f);
  CHECK(correct == 0);  // ties pick the first class
  CHECK_THROWS_AS(softmax_cross_entropy(z, std::vector<std::int32_t>{2}, &g), std::invalid_argument);

  dropout d("d", 0.5f);
  tensor x({1, 1000}, 1.0f);
  run_context eval;
  CHECK(d.forward(x, eval).data == x.data);
  run_context tr;
  tr.training = true;
  const tensor y = d.forward(x, tr);
  int kept = 0;
  for (const float v : y.data) {
    CHECK((v == 0.0f || v == 2.0f));
    kept += v != 0.0f;
  }
  CHECK(kept > 400);
  CHECK(kept < 600);

  batch_norm2d bn("bn", 1);
  tensor b({2, 1, 1, 2});
  b.data = {1, 2, 3, 6};  // mean 3, biased var 3.5, unbiased 14/3
  bn.forward(b, tr);
  CHECK(bn.running_mean.data[0] == doctest::Approx(0.3));
  CHECK(bn.running_var.data[0] == doctest::Approx(0.9 + 0.1 * 14.0 / 3.0));
  CHECK(bn.num_batches_tracked == 1);
}
