// SPDX-License-Identifier: MIT
// Training loop (SGD with momentum and weight decay, cosine/step schedule) and evaluation.
#pragma once

#include "fmtsim/io/dataset.hpp"
#include "fmtsim/sim/model.hpp"
#include "fmtsim/sim/quant_hook.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace fmtsim::sim {

enum class lr_schedule { cosine, step, constant };

struct train_options {
  int epochs = 10;
  std::int64_t batch_size = 128;
  double lr = 0.1;
  double momentum = 0.9;
  double weight_decay = 5e-4;  // applied to every parameter (PyTorch's default parameter group)
  bool nesterov = false;
  lr_schedule schedule = lr_schedule::cosine;  // cosine: per iteration, from lr to 0
  int step_size = 30;                          // step: lr * gamma^(epoch / step_size)
  double gamma = 0.1;
  std::uint64_t seed = 0;        // shuffling, augmentation and dropout masks
  int crop_padding = 0;          // > 0: random crop with this zero padding (per sample)
  bool flip = false;             // random horizontal flip
  quant_hook* hook = nullptr;    // quantizers at A/E/W/G for low-precision runs; null = FP32
  std::int64_t max_batches = 0;  // > 0: stop each epoch after this many batches
  std::int64_t eval_batch_size = 256;
};

struct batch_progress {
  int epoch = 0, epochs = 0;  // epoch counts from 1
  std::int64_t batch = 0, batches = 0;
  double lr = 0, mean_loss = 0, accuracy = 0;   // running over the epoch so far
  double elapsed_seconds = 0, eta_seconds = 0;  // whole run
};

struct eval_result {
  double loss = 0, accuracy = 0;
  std::int64_t count = 0;
};

struct epoch_report {
  int epoch = 0;
  double lr = 0;
  double train_loss = 0, train_accuracy = 0;
  eval_result test;  // count 0 when there is no test set
  double seconds = 0;
};

// Evaluation in eval mode (BatchNorm running statistics, no dropout), batches in order.
eval_result evaluate(network& net, const io::dataset& data, std::int64_t batch_size, quant_hook* hook = nullptr,
                     std::int64_t max_batches = 0);

// Trains in place. Batches come from a seeded shuffle per epoch (seed + epoch); the last partial
// batch is dropped. on_batch / on_epoch may be empty; on_epoch runs after each epoch's evaluation
// (e.g. to save a checkpoint). Throws std::invalid_argument if the data does not fit the model.
std::vector<epoch_report> train(network& net, const io::dataset& train_set, const io::dataset* test_set,
                                const train_options& opt,
                                const std::function<void(const batch_progress&)>& on_batch = {},
                                const std::function<void(const epoch_report&)>& on_epoch = {});

// Learning rate of global step `step` (0-based) of `total_steps`, in epoch `epoch` (0-based).
double learning_rate(const train_options& opt, std::int64_t step, std::int64_t total_steps, int epoch);

}  // namespace fmtsim::sim
