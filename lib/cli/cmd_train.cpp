// SPDX-License-Identifier: MIT
// `fmtsim train` (FP32 or with quantizers at A/E/W/G) and `fmtsim eval` (test loss and accuracy of a checkpoint).
#include "common.hpp"
#include "model_args.hpp"
#include "registry.hpp"

#include <fmtsim/io/dataset.hpp>
#include <fmtsim/sim/model.hpp>
#include <fmtsim/sim/onnx.hpp>
#include <fmtsim/sim/parallel.hpp>
#include <fmtsim/sim/quantizer_hook.hpp>
#include <fmtsim/sim/search.hpp>
#include <fmtsim/sim/train.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

namespace fmtsim::cli {
namespace {

// Quantizer options of one kind; the names follow `fmtsim search` (--error-rule, --error-room, ...).
struct kind_options {
  sim::quant_kind kind;
  const char* spec_option;  // "activations", "errors", "weight-format", "grad-format"
  const char* prefix;       // "activation", "error", "weight", "grad"
  std::string spec, rule = "room", groups = "tensor", rounding;
  int room = 3;
};

// --activations/--errors/--weight-format/--grad-format SPEC with per-kind scale rule, room, groups and
// rounding. Defaults as the search: A room 1, E room 3 (a fresh per-tensor power-of-two scale per call);
// W and G room 3.
struct quant_options {
  std::array<kind_options, 4> kinds{
      {{sim::quant_kind::activation, "activations", "activation", {}, "room", "tensor", {}, 1},
       {sim::quant_kind::error, "errors", "error", {}, "room", "tensor", {}, 3},
       {sim::quant_kind::weight, "weight-format", "weight", {}, "room", "tensor", {}, 3},
       {sim::quant_kind::weight_gradient, "grad-format", "grad", {}, "room", "tensor", {}, 3}}};
  std::string rounding = "rne";

  void add_to(CLI::App& cmd) {
    const char* what[4] = {"activations (forward outputs of Conv/Linear/BatchNorm and residual sums)",
                           "errors (gradients at the same points in the backward pass)",
                           "weights of Conv/Linear as used by forward and backward", "weight gradients of Conv/Linear"};
    for (std::size_t i = 0; i < kinds.size(); ++i) {
      kind_options& k = kinds[i];
      const std::string p = std::string("--") + k.prefix;
      cmd.add_option(std::string("--") + k.spec_option, k.spec,
                     std::string("quantize the ") + what[i] +
                         " to this format (a spec or catalog name: e4m3fn, e5m2, fp134, int8, mxfp8_e4m3, ...); "
                         "default FP32");
      cmd.add_option(p + "-rule", k.rule, std::string("scale rule for ") + k.prefix + ": room, floor, ceil, fp32, none")
          ->capture_default_str();
      cmd.add_option(p + "-room", k.room, std::string("room r: top binade at floor(log2 amax) + r (") + k.prefix + ")")
          ->capture_default_str();
      cmd.add_option(p + "-groups", k.groups,
                     std::string("scale groups for ") + k.prefix + ": tensor, channel:AXIS, block:N[:AXIS], tile:AxB")
          ->capture_default_str();
      cmd.add_option(p + "-rounding", k.rounding,
                     std::string("rounding for ") + k.prefix + " (default: --rounding)" +
                         (k.kind == sim::quant_kind::weight || k.kind == sim::quant_kind::weight_gradient
                              ? "; hys keeps each parameter's previous quantized values"
                              : ""));
    }
    cmd.add_option("--rounding", rounding,
                   "rounding of every quantized kind without its own --KIND-rounding (rne, rna, rtz, rup, rdn, rto, "
                   "sr, srR, hys for W/G); sr streams are keyed by --seed and a per-call counter")
        ->capture_default_str();
  }

  // The hook, or null when every kind stays FP32. Errors as one-line failures naming the option.
  std::unique_ptr<sim::quantizer_hook> build(std::uint64_t seed) const {
    auto hook = std::make_unique<sim::quantizer_hook>(seed);
    for (const kind_options& k : kinds) {
      const std::string p = std::string("--") + k.prefix;
      if (k.spec.empty()) {
        if (!k.rounding.empty()) throw failure(p + "-rounding needs --" + k.spec_option);
        continue;
      }
      sim::indicator_scale scale;
      try {
        scale = sim::parse_indicator_scale(k.rule, k.groups, k.room);
      } catch (const std::invalid_argument& e) {
        throw failure(p + "-" + e.what());
      }
      sim::point_quantizer q;
      try {
        q.format = sim::point_format(k.spec, scale);
      } catch (const std::invalid_argument& e) {
        throw failure(std::string("--") + k.spec_option + ": " + e.what());
      }
      const std::string& r = k.rounding.empty() ? rounding : k.rounding;
      const auto mode = parse_rounding(r);
      if (!mode)
        throw failure((k.rounding.empty() ? std::string("--rounding") : p + "-rounding") + ": unknown mode '" + r +
                      "' (" + std::string(rounding_names_help()) + ")");
      q.rounding = *mode;
      if (q.rounding.kind == rounding::hys && k.rounding.empty() &&
          (k.kind == sim::quant_kind::activation || k.kind == sim::quant_kind::error))
        throw failure("--rounding hys applies to weights and weight gradients only: use --weight-rounding hys");
      try {
        hook->set(k.kind, q);
      } catch (const std::invalid_argument& e) {
        throw failure(e.what());
      }
    }
    if (!hook->any()) return nullptr;
    return hook;
  }
};

struct train_args {
  std::string arch = "resnet20";
  std::string data = io::default_data_dir.string();
  std::string out;
  std::string init;
  std::string schedule = "cosine";
  int threads = 0;
  std::string conv{sim::to_string(sim::standard_conv_algorithm)};
  bool quiet = false;
  std::int64_t eval_batches = 0;
  quant_options quant;
  sim::train_options opt;
};

struct eval_args : model_args {
  std::string data = io::default_data_dir.string();
  std::string json;
  std::int64_t batch_size = 256, max_batches = 0;
  std::uint64_t seed = 0;
  int threads = 0;
  std::string conv{sim::to_string(sim::standard_conv_algorithm)};
  quant_options quant;
};

std::string format_duration(double s) {
  const long t = static_cast<long>(s + 0.5);
  char buf[32];
  if (t >= 3600) {
    std::snprintf(buf, sizeof buf, "%ldh%02ldm%02lds", t / 3600, (t / 60) % 60, t % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  }
  return buf;
}

std::string join_floats(const std::vector<float>& v) {
  std::ostringstream s;
  s.precision(9);
  for (std::size_t i = 0; i < v.size(); ++i) s << (i ? "," : "") << v[i];
  return s.str();
}

void run_train(const train_args& a) {
  if (a.threads > 0) sim::set_num_threads(a.threads);
  apply_conv_option(a.conv);
  sim::train_options opt = a.opt;
  check_arch(a.arch);
  const std::unique_ptr<sim::quantizer_hook> hook = a.quant.build(opt.seed);
  opt.hook = hook.get();
  if (a.schedule == "cosine") {
    opt.schedule = sim::lr_schedule::cosine;
  } else if (a.schedule == "step") {
    opt.schedule = sim::lr_schedule::step;
  } else if (a.schedule == "constant") {
    opt.schedule = sim::lr_schedule::constant;
  } else {
    throw failure("--schedule must be cosine, step or constant");
  }
  const io::dataset train_set = io::load_dataset(a.data, io::split::train);
  const io::dataset test_set = io::load_dataset(a.data, io::split::test, train_set.norm);
  sim::model_config cfg{train_set.channels, train_set.height, train_set.width, train_set.num_classes};
  std::unique_ptr<sim::network> net;
  try {
    net = sim::make_model(a.arch, cfg, opt.seed);
  } catch (const std::invalid_argument& e) {
    throw failure(e.what());
  }
  if (!a.init.empty()) {
    try {
      net->load(a.init);
    } catch (const std::exception& e) {
      throw failure(std::string("--init: ") + e.what());
    }
  }
  std::cerr << "fmtsim train: " << a.arch << " (" << net->parameter_count() << " parameters) on " << train_set.source
            << ", " << train_set.count << " images " << train_set.channels << "x" << train_set.height << "x"
            << train_set.width << ", " << train_set.num_classes << " classes; test " << test_set.count << " images; "
            << sim::num_threads() << " threads\n"
            << "quantizers: " << (hook ? sim::describe(*hook) : std::string("FP32")) << '\n'
            << "normalisation mean " << join_floats(train_set.norm.mean) << " std "
            << join_floats(train_set.norm.stddev) << '\n';
  std::ostringstream settings;
  settings << "arch=" << a.arch << " epochs=" << opt.epochs << " batch_size=" << opt.batch_size << " lr=" << opt.lr
           << " momentum=" << opt.momentum << " weight_decay=" << opt.weight_decay << " schedule=" << a.schedule
           << " seed=" << opt.seed << " crop_padding=" << opt.crop_padding << " flip=" << opt.flip
           << (a.init.empty() ? "" : " init=" + a.init) << (hook ? " quantizers=" + sim::describe(*hook) : "");
  auto on_batch = [&](const sim::batch_progress& p) {
    if (a.quiet) return;
    std::fprintf(stderr, "\repoch %d/%d batch %lld/%lld  loss %.4f  acc %.2f%%  lr %.5f  ETA %s   ", p.epoch, p.epochs,
                 static_cast<long long>(p.batch), static_cast<long long>(p.batches), p.mean_loss, 100.0 * p.accuracy,
                 p.lr, format_duration(p.eta_seconds).c_str());
    std::fflush(stderr);
  };
  auto on_epoch = [&](const sim::epoch_report& r) {
    if (!a.quiet) std::fprintf(stderr, "\n");
    std::printf("epoch %d/%d: train loss %.4f acc %.2f%% | test loss %.4f acc %.2f%% | %.1f s\n", r.epoch, opt.epochs,
                r.train_loss, 100.0 * r.train_accuracy, r.test.loss, 100.0 * r.test.accuracy, r.seconds);
    std::fflush(stdout);
    if (!a.out.empty()) {
      std::map<std::string, std::string> meta;
      meta["fmtsim.data"] = a.data;
      meta["fmtsim.norm_mean"] = join_floats(train_set.norm.mean);
      meta["fmtsim.norm_std"] = join_floats(train_set.norm.stddev);
      meta["fmtsim.epoch"] = std::to_string(r.epoch);
      meta["fmtsim.test_accuracy"] = std::to_string(r.test.accuracy);
      meta["fmtsim.train_settings"] = settings.str();
      net->save(a.out, meta);
    }
  };
  try {
    sim::train(*net, train_set, &test_set, opt, on_batch, on_epoch);
  } catch (const std::invalid_argument& e) {
    throw failure(e.what());
  }
  if (!a.out.empty()) std::printf("saved %s\n", a.out.c_str());
}

void run_eval(eval_args& a) {
  if (a.threads > 0) sim::set_num_threads(a.threads);
  apply_conv_option(a.conv);
  if (resolve_model(a)) {
    std::fprintf(stderr, "fmtsim eval: no model given: the shipped reference checkpoint %s (resnet20)\n",
                 a.weights.c_str());
  }
  if (a.batch_size <= 0) throw failure("--batch-size must be positive");
  if (a.max_batches < 0) throw failure("--max-batches must be >= 0");
  const std::unique_ptr<sim::quantizer_hook> hook = a.quant.build(a.seed);
  // The test split normalised with the training split's statistics, as `fmtsim train` evaluates it.
  const io::dataset train_set = io::load_dataset(a.data, io::split::train);
  const io::dataset test_set = io::load_dataset(a.data, io::split::test, train_set.norm);
  std::unique_ptr<sim::network> net;
  try {
    if (!a.arch.empty()) {
      net = sim::make_model(
          a.arch, sim::model_config{test_set.channels, test_set.height, test_set.width, test_set.num_classes});
      net->load(a.weights);
    } else {
      net = sim::load_onnx(a.onnx);
    }
  } catch (const failure&) {
    throw;
  } catch (const std::exception& e) {
    throw failure((a.arch.empty() ? std::string("--onnx: ") : std::string("--weights: ")) + e.what());
  }
  sim::eval_result r;
  try {
    r = sim::evaluate(*net, test_set, a.batch_size, hook.get(), a.max_batches);
  } catch (const std::invalid_argument& e) {
    throw failure(e.what());
  }
  const std::string quantizers = hook ? sim::describe(*hook) : std::string("FP32");
  std::printf("%s on %s: test loss %.4f acc %.2f%% (%lld images; quantizers: %s)\n",
              a.arch.empty() ? net->arch().c_str() : a.arch.c_str(), test_set.source.c_str(), r.loss,
              100.0 * r.accuracy, static_cast<long long>(r.count), quantizers.c_str());
  std::fflush(stdout);
  if (!a.json.empty()) {
    nlohmann::ordered_json j;
    j["model"] = a.arch.empty() ? "onnx" : "arch";
    j["arch"] = a.arch.empty() ? net->arch() : a.arch;
    j["path"] = a.arch.empty() ? a.onnx : a.weights;
    j["data"] = test_set.source;
    j["batch_size"] = a.batch_size;
    j["max_batches"] = a.max_batches;
    j["quantizers"] = quantizers;
    j["seed"] = a.seed;
    j["count"] = r.count;
    j["loss"] = r.loss;
    j["accuracy"] = r.accuracy;
    try {
      sim::write_file_atomic(a.json, j.dump(2) + "\n");
    } catch (const std::exception& e) {
      throw failure("--json " + a.json + ": " + e.what());
    }
  }
}

const registrar reg_eval{
    "eval", [](CLI::App& app) {
      auto args = std::make_shared<eval_args>();
      CLI::App* cmd = app.add_subcommand(
          "eval", "test loss and accuracy of a checkpoint, in FP32 or with quantizers at A/E/W/G (eval mode)");
      cmd->add_option("--arch", args->arch,
                      "architecture of --weights: resnet20, resnet32, resnet56, vgg_small, mlp (no model option: the "
                      "shipped reference checkpoint, resnet20 on Fashion-MNIST)");
      cmd->add_option("--weights", args->weights, "weights (.safetensors, PyTorch state_dict names)");
      cmd->add_option("--onnx", args->onnx, "the model as ONNX instead of --arch/--weights");
      cmd->add_option("--data", args->data,
                      "dataset directory (IDX or CIFAR binary) or .npz; the test split, normalised with the training "
                      "split's statistics as in fmtsim train")
          ->capture_default_str();
      cmd->add_option("--batch-size", args->batch_size, "evaluation batch size (fmtsim train evaluates with 256)")
          ->capture_default_str();
      cmd->add_option("--max-batches", args->max_batches, "evaluate only the first N test batches (0: all)")
          ->capture_default_str();
      cmd->add_option("--seed", args->seed, "seed of stochastic rounding")->capture_default_str();
      cmd->add_option("--threads", args->threads, "worker threads (0: all cores)")->capture_default_str();
      add_conv_option(*cmd, args->conv);
      cmd->add_option("--json", args->json, "also write the result as JSON (atomically)");
      args->quant.add_to(*cmd);
      cmd->callback([args] { run_eval(*args); });
    }};

const registrar reg{
    "train", [](CLI::App& app) {
      auto args = std::make_shared<train_args>();
      CLI::App* cmd =
          app.add_subcommand("train",
                             "train a network (SGD with momentum) in FP32 or with quantizers at A/E/W/G, and save a "
                             "safetensors checkpoint");
      cmd->add_option("--arch", args->arch, "architecture: resnet20, resnet32, resnet56, vgg_small, mlp")
          ->capture_default_str();
      cmd->add_option("--data", args->data, "dataset directory (IDX or CIFAR binary) or .npz file")
          ->capture_default_str();
      cmd->add_option("--out", args->out, "checkpoint to write (atomically) after every epoch (.safetensors)");
      cmd->add_option("--init", args->init, "start from this checkpoint instead of a fresh initialisation");
      cmd->add_option("--epochs", args->opt.epochs, "epochs")->capture_default_str();
      cmd->add_option("--batch-size", args->opt.batch_size, "mini-batch size")->capture_default_str();
      cmd->add_option("--lr", args->opt.lr, "initial learning rate")->capture_default_str();
      cmd->add_option("--momentum", args->opt.momentum, "SGD momentum")->capture_default_str();
      cmd->add_option("--weight-decay", args->opt.weight_decay, "L2 weight decay (all parameters)")
          ->capture_default_str();
      cmd->add_flag("--nesterov", args->opt.nesterov, "Nesterov momentum");
      cmd->add_option("--schedule", args->schedule, "learning-rate schedule: cosine (per iteration), step, constant")
          ->capture_default_str();
      cmd->add_option("--step-size", args->opt.step_size, "step schedule: epochs between decays")
          ->capture_default_str();
      cmd->add_option("--gamma", args->opt.gamma, "step schedule: decay factor")->capture_default_str();
      cmd->add_option("--seed", args->opt.seed,
                      "seed of initialisation, shuffling, augmentation, dropout and stochastic rounding")
          ->capture_default_str();
      cmd->add_option("--crop-padding", args->opt.crop_padding,
                      "random-crop augmentation with this zero padding (0: off)")
          ->capture_default_str();
      cmd->add_flag("--flip", args->opt.flip, "random horizontal flip augmentation");
      cmd->add_option("--max-batches", args->opt.max_batches, "stop each epoch after this many batches (0: all)")
          ->capture_default_str();
      cmd->add_option("--threads", args->threads, "worker threads (0: all cores)")->capture_default_str();
      add_conv_option(*cmd, args->conv);
      cmd->add_flag("--quiet", args->quiet, "no per-batch progress line");
      args->quant.add_to(*cmd);
      cmd->callback([args] { run_train(*args); });
    }};

}  // namespace
}  // namespace fmtsim::cli
