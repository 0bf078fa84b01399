// SPDX-License-Identifier: MIT
// Tests of the gradient-angle indicator and fmtsim search: angles, GEMM skipping, determinism, resume, shards.
#include <doctest/doctest.h>

#include "../run_cli.hpp"

#include <fmtsim/core/spec.hpp>
#include <fmtsim/formats/catalog.hpp>
#include <fmtsim/formats/tensor.hpp>
#include <fmtsim/sim/indicator.hpp>
#include <fmtsim/sim/model.hpp>
#include <fmtsim/sim/search.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

using namespace fmtsim;
using namespace fmtsim::sim;
namespace fs = std::filesystem;

namespace {

io::dataset tiny_data(std::int64_t count, std::int64_t c, std::int64_t h, std::int64_t w, std::int32_t classes,
                      std::uint64_t seed) {
  io::dataset d;
  d.source = "synthetic";
  d.count = count, d.channels = c, d.height = h, d.width = w, d.num_classes = classes;
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  d.images.resize(static_cast<std::size_t>(count * c * h * w));
  for (auto& v : d.images) v = nd(rng);
  for (std::int64_t i = 0; i < count; ++i) d.labels.push_back(static_cast<std::int32_t>((i * 7 + 3) % classes));
  d.norm.mean.assign(static_cast<std::size_t>(c), 0.0f);
  d.norm.stddev.assign(static_cast<std::size_t>(c), 1.0f);
  return d;
}

model_source source_for(const std::string& arch, const io::dataset& d, std::uint64_t seed) {
  model_source s;
  s.kind = "arch";
  s.arch = arch;
  s.path = "random-init";
  s.hash = "seed" + std::to_string(seed);
  const model_config cfg{d.channels, d.height, d.width, d.num_classes};
  s.make = [arch, cfg, seed] { return make_model(arch, cfg, seed); };
  return s;
}

struct temp_dir {
  fs::path path;
  explicit temp_dir(const std::string& name) {
    path = fs::temp_directory_path() / ("fmtsim-search-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path operator/(const std::string& f) const { return path / f; }
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

tensor batch_tensor(const io::dataset& d, std::int64_t b, std::int64_t bs, std::vector<std::int32_t>& labels) {
  const auto order = io::sample_order(d.count, std::nullopt);
  std::vector<float> img;
  const std::int64_t n = io::gather_batch(d, order, b, bs, img, labels);
  tensor t({n, d.channels, d.height, d.width});
  t.data = std::move(img);
  return t;
}

// Direct formula in long double: acos(<a,b> / (|a||b|)).
double direct_angle(const std::vector<float>& a, const std::vector<float>& b) {
  long double dot = 0, na = 0, nb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    dot += static_cast<long double>(a[i]) * b[i];
    na += static_cast<long double>(a[i]) * a[i];
    nb += static_cast<long double>(b[i]) * b[i];
  }
  long double c = dot / (std::sqrt(na) * std::sqrt(nb));
  c = std::max<long double>(-1, std::min<long double>(1, c));
  return static_cast<double>(std::acos(c) * 180.0L / 3.14159265358979323846264338327950288L);
}

tensor_format tf(const std::string& spec) { return parse_tensor_format(spec); }

std::vector<search_candidate> every_nth_lee22(std::size_t step) {
  const auto all = catalog_candidates("lee22");
  std::vector<search_candidate> out;
  for (std::size_t i = 0; i < all.size(); i += step) out.push_back(all[i]);
  return out;
}

}  // namespace

TEST_CASE("angle_degrees against the direct arccos formula and its conventions") {
  std::mt19937_64 rng(1);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (int trial = 0; trial < 20; ++trial) {
    const std::size_t n = 50 + static_cast<std::size_t>(trial) * 37;
    std::vector<float> a(n), b(n);
    const float mix = static_cast<float>(trial) / 20.0f;  // from nearly parallel to unrelated
    for (std::size_t i = 0; i < n; ++i) {
      a[i] = nd(rng);
      b[i] = a[i] * (1.0f - mix) + nd(rng) * (mix + 0.01f);
    }
    const double got = angle_degrees(a, b), want = direct_angle(a, b);
    CHECK(got > 0.0);
    CHECK(std::fabs(got - want) < 1e-7);
    // two parts give the angle of the concatenation
    const std::span<const float> pa[2] = {std::span<const float>(a).first(n / 3),
                                          std::span<const float>(a).subspan(n / 3)};
    const std::span<const float> pb[2] = {std::span<const float>(b).first(n / 3),
                                          std::span<const float>(b).subspan(n / 3)};
    CHECK(std::fabs(
              angle_degrees(std::span<const std::span<const float>>(pa), std::span<const std::span<const float>>(pb)) -
              want) < 1e-7);
  }
  const std::vector<float> x = {1.0f, -2.0f, 3.0f}, y = {-1.0f, 2.0f, -3.0f}, z = {0, 0, 0};
  CHECK(angle_degrees(x, x) == 0.0);
  CHECK(std::fabs(angle_degrees(x, y) - 180.0) < 1e-12);
  CHECK(std::fabs(angle_degrees(std::vector<float>{1, 0}, std::vector<float>{0, 5}) - 90.0) < 1e-12);
  CHECK(angle_degrees(z, z) == 0.0);
  CHECK(angle_degrees(x, z) == 90.0);
  CHECK(angle_degrees(x, std::vector<float>{1.0f, NAN, 3.0f}) == 180.0);
  CHECK_THROWS_AS(angle_degrees(x, std::vector<float>{1.0f}), std::invalid_argument);
}

TEST_CASE("indicator: reference equals a plain FP32 backward; skipped GEMMs leave the first layer unchanged") {
  const io::dataset d = tiny_data(64, 1, 8, 8, 4, 2);
  auto net = make_model("resnet20", {1, 8, 8, 4}, 3);
  auto net2 = make_model("resnet20", {1, 8, 8, 4}, 3);
  std::vector<std::int32_t> labels;
  const tensor x = batch_tensor(d, 0, 16, labels);

  // plain FP32 forward + full backward on a second copy
  run_context ctx;
  tensor logits = net2->forward(x, ctx);
  tensor dl;
  softmax_cross_entropy(logits, labels, &dl);
  net2->backward(dl, ctx, false);

  indicator_options io;
  io.all_layers = false;
  indicator ind(*net, io);
  REQUIRE(ind.layer_names() == std::vector<std::string>{"conv1.weight"});
  ind.set_batch(x, labels, 0);
  REQUIRE(ind.reference().size() == 1);
  CHECK(ind.reference()[0].data == net2->find_parameter("conv1.weight")->grad.data);

  // fp134 errors: the first-layer gradient with all other weight GEMMs skipped equals the one of a
  // backward that computes every weight gradient with the same error quantizer
  const tensor_format f = indicator_format(tf("fp134"), indicator_scale{});
  const format_angles a = ind.evaluate(f);
  // the weight-gradient GEMMs of the other layers never ran, neither for the reference nor for fp134
  CHECK(net->find_parameter("layer3.2.conv2.weight")->grad.data.empty());
  CHECK(net->find_parameter("fc.weight")->grad.data.empty());
  CHECK(net->find_parameter("layer1.0.bn1.weight")->grad.data.empty());

  run_context c2;
  indicator_hook hook(c2, {"conv1", "layer1.0.conv1", "layer3.2.conv2", "fc"});
  hook.set_quantizer(quant_kind::error, f, quantize_options{{}, 0, 0});
  // the same stream seed the indicator uses is irrelevant for rne
  c2.hook = &hook;
  net2->forward(x, c2);  // the W hook is a no-op; A is not quantized
  c2.weight_grads = true;
  net2->backward(dl, c2, false);
  CHECK(net2->find_parameter("conv1.weight")->grad.data == ind.last_gradients()[0].data);
  CHECK(a.first_layer == angle_degrees(ind.reference()[0].values(), ind.last_gradients()[0].values()));
  CHECK(a.first_layer > 0.0);
  CHECK(a.network == a.first_layer);
}

TEST_CASE("FP32 gives angle 0 and a coarser format a larger angle (errors and activations)") {
  const io::dataset d = tiny_data(96, 1, 8, 8, 4, 4);
  auto net = make_model("resnet20", {1, 8, 8, 4}, 5);
  for (const auto target : {indicator_target::errors, indicator_target::activations}) {
    indicator_options io;
    io.target = target;
    io.all_layers = true;
    io.scale = target == indicator_target::errors ? indicator_scale{scale_groups{}, scale_rule::room, 3}
                                                  : indicator_scale{scale_groups{}, scale_rule::room, 1};
    indicator ind(*net, io);
    CHECK(ind.layer_names().size() == 22);  // 19 convs + 2 shortcut convs + fc
    double fine = 0, mid = 0, coarse = 0;
    for (std::int64_t b = 0; b < 3; ++b) {
      std::vector<std::int32_t> labels;
      const tensor x = batch_tensor(d, b, 32, labels);
      ind.set_batch(x, labels, b);
      const format_angles z = ind.evaluate(indicator_format(tf("fp32"), io.scale));
      CHECK(z.first_layer == 0.0);
      CHECK(z.network == 0.0);
      for (const double v : z.layers) CHECK(v == 0.0);
      fine += ind.evaluate(indicator_format(tf("e5m10"), io.scale)).network;
      mid += ind.evaluate(indicator_format(tf("fp134"), io.scale)).network;
      coarse += ind.evaluate(indicator_format(tf("bp:3,2,1,0"), io.scale)).network;
    }
    CHECK(fine > 0.0);
    CHECK(fine < mid);
    CHECK(mid < coarse);
  }
}

TEST_CASE("search: deterministic for any thread count, resumable, shard + merge equals one run") {
  temp_dir dir("lib");
  const io::dataset d = tiny_data(160, 1, 8, 8, 4, 6);
  const model_source src = source_for("resnet20", d, 9);
  const auto cands = every_nth_lee22(50);  // 10 formats over 8/7/6 bits
  search_options opt;
  opt.batches = 4;
  opt.batch_size = 32;
  opt.targets = {indicator_target::errors, indicator_target::activations};
  opt.all_layers = true;

  search_io io1;
  io1.json = dir / "a.json";
  io1.csv = dir / "a.csv";
  io1.svg = dir / "a.svg";
  opt.threads = 1;
  const search_summary s1 = run_search(src, d, cands, opt, io1);
  CHECK(s1.complete);
  const std::string j1 = slurp(io1.json);
  CHECK(j1 == to_json(s1));
  CHECK(slurp(io1.csv) == to_csv(s1));
  CHECK(slurp(io1.svg).find("<svg") == 0);
  CHECK(slurp(io1.svg).find("best:") != std::string::npos);

  // same settings, 2 threads: byte-identical
  search_io io2 = io1;
  io2.json = dir / "b.json";
  io2.csv = dir / "b.csv";
  io2.svg.clear();
  opt.threads = 2;
  run_search(src, d, cands, opt, io2);
  CHECK(slurp(io2.json) == j1);
  CHECK(slurp(io2.csv) == slurp(io1.csv));

  // parse back
  const search_summary back = parse_summary_json(j1, "a.json");
  CHECK(to_json(back) == j1);

  // interrupted twice (in the errors pass and in the activations pass), then resumed
  search_io io3 = io1;
  io3.json = dir / "c.json";
  io3.csv = dir / "c.csv";
  io3.svg.clear();
  io3.interrupt_after = 13;
  CHECK_THROWS_AS(run_search(src, d, cands, opt, io3), search_interrupted);
  CHECK(slurp(io3.json).find("\"complete\": false") != std::string::npos);
  io3.resume = true;
  io3.interrupt_after = 40;
  CHECK_THROWS_AS(run_search(src, d, cands, opt, io3), search_interrupted);
  // a torn last line, as a kill in the middle of a write leaves it
  {
    std::ofstream log(io3.json.string() + ".progress", std::ios::app | std::ios::binary);
    log << "R 1 3 7 24 0x1.8p+1 0x1";
  }
  io3.interrupt_after = 0;
  const search_summary s3 = run_search(src, d, cands, opt, io3);
  CHECK(slurp(io3.json) == j1);
  CHECK(slurp(io3.csv) == slurp(io1.csv));
  CHECK(to_json(s3) == j1);
  // resuming a finished run changes nothing
  run_search(src, d, cands, opt, io3);
  CHECK(slurp(io3.json) == j1);

  // a progress file from other settings is refused
  search_options other = opt;
  other.error_scale.room = 2;
  CHECK_THROWS_WITH_AS(run_search(src, d, cands, other, io3), doctest::Contains("different settings"),
                       std::runtime_error);
  other = opt;
  other.conv = conv_algorithm::im2col;
  CHECK_THROWS_WITH_AS(run_search(src, d, cands, other, io3), doctest::Contains("different settings"),
                       std::runtime_error);
  // the convolution algorithm is recorded, used (im2col rounds differently) and only for the run
  CHECK(j1.find("\"conv\":\"winograd4\"") != std::string::npos);
  {
    search_io iom;
    iom.json = dir / "im2col.json";
    const search_summary sm = run_search(src, d, cands, other, iom);
    const std::string jm = slurp(iom.json);
    CHECK(jm.find("\"conv\":\"im2col\"") != std::string::npos);
    CHECK(jm != j1);
    CHECK(sm.complete);
    CHECK(default_conv_algorithm() == standard_conv_algorithm);
  }
  // a corrupt line in the middle is refused
  {
    std::string text = slurp(io3.json.string() + ".progress");
    const auto p = text.find("\nR ");
    text[p + 5] = text[p + 5] == '1' ? '2' : '1';
    std::ofstream(io3.json.string() + ".progress", std::ios::binary) << text;
    CHECK_THROWS_WITH_AS(run_search(src, d, cands, opt, io3), doctest::Contains("corrupt"), std::runtime_error);
  }

  // shards 0/3, 1/3, 2/3 merged equal one run
  std::vector<search_summary> parts;
  std::vector<std::string> names;
  for (int k = 0; k < 3; ++k) {
    search_options so = opt;
    so.shard_index = k;
    so.shard_count = 3;
    search_io sio;
    sio.json = dir / ("shard" + std::to_string(k) + ".json");
    run_search(src, d, cands, so, sio);
    const std::string text = slurp(sio.json);
    CHECK(text.find("\"shard\": \"" + std::to_string(k) + "/3\"") != std::string::npos);
    parts.push_back(parse_summary_json(text, sio.json.string()));
    names.push_back(sio.json.string());
  }
  CHECK(to_json(merge_summaries(parts, names)) == j1);
  CHECK_THROWS_WITH_AS(merge_summaries({parts[0], parts[1]}, names), doctest::Contains("missing"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(merge_summaries({parts[0], parts[1], parts[1]}, names), doctest::Contains("both shard"),
                       std::invalid_argument);
}

TEST_CASE("early stop keeps the exhaustive top-10 and drops clearly worse formats") {
  temp_dir dir("early");
  const io::dataset d = tiny_data(16 * 24, 1, 8, 8, 4, 8);
  const model_source src = source_for("resnet20", d, 11);
  const auto cands = every_nth_lee22(20);  // 25 formats over 8/7/6 bits
  search_options opt;
  opt.batches = 24;
  opt.batch_size = 16;
  opt.threads = 2;
  search_io io;
  io.json = dir / "full.json";
  const search_summary full = run_search(src, d, cands, opt, io);
  opt.early_stop.enabled = true;
  opt.early_stop.min_batches = 6;
  CHECK_FALSE(opt.early_stop.per_width);  // the default: the top 10 of all formats (per width: below)
  io.json = dir / "early.json";
  const search_summary early = run_search(src, d, cands, opt, io);
  const auto rf = ranking(full.targets[0]), re = ranking(early.targets[0]);
  std::int64_t stopped = 0, evaluations = 0;
  for (const auto& f : early.targets[0].formats) {
    stopped += f.stopped_early;
    evaluations += f.batches;
  }
  MESSAGE("early stop: " << stopped << " of " << cands.size() << " formats dropped, " << evaluations << " of "
                         << cands.size() * 24 << " evaluations");
  CHECK(stopped >= 5);
  {
    // One thread goes one batch at a time; two evaluate two batches at once (each worker its own batch) and
    // discard the second batch's evaluations of formats the first one's test drops: the same results, and the
    // progress log holds the same evaluations.
    search_options one = opt;
    one.threads = 1;
    search_io oio;
    oio.json = dir / "early-1thread.json";
    run_search(src, d, cands, one, oio);
    CHECK(slurp(oio.json) == slurp(io.json));
    auto records = [](const fs::path& p) {
      std::istringstream in(slurp(p));
      std::vector<std::string> lines;
      for (std::string line; std::getline(in, line);) lines.push_back(line);
      std::sort(lines.begin() + 1, lines.end());  // after the header, in completion order
      return lines;
    };
    const auto r1 = records(fs::path(oio.json.string() + ".progress")),
               r2 = records(fs::path(io.json.string() + ".progress"));
    CHECK(r1.size() == static_cast<std::size_t>(evaluations) + 1);
    CHECK(r1 == r2);
  }
  for (std::size_t r = 0; r < 10; ++r) {
    const auto& a = full.targets[0].formats[rf[r]];
    const auto& b = early.targets[0].formats[re[r]];
    CHECK(a.id == b.id);
    CHECK(a.mean == b.mean);
    CHECK_FALSE(b.stopped_early);
  }
  // per bit width (--keep-per-width): the top 3 of every width equal the exhaustive run's, none stopped,
  // and formats are still dropped
  {
    search_options wo = opt;
    wo.early_stop.per_width = true;
    wo.early_stop.keep = 3;
    search_io wio;
    wio.json = dir / "width.json";
    const search_summary width = run_search(src, d, cands, wo, wio);
    std::int64_t wstopped = 0;
    for (const auto& f : width.targets[0].formats) wstopped += f.stopped_early;
    MESSAGE("early stop per width (keep 3): " << wstopped << " of " << cands.size() << " formats dropped");
    CHECK(wstopped >= 3);
    const auto rw = ranking(width.targets[0]);
    for (const int bits : {8, 7, 6}) {
      std::vector<std::string> top_full, top_width;
      for (const std::size_t k : rf)
        if (full.targets[0].formats[k].bits == bits && top_full.size() < 3)
          top_full.push_back(full.targets[0].formats[k].id);
      for (const std::size_t k : rw) {
        const auto& f = width.targets[0].formats[k];
        if (f.bits != bits || top_width.size() >= 3) continue;
        CHECK_FALSE(f.stopped_early);
        top_width.push_back(f.id);
      }
      CHECK_MESSAGE(top_full.size() == 3, bits << "-bit formats in the test list");
      CHECK(top_width == top_full);
    }
  }
  // resuming an interrupted early-stop run replays the same drops
  io.json = dir / "early2.json";
  io.interrupt_after = 150;
  CHECK_THROWS_AS(run_search(src, d, cands, opt, io), search_interrupted);
  io.interrupt_after = 0;
  io.resume = true;
  run_search(src, d, cands, opt, io);
  CHECK(slurp(dir / "early2.json") == slurp(dir / "early.json"));
}

TEST_CASE("hostile settings give clear errors") {
  temp_dir dir("bad");
  const io::dataset d = tiny_data(64, 1, 8, 8, 4, 1);
  const auto cands = spec_candidates(std::vector<std::string>{"fp134", "e4m3", "mxfp8_e4m3"});
  CHECK(cands[0].name == "fp134");
  CHECK(cands[0].bits == 8);
  CHECK(cands[1].id == "e4m3");
  CHECK(cands[2].format.preset == "mxfp8_e4m3");
  CHECK_THROWS_WITH_AS(spec_candidates(std::vector<std::string>{"e9m99x"}), doctest::Contains("format 'e9m99x'"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(spec_candidates(std::vector<std::string>{"fp134", "bp:5x7,4,3,2,1,0"}),
                       doctest::Contains("listed twice"), std::invalid_argument);
  CHECK_THROWS_AS(catalog_candidates("lee23"), std::invalid_argument);
  search_options opt;
  opt.batch_size = 16;
  opt.batches = 5;  // only 4 batches of 16 in 64 images
  search_io io;
  io.json = dir / "x.json";
  CHECK_THROWS_WITH_AS(run_search(source_for("mlp", d, 1), d, cands, opt, io), doctest::Contains("exceeds"),
                       std::invalid_argument);
  opt.batches = 2;
  const io::dataset d3 = tiny_data(64, 3, 8, 8, 4, 1);
  CHECK_THROWS_WITH_AS(run_search(source_for("mlp", d, 1), d3, cands, opt, io), doctest::Contains("expects 1x8x8"),
                       std::invalid_argument);
  opt.shard_index = 2;
  opt.shard_count = 2;
  CHECK_THROWS_AS(run_search(source_for("mlp", d, 1), d, cands, opt, io), std::invalid_argument);
  CHECK_THROWS_WITH_AS(parse_summary_json("{\"a\": 1}", "y.json"), doctest::Contains("y.json"), std::runtime_error);
  CHECK_THROWS_WITH_AS(parse_summary_json("{", "z.json"), doctest::Contains("z.json"), std::runtime_error);
}

// ---- the fmtsim executable ---------------------------------------------------------------------

namespace {

void write_idx(const fs::path& p, const std::vector<std::uint8_t>& data, const std::vector<std::uint32_t>& dims,
               bool images) {
  std::ofstream out(p, std::ios::binary);
  const std::uint8_t magic[4] = {0, 0, 0x08, static_cast<std::uint8_t>(images ? 3 : 1)};
  out.write(reinterpret_cast<const char*>(magic), 4);
  for (const std::uint32_t d : dims) {
    const std::uint8_t be[4] = {static_cast<std::uint8_t>(d >> 24), static_cast<std::uint8_t>(d >> 16),
                                static_cast<std::uint8_t>(d >> 8), static_cast<std::uint8_t>(d)};
    out.write(reinterpret_cast<const char*>(be), 4);
  }
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

void write_idx_dataset(const fs::path& dir, std::uint32_t count, std::uint32_t side) {
  std::mt19937 rng(3);
  for (const char* split : {"train", "t10k"}) {
    std::vector<std::uint8_t> img(static_cast<std::size_t>(count) * side * side), lab(count);
    for (auto& v : img) v = static_cast<std::uint8_t>(rng() & 0xff);
    for (std::uint32_t i = 0; i < count; ++i) lab[i] = static_cast<std::uint8_t>(i % 10);
    write_idx(dir / (std::string(split) + "-images-idx3-ubyte"), img, {count, side, side}, true);
    write_idx(dir / (std::string(split) + "-labels-idx1-ubyte"), lab, {count}, false);
  }
}

using fmtsim_test::run_result;

run_result run(const std::string& args) { return fmtsim_test::run_fmtsim(args); }

std::size_t count_lines(const std::string& s) { return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n')); }

}  // namespace

TEST_CASE("fmtsim search / merge: kill -9 and --resume, shards, hostile input") {
  if (std::getenv("FMTSIM_EXE") == nullptr) {
    MESSAGE("FMTSIM_EXE not set: skipped");
    return;
  }
  temp_dir dir("cli");
  write_idx_dataset(dir.path, 256, 8);
  make_model("resnet20", {1, 8, 8, 10}, 21)->save(dir / "w.safetensors");
  {
    std::ofstream list(dir / "formats.txt");
    list << "# candidates\nfp134\nfp143; "
            "fp152\nint8\nbp:3x7,2,1,0\nbp:4,3,2,1,0\ne4m3\ne5m2\nbp:2x15,1,0\nbp:6x3,5,4,3,2,1,0\n";
  }
  const std::string common = "--arch resnet20 --weights " + (dir / "w.safetensors").string() + " --data " +
                             dir.path.string() + " --formats @" + (dir / "formats.txt").string() +
                             " --batches 6 --batch-size 32 --threads 2 --target both";
  const run_result full = run("search " + common + " --out " + (dir / "full.json").string() + " --csv " +
                              (dir / "full.csv").string() + " --plot " + (dir / "full.svg").string());
  REQUIRE_MESSAGE(full.status == 0, full.output);
  CHECK(full.output.find("theta_E") != std::string::npos);
  CHECK(full.output.find("fp134") != std::string::npos);
  const std::string full_json = slurp(dir / "full.json");

  // kill -9 in the middle, then --resume
  {
    const std::string out = (dir / "killed.json").string();
    const std::string cmdline = "search " + common + " --out " + out + " --quiet";
    std::vector<std::string> argv_s = {std::getenv("FMTSIM_EXE")};
    std::istringstream ss(cmdline);
    for (std::string w; ss >> w;) argv_s.push_back(w);
    std::vector<char*> argv;
    for (auto& s : argv_s) argv.push_back(s.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    REQUIRE(::posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ) == 0);
    const fs::path progress = out + ".progress";
    bool killed = false;
    for (int i = 0; i < 60000 && !killed; ++i) {
      if (fs::exists(progress) && count_lines(slurp(progress)) >= 1 + 15) {
        ::kill(pid, SIGKILL);
        killed = true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    int st = 0;
    ::waitpid(pid, &st, 0);
    REQUIRE(killed);
    CHECK(WIFSIGNALED(st));
    CHECK(count_lines(slurp(progress)) < 1 + 120);  // the run was not finished
    const run_result res = run("search " + common + " --out " + out + " --resume --quiet");
    REQUIRE_MESSAGE(res.status == 0, res.output);
    CHECK(slurp(out) == full_json);
  }

  // shards with the CLI, merged with fmtsim merge
  for (int k = 0; k < 2; ++k) {
    const run_result r = run("search " + common + " --shard " + std::to_string(k) + "/2 --quiet --out " +
                             (dir / ("s" + std::to_string(k) + ".json")).string());
    REQUIRE_MESSAGE(r.status == 0, r.output);
  }
  const run_result m = run("merge " + (dir / "s1.json").string() + " " + (dir / "s0.json").string() + " --out " +
                           (dir / "merged.json").string() + " --csv " + (dir / "merged.csv").string());
  REQUIRE_MESSAGE(m.status == 0, m.output);
  CHECK(slurp(dir / "merged.json") == full_json);
  CHECK(slurp(dir / "merged.csv") == slurp(dir / "full.csv"));

  // --early-stop protects the top --keep of all formats by default, of every bit width with --keep-per-width
  for (const auto& [flag, per_width] :
       {std::pair<std::string, bool>{"", false}, {" --keep-overall", false}, {" --keep-per-width", true}}) {
    const fs::path out = dir / "early.json";
    const run_result r =
        run("search " + common + " --early-stop --keep 2 --min-batches 3 --quiet --out " + out.string() + flag);
    REQUIRE_MESSAGE(r.status == 0, r.output);
    const std::string json = slurp(out);
    CHECK_MESSAGE(json.find(std::string("\"keep_per_width\":") + (per_width ? "true" : "false")) != std::string::npos,
                  flag);
  }

  // hostile input
  const std::string data =
      " --data " + dir.path.string() + " --batches 2 --batch-size 32 --quiet --out " + (dir / "h.json").string();
  auto expect_error = [&](const std::string& args, const std::string& needle) {
    const run_result r = run("search " + args + data);
    CHECK_MESSAGE(r.status != 0, args);
    CHECK_MESSAGE(r.output.find(needle) != std::string::npos, args << " -> " << r.output);
  };
  expect_error("--arch resnet21 --weights " + (dir / "w.safetensors").string(), "unknown architecture 'resnet21'");
  expect_error("--arch resnet20 --weights " + (dir / "missing.safetensors").string(), "missing.safetensors");
  expect_error("--arch resnet20", "--weights");
  expect_error("--arch mlp --weights " + (dir / "w.safetensors").string(), "does not match the mlp architecture");
  expect_error("--arch resnet20 --weights " + (dir / "w.safetensors").string() + " --formats e9m99", "format 'e9m99'");
  expect_error("--arch resnet20 --weights " + (dir / "w.safetensors").string() + " --shard 2/2 --formats fp134",
               "--shard");
  expect_error("--arch resnet20 --weights " + (dir / "w.safetensors").string() + " --target weights", "--target");
  expect_error("--onnx " + (dir / "w.safetensors").string(), "w.safetensors");
  expect_error("--arch resnet20 --weights " + (dir / "w.safetensors").string() +
                   " --formats fp134 --early-stop --keep-overall --keep-per-width",
               "give --keep-overall or --keep-per-width, not both");
  const run_result bad_merge = run("merge " + (dir / "s0.json").string() + " --out " + (dir / "m2.json").string());
  CHECK(bad_merge.status != 0);
  CHECK(bad_merge.output.find("missing") != std::string::npos);
}
