// SPDX-License-Identifier: MIT
// SGD training loop with seeded shuffling and augmentation, and evaluation.
#include "fmtsim/sim/train.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numbers>
#include <stdexcept>

namespace fmtsim::sim {
namespace {

void check_fit(const network& net, const io::dataset& d) {
  const auto& c = net.config();
  if (d.channels != c.in_channels || d.height != c.height || d.width != c.width) {
    throw std::invalid_argument(d.source + ": images are " + std::to_string(d.channels) + "x" +
                                std::to_string(d.height) + "x" + std::to_string(d.width) + " but the model expects " +
                                std::to_string(c.in_channels) + "x" + std::to_string(c.height) + "x" +
                                std::to_string(c.width));
  }
  for (const auto l : d.labels) {
    if (l < 0 || l >= c.num_classes) {
      throw std::invalid_argument(d.source + ": label " + std::to_string(l) + " outside the model's " +
                                  std::to_string(c.num_classes) + " classes");
    }
  }
}

std::uint64_t mix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Random crop (zero padding) and horizontal flip, decided per (seed, epoch, sample index).
void augment(tensor& images, std::span<const std::int64_t> samples, const train_options& opt, int epoch) {
  const std::int64_t n = images.shape[0], c = images.shape[1], h = images.shape[2], w = images.shape[3];
  const std::int64_t pad = opt.crop_padding;
  std::vector<float> plane(static_cast<std::size_t>(h * w));
  for (std::int64_t i = 0; i < n; ++i) {
    const std::uint64_t r = mix(opt.seed ^ mix(static_cast<std::uint64_t>(epoch) * 0x100000001b3ull ^
                                               mix(static_cast<std::uint64_t>(samples[i]))));
    const std::int64_t dy = pad > 0 ? static_cast<std::int64_t>(r % (2 * pad + 1)) - pad : 0;
    const std::int64_t dx = pad > 0 ? static_cast<std::int64_t>((r >> 16) % (2 * pad + 1)) - pad : 0;
    const bool flip = opt.flip && ((r >> 40) & 1u);
    if (dy == 0 && dx == 0 && !flip) continue;
    for (std::int64_t ch = 0; ch < c; ++ch) {
      float* p = images.ptr() + (i * c + ch) * h * w;
      std::copy_n(p, h * w, plane.begin());
      for (std::int64_t y = 0; y < h; ++y) {
        for (std::int64_t x = 0; x < w; ++x) {
          const std::int64_t sy = y + dy, sx0 = x + dx;
          const std::int64_t sx = flip ? (w - 1 - sx0) : sx0;
          p[y * w + x] = (sy >= 0 && sy < h && sx0 >= 0 && sx0 < w) ? plane[sy * w + sx] : 0.0f;
        }
      }
    }
  }
}

}  // namespace

double learning_rate(const train_options& opt, std::int64_t step, std::int64_t total_steps, int epoch) {
  switch (opt.schedule) {
    case lr_schedule::cosine:
      return total_steps <= 0 ? opt.lr
                              : 0.5 * opt.lr *
                                    (1.0 + std::cos(std::numbers::pi * static_cast<double>(step) /
                                                    static_cast<double>(total_steps)));
    case lr_schedule::step:
      return opt.lr * std::pow(opt.gamma, opt.step_size > 0 ? epoch / opt.step_size : 0);
    case lr_schedule::constant:
      return opt.lr;
  }
  return opt.lr;
}

eval_result evaluate(network& net, const io::dataset& data, std::int64_t batch_size, quant_hook* hook,
                     std::int64_t max_batches) {
  check_fit(net, data);
  if (batch_size <= 0) throw std::invalid_argument("evaluate: batch size must be positive");
  const auto order = io::sample_order(data.count, std::nullopt);
  std::int64_t batches = io::batch_count(data.count, batch_size, false);
  if (max_batches > 0) batches = std::min(batches, max_batches);
  run_context ctx;
  ctx.hook = hook;
  eval_result r;
  double loss_sum = 0;
  std::int64_t correct = 0;
  std::vector<float> pixels;
  std::vector<std::int32_t> labels;
  for (std::int64_t b = 0; b < batches; ++b) {
    const std::int64_t n = io::gather_batch(data, order, b, batch_size, pixels, labels);
    tensor x({n, data.channels, data.height, data.width});
    x.data = std::move(pixels);
    const tensor logits = net.forward(std::move(x), ctx);
    std::int64_t hits = 0;
    loss_sum += softmax_cross_entropy(logits, labels, nullptr, &hits) * static_cast<double>(n);
    correct += hits;
    r.count += n;
    pixels = {};
  }
  if (r.count > 0) {
    r.loss = loss_sum / static_cast<double>(r.count);
    r.accuracy = static_cast<double>(correct) / static_cast<double>(r.count);
  }
  return r;
}

std::vector<epoch_report> train(network& net, const io::dataset& train_set, const io::dataset* test_set,
                                const train_options& opt, const std::function<void(const batch_progress&)>& on_batch,
                                const std::function<void(const epoch_report&)>& on_epoch) {
  check_fit(net, train_set);
  if (test_set != nullptr) check_fit(net, *test_set);
  if (opt.epochs <= 0 || opt.batch_size <= 1) {
    throw std::invalid_argument("train: need epochs >= 1 and batch size >= 2");
  }
  std::int64_t batches = io::batch_count(train_set.count, opt.batch_size, true);
  if (opt.max_batches > 0) batches = std::min(batches, opt.max_batches);
  if (batches == 0) throw std::invalid_argument("train: fewer samples than one batch");
  const std::int64_t total_steps = batches * opt.epochs;
  const auto& params = net.parameters();
  std::vector<std::vector<float>> momentum_buf(params.size());
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  std::vector<epoch_report> reports;
  std::vector<float> pixels;
  std::vector<std::int32_t> labels;
  run_context ctx;
  ctx.training = true;
  ctx.hook = opt.hook;
  ctx.dropout_seed = opt.seed;
  std::int64_t step = 0;
  for (int epoch = 0; epoch < opt.epochs; ++epoch) {
    const auto epoch_start = clock::now();
    const auto order = io::sample_order(train_set.count, opt.seed + static_cast<std::uint64_t>(epoch) + 1);
    double loss_sum = 0;
    std::int64_t correct = 0, seen = 0;
    double lr = 0;
    for (std::int64_t b = 0; b < batches; ++b, ++step) {
      const std::int64_t n = io::gather_batch(train_set, order, b, opt.batch_size, pixels, labels);
      tensor x({n, train_set.channels, train_set.height, train_set.width});
      x.data = std::move(pixels);
      pixels = {};
      if (opt.crop_padding > 0 || opt.flip) {
        augment(x, std::span<const std::int64_t>(order).subspan(static_cast<std::size_t>(b * opt.batch_size), n), opt,
                epoch);
      }
      ctx.step = static_cast<std::uint64_t>(step);
      const tensor logits = net.forward(std::move(x), ctx);
      tensor dlogits;
      std::int64_t hits = 0;
      const double loss = softmax_cross_entropy(logits, labels, &dlogits, &hits);
      if (!std::isfinite(loss)) {
        throw std::runtime_error("train: loss is " + std::to_string(loss) + " at epoch " + std::to_string(epoch + 1) +
                                 " batch " + std::to_string(b + 1) + " (lower the learning rate)");
      }
      net.backward(dlogits, ctx, false);
      lr = learning_rate(opt, step, total_steps, epoch);
      for (std::size_t i = 0; i < params.size(); ++i) {
        parameter& p = *params[i];
        auto& buf = momentum_buf[i];
        const bool first = buf.empty();
        if (first) buf.resize(p.value.data.size());
        for (std::size_t k = 0; k < p.value.data.size(); ++k) {
          float g = p.grad.data[k] + static_cast<float>(opt.weight_decay) * p.value.data[k];
          if (opt.momentum != 0) {
            buf[k] = first ? g : static_cast<float>(opt.momentum) * buf[k] + g;
            g = opt.nesterov ? g + static_cast<float>(opt.momentum) * buf[k] : buf[k];
          }
          p.value.data[k] -= static_cast<float>(lr) * g;
        }
      }
      loss_sum += loss * static_cast<double>(n);
      correct += hits;
      seen += n;
      if (on_batch) {
        batch_progress pr;
        pr.epoch = epoch + 1, pr.epochs = opt.epochs, pr.batch = b + 1, pr.batches = batches, pr.lr = lr;
        pr.mean_loss = loss_sum / static_cast<double>(seen);
        pr.accuracy = static_cast<double>(correct) / static_cast<double>(seen);
        pr.elapsed_seconds = std::chrono::duration<double>(clock::now() - start).count();
        pr.eta_seconds =
            pr.elapsed_seconds / static_cast<double>(step + 1) * static_cast<double>(total_steps - step - 1);
        on_batch(pr);
      }
    }
    epoch_report rep;
    rep.epoch = epoch + 1;
    rep.lr = lr;
    rep.train_loss = loss_sum / static_cast<double>(seen);
    rep.train_accuracy = static_cast<double>(correct) / static_cast<double>(seen);
    if (test_set != nullptr) rep.test = evaluate(net, *test_set, opt.eval_batch_size, opt.hook);
    rep.seconds = std::chrono::duration<double>(clock::now() - epoch_start).count();
    reports.push_back(rep);
    if (on_epoch) on_epoch(rep);
  }
  return reports;
}

}  // namespace fmtsim::sim
