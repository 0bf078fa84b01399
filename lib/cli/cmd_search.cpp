// SPDX-License-Identifier: MIT
// `fmtsim search` (gradient-angle format search on a pretrained model) and `fmtsim merge` (shard results).
#include "common.hpp"
#include "model_args.hpp"
#include "registry.hpp"

#include <fmtsim/formats/catalog.hpp>
#include <fmtsim/io/dataset.hpp>
#include <fmtsim/sim/model.hpp>
#include <fmtsim/sim/onnx.hpp>
#include <fmtsim/sim/search.hpp>

#include <malloc.h>
#include <unistd.h>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

namespace fmtsim::cli {
namespace {

const std::vector<std::string> reference_formats = {"fp134", "fp143", "fp152", "int8"};

struct search_args : model_args {
  std::string data = io::default_data_dir.string();
  std::string catalog;
  std::vector<std::string> formats;
  std::string target = "errors";
  std::string score = "first-layer";
  std::string out = "search.json", csv, plot;
  std::string shard;
  std::string error_rule = "room", activation_rule = "room";
  std::string error_groups = "tensor", activation_groups = "tensor";
  std::string rounding = "rne";
  std::string conv{sim::to_string(sim::standard_conv_algorithm)};
  int top = 20;
  bool resume = false, quiet = false, early_stop = false, keep_overall = false, keep_per_width = false;
  sim::search_options opt;
};

struct merge_args {
  std::vector<std::string> inputs;
  std::string out, csv, plot;
  int top = 20;
};

std::string duration(double s) {
  if (!(s >= 0) || s > 1e8) return "?";
  const long t = static_cast<long>(s + 0.5);
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ldh%02ldm%02lds", t / 3600, (t / 60) % 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  return buf;
}

void print_ranking(const sim::search_summary& s, int top) {
  for (const auto& ts : s.targets) {
    const auto order = sim::ranking(ts);
    std::int64_t stopped = 0, full = 0, max_batches = 0;
    for (const auto& f : ts.formats) {
      stopped += f.stopped_early;
      max_batches = std::max(max_batches, f.batches);
    }
    for (const auto& f : ts.formats) full += !f.stopped_early && f.batches == max_batches;
    std::printf(
        "\n%s: %zu formats, %lld evaluated on all %lld batches, %lld stopped early%s\n",
        ts.target == sim::indicator_target::errors ? "theta_E (errors quantized)" : "theta_A (activations quantized)",
        ts.formats.size(), static_cast<long long>(full), static_cast<long long>(max_batches),
        static_cast<long long>(stopped), s.complete ? "" : " (INCOMPLETE)");
    std::printf("%5s  %-28s %-8s %4s  %9s  %9s  %7s\n", "rank", "format", "name", "bits", "mean(deg)", "stderr",
                "batches");
    auto row = [&](std::size_t r) {
      const auto& f = ts.formats[order[r]];
      if (f.batches == 0) {
        std::printf("%5zu  %-28s %-8s %4d  %9s  %9s  %7lld\n", r + 1, f.id.c_str(), f.name.c_str(), f.bits, "-", "-",
                    0LL);
        return;
      }
      char se[32] = "-";
      if (f.batches >= 2) std::snprintf(se, sizeof se, "%.4f", f.stderr_);
      std::printf("%5zu  %-28s %-8s %4d  %9.4f  %9s  %7lld%s\n", r + 1, f.id.c_str(), f.name.c_str(), f.bits, f.mean,
                  se, static_cast<long long>(f.batches), f.stopped_early ? "  (stopped early)" : "");
    };
    const std::size_t shown = std::min<std::size_t>(order.size(), static_cast<std::size_t>(std::max(0, top)));
    for (std::size_t r = 0; r < shown; ++r) row(r);
    bool header = false;
    for (const auto& ref : reference_formats) {
      for (std::size_t r = 0; r < order.size(); ++r) {
        if (ts.formats[order[r]].name != ref) continue;
        if (r < shown) break;
        if (!header) {
          std::printf("  ...\n");
          header = true;
        }
        row(r);
      }
    }
  }
  std::fflush(stdout);
}

std::vector<std::string> expand_format_list(const std::vector<std::string>& items) {
  std::vector<std::string> out;
  auto add_split = [&](const std::string& text) {
    std::string cur;
    for (const char c : text + ";") {
      if (c == ';' || c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        if (!cur.empty() && cur[0] != '#') out.push_back(cur);
        cur.clear();
      } else {
        cur += c;
      }
    }
  };
  for (const auto& item : items) {
    if (!item.empty() && item[0] == '@') {
      std::ifstream in(item.substr(1));
      if (!in) throw failure("--formats: cannot read the list file " + item.substr(1));
      std::string line;
      while (std::getline(in, line)) {
        const auto hash = line.find('#');
        add_split(hash == std::string::npos ? line : line.substr(0, hash));
      }
    } else {
      add_split(item);
    }
  }
  return out;
}

sim::indicator_scale parse_scale(const std::string& rule, const std::string& groups, int room, const char* what) {
  try {
    return sim::parse_indicator_scale(rule, groups, room);
  } catch (const std::invalid_argument& e) {
    // "--error-rule must be ..." / "--error-groups: ..."
    throw failure(std::string("--") + what + "-" + e.what());
  }
}

void write_outputs(const sim::search_summary& s, const std::string& out, const std::string& csv,
                   const std::string& plot) {
  if (!out.empty()) sim::write_file_atomic(out, sim::to_json(s));
  if (!csv.empty()) sim::write_file_atomic(csv, sim::to_csv(s));
  if (!plot.empty()) sim::write_file_atomic(plot, sim::to_svg(s));
}

void run_search_cmd(search_args& a) {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  // The engine allocates the same large tensors for every evaluation: keep them in the heap instead of
  // mapping and faulting in fresh pages each time (glibc).
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  sim::search_options opt = a.opt;
  opt.conv = parse_conv_option(a.conv);
  // ---- model
  if (resolve_model(a) && !a.quiet) {
    std::fprintf(stderr, "fmtsim search: no model given: the shipped reference checkpoint %s (resnet20)\n",
                 a.weights.c_str());
  }
  // ---- targets, score, scales
  if (a.target == "errors")
    opt.targets = {sim::indicator_target::errors};
  else if (a.target == "activations")
    opt.targets = {sim::indicator_target::activations};
  else if (a.target == "both")
    opt.targets = {sim::indicator_target::errors, sim::indicator_target::activations};
  else
    throw failure("--target must be errors, activations or both, not '" + a.target + "'");
  const auto score = sim::parse_score_kind(a.score);
  if (!score) throw failure("--score must be first-layer, network or layer, not '" + a.score + "'");
  opt.score = *score;
  opt.error_scale = parse_scale(a.error_rule, a.error_groups, opt.error_scale.room, "error");
  opt.activation_scale = parse_scale(a.activation_rule, a.activation_groups, opt.activation_scale.room, "activation");
  const auto mode = parse_rounding(a.rounding);
  if (!mode)
    throw failure("--rounding: unknown mode '" + a.rounding + "' (" + std::string(rounding_names_help()) + ")");
  opt.rounding = *mode;
  if (!a.shard.empty()) {
    const auto slash = a.shard.find('/');
    try {
      std::size_t p1 = 0, p2 = 0;
      if (slash == std::string::npos) throw std::invalid_argument("no slash");
      opt.shard_index = std::stoi(a.shard.substr(0, slash), &p1);
      opt.shard_count = std::stoi(a.shard.substr(slash + 1), &p2);
      if (p1 != slash || p2 != a.shard.size() - slash - 1) throw std::invalid_argument("trailing text");
    } catch (const std::exception&) {
      throw failure("--shard must be i/n (e.g. 0/4), not '" + a.shard + "'");
    }
    if (opt.shard_count < 1 || opt.shard_index < 0 || opt.shard_index >= opt.shard_count)
      throw failure("--shard " + a.shard + ": need 0 <= i < n");
  }
  opt.early_stop.enabled = a.early_stop;
  if (a.keep_overall && a.keep_per_width) throw failure("give --keep-overall or --keep-per-width, not both");
  opt.early_stop.per_width = a.keep_per_width;
  if (opt.early_stop.enabled) opt.early_stop.protect = reference_formats;
  // ---- candidates
  std::vector<sim::search_candidate> candidates;
  if (!a.formats.empty() && !a.catalog.empty()) throw failure("give --catalog or --formats, not both");
  try {
    if (!a.formats.empty())
      candidates = sim::spec_candidates(expand_format_list(a.formats));
    else
      candidates = sim::catalog_candidates(a.catalog.empty() ? "lee22" : a.catalog);
  } catch (const failure&) {
    throw;
  } catch (const std::exception& e) {
    throw failure(e.what());
  }
  // ---- data and model
  const io::dataset train = io::load_dataset(a.data, io::split::train);
  sim::model_source src;
  if (!a.arch.empty()) {
    src.kind = "arch";
    src.arch = a.arch;
    src.path = a.weights;
    src.hash = sim::file_hash(a.weights);
    const sim::model_config cfg{train.channels, train.height, train.width, train.num_classes};
    const std::string arch = a.arch, weights = a.weights;
    src.make = [arch, weights, cfg] {
      auto net = sim::make_model(arch, cfg);
      net->load(weights);
      return net;
    };
  } else {
    src.kind = "onnx";
    src.path = a.onnx;
    src.hash = sim::file_hash(a.onnx);
    const std::string path = a.onnx;
    src.arch = sim::load_onnx(path)->arch();
    src.make = [path] { return sim::load_onnx(path); };
  }
  sim::search_io sio;
  sio.json = a.out;
  sio.csv = a.csv;
  sio.svg = a.plot;
  sio.resume = a.resume;
  const bool tty = ::isatty(2) != 0;
  auto last_print = clock::now() - std::chrono::seconds(10);
  if (!a.quiet) {
    sio.on_progress = [&](const sim::search_progress& p) {
      const auto now = clock::now();
      if (!tty && now - last_print < std::chrono::seconds(10)) return;
      last_print = now;
      const double frac = p.total > 0 ? static_cast<double>(p.done) / static_cast<double>(p.total) : 0.0;
      const int width = 24, filled = static_cast<int>(frac * width);
      std::string bar(static_cast<std::size_t>(filled), '#');
      bar.resize(width, '.');
      std::fprintf(
          stderr,
          "%s[%s] %5.1f%%  %s batch %lld/%lld  formats %lld  evals %lld/%lld  %.3fs/eval  elapsed %s  ETA %s   %s",
          tty ? "\r" : "", bar.c_str(), 100.0 * frac, std::string(sim::to_string(p.target)).c_str(),
          static_cast<long long>(p.batch + 1), static_cast<long long>(p.batches), static_cast<long long>(p.survivors),
          static_cast<long long>(p.done), static_cast<long long>(p.total), p.seconds_per_evaluation,
          duration(p.elapsed_seconds).c_str(), duration(p.eta_seconds).c_str(), tty ? "" : "\n");
      std::fflush(stderr);
    };
  }
  const std::filesystem::path progress_file = a.out + ".progress";
  if (a.resume && !std::filesystem::exists(progress_file) && !a.quiet)
    std::fprintf(stderr, "fmtsim search: --resume: no %s yet, starting from the beginning\n", progress_file.c_str());
  if (!a.quiet) {
    std::fprintf(stderr,
                 "fmtsim search: %s (%s) on %s, %zu formats%s, target %s, score %s, %lld batches of %lld, %d threads\n",
                 src.arch.c_str(), src.path.c_str(), train.source.c_str(), candidates.size(),
                 opt.shard_count > 1 ? (" (shard " + a.shard + ")").c_str() : "", a.target.c_str(), a.score.c_str(),
                 static_cast<long long>(opt.batches), static_cast<long long>(opt.batch_size),
                 opt.threads > 0 ? opt.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  }
  sim::search_summary result;
  try {
    result = sim::run_search(src, train, candidates, opt, sio);
  } catch (const std::invalid_argument& e) {
    throw failure(e.what());
  }
  const double secs = std::chrono::duration<double>(clock::now() - t0).count();
  if (!a.quiet)
    std::fprintf(stderr, "%sdone in %s; results in %s\n", tty ? "\n" : "", duration(secs).c_str(), a.out.c_str());
  print_ranking(result, a.top);
}

void run_merge_cmd(const merge_args& a) {
  if (a.inputs.empty()) throw failure("merge: no shard results given");
  if (a.out.empty()) throw failure("merge: --out FILE is required");
  std::vector<sim::search_summary> shards;
  for (const auto& in : a.inputs) {
    std::ifstream f(in, std::ios::binary);
    if (!f) throw failure("merge: cannot read " + in);
    std::ostringstream s;
    s << f.rdbuf();
    shards.push_back(sim::parse_summary_json(s.str(), in));
  }
  sim::search_summary merged;
  try {
    merged = sim::merge_summaries(shards, a.inputs);
  } catch (const std::invalid_argument& e) {
    throw failure(e.what());
  }
  write_outputs(merged, a.out, a.csv, a.plot);
  print_ranking(merged, a.top);
}

const registrar reg_search{
    "search", [](CLI::App& app) {
      auto a = std::make_shared<search_args>();
      CLI::App* cmd = app.add_subcommand("search",
                                         "rank formats for errors/activations with the gradient-angle indicator (Lee "
                                         "et al. 2022) on a pretrained model");
      cmd->add_option("--arch", a->arch,
                      "architecture of --weights: resnet20, resnet32, resnet56, vgg_small, mlp (no model option: the "
                      "shipped reference checkpoint, resnet20 on Fashion-MNIST)");
      cmd->add_option("--weights", a->weights, "pretrained weights (.safetensors, PyTorch state_dict names)");
      cmd->add_option(
          "--onnx", a->onnx,
          "pretrained model as ONNX (Conv, Gemm/MatMul, BatchNormalization, Relu, Clip, pooling, Flatten, Add)");
      cmd->add_option("--data", a->data, "dataset directory (IDX or CIFAR binary) or .npz; the training split is used")
          ->capture_default_str();
      cmd->add_option("--catalog", a->catalog, "candidate catalog: lee22 (default) or lee22-extra");
      cmd->add_option(
          "--formats", a->formats,
          "candidate formats instead of a catalog: specs separated by ';' or spaces (bp:..., fp134, e4m3, int8, "
          "mxfp8_e4m3, ...), or @FILE with one spec per line");
      cmd->add_option("--target", a->target, "errors (theta_E), activations (theta_A) or both")->capture_default_str();
      cmd->add_option("--batches", a->opt.batches, "the first N training mini-batches (file order, no shuffling)")
          ->capture_default_str();
      cmd->add_option("--batch-size", a->opt.batch_size, "mini-batch size")->capture_default_str();
      cmd->add_option("--score", a->score,
                      "first-layer (the paper's), network (all weight gradients) or layer (mean per-layer angle)")
          ->capture_default_str();
      cmd->add_option("--out", a->out,
                      "results JSON (rewritten atomically after every batch; progress log OUT.progress)")
          ->capture_default_str();
      cmd->add_option("--csv", a->csv, "also write the results as CSV");
      cmd->add_option("--plot", a->plot, "draw score against format as SVG");
      cmd->add_flag("--resume", a->resume, "continue an interrupted run from OUT.progress (same settings)");
      cmd->add_option("--threads", a->opt.threads, "worker threads (0: all cores)")->capture_default_str();
      add_conv_option(*cmd, a->conv);
      cmd->add_flag("--early-stop", a->early_stop,
                    "drop formats that are clearly worse than the top --keep by a paired sequential test "
                    "(fp134/fp143/fp152/int8 are never dropped)");
      cmd->add_option("--keep", a->opt.early_stop.keep,
                      "early stop: size of the protected top (a format is dropped only when it is clearly worse "
                      "than --keep others)")
          ->capture_default_str();
      cmd->add_flag("--keep-per-width", a->keep_per_width,
                    "early stop: protect the top --keep of every bit width (only formats with at most as many "
                    "bits count against a format; about 60% more evaluations)");
      cmd->add_flag("--keep-overall", a->keep_overall,
                    "early stop: protect the top --keep of all formats (the default)");
      cmd->add_option("--z", a->opt.early_stop.z, "early stop: standard errors a paired difference must exceed")
          ->capture_default_str();
      cmd->add_option("--min-batches", a->opt.early_stop.min_batches, "early stop: batches before the first drop")
          ->capture_default_str();
      cmd->add_option("--shard", a->shard,
                      "evaluate only candidates with index % n == i (i/n); combine with fmtsim merge");
      cmd->add_option("--error-rule", a->error_rule, "scale rule for errors: room, floor, ceil, fp32, none")
          ->capture_default_str();
      cmd->add_option("--error-room", a->opt.error_scale.room, "room r: top binade at floor(log2 amax) + r (errors)")
          ->capture_default_str();
      cmd->add_option("--error-groups", a->error_groups,
                      "scale groups for errors: tensor, channel:AXIS, block:N[:AXIS], tile:AxB")
          ->capture_default_str();
      cmd->add_option("--activation-rule", a->activation_rule, "scale rule for activations")->capture_default_str();
      cmd->add_option("--activation-room", a->opt.activation_scale.room, "room for activations")->capture_default_str();
      cmd->add_option("--activation-groups", a->activation_groups, "scale groups for activations")
          ->capture_default_str();
      cmd->add_option("--rounding", a->rounding, "rounding mode (rne, rna, rtz, rup, rdn, rto, sr, srR)")
          ->capture_default_str();
      cmd->add_option("--seed", a->opt.seed, "seed of stochastic rounding")->capture_default_str();
      cmd->add_flag("--all-layers", a->opt.all_layers,
                    "compute every weight gradient (per-layer and whole-network angles) also for --score first-layer");
      cmd->add_option("--top", a->top, "rows of the ranking table")->capture_default_str();
      cmd->add_flag("--quiet", a->quiet, "no progress on stderr");
      cmd->callback([a] { run_search_cmd(*a); });
    }};

const registrar reg_merge{
    "merge", [](CLI::App& app) {
      auto a = std::make_shared<merge_args>();
      CLI::App* cmd =
          app.add_subcommand("merge", "combine the results of fmtsim search --shard i/n runs into one result");
      cmd->add_option("inputs", a->inputs, "shard results (JSON written by fmtsim search --shard)")->required();
      cmd->add_option("--out", a->out, "merged results JSON")->required();
      cmd->add_option("--csv", a->csv, "also write CSV");
      cmd->add_option("--plot", a->plot, "draw the SVG plot");
      cmd->add_option("--top", a->top, "rows of the ranking table")->capture_default_str();
      cmd->callback([a] { run_merge_cmd(*a); });
    }};

}  // namespace
}  // namespace fmtsim::cli
