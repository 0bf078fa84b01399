// SPDX-License-Identifier: MIT
// Search results: ranking, JSON/CSV/SVG text, JSON parsing, shard merging and atomic file writes.
#include "fmtsim/sim/search.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include <fcntl.h>
#include <unistd.h>

namespace fmtsim::sim {
namespace {

using json = nlohmann::json;

// Shortest text that reads back as the same double.
std::string num(double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::string json_str(std::string_view s) {
  std::string o = "\"";
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      o += '\\';
      o += c;
    } else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      o += buf;
    } else {
      o += c;
    }
  }
  return o + "\"";
}

std::string xml_escape(std::string_view s) {
  std::string o;
  for (const char c : s) {
    switch (c) {
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '&':
        o += "&amp;";
        break;
      case '"':
        o += "&quot;";
        break;
      default:
        o += c;
    }
  }
  return o;
}

std::string csv_field(std::string_view s) {
  if (s.find_first_of(",\"\n") == std::string_view::npos) return std::string(s);
  std::string o = "\"";
  for (const char c : s) {
    if (c == '"') o += '"';
    o += c;
  }
  return o + "\"";
}

[[noreturn]] void bad(const std::string& what, const std::string& msg) { throw std::runtime_error(what + ": " + msg); }

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

}  // namespace

std::vector<std::size_t> ranking(const target_summary& t) {
  std::vector<std::size_t> order(t.formats.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  auto group = [](const format_summary& f) { return f.batches == 0 ? 2 : (f.stopped_early ? 1 : 0); };
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const auto& fa = t.formats[a];
    const auto& fb = t.formats[b];
    if (group(fa) != group(fb)) return group(fa) < group(fb);
    if (fa.batches > 0 && fa.mean != fb.mean) return fa.mean < fb.mean;
    return fa.index < fb.index;
  });
  return order;
}

std::string to_json(const search_summary& s) {
  std::string o = "{\n  \"fmtsim_search\": 1,\n";
  o += "  \"complete\": " + std::string(s.complete ? "true" : "false") + ",\n";
  if (s.shard_count > 1)
    o += "  \"shard\": " + json_str(std::to_string(s.shard_index) + "/" + std::to_string(s.shard_count)) + ",\n";
  o += "  \"config\": " + s.config + ",\n";
  o += "  \"layers\": [";
  for (std::size_t i = 0; i < s.layers.size(); ++i) o += (i ? ", " : "") + json_str(s.layers[i]);
  o += "],\n  \"results\": [";
  for (std::size_t t = 0; t < s.targets.size(); ++t) {
    const target_summary& ts = s.targets[t];
    o += t ? ",\n" : "\n";
    o += "    {\n      \"target\": " + json_str(to_string(ts.target)) + ",\n      \"formats\": [";
    const auto order = ranking(ts);
    for (std::size_t r = 0; r < order.size(); ++r) {
      const format_summary& f = ts.formats[order[r]];
      o += r ? ",\n" : "\n";
      o += "        {\"rank\": " + std::to_string(r + 1) + ", \"index\": " + std::to_string(f.index) +
           ", \"id\": " + json_str(f.id) + ", \"name\": " + json_str(f.name) + ", \"bits\": " + std::to_string(f.bits) +
           ", \"batches\": " + std::to_string(f.batches) +
           ", \"stopped_early\": " + (f.stopped_early ? "true" : "false");
      if (f.batches == 0) {
        o += ", \"mean\": null, \"stderr\": null, \"first_layer\": null, \"network\": null, \"layers\": []}";
        continue;
      }
      o += ", \"mean\": " + num(f.mean) + ", \"stderr\": " + (f.batches >= 2 ? num(f.stderr_) : std::string("null"));
      o += ", \"first_layer\": " + num(f.first_layer) + ", \"network\": " + (f.network ? num(*f.network) : "null");
      o += ", \"layers\": [";
      for (std::size_t i = 0; i < f.layers.size(); ++i) o += (i ? ", " : "") + num(f.layers[i]);
      o += "]}";
    }
    o += "\n      ]\n    }";
  }
  o += "\n  ]\n}\n";
  return o;
}

search_summary parse_summary_json(std::string_view text, const std::string& what) {
  json j;
  try {
    j = json::parse(text);
  } catch (const std::exception& e) {
    bad(what, std::string("not valid JSON (") + e.what() + ")");
  }
  try {
    if (!j.is_object() || !j.contains("fmtsim_search") || j.at("fmtsim_search") != 1)
      bad(what, "not an fmtsim search result (missing \"fmtsim_search\": 1)");
    search_summary s;
    s.complete = j.at("complete").get<bool>();
    if (j.contains("shard")) {
      const std::string sh = j.at("shard").get<std::string>();
      const auto slash = sh.find('/');
      if (slash == std::string::npos) bad(what, "bad shard '" + sh + "'");
      s.shard_index = std::stoi(sh.substr(0, slash));
      s.shard_count = std::stoi(sh.substr(slash + 1));
      if (s.shard_count < 1 || s.shard_index < 0 || s.shard_index >= s.shard_count) bad(what, "bad shard '" + sh + "'");
    }
    if (!j.at("config").is_object()) bad(what, "\"config\" is not an object");
    s.config = j.at("config").dump();
    s.layers = j.at("layers").get<std::vector<std::string>>();
    for (const json& r : j.at("results")) {
      target_summary ts;
      const auto t = parse_indicator_target(r.at("target").get<std::string>());
      if (!t) bad(what, "unknown target " + r.at("target").dump());
      ts.target = *t;
      for (const json& f : r.at("formats")) {
        format_summary fs;
        fs.index = f.at("index").get<std::int64_t>();
        fs.id = f.at("id").get<std::string>();
        fs.name = f.at("name").get<std::string>();
        fs.bits = f.at("bits").get<int>();
        fs.batches = f.at("batches").get<std::int64_t>();
        fs.stopped_early = f.at("stopped_early").get<bool>();
        if (fs.batches < 0) bad(what, "negative batch count for " + fs.id);
        if (fs.batches > 0) {
          fs.mean = f.at("mean").get<double>();
          if (!f.at("stderr").is_null()) fs.stderr_ = f.at("stderr").get<double>();
          fs.first_layer = f.at("first_layer").get<double>();
          if (!f.at("network").is_null()) fs.network = f.at("network").get<double>();
          fs.layers = f.at("layers").get<std::vector<double>>();
          if (fs.layers.size() != s.layers.size())
            bad(what, "per-layer means of " + fs.id + " do not match \"layers\"");
        }
        ts.formats.push_back(std::move(fs));
      }
      std::sort(ts.formats.begin(), ts.formats.end(),
                [](const format_summary& a, const format_summary& b) { return a.index < b.index; });
      s.targets.push_back(std::move(ts));
    }
    return s;
  } catch (const json::exception& e) {
    bad(what, std::string("unexpected structure (") + e.what() + ")");
  }
}

search_summary merge_summaries(const std::vector<search_summary>& shards, const std::vector<std::string>& names) {
  if (shards.empty()) throw std::invalid_argument("merge: no inputs");
  auto name = [&](std::size_t i) { return i < names.size() ? names[i] : "input " + std::to_string(i + 1); };
  const search_summary& first = shards.front();
  const int n = first.shard_count;
  std::vector<int> seen(static_cast<std::size_t>(n), -1);
  for (std::size_t i = 0; i < shards.size(); ++i) {
    const search_summary& s = shards[i];
    if (s.config != first.config)
      throw std::invalid_argument("merge: " + name(i) + " was made with different settings than " + name(0));
    if (s.shard_count != n)
      throw std::invalid_argument("merge: " + name(i) + " is one of " + std::to_string(s.shard_count) + " shards, " +
                                  name(0) + " one of " + std::to_string(n));
    if (seen[static_cast<std::size_t>(s.shard_index)] >= 0)
      throw std::invalid_argument("merge: " + name(i) + " and " + name(static_cast<std::size_t>(seen[s.shard_index])) +
                                  " are both shard " + std::to_string(s.shard_index) + "/" + std::to_string(n));
    seen[static_cast<std::size_t>(s.shard_index)] = static_cast<int>(i);
    if (s.layers != first.layers || s.targets.size() != first.targets.size())
      throw std::invalid_argument("merge: " + name(i) + " has different layers or targets than " + name(0));
  }
  for (int k = 0; k < n; ++k)
    if (seen[static_cast<std::size_t>(k)] < 0)
      throw std::invalid_argument("merge: shard " + std::to_string(k) + "/" + std::to_string(n) + " is missing");
  std::int64_t count = 0;
  try {
    count = json::parse(first.config).at("candidates").at("count").get<std::int64_t>();
  } catch (const std::exception& e) {
    throw std::invalid_argument("merge: the settings of " + name(0) + " lack the candidate count");
  }
  search_summary out;
  out.config = first.config;
  out.layers = first.layers;
  out.complete = true;
  for (const auto& s : shards) out.complete = out.complete && s.complete;
  for (std::size_t t = 0; t < first.targets.size(); ++t) {
    target_summary ts;
    ts.target = first.targets[t].target;
    for (std::size_t i = 0; i < shards.size(); ++i) {
      if (shards[i].targets[t].target != ts.target)
        throw std::invalid_argument("merge: " + name(i) + " lists its targets in a different order");
      for (const auto& f : shards[i].targets[t].formats) {
        if (f.index < 0 || f.index >= count || f.index % n != shards[i].shard_index)
          throw std::invalid_argument("merge: " + name(i) + " holds format index " + std::to_string(f.index) +
                                      " that does not belong to its shard");
        ts.formats.push_back(f);
      }
    }
    std::sort(ts.formats.begin(), ts.formats.end(),
              [](const format_summary& a, const format_summary& b) { return a.index < b.index; });
    for (std::size_t i = 0; i < ts.formats.size(); ++i)
      if (ts.formats[i].index != static_cast<std::int64_t>(i))
        throw std::invalid_argument("merge: format index " + std::to_string(i) + " is missing or repeated");
    if (static_cast<std::int64_t>(ts.formats.size()) != count)
      throw std::invalid_argument("merge: the shards hold " + std::to_string(ts.formats.size()) + " of " +
                                  std::to_string(count) + " formats");
    out.targets.push_back(std::move(ts));
  }
  return out;
}

std::string to_csv(const search_summary& s) {
  std::string o = "target,rank,index,id,name,bits,batches,stopped_early,mean,stderr,first_layer,network";
  for (const auto& l : s.layers) o += "," + csv_field(l);
  o += "\n";
  for (const auto& ts : s.targets) {
    const auto order = ranking(ts);
    for (std::size_t r = 0; r < order.size(); ++r) {
      const format_summary& f = ts.formats[order[r]];
      o += std::string(to_string(ts.target)) + "," + std::to_string(r + 1) + "," + std::to_string(f.index) + "," +
           csv_field(f.id) + "," + csv_field(f.name) + "," + std::to_string(f.bits) + "," + std::to_string(f.batches) +
           "," + (f.stopped_early ? "1" : "0");
      if (f.batches == 0) {
        o += ",,,,";
        for (std::size_t i = 0; i < s.layers.size(); ++i) o += ",";
      } else {
        o += "," + num(f.mean) + "," + (f.batches >= 2 ? num(f.stderr_) : "") + "," + num(f.first_layer) + "," +
             (f.network ? num(*f.network) : "");
        for (const double v : f.layers) {
          o += ',';
          o += num(v);
        }
      }
      o += "\n";
    }
  }
  return o;
}

std::string to_svg(const search_summary& s) {
  const double W = 1100, H = 380, L = 70, R = 270, T = 40, B = 50;  // R: room for the legend's best-format labels
  const double pw = W - L - R, ph = H - T - B;
  const char* palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};
  std::string score = "score";
  try {
    score = json::parse(s.config).at("score").get<std::string>();
  } catch (const std::exception&) {
  }
  const double total_h = H * static_cast<double>(std::max<std::size_t>(1, s.targets.size()));
  std::string o = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + fixed(W, 0) + "\" height=\"" +
                  fixed(total_h, 0) + "\" viewBox=\"0 0 " + fixed(W, 0) + " " + fixed(total_h, 0) +
                  "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  o += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  for (std::size_t t = 0; t < s.targets.size(); ++t) {
    const target_summary& ts = s.targets[t];
    const double oy = H * static_cast<double>(t);
    const auto& fs = ts.formats;
    // colours by bit width, widest first
    std::vector<int> widths;
    for (const auto& f : fs)
      if (std::find(widths.begin(), widths.end(), f.bits) == widths.end()) widths.push_back(f.bits);
    std::sort(widths.rbegin(), widths.rend());
    auto colour = [&](int bits) {
      const auto it = std::find(widths.begin(), widths.end(), bits);
      return palette[static_cast<std::size_t>(it - widths.begin()) % 8];
    };
    double ymax = 0;
    for (const auto& f : fs)
      if (f.batches > 0) ymax = std::max(ymax, f.mean + (f.batches >= 2 ? f.stderr_ : 0.0));
    // a "nice" axis: step 1, 2 or 5 x 10^k with at most 8 ticks
    double step = 1;
    if (ymax > 0) {
      step = std::pow(10.0, std::floor(std::log10(ymax / 8)));
      for (const double m : {1.0, 2.0, 5.0, 10.0})
        if (ymax / (step * m) <= 8) {
          step *= m;
          break;
        }
    }
    const int ticks = ymax > 0 ? static_cast<int>(std::ceil(ymax / step - 1e-9)) : 1;
    const double ytop = step * std::max(1, ticks);
    auto X = [&](std::size_t pos) {
      return L + (static_cast<double>(pos) + 0.5) / static_cast<double>(std::max<std::size_t>(1, fs.size())) * pw;
    };
    auto Y = [&](double v) { return oy + T + ph - v / ytop * ph; };
    const std::string title =
        (ts.target == indicator_target::errors ? "theta_E (errors quantized)" : "theta_A (activations quantized)") +
        std::string(", score ") + score + ", " + std::to_string(fs.size()) + " formats" +
        (s.complete ? "" : " (incomplete)");
    o += "<text x=\"" + fixed(L, 1) + "\" y=\"" + fixed(oy + 22, 1) + "\" font-size=\"15\">" + xml_escape(title) +
         "</text>\n";
    // axes and grid
    for (int k = 0; k <= ticks; ++k) {
      const double v = step * k;
      const double y = Y(v);
      o += "<line x1=\"" + fixed(L, 1) + "\" y1=\"" + fixed(y, 1) + "\" x2=\"" + fixed(L + pw, 1) + "\" y2=\"" +
           fixed(y, 1) + "\" stroke=\"#dddddd\"/>\n";
      o += "<text x=\"" + fixed(L - 6, 1) + "\" y=\"" + fixed(y + 4, 1) + "\" text-anchor=\"end\">" +
           fixed(v, step < 1 ? (step < 0.1 ? 2 : 1) : 0) + "</text>\n";
    }
    o += "<line x1=\"" + fixed(L, 1) + "\" y1=\"" + fixed(oy + T, 1) + "\" x2=\"" + fixed(L, 1) + "\" y2=\"" +
         fixed(oy + T + ph, 1) + "\" stroke=\"black\"/>\n";
    o += "<line x1=\"" + fixed(L, 1) + "\" y1=\"" + fixed(oy + T + ph, 1) + "\" x2=\"" + fixed(L + pw, 1) + "\" y2=\"" +
         fixed(oy + T + ph, 1) + "\" stroke=\"black\"/>\n";
    o += "<text x=\"" + fixed(L + pw / 2, 1) + "\" y=\"" + fixed(oy + H - 15, 1) +
         "\" text-anchor=\"middle\">format (candidate order; hollow = stopped early)</text>\n";
    o += "<text x=\"18\" y=\"" + fixed(oy + T + ph / 2, 1) + "\" text-anchor=\"middle\" transform=\"rotate(-90 18 " +
         fixed(oy + T + ph / 2, 1) + ")\">mean angle (degrees)</text>\n";
    // points with standard-error bars
    for (std::size_t i = 0; i < fs.size(); ++i) {
      const auto& f = fs[i];
      if (f.batches == 0) continue;
      const double x = X(i), y = Y(f.mean);
      const char* c = colour(f.bits);
      if (f.batches >= 2 && f.stderr_ > 0)
        o += "<line x1=\"" + fixed(x, 2) + "\" y1=\"" + fixed(Y(f.mean - f.stderr_), 2) + "\" x2=\"" + fixed(x, 2) +
             "\" y2=\"" + fixed(Y(f.mean + f.stderr_), 2) + "\" stroke=\"" + c + "\" stroke-width=\"0.8\"/>\n";
      o += "<circle cx=\"" + fixed(x, 2) + "\" cy=\"" + fixed(y, 2) + "\" r=\"2.5\" " +
           (f.stopped_early ? std::string("fill=\"none\" stroke=\"") + c + "\"" : std::string("fill=\"") + c + "\"") +
           "><title>" + xml_escape(f.id + (f.name.empty() ? "" : " (" + f.name + ")") + ": " + fixed(f.mean, 3)) +
           "</title></circle>\n";
    }
    // best per bit width, and the legend
    const auto order = ranking(ts);
    double ly = oy + T + 10;
    for (const int bits : widths) {
      std::size_t best = fs.size(), count = 0;
      for (const auto& f : fs) count += f.bits == bits;
      for (const std::size_t p : order)
        if (fs[p].bits == bits && fs[p].batches > 0) {
          best = p;
          break;
        }
      const char* c = colour(bits);
      o += "<rect x=\"" + fixed(L + pw + 15, 1) + "\" y=\"" + fixed(ly - 9, 1) +
           "\" width=\"10\" height=\"10\" fill=\"" + c + "\"/>\n";
      o += "<text x=\"" + fixed(L + pw + 30, 1) + "\" y=\"" + fixed(ly, 1) + "\">" + std::to_string(bits) + "-bit (" +
           std::to_string(count) + ")</text>\n";
      if (best < fs.size()) {
        const auto& f = fs[best];
        const std::string label = f.name.empty() ? f.id : f.name;
        o += "<circle cx=\"" + fixed(X(best), 2) + "\" cy=\"" + fixed(Y(f.mean), 2) +
             "\" r=\"7\" fill=\"none\" stroke=\"black\" stroke-width=\"1.5\"/>\n";
        o += "<text x=\"" + fixed(X(best), 2) + "\" y=\"" + fixed(Y(f.mean) + 20, 2) +
             "\" text-anchor=\"middle\" font-size=\"11\">" + xml_escape(label) + "</text>\n";
        o += "<text x=\"" + fixed(L + pw + 30, 1) + "\" y=\"" + fixed(ly + 15, 1) +
             "\" font-size=\"10\">best: " + xml_escape(label) + " " + fixed(f.mean, 2) + "</text>\n";
      }
      ly += 36;
    }
  }
  o += "</svg>\n";
  return o;
}

void write_file_atomic(const std::filesystem::path& path, std::string_view text) {
  const std::filesystem::path tmp = path.string() + ".tmp" + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot create " + tmp.string());
  std::string_view rest = text;
  while (!rest.empty()) {
    const ssize_t w = ::write(fd, rest.data(), rest.size());
    if (w <= 0) {
      ::close(fd);
      std::filesystem::remove(tmp);
      throw std::runtime_error("cannot write " + tmp.string());
    }
    rest.remove_prefix(static_cast<std::size_t>(w));
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    std::filesystem::remove(tmp);
    throw std::runtime_error("cannot write " + tmp.string());
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp);
    throw std::runtime_error("cannot rename " + tmp.string() + " to " + path.string() + ": " + ec.message());
  }
}

}  // namespace fmtsim::sim
