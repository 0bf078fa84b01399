// SPDX-License-Identifier: MIT
// `fmtsim train`: FP32 training of a named architecture on an image dataset, atomic checkpoints.
#include "common.hpp"
#include "registry.hpp"

#include <fmtsim/io/dataset.hpp>
#include <fmtsim/sim/model.hpp>
#include <fmtsim/sim/parallel.hpp>
#include <fmtsim/sim/train.hpp>

#include <cstdio>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

namespace fmtsim::cli {
namespace {

struct train_args {
  std::string arch = "resnet20";
  std::string data = io::default_data_dir.string();
  std::string out;
  std::string init;
  std::string schedule = "cosine";
  int threads = 0;
  bool quiet = false;
  std::int64_t eval_batches = 0;
  sim::train_options opt;
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
  sim::train_options opt = a.opt;
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
  if (!a.init.empty()) net->load(a.init);
  std::cerr << "fmtsim train: " << a.arch << " (" << net->parameter_count() << " parameters) on " << train_set.source
            << ", " << train_set.count << " images " << train_set.channels << "x" << train_set.height << "x"
            << train_set.width << ", " << train_set.num_classes << " classes; test " << test_set.count << " images; "
            << sim::num_threads() << " threads\n"
            << "normalisation mean " << join_floats(train_set.norm.mean) << " std "
            << join_floats(train_set.norm.stddev) << '\n';
  std::ostringstream settings;
  settings << "arch=" << a.arch << " epochs=" << opt.epochs << " batch_size=" << opt.batch_size << " lr=" << opt.lr
           << " momentum=" << opt.momentum << " weight_decay=" << opt.weight_decay << " schedule=" << a.schedule
           << " seed=" << opt.seed << " crop_padding=" << opt.crop_padding << " flip=" << opt.flip
           << (a.init.empty() ? "" : " init=" + a.init);
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

const registrar reg{
    "train", [](CLI::App& app) {
      auto args = std::make_shared<train_args>();
      CLI::App* cmd =
          app.add_subcommand("train", "train a network in FP32 (SGD with momentum) and save a safetensors checkpoint");
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
      cmd->add_option("--seed", args->opt.seed, "seed of initialisation, shuffling, augmentation, dropout")
          ->capture_default_str();
      cmd->add_option("--crop-padding", args->opt.crop_padding,
                      "random-crop augmentation with this zero padding (0: off)")
          ->capture_default_str();
      cmd->add_flag("--flip", args->opt.flip, "random horizontal flip augmentation");
      cmd->add_option("--max-batches", args->opt.max_batches, "stop each epoch after this many batches (0: all)")
          ->capture_default_str();
      cmd->add_option("--threads", args->threads, "worker threads (0: all cores)")->capture_default_str();
      cmd->add_flag("--quiet", args->quiet, "no per-batch progress line");
      cmd->callback([args] { run_train(*args); });
    }};

}  // namespace
}  // namespace fmtsim::cli
