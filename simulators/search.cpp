// SPDX-License-Identifier: MIT
// Format search: candidates, the resumable progress log, parallel evaluation and the sequential early stop.
#include "fmtsim/sim/search.hpp"

#include "fmtsim/core/spec.hpp"
#include "fmtsim/formats/catalog.hpp"
#include "fmtsim/kernels/elementwise.hpp"
#include "fmtsim/sim/parallel.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <unistd.h>

namespace fmtsim::sim {
namespace {

using json = nlohmann::json;

std::uint64_t fnv1a(std::string_view s, std::uint64_t h = 0xcbf29ce484222325ull) {
  for (const char c : s) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
  return h;
}

std::string hex64(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string hex_double(double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::hex);
  return std::string(buf, r.ptr);
}

bool parse_hex_double(std::string_view s, double& v) {
  if (s.empty()) return false;
  const char* b = s.data();
  const char* e = b + s.size();
  bool neg = false;
  if (*b == '-') {
    neg = true;
    ++b;
  }
  const auto r = std::from_chars(b, e, v, std::chars_format::hex);
  if (r.ec != std::errc() || r.ptr != e) return false;
  if (neg) v = -v;
  return true;
}

bool parse_int(std::string_view s, std::int64_t& v) {
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

std::vector<std::string_view> split_spaces(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    const std::size_t j = s.find(' ', i);
    out.push_back(s.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i));
    if (j == std::string_view::npos) break;
    i = j + 1;
  }
  return out;
}

double score_of(const format_angles& a, score_kind k) {
  switch (k) {
    case score_kind::first_layer:
      return a.first_layer;
    case score_kind::network:
      return a.network;
    case score_kind::layer_mean: {
      double s = 0;
      for (const double v : a.layers) s += v;
      return a.layers.empty() ? 0.0 : s / static_cast<double>(a.layers.size());
    }
  }
  return 0;
}

std::string scale_text(const indicator_scale& s) {
  std::string t = "groups=" + groups_name(s.groups) + " rule=" + std::string(scale_rule_name(s.rule));
  if (s.rule == scale_rule::room) t += " room=" + std::to_string(s.room);
  return t;
}

// ---- progress log -----------------------------------------------------------------------------
// Line 1: "fmtsim-search-progress 1 <shard i/n> <config json>". Then one line per evaluation:
// "R <target> <batch> <index> <count> <hex values...> <fnv64 of the text before the last space>".

struct record {
  std::size_t target = 0;
  std::int64_t batch = 0, index = 0;
  format_angles angles;
};

std::string record_line(const record& r) {
  std::string s = "R";
  for (const std::int64_t v :
       {static_cast<std::int64_t>(r.target), r.batch, r.index, static_cast<std::int64_t>(2 + r.angles.layers.size())}) {
    s += ' ';
    s += std::to_string(v);
  }
  auto add = [&s](const std::string& t) {
    s += ' ';
    s += t;
  };
  add(hex_double(r.angles.first_layer));
  add(hex_double(r.angles.network));
  for (const double v : r.angles.layers) add(hex_double(v));
  add(hex64(fnv1a(s)));
  s += '\n';
  return s;
}

bool parse_record(std::string_view line, std::size_t layers, record& r) {
  const std::size_t last = line.rfind(' ');
  if (last == std::string_view::npos) return false;
  if (hex64(fnv1a(line.substr(0, last))) != line.substr(last + 1)) return false;
  const auto f = split_spaces(line.substr(0, last));
  if (f.size() < 5 || f[0] != "R") return false;
  std::int64_t t = 0, n = 0;
  if (!parse_int(f[1], t) || !parse_int(f[2], r.batch) || !parse_int(f[3], r.index) || !parse_int(f[4], n))
    return false;
  if (t < 0 || n != static_cast<std::int64_t>(2 + layers) || f.size() != 5 + static_cast<std::size_t>(n)) return false;
  r.target = static_cast<std::size_t>(t);
  if (!parse_hex_double(f[5], r.angles.first_layer) || !parse_hex_double(f[6], r.angles.network)) return false;
  r.angles.layers.resize(layers);
  for (std::size_t i = 0; i < layers; ++i)
    if (!parse_hex_double(f[7 + i], r.angles.layers[i])) return false;
  return true;
}

class progress_log {
 public:
  ~progress_log() {
    if (fd_ >= 0) ::close(fd_);
  }
  void open_new(const std::filesystem::path& path, const std::string& header) {
    path_ = path;
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) throw std::runtime_error("cannot create the progress file " + path.string());
    append(header + "\n");
    sync();
  }
  void open_append(const std::filesystem::path& path, std::uint64_t valid_bytes) {
    path_ = path;
    fd_ = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd_ < 0) throw std::runtime_error("cannot open the progress file " + path.string());
    if (::ftruncate(fd_, static_cast<off_t>(valid_bytes)) != 0 ||
        ::lseek(fd_, 0, SEEK_END) != static_cast<off_t>(valid_bytes))
      throw std::runtime_error("cannot truncate the progress file " + path.string());
  }
  void append(std::string_view s) {
    while (!s.empty()) {
      const ssize_t w = ::write(fd_, s.data(), s.size());
      if (w <= 0) throw std::runtime_error("cannot write the progress file " + path_.string());
      s.remove_prefix(static_cast<std::size_t>(w));
    }
  }
  void sync() {
    if (::fsync(fd_) != 0) throw std::runtime_error("cannot sync the progress file " + path_.string());
  }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
};

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + p.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// ---- early stop -------------------------------------------------------------------------------

class early_stopper {
 public:
  early_stopper(std::size_t n, const early_stop_options& o, std::vector<bool> protect, std::vector<int> bits)
      : n_(n), opt_(o), protect_(std::move(protect)), bits_(std::move(bits)), alive_(n, true) {
    if (opt_.enabled) {
      sum_.assign(n * n, 0.0);
      sq_.assign(n * n, 0.0);
    }
  }
  bool alive(std::size_t k) const { return alive_[k]; }
  // Adds batch `batches_done - 1` (scores of every live format) and applies the test.
  void add_batch(const std::vector<double>& score, std::int64_t batches_done) {
    if (!opt_.enabled) return;
    std::vector<std::size_t> live;
    for (std::size_t k = 0; k < n_; ++k)
      if (alive_[k]) live.push_back(k);
    for (const std::size_t i : live)
      for (const std::size_t j : live) {
        if (j <= i) continue;
        const double d = score[i] - score[j];
        sum_[i * n_ + j] += d;
        sq_[i * n_ + j] += d * d;
      }
    if (batches_done < std::max<std::int64_t>(2, opt_.min_batches)) return;
    const double n = static_cast<double>(batches_done);
    std::vector<std::size_t> drop;
    for (const std::size_t i : live) {
      if (protect_[i]) continue;
      int worse_than = 0;
      for (const std::size_t j : live) {
        if (j == i) continue;
        if (opt_.per_width && bits_[j] > bits_[i]) continue;  // only formats at most as wide compete
        // d = score_i - score_j, stored for i < j
        const double s = i < j ? sum_[i * n_ + j] : -sum_[j * n_ + i];
        const double q = i < j ? sq_[i * n_ + j] : sq_[j * n_ + i];
        const double mean = s / n;
        const double var = std::max(0.0, (q - s * mean) / (n - 1.0));
        const double se = std::sqrt(var / n);
        if (mean - opt_.z * se > 0) ++worse_than;
      }
      if (worse_than >= opt_.keep) drop.push_back(i);
    }
    for (const std::size_t i : drop) alive_[i] = false;
  }

 private:
  std::size_t n_;
  early_stop_options opt_;
  std::vector<bool> protect_;
  std::vector<int> bits_;
  std::vector<bool> alive_;
  std::vector<double> sum_, sq_;
};

// ---- summaries --------------------------------------------------------------------------------

format_summary summarise(const search_candidate& c, std::int64_t index,
                         const std::vector<std::optional<format_angles>>& vals, score_kind score, bool stopped,
                         bool network_valid) {
  format_summary f;
  f.index = index;
  f.id = c.id;
  f.name = c.name;
  f.bits = c.bits;
  f.stopped_early = stopped;
  std::vector<const format_angles*> got;
  for (const auto& v : vals) {
    if (!v) break;
    got.push_back(&*v);
  }
  f.batches = static_cast<std::int64_t>(got.size());
  if (got.empty()) return f;
  const double n = static_cast<double>(got.size());
  double sum = 0, fl = 0, nw = 0;
  std::vector<double> layers(got.front()->layers.size(), 0.0);
  for (const auto* a : got) {
    sum += score_of(*a, score);
    fl += a->first_layer;
    nw += a->network;
    for (std::size_t i = 0; i < layers.size(); ++i) layers[i] += a->layers[i];
  }
  f.mean = sum / n;
  if (got.size() >= 2) {
    double ss = 0;
    for (const auto* a : got) ss += (score_of(*a, score) - f.mean) * (score_of(*a, score) - f.mean);
    f.stderr_ = std::sqrt(ss / (n - 1.0)) / std::sqrt(n);
  }
  f.first_layer = fl / n;
  if (network_valid) f.network = nw / n;
  for (double& v : layers) v /= n;
  f.layers = std::move(layers);
  return f;
}

}  // namespace

std::string_view to_string(score_kind s) noexcept {
  switch (s) {
    case score_kind::first_layer:
      return "first-layer";
    case score_kind::network:
      return "network";
    case score_kind::layer_mean:
      return "layer";
  }
  return "?";
}

std::optional<score_kind> parse_score_kind(std::string_view s) {
  if (s == "first-layer") return score_kind::first_layer;
  if (s == "network") return score_kind::network;
  if (s == "layer") return score_kind::layer_mean;
  return std::nullopt;
}

std::vector<search_candidate> catalog_candidates(std::string_view catalog_name) {
  std::vector<search_candidate> out;
  for (const catalog_entry& e : catalog(catalog_name)) {
    search_candidate c;
    c.id = std::string(e.id);
    c.name = std::string(e.name);
    c.bits = e.bits;
    c.format = parse_tensor_format(e.id);
    out.push_back(std::move(c));
  }
  return out;
}

search_candidate spec_candidate(std::string_view spec) {
  search_candidate c;
  if (const catalog_entry* e = find_catalog_entry(spec)) {
    c.id = std::string(e->id);
    c.name = std::string(e->name);
    c.bits = e->bits;
    c.format = parse_tensor_format(e->id);
  } else {
    try {
      c.format = parse_tensor_format(spec);
    } catch (const std::exception& ex) {
      throw std::invalid_argument("format '" + std::string(spec) + "': " + ex.what());
    }
    c.id = std::string(spec);
    c.bits = code_bits(c.format.element);
  }
  return c;
}

std::vector<search_candidate> spec_candidates(std::span<const std::string> specs) {
  std::vector<search_candidate> out;
  std::set<std::string> seen;
  for (const std::string& spec : specs) {
    search_candidate c = spec_candidate(spec);
    if (!seen.insert(c.id).second)
      throw std::invalid_argument("format '" + spec + "' is listed twice (as " + c.id + ")");
    out.push_back(std::move(c));
  }
  if (out.empty()) throw std::invalid_argument("no formats to evaluate");
  return out;
}

std::string file_hash(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  std::uint64_t h = 0xcbf29ce484222325ull;
  std::vector<char> buf(1 << 16);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    h = fnv1a(std::string_view(buf.data(), static_cast<std::size_t>(in.gcount())), h);
  }
  return hex64(h);
}

search_summary run_search(const model_source& model, const io::dataset& train,
                          const std::vector<search_candidate>& candidates, const search_options& opt,
                          const search_io& io) {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  // ---- validate settings
  if (candidates.empty()) throw std::invalid_argument("no formats to evaluate");
  if (opt.batch_size < 1) throw std::invalid_argument("--batch-size must be at least 1");
  if (opt.batches < 1) throw std::invalid_argument("--batches must be at least 1");
  if (opt.shard_count < 1 || opt.shard_index < 0 || opt.shard_index >= opt.shard_count)
    throw std::invalid_argument("--shard must be i/n with 0 <= i < n");
  if (opt.targets.empty()) throw std::invalid_argument("no target (errors, activations) selected");
  for (std::size_t i = 0; i < opt.targets.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (opt.targets[i] == opt.targets[j]) throw std::invalid_argument("a target is listed twice");
  if (opt.early_stop.enabled && (opt.early_stop.keep < 1 || !(opt.early_stop.z > 0)))
    throw std::invalid_argument("early stop needs keep >= 1 and z > 0");
  if (opt.rounding.kind == rounding::hys)
    throw std::invalid_argument("hysteresis rounding needs state; not usable here");
  if (io.json.empty()) throw std::invalid_argument("no output file (--out) given");
  const std::int64_t available = io::batch_count(train.count, opt.batch_size, false);
  if (opt.batches > available) {
    throw std::invalid_argument("--batches " + std::to_string(opt.batches) + " exceeds the " +
                                std::to_string(available) + " batches of " + std::to_string(opt.batch_size) + " in " +
                                train.source);
  }
  const bool all_layers = opt.all_layers || opt.score != score_kind::first_layer;
  const int threads =
      opt.threads > 0 ? opt.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

  // ---- this shard's candidates
  std::vector<std::size_t> mine;
  for (std::size_t i = 0; i < candidates.size(); ++i)
    if (static_cast<int>(i % static_cast<std::size_t>(opt.shard_count)) == opt.shard_index) mine.push_back(i);
  const std::size_t nmine = mine.size();

  // ---- the model and the layers
  std::vector<std::unique_ptr<network>> nets;
  nets.push_back(model.make());
  {
    const model_config& mc = nets[0]->config();
    if (mc.in_channels != train.channels || mc.height != train.height || mc.width != train.width) {
      throw std::invalid_argument("the model expects " + std::to_string(mc.in_channels) + "x" +
                                  std::to_string(mc.height) + "x" + std::to_string(mc.width) + " images, the data (" +
                                  train.source + ") has " + std::to_string(train.channels) + "x" +
                                  std::to_string(train.height) + "x" + std::to_string(train.width));
    }
    if (mc.num_classes < train.num_classes) {
      throw std::invalid_argument("the model has " + std::to_string(mc.num_classes) + " outputs, the data has " +
                                  std::to_string(train.num_classes) + " classes");
    }
  }
  indicator_options base;
  base.rounding = opt.rounding;
  base.seed = opt.seed;
  base.all_layers = all_layers;
  const std::vector<std::string> layer_names = indicator(*nets[0], base).layer_names();
  const std::size_t nlayers = layer_names.size();

  // ---- the canonical settings
  json cfg;
  cfg["model"] = {{"kind", model.kind},
                  {"arch", model.arch},
                  {"path", model.path},
                  {"hash", model.hash},
                  {"parameters", nets[0]->parameter_count()}};
  cfg["data"] = {{"source", train.source},       {"count", train.count},         {"channels", train.channels},
                 {"height", train.height},       {"width", train.width},         {"classes", train.num_classes},
                 {"norm_mean", train.norm.mean}, {"norm_std", train.norm.stddev}};
  cfg["batch_size"] = opt.batch_size;
  cfg["batches"] = opt.batches;
  json targets = json::array();
  for (const auto t : opt.targets) targets.push_back(std::string(to_string(t)));
  cfg["targets"] = targets;
  cfg["score"] = std::string(to_string(opt.score));
  cfg["error_scale"] = scale_text(opt.error_scale);
  cfg["activation_scale"] = scale_text(opt.activation_scale);
  cfg["rounding"] = rounding_name(opt.rounding);
  cfg["seed"] = opt.seed;
  cfg["all_layers"] = all_layers;
  cfg["conv"] = std::string(to_string(opt.conv));
  if (opt.early_stop.enabled) {
    cfg["early_stop"] = {{"keep", opt.early_stop.keep},
                         {"keep_per_width", opt.early_stop.per_width},
                         {"z", opt.early_stop.z},
                         {"min_batches", opt.early_stop.min_batches},
                         {"protect", opt.early_stop.protect}};
  } else {
    cfg["early_stop"] = false;
  }
  std::string ids;
  for (const auto& c : candidates) ids += c.id + "\n";
  cfg["candidates"] = {{"count", candidates.size()}, {"hash", hex64(fnv1a(ids))}};
  const std::string config = cfg.dump();
  const std::string shard_text = std::to_string(opt.shard_index) + "/" + std::to_string(opt.shard_count);
  const std::string header = "fmtsim-search-progress 1 " + shard_text + " " + config;

  // ---- values[target][local][batch]
  const std::size_t ntargets = opt.targets.size();
  std::vector<std::vector<std::vector<std::optional<format_angles>>>> values(
      ntargets, std::vector<std::vector<std::optional<format_angles>>>(
                    nmine, std::vector<std::optional<format_angles>>(static_cast<std::size_t>(opt.batches))));
  std::vector<std::int64_t> local_of(candidates.size(), -1);
  for (std::size_t k = 0; k < nmine; ++k) local_of[mine[k]] = static_cast<std::int64_t>(k);

  const std::filesystem::path log_path = std::filesystem::path(io.json.string() + ".progress");
  progress_log log;
  std::int64_t done_before = 0;
  if (io.resume && std::filesystem::exists(log_path)) {
    const std::string text = read_text(log_path);
    const std::size_t nl = text.find('\n');
    if (nl == std::string::npos || text.substr(0, nl) != header) {
      throw std::runtime_error(log_path.string() +
                               " was written by a search with different settings (model, data, formats, options or "
                               "shard); remove it or run without --resume");
    }
    std::size_t pos = nl + 1, valid = pos;
    std::int64_t line_no = 1;
    while (pos < text.size()) {
      ++line_no;
      const std::size_t end = text.find('\n', pos);
      if (end == std::string::npos) break;  // a line cut by the interruption: dropped
      record r;
      if (!parse_record(std::string_view(text).substr(pos, end - pos), nlayers, r)) {
        if (text.find('\n', end + 1) == std::string::npos) break;  // the last line may be torn
        throw std::runtime_error(log_path.string() + ": line " + std::to_string(line_no) + " is corrupt");
      }
      if (r.target >= ntargets || r.batch < 0 || r.batch >= opt.batches || r.index < 0 ||
          r.index >= static_cast<std::int64_t>(candidates.size()) || local_of[static_cast<std::size_t>(r.index)] < 0) {
        throw std::runtime_error(log_path.string() + ": line " + std::to_string(line_no) +
                                 " does not fit the settings");
      }
      auto& slot = values[r.target][static_cast<std::size_t>(local_of[static_cast<std::size_t>(r.index)])]
                         [static_cast<std::size_t>(r.batch)];
      if (slot)
        throw std::runtime_error(log_path.string() + ": line " + std::to_string(line_no) + " repeats an evaluation");
      slot = std::move(r.angles);
      ++done_before;
      pos = end + 1;
      valid = pos;
    }
    log.open_append(log_path, valid);
  } else {
    log.open_new(log_path, header);
  }

  // ---- protected formats (never dropped by the early stop)
  std::vector<bool> protect(nmine, false);
  std::vector<int> bits(nmine, 0);
  for (std::size_t k = 0; k < nmine; ++k) {
    const auto& c = candidates[mine[k]];
    bits[k] = c.bits;
    for (const auto& p : opt.early_stop.protect)
      if (p == c.id || (!c.name.empty() && p == c.name)) protect[k] = true;
  }

  std::vector<std::unique_ptr<early_stopper>> stoppers;
  for (std::size_t t = 0; t < ntargets; ++t)
    stoppers.push_back(std::make_unique<early_stopper>(nmine, opt.early_stop, protect, bits));
  std::vector<std::int64_t> batches_done(ntargets, 0);

  auto make_summary = [&](bool complete) {
    search_summary s;
    s.config = config;
    s.shard_index = opt.shard_index;
    s.shard_count = opt.shard_count;
    s.complete = complete;
    s.layers = layer_names;
    for (std::size_t t = 0; t < ntargets; ++t) {
      target_summary ts;
      ts.target = opt.targets[t];
      for (std::size_t k = 0; k < nmine; ++k) {
        const bool stopped = !stoppers[t]->alive(k);
        ts.formats.push_back(summarise(candidates[mine[k]], static_cast<std::int64_t>(mine[k]), values[t][k], opt.score,
                                       stopped, all_layers));
      }
      s.targets.push_back(std::move(ts));
    }
    return s;
  };
  auto write_outputs = [&](const search_summary& s, bool final) {
    write_file_atomic(io.json, to_json(s));
    if (!io.csv.empty()) write_file_atomic(io.csv, to_csv(s));
    if (final && !io.svg.empty()) write_file_atomic(io.svg, to_svg(s));
  };

  // ---- workers
  const int saved_engine_threads = num_threads();
  struct engine_threads_guard {
    int saved;
    conv_algorithm conv;
    ~engine_threads_guard() {
      set_num_threads(saved);
      kernels::set_thread_count(0);
      set_conv_algorithm(conv);
    }
  } guard{saved_engine_threads, default_conv_algorithm()};
  set_conv_algorithm(opt.conv);
  while (static_cast<int>(nets.size()) < std::min<int>(threads, static_cast<int>(std::max<std::size_t>(1, nmine))))
    nets.push_back(model.make());

  const std::vector<std::int64_t> order = io::sample_order(train.count, std::nullopt);
  std::int64_t done_session = 0;
  std::int64_t logged_session = 0;
  double eval_seconds = 0;  // wall clock spent in evaluation phases this session
  std::mutex mu;
  bool interrupted = false;

  for (std::size_t t = 0; t < ntargets; ++t) {
    indicator_options iopt = base;
    iopt.target = opt.targets[t];
    iopt.scale = opt.targets[t] == indicator_target::errors ? opt.error_scale : opt.activation_scale;
    std::vector<tensor_format> formats;
    for (std::size_t k = 0; k < nmine; ++k) formats.push_back(indicator_format(candidates[mine[k]].format, iopt.scale));
    std::vector<std::unique_ptr<indicator>> inds;
    for (auto& n : nets) inds.push_back(std::make_unique<indicator>(*n, iopt));

    // Batches go in groups: with several workers and batches left, worker j evaluates batch b + j on its own
    // network (one FP32 forward/reference pass per batch instead of one per worker and batch, and no worker idles
    // at the end of a batch). Batch b + j > b is evaluated for the formats alive before batch b's test; its
    // results are kept back, and those of formats the tests of batches b .. b + j - 1 drop are discarded, so the
    // log and the results hold exactly the evaluations of one batch at a time.
    for (std::int64_t b = 0; b < opt.batches;) {
      // (not across the first test, which drops the most: an odd --min-batches would evaluate them once more)
      const bool first_test = opt.early_stop.enabled && b + 1 == std::max<std::int64_t>(2, opt.early_stop.min_batches);
      const std::int64_t group = nets.size() >= 2 && !first_test
                                     ? std::min<std::int64_t>(static_cast<std::int64_t>(nets.size()), opt.batches - b)
                                     : 1;
      std::vector<std::vector<std::size_t>> todo(static_cast<std::size_t>(group));
      std::int64_t alive = 0;
      for (std::size_t k = 0; k < nmine; ++k) {
        if (!stoppers[t]->alive(k)) continue;
        ++alive;
        for (std::int64_t j = 0; j < group; ++j)
          if (!values[t][k][static_cast<std::size_t>(b + j)]) todo[static_cast<std::size_t>(j)].push_back(k);
      }
      std::size_t todo_total = 0;
      for (const auto& v : todo) todo_total += v.size();
      auto report = [&](std::int64_t remaining_in_group) {
        if (!io.on_progress) return;
        search_progress p;
        p.target = opt.targets[t];
        p.batch = b;
        p.batches = opt.batches;
        p.survivors = alive;
        p.done = done_before + done_session;
        std::int64_t left = remaining_in_group + alive * (opt.batches - group - b);
        for (std::size_t u = t + 1; u < ntargets; ++u) left += static_cast<std::int64_t>(nmine) * opt.batches;
        p.total = p.done + left;
        p.elapsed_seconds = std::chrono::duration<double>(clock::now() - t0).count();
        p.seconds_per_evaluation = done_session > 0 ? eval_seconds / static_cast<double>(done_session) : 0.0;
        p.eta_seconds = p.seconds_per_evaluation * static_cast<double>(left);
        io.on_progress(p);
      };
      // evaluations of batches b + 1 .. b + group - 1, kept back until the earlier batches' tests
      std::vector<std::vector<std::pair<std::size_t, format_angles>>> held(static_cast<std::size_t>(group));
      auto log_record = [&](std::int64_t batch, std::size_t k, format_angles a) {  // with mu held
        record r{t, batch, static_cast<std::int64_t>(mine[k]), a};
        log.append(record_line(r));
        values[t][k][static_cast<std::size_t>(batch)] = std::move(a);
        ++done_session;
        ++logged_session;
        if (io.interrupt_after > 0 && logged_session >= io.interrupt_after) interrupted = true;
      };
      auto stop_if_interrupted = [&] {
        if (!interrupted) return;
        log.sync();
        write_outputs(make_summary(false), false);
        throw search_interrupted("search interrupted after " + std::to_string(logged_session) + " evaluations");
      };
      if (todo_total > 0) {
        std::vector<tensor> images(static_cast<std::size_t>(group));
        std::vector<std::vector<std::int32_t>> labels(static_cast<std::size_t>(group));
        for (std::int64_t j = 0; j < group; ++j) {
          if (todo[static_cast<std::size_t>(j)].empty()) continue;
          std::vector<float> img;
          const std::int64_t n =
              io::gather_batch(train, order, b + j, opt.batch_size, img, labels[static_cast<std::size_t>(j)]);
          images[static_cast<std::size_t>(j)].shape = {n, train.channels, train.height, train.width};
          images[static_cast<std::size_t>(j)].data = std::move(img);
        }
        // one batch: its formats shared by the workers; a group: worker j takes batch b + j
        const int workers =
            group == 1 ? static_cast<int>(std::min<std::size_t>(nets.size(), todo[0].size())) : static_cast<int>(group);
        set_num_threads(std::max(1, threads / workers));
        kernels::set_thread_count(static_cast<unsigned>(std::max(1, threads / workers)));
        report(static_cast<std::int64_t>(todo_total));
        std::vector<std::atomic<std::size_t>> next(static_cast<std::size_t>(group));
        for (auto& a : next) a = 0;
        std::size_t completed = 0;  // guarded by mu
        std::exception_ptr error;
        const auto tb = clock::now();
        const double before = eval_seconds;
        auto work = [&](int w) {
          const std::size_t j = group == 1 ? 0 : static_cast<std::size_t>(w);
          const std::int64_t batch = b + static_cast<std::int64_t>(j);
          bool loaded = false;
          for (;;) {
            {
              std::lock_guard lock(mu);
              if (interrupted || error) return;
            }
            const std::size_t i = next[j].fetch_add(1);
            if (i >= todo[j].size()) return;
            const std::size_t k = todo[j][i];
            try {
              if (!loaded) {
                inds[static_cast<std::size_t>(w)]->set_batch(images[j], labels[j], batch);
                loaded = true;
              }
              format_angles a = inds[static_cast<std::size_t>(w)]->evaluate(formats[k]);
              std::lock_guard lock(mu);
              if (interrupted) return;
              ++completed;
              if (j == 0) {
                log_record(batch, k, std::move(a));
              } else {
                held[j].emplace_back(k, std::move(a));
              }
              eval_seconds = before + std::chrono::duration<double>(clock::now() - tb).count();
            } catch (...) {
              std::lock_guard lock(mu);
              if (!error) error = std::current_exception();
              return;
            }
          }
        };
        {
          // Progress lines from the main thread while the workers run.
          std::vector<std::thread> pool;
          for (int w = 1; w < workers; ++w) pool.emplace_back(work, w);
          std::thread reporter;
          std::atomic<bool> stop_reporter{false};
          if (io.on_progress) {
            reporter = std::thread([&] {
              while (!stop_reporter.load()) {
                std::this_thread::sleep_for(std::chrono::milliseconds(500));
                if (stop_reporter.load()) break;
                std::lock_guard lock(mu);
                report(static_cast<std::int64_t>(todo_total - completed));
              }
            });
          }
          work(0);
          for (auto& th : pool) th.join();
          stop_reporter = true;
          if (reporter.joinable()) reporter.join();
        }
        eval_seconds = before + std::chrono::duration<double>(clock::now() - tb).count();
        if (error) std::rethrow_exception(error);
        stop_if_interrupted();
      }
      for (std::int64_t j = 0; j < group; ++j) {
        const std::int64_t batch = b + j;
        if (j > 0) {
          // the evaluations kept back, in the order of the batch's format list, for the formats still alive
          auto& h = held[static_cast<std::size_t>(j)];
          std::sort(h.begin(), h.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
          std::lock_guard lock(mu);
          for (auto& [k, a] : h) {
            if (interrupted) break;
            if (stoppers[t]->alive(k)) log_record(batch, k, std::move(a));
          }
        }
        stop_if_interrupted();
        log.sync();
        // The batch is complete for every live format: apply the sequential test.
        std::vector<double> score(nmine, 0.0);
        for (std::size_t k = 0; k < nmine; ++k)
          if (stoppers[t]->alive(k)) score[k] = score_of(*values[t][k][static_cast<std::size_t>(batch)], opt.score);
        stoppers[t]->add_batch(score, batch + 1);
        batches_done[t] = batch + 1;
        if (!todo[static_cast<std::size_t>(j)].empty()) {
          write_outputs(make_summary(false), false);
          report(0);
        }
      }
      b += group;
    }
  }
  search_summary result = make_summary(true);
  write_outputs(result, true);
  return result;
}

}  // namespace fmtsim::sim
