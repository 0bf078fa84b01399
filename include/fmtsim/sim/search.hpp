// SPDX-License-Identifier: MIT
// Format search with the gradient-angle indicator: ranking, resumable progress log, JSON/CSV/SVG, shards.
#pragma once

#include "fmtsim/formats/tensor.hpp"
#include "fmtsim/io/dataset.hpp"
#include "fmtsim/sim/indicator.hpp"
#include "fmtsim/sim/model.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace fmtsim::sim {

// The per-batch number a format is ranked by (lower is better):
//   first_layer: the angle of the first Conv/Linear weight gradient (the paper's score);
//   network:     the angle of all Conv/Linear weight gradients concatenated;
//   layer_mean:  the mean over layers of the per-layer angles.
enum class score_kind { first_layer, network, layer_mean };
std::string_view to_string(score_kind s) noexcept;  // "first-layer", "network", "layer"
std::optional<score_kind> parse_score_kind(std::string_view s);

struct search_candidate {
  std::string id;    // catalog id ("bp:5x7,4,3,2,1,0") or the spec as given
  std::string name;  // short name ("fp134") or empty
  int bits = 0;      // code bits of the element format
  tensor_format format;
};

// The entries of a catalog ("lee22", "lee22-extra") in catalog order.
std::vector<search_candidate> catalog_candidates(std::string_view catalog_name);
// Candidates from format specs (catalog ids or names, bp/fp1xy spellings, minifloats, int/fix, MX and
// block-minifloat presets). Duplicates (the same id twice) are an error.
std::vector<search_candidate> spec_candidates(std::span<const std::string> specs);
// One candidate from one spec (a catalog id or short name first, else any tensor-format spec). Throws
// std::invalid_argument "format 'SPEC': <the parser's message>".
search_candidate spec_candidate(std::string_view spec);

struct early_stop_options {
  bool enabled = false;
  int keep = 10;                     // formats that must survive: the top-`keep` is never cut
  double z = 4.0;                    // a format is dropped once it is worse than >= keep other survivors, each by
                                     // more than z standard errors of the paired per-batch difference
  bool per_width = false;            // false: the top `keep` of all formats survives; true: count only survivors
                                     // with at most as many bits (the top `keep` of every bit width survives)
  std::int64_t min_batches = 10;     // no format is dropped before this many batches
  std::vector<std::string> protect;  // ids never dropped (the reference formats of the table)
};

struct search_options {
  std::vector<indicator_target> targets{indicator_target::errors};
  score_kind score = score_kind::first_layer;
  std::int64_t batches = 100;
  std::int64_t batch_size = 128;
  indicator_scale error_scale{scale_groups{}, scale_rule::room, 3};
  indicator_scale activation_scale{scale_groups{}, scale_rule::room, 1};
  round_mode rounding{};
  std::uint64_t seed = 0;
  bool all_layers = false;  // forced on by the network / layer scores
  early_stop_options early_stop{};
  int shard_index = 0, shard_count = 1;           // this process evaluates candidates with index % count == index
  int threads = 0;                                // 0: all cores
  conv_algorithm conv = standard_conv_algorithm;  // the engine's 3x3 convolutions during the search
};

// Where the weights come from. `make` builds a fresh network with the weights loaded (called once per
// worker thread); `describe` identifies it in the results (arch, path, content hash).
struct model_source {
  std::string kind;  // "arch" or "onnx"
  std::string arch;  // architecture name, or the ONNX graph name
  std::string path;  // weights / ONNX file as given
  std::string hash;  // FNV-1a 64 of the file contents (hex)
  std::function<std::unique_ptr<network>()> make;
};

// FNV-1a 64 of a file's bytes, as 16 hex digits. Throws std::runtime_error naming the file.
std::string file_hash(const std::filesystem::path& path);

// ---- results -------------------------------------------------------------------------------------

struct format_summary {
  std::int64_t index = 0;  // position in the full (unsharded) candidate list
  std::string id, name;
  int bits = 0;
  std::int64_t batches = 0;  // batches evaluated
  bool stopped_early = false;
  double mean = 0, stderr_ = 0;   // of the score over the evaluated batches (stderr_ needs >= 2)
  double first_layer = 0;         // mean first-layer angle
  std::optional<double> network;  // mean whole-network angle (all_layers only)
  std::vector<double> layers;     // mean per-layer angles, as search_summary::layers (empty if batches == 0)
};

struct target_summary {
  indicator_target target = indicator_target::errors;
  std::vector<format_summary> formats;  // this run's candidates, in index order
};

struct search_summary {
  std::string config;  // canonical one-line JSON of every setting that affects the numbers (no shard)
  int shard_index = 0, shard_count = 1;
  bool complete = false;
  std::vector<std::string> layers;  // evaluated weight gradients
  std::vector<target_summary> targets;
};

// Rank order of a target's formats (positions into formats): evaluated and not stopped early first, then
// stopped early, then not evaluated; each by mean score, ties by index.
std::vector<std::size_t> ranking(const target_summary& t);

// Deterministic text forms (the same summary gives the same bytes).
std::string to_json(const search_summary& s);
std::string to_csv(const search_summary& s);
std::string to_svg(const search_summary& s);
// Parses to_json output. Throws std::runtime_error naming `what` on malformed input.
search_summary parse_summary_json(std::string_view text, const std::string& what);
// Combines shard results (same config, shards 0..n-1 each exactly once) into the result of one run.
search_summary merge_summaries(const std::vector<search_summary>& shards, const std::vector<std::string>& names);

// Writes text to path atomically (temporary file in the same directory, fsync, rename).
void write_file_atomic(const std::filesystem::path& path, std::string_view text);

// ---- running ------------------------------------------------------------------------------------

struct search_progress {
  indicator_target target = indicator_target::errors;
  std::int64_t batch = 0, batches = 0;  // batch being evaluated (0-based)
  std::int64_t survivors = 0;           // formats still evaluated
  std::int64_t done = 0, total = 0;     // evaluations done / planned (planned shrinks with early stop)
  double elapsed_seconds = 0, eta_seconds = 0;
  double seconds_per_evaluation = 0;  // one format on one batch, wall clock, this session
};

struct search_io {
  std::filesystem::path json;  // results, rewritten atomically after every batch; the progress log is
                               // json + ".progress"
  std::filesystem::path csv;   // optional
  std::filesystem::path svg;   // optional (written when the run completes)
  bool resume = false;         // continue from json + ".progress" (which must match the settings)
  std::function<void(const search_progress&)> on_progress;
  // Test hook: stop (throw search_interrupted) after this many new evaluations are logged (0: never).
  std::int64_t interrupt_after = 0;
};

// Thrown by run_search when search_io::interrupt_after is reached (the state is as after a kill).
class search_interrupted : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Evaluates every candidate of this shard on the first `batches` mini-batches of `train` (file order,
// no shuffling) for each target, with the FP32 forward pass cached per batch (errors) and the formats
// spread over worker threads. Results are bitwise identical for any thread count and after any number of
// resumes. Throws std::invalid_argument / std::runtime_error with a clear message on bad settings.
search_summary run_search(const model_source& model, const io::dataset& train,
                          const std::vector<search_candidate>& candidates, const search_options& opt,
                          const search_io& io);

}  // namespace fmtsim::sim
