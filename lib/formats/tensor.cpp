// SPDX-License-Identifier: MIT
// Tensor quantizer: groups over an N-d layout, power-of-two and real scale rules, tracking, hysteresis, stats.
#include <fmtsim/core/fp_env.hpp>
#include <fmtsim/core/quantize.hpp>
#include <fmtsim/core/spec.hpp>
#include <fmtsim/formats/tensor.hpp>
#include <fmtsim/kernels/elementwise.hpp>
#include <fmtsim/kernels/scaled.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <climits>
#include <cmath>
#include <cstddef>
#include <exception>
#include <limits>
#include <memory>
#include <numeric>
#include <type_traits>

namespace fmtsim {

namespace {

[[noreturn]] void fail(const std::string& msg) { throw std::invalid_argument(msg); }

std::string shape_text(std::span<const std::int64_t> s) {
  std::string t = "(";
  for (std::size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
  return t + (s.size() == 1 ? ",)" : ")");
}

bool parse_int64(std::string_view s, std::int64_t& v) {
  if (s.empty() || s.size() > 18) return false;
  bool neg = false;
  if (s.front() == '-') {
    neg = true;
    s.remove_prefix(1);
    if (s.empty()) return false;
  }
  v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  if (neg) v = -v;
  return true;
}

}  // namespace

// ---- layout ------------------------------------------------------------------------------------

tensor_layout tensor_layout::contiguous(std::vector<std::int64_t> shape) { return tensor_layout{std::move(shape), {}}; }

std::size_t tensor_layout::size() const {
  std::size_t n = 1;
  for (auto d : shape) n *= static_cast<std::size_t>(d);
  return n;
}

std::vector<std::int64_t> tensor_layout::effective_strides() const {
  if (!strides.empty()) return strides;
  std::vector<std::int64_t> s(shape.size());
  std::int64_t acc = 1;
  for (std::size_t k = shape.size(); k-- > 0;) {
    s[k] = acc;
    acc *= shape[k];
  }
  return s;
}

bool tensor_layout::is_contiguous() const {
  if (strides.empty()) return true;
  std::int64_t acc = 1;
  for (std::size_t k = shape.size(); k-- > 0;) {
    if (shape[k] != 1 && strides[k] != acc) return false;
    acc *= shape[k];
  }
  return true;
}

std::size_t tensor_layout::span_needed() const {
  if (size() == 0) return 0;
  const auto st = effective_strides();
  std::size_t top = 0;
  for (std::size_t k = 0; k < shape.size(); ++k)
    top += static_cast<std::size_t>(shape[k] - 1) * static_cast<std::size_t>(st[k]);
  return top + 1;
}

// ---- groups ------------------------------------------------------------------------------------

scale_groups parse_groups(std::string_view text) {
  scale_groups g;
  auto bad = [&](const std::string& why) -> scale_groups {
    fail("scale groups '" + std::string(text) + "': " + why +
         " (expected tensor, channel[:AXIS], block:SIZE[:AXIS] or tile:AxB)");
  };
  std::vector<std::string_view> parts;
  std::string_view rest = text;
  while (true) {
    const auto c = rest.find(':');
    parts.push_back(rest.substr(0, c));
    if (c == std::string_view::npos) break;
    rest.remove_prefix(c + 1);
  }
  std::int64_t v = 0;
  if (parts[0] == "tensor") {
    if (parts.size() != 1) return bad("'tensor' takes no parameters");
    g.kind = group_kind::tensor;
  } else if (parts[0] == "channel") {
    g.kind = group_kind::channel;
    if (parts.size() > 2) return bad("too many fields");
    if (parts.size() == 2) {
      if (!parse_int64(parts[1], v)) return bad("axis is not an integer");
      g.axis = static_cast<int>(v);
    }
  } else if (parts[0] == "block") {
    g.kind = group_kind::block;
    g.axis = -1;
    if (parts.size() < 2 || parts.size() > 3) return bad("block needs a size");
    if (!parse_int64(parts[1], v) || v < 1) return bad("block size must be a positive integer");
    g.block = v;
    if (parts.size() == 3) {
      if (!parse_int64(parts[2], v)) return bad("axis is not an integer");
      g.axis = static_cast<int>(v);
    }
  } else if (parts[0] == "tile") {
    g.kind = group_kind::tile;
    if (parts.size() != 2) return bad("tile needs AxB");
    const auto x = parts[1].find('x');
    std::int64_t a = 0, b = 0;
    if (x == std::string_view::npos || !parse_int64(parts[1].substr(0, x), a) ||
        !parse_int64(parts[1].substr(x + 1), b) || a < 1 || b < 1)
      return bad("tile size must be AxB with positive integers");
    g.tile_rows = a;
    g.tile_cols = b;
  } else {
    return bad("unknown group kind");
  }
  return g;
}

std::string groups_name(const scale_groups& g) {
  switch (g.kind) {
    case group_kind::tensor:
      return "tensor";
    case group_kind::channel:
      return "channel:" + std::to_string(g.axis);
    case group_kind::block:
      return "block:" + std::to_string(g.block) + ":" + std::to_string(g.axis);
    case group_kind::tile:
      return "tile:" + std::to_string(g.tile_rows) + "x" + std::to_string(g.tile_cols);
  }
  return "?";
}

std::size_t group_geometry::count() const {
  std::size_t n = 1;
  for (auto v : grid) n *= static_cast<std::size_t>(v);
  return n;
}

std::size_t group_geometry::group_of(std::span<const std::int64_t> index) const {
  std::size_t g = 0;
  for (std::size_t k = 0; k < shape.size(); ++k)
    g = g * static_cast<std::size_t>(grid[k]) + static_cast<std::size_t>(index[k] / box[k]);
  return g;
}

group_geometry make_geometry(const scale_groups& g, std::span<const std::int64_t> shape_in) {
  group_geometry geo;
  geo.shape.assign(shape_in.begin(), shape_in.end());
  if (geo.shape.empty()) geo.shape = {1};
  for (auto d : geo.shape)
    if (d < 0) fail("tensor shape " + shape_text(shape_in) + " has a negative extent");
  const int nd = static_cast<int>(geo.shape.size());
  auto norm_axis = [&](int axis) {
    const int a = axis < 0 ? axis + nd : axis;
    if (a < 0 || a >= nd)
      fail("scale groups " + groups_name(g) + ": axis " + std::to_string(axis) +
           " is out of range for a tensor of shape " + shape_text(shape_in));
    return a;
  };
  geo.box.assign(geo.shape.size(), 1);
  switch (g.kind) {
    case group_kind::tensor:
      for (int k = 0; k < nd; ++k) geo.box[k] = std::max<std::int64_t>(geo.shape[k], 1);
      break;
    case group_kind::channel: {
      const int a = norm_axis(g.axis);
      for (int k = 0; k < nd; ++k) geo.box[k] = k == a ? 1 : std::max<std::int64_t>(geo.shape[k], 1);
      break;
    }
    case group_kind::block: {
      const int a = norm_axis(g.axis);
      if (g.block < 1) fail("block size must be positive");
      geo.box[a] = g.block;
      break;
    }
    case group_kind::tile:
      if (nd < 2) fail("tile groups need a tensor with at least two axes, got shape " + shape_text(shape_in));
      if (g.tile_rows < 1 || g.tile_cols < 1) fail("tile sizes must be positive");
      geo.box[nd - 2] = g.tile_rows;
      geo.box[nd - 1] = g.tile_cols;
      break;
  }
  geo.grid.resize(geo.shape.size());
  for (int k = 0; k < nd; ++k) geo.grid[k] = (geo.shape[k] + geo.box[k] - 1) / geo.box[k];
  return geo;
}

// ---- rules -------------------------------------------------------------------------------------

std::optional<scale_rule> parse_scale_rule(std::string_view n) {
  if (n == "none") return scale_rule::none;
  if (n == "floor") return scale_rule::floor;
  if (n == "ceil") return scale_rule::ceil;
  if (n == "room") return scale_rule::room;
  if (n == "fp32") return scale_rule::fp32;
  return std::nullopt;
}

std::string_view scale_rule_name(scale_rule r) {
  switch (r) {
    case scale_rule::none:
      return "none";
    case scale_rule::floor:
      return "floor";
    case scale_rule::ceil:
      return "ceil";
    case scale_rule::room:
      return "room";
    case scale_rule::fp32:
      return "fp32";
  }
  return "?";
}

std::optional<nonfinite_policy> parse_nonfinite(std::string_view n) {
  if (n == "nan") return nonfinite_policy::nan_group;
  if (n == "error") return nonfinite_policy::error;
  if (n == "pass") return nonfinite_policy::passthrough;
  return std::nullopt;
}

std::string_view nonfinite_name(nonfinite_policy p) {
  switch (p) {
    case nonfinite_policy::nan_group:
      return "nan";
    case nonfinite_policy::error:
      return "error";
    case nonfinite_policy::passthrough:
      return "pass";
  }
  return "?";
}

int element_emax(const element_format& f0) {
  element_format f = f0;
  f.scale_exp = 0;
  const dyadic m = max_finite(f);
  return m.exponent + detail::bit_width64(m.significand) - 1;
}

namespace {

struct preset_def {
  std::string_view name;
  std::string_view element;
};

constexpr preset_def mx_presets[] = {
    {"mxfp8_e4m3", "e4m3fn:sat"},  {"mxfp8_e5m2", "e5m2:sat"},    {"mxfp6_e2m3", "e2m3fin:sat"},
    {"mxfp6_e3m2", "e3m2fin:sat"}, {"mxfp4_e2m1", "e2m1fin:sat"}, {"mxint8", "fix8.6:sat"},
};

struct bm_def {
  std::string_view name;
  std::string_view forward;
  std::string_view backward;
};

constexpr bm_def bm_presets[] = {
    {"bm8", "e2m5fin:sat", "e4m3fin:sat"},
    {"bm6", "e2m3fin:sat", "e3m2fin:sat"},
    {"bm5", "e2m2fin:sat", "e3m1fin:sat"},
    {"bm4", "e2m1fin:sat", "e3m0fin:sat"},
};

}  // namespace

tensor_format parse_tensor_format(std::string_view spec) {
  tensor_format t;
  for (const auto& p : mx_presets) {
    if (spec == p.name) {
      t.element = parse_format(p.element);
      t.groups = scale_groups{group_kind::block, -1, 32, 48, 48};
      t.rule = scale_rule::floor;
      t.stored_offset = 0;
      t.stored_min = -127;
      t.stored_max = 127;
      t.scale_bits = 8;
      t.nonfinite = nonfinite_policy::nan_group;
      t.preset = std::string(p.name);
      return t;
    }
  }
  for (const auto& p : bm_presets) {
    std::string_view rest = spec;
    if (rest.substr(0, p.name.size()) != p.name) continue;
    rest.remove_prefix(p.name.size());
    bool backward = false;
    if (rest == ":bwd")
      backward = true;
    else if (!rest.empty() && rest != ":fwd")
      continue;
    t.element = parse_format(backward ? p.backward : p.forward);
    t.groups = scale_groups{group_kind::tile, 0, 32, 48, 48};
    t.rule = scale_rule::floor;
    t.stored_offset = element_emax(t.element);
    t.stored_min = -128;
    t.stored_max = 127;
    t.scale_bits = 8;
    t.preset = std::string(p.name) + (backward ? ":bwd" : ":fwd");
    return t;
  }
  t.element = parse_format(spec);
  if (t.element.kind == family::profile) {
    t.rule = scale_rule::room;
    t.room = 0;
  }
  return t;
}

std::string tensor_format_name(const tensor_format& f) {
  element_format e = f.element;
  e.scale_exp = 0;
  std::string s = format_name(e);
  if (!f.preset.empty()) s = f.preset + " element=" + s;
  s += " groups=" + groups_name(f.groups) + " rule=" + std::string(scale_rule_name(f.rule));
  if (f.rule == scale_rule::room) s += " room=" + std::to_string(f.room);
  if (f.rule == scale_rule::none && f.element.scale_exp != 0) s += " scale_exp=" + std::to_string(f.element.scale_exp);
  if (f.tracking) s += " tracking";
  s += " stored=[" + std::to_string(f.stored_min) + "," + std::to_string(f.stored_max) + "]+" +
       std::to_string(f.stored_offset);
  s += " nonfinite=" + std::string(nonfinite_name(f.nonfinite));
  return s;
}

// ---- stats -------------------------------------------------------------------------------------

void quantize_stats::merge(const quantize_stats& o) {
  const bool had = groups - zero_groups - nan_groups > 0;
  const bool other = o.groups - o.zero_groups - o.nan_groups > 0;
  elements += o.elements;
  groups += o.groups;
  zero_groups += o.zero_groups;
  nan_groups += o.nan_groups;
  nonfinite += o.nonfinite;
  clipped += o.clipped;
  flushed_to_zero += o.flushed_to_zero;
  outliers += o.outliers;
  outliers_clamped += o.outliers_clamped;
  scale_clamped += o.scale_clamped;
  if (other) {
    scale_exp_min = had ? std::min(scale_exp_min, o.scale_exp_min) : o.scale_exp_min;
    scale_exp_max = had ? std::max(scale_exp_max, o.scale_exp_max) : o.scale_exp_max;
  }
  payload_bits += o.payload_bits;
  scale_bits += o.scale_bits;
}

std::string stats_json(const quantize_stats& s, int indent) {
  nlohmann::ordered_json j;
  j["elements"] = s.elements;
  j["groups"] = s.groups;
  j["zero_groups"] = s.zero_groups;
  j["nan_groups"] = s.nan_groups;
  j["nonfinite"] = s.nonfinite;
  j["clipped"] = s.clipped;
  j["flushed_to_zero"] = s.flushed_to_zero;
  j["outliers"] = s.outliers;
  j["outliers_clamped"] = s.outliers_clamped;
  j["scale_clamped"] = s.scale_clamped;
  j["scale_exp_min"] = s.scale_exp_min;
  j["scale_exp_max"] = s.scale_exp_max;
  j["payload_bits"] = s.payload_bits;
  j["scale_bits"] = s.scale_bits;
  j["bits_per_element"] = s.bits_per_element();
  return j.dump(indent);
}

// ---- state -------------------------------------------------------------------------------------

std::string save_state(const quantizer_state& s) {
  nlohmann::ordered_json j;
  j["fmtsim_quantizer_state"] = 1;
  j["format"] = s.format;
  j["calls"] = s.calls;
  j["shape"] = s.shape;
  j["scale_exp"] = s.scale_exp;
  j["previous"] = s.previous;  // doubles are written with round-trip precision
  return j.dump(1);
}

quantizer_state load_state(std::string_view text, const std::string& what) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    fail(what + ": not a quantizer state (JSON parse error: " + e.what() + ")");
  }
  auto need = [&](const char* key) -> const nlohmann::json& {
    if (!j.is_object() || !j.contains(key)) fail(what + ": quantizer state has no '" + key + "' field");
    return j[key];
  };
  try {
    if (need("fmtsim_quantizer_state").get<int>() != 1)
      fail(what + ": unsupported quantizer state version " + need("fmtsim_quantizer_state").dump());
    quantizer_state s;
    s.format = need("format").get<std::string>();
    s.calls = need("calls").get<std::uint64_t>();
    s.shape = need("shape").get<std::vector<std::int64_t>>();
    s.scale_exp = need("scale_exp").get<std::vector<int>>();
    s.previous = need("previous").get<std::vector<double>>();
    std::size_t n = 1;
    for (auto d : s.shape) {
      if (d < 0) fail(what + ": negative extent in the state's shape");
      n *= static_cast<std::size_t>(d);
    }
    if (!s.previous.empty() && s.previous.size() != n)
      fail(what + ": 'previous' holds " + std::to_string(s.previous.size()) + " values but the shape has " +
           std::to_string(n) + " elements");
    return s;
  } catch (const nlohmann::json::exception& e) {
    fail(what + ": malformed quantizer state (" + e.what() + ")");
  }
}

// ---- exact helpers -----------------------------------------------------------------------------

int exact_compare_sum(double a, double b, double c) {
  const double s = b + c;  // TwoSum: b + c == s + e exactly
  const double bb = s - b;
  const double e = (b - (s - bb)) + (c - bb);
  const double d = a - s;
  // a - s is exact when a and s have the same sign and lie within a factor 2 (Sterbenz); otherwise
  // |a - s| >= |s|/2 >> |e| and the sign of the rounded difference is the sign of a - s - e.
  const bool sterbenz = (s > 0 && a >= s / 2 && a <= 2 * s) || (s < 0 && a <= s / 2 && a >= 2 * s);
  if (sterbenz || e == 0) {
    if (d > e) return 1;
    if (d < e) return -1;
    return 0;
  }
  return d > 0 ? 1 : (d < 0 ? -1 : 0);
}

template <>
double round_sum<double>(double a, double b) {
  return a + b;
}

template <>
float round_sum<float>(double a, double b) {
  double s = a + b;
  const double bb = s - a;
  const double e = (a - (s - bb)) + (b - bb);
  if (e != 0 && std::isfinite(s)) {
    // round to odd in double, then once to float: the same as rounding the exact sum to float
    const auto bits = std::bit_cast<std::uint64_t>(s);
    if ((bits & 1u) == 0)
      s = std::nextafter(s, e > 0 ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity());
  }
  return static_cast<float>(s);
}

float divide_to_float(double num, double den) {
  if (!(num >= 0) || !(den > 0) || !std::isfinite(num) || !std::isfinite(den))
    fail("divide_to_float: needs a finite num >= 0 and den > 0");
  if (num == 0) return 0.0f;
  float c = static_cast<float>(num / den);
  auto cmp = [&](double p) {  // sign(num - p * den), p * den exact
    const double prod = p * den;
    return num > prod ? 1 : (num < prod ? -1 : 0);
  };
  auto odd = [](float v) { return (std::bit_cast<std::uint32_t>(v) & 1u) != 0; };
  const double fmax = std::numeric_limits<float>::max();
  for (int iter = 0; iter < 8; ++iter) {
    if (std::isinf(c)) c = std::numeric_limits<float>::max();
    const float hi = std::nextafter(c, std::numeric_limits<float>::infinity());
    const double mid_hi = std::isinf(hi) ? fmax + std::ldexp(1.0, 103) : (double(c) + double(hi)) / 2;
    const int ch = cmp(mid_hi);
    if (ch > 0 || (ch == 0 && odd(c))) {
      if (std::isinf(hi)) fail("divide_to_float: the quotient overflows float32");
      c = hi;
      continue;
    }
    if (c > 0) {
      const float lo = std::nextafter(c, 0.0f);
      const double mid_lo = (double(c) + double(lo)) / 2;
      const int cl = cmp(mid_lo);
      if (cl < 0 || (cl == 0 && odd(c))) {
        c = lo;
        continue;
      }
    }
    return c;
  }
  return c;
}

// ---- real-scale element rounding -----------------------------------------------------------------

namespace detail {

// Bits of an exact fraction f = (r / d) * 2^E in [0, 1), most significant first.
class fraction_bits {
 public:
  fraction_bits(std::uint64_t num, int num_exp, std::uint64_t den, int den_exp) {
    r_ = num;
    d_ = den;
    e_ = num_exp - den_exp;
    if (r_ == 0) return;
    while (r_ >= d_) {
      d_ <<= 1;
      ++e_;
    }
    while (2 * r_ < d_) {
      r_ <<= 1;
      --e_;
    }
    zeros_ = -e_;  // f = 0.(zeros_ zero bits)1...
  }
  bool exhausted() const { return r_ == 0 && zeros_ <= 0; }
  int next() {
    if (zeros_ > 0) {
      --zeros_;
      return 0;
    }
    if (r_ == 0) return 0;
    r_ <<= 1;
    if (r_ >= d_) {
      r_ -= d_;
      return 1;
    }
    return 0;
  }

 private:
  unsigned __int128 r_ = 0, d_ = 1;
  int e_ = 0;
  long zeros_ = 0;
};

// x / S quantized to the element grid, rounding the exact real quotient once. Returns the element value
// (unscaled, as a double; NaN/inf per the element's rules). ef has scale_exp 0.
inline double quantize_real(const element_format& ef, double x, double S, round_mode mode, std::uint64_t seed,
                            std::uint64_t index, double previous_output) {
  const decomposed dx = decompose(x);
  if (dx.is_nan || dx.is_inf || dx.is_zero) return quantize<double>(ef, x, round_mode{});
  const bool neg = dx.negative;
  const double a = std::fabs(x);
  round_mode m = mode;
  if (m.kind == rounding::hys) m = round_mode{x < previous_output ? rounding::rup : rounding::rdn, 0};
  const double q = a / S;
  // The exact quotient a/S and its double rounding q lie in the same piece between breakpoints (grid
  // points and midpoints, all exact doubles spaced far wider than a double ulp) unless q is itself a
  // breakpoint; then one exact product decides on which side of q the quotient lies.
  double rep = q;
  bool exact_on_grid = false;
  if (q == 0) {
    rep = std::numeric_limits<double>::denorm_min();
  } else {
    const decomposed dq = decompose(q);
    const int low = grid_low_exp(ef);
    const int qe = dq.top_exponent >= low ? quantum_exp(ef, dq.top_exponent) : low_quantum_exp(ef);
    const int lsb = dq.exponent + std::countr_zero(dq.significand);
    if (lsb >= qe - 1) {
      const double prod = q * S;  // exact: q has at most 26 significant bits here, S at most 24
      if (a == prod) {
        exact_on_grid = lsb >= qe;
      } else {
        rep = std::nextafter(q, a < prod ? 0.0 : std::numeric_limits<double>::infinity());
      }
    }
  }
  if (m.kind != rounding::sr || exact_on_grid) {
    element_context<double> ctx{seed, index, 0.0};
    return quantize<double>(ef, neg ? -rep : rep, m, ctx);
  }
  // stochastic: f = (a - L*S) / (Q*S) exactly, L the grid point at or below a/S, Q the local quantum
  const quantized_magnitude lo = round_magnitude(ef, decompose(rep), direction::down, 0, nullptr);
  const double L = compose<double>(false, lo.n, lo.qe);
  const double LS = L * S;                  // exact
  const double num = a - LS;                // exact: L = 0, or LS <= a < 2 LS
  const double den = std::ldexp(S, lo.qe);  // Q * S, exact
  const decomposed dn = decompose(num), dd = decompose(den);
  fraction_bits f(dn.significand, dn.exponent, dd.significand, dd.exponent);
  element_random rng(seed, index);
  bool up = false;
  if (m.sr_bits == 0) {
    // u uniform in [0, 1), compared with f bit by bit
    bool decided = false;
    for (int w = 0; w < 128 && !decided; ++w) {
      const std::uint32_t word = rng.next32();
      for (int b = 31; b >= 0; --b) {
        if (f.exhausted()) {
          up = false;  // u >= f
          decided = true;
          break;
        }
        const int ub = static_cast<int>((word >> b) & 1u), fb = f.next();
        if (ub != fb) {
          up = ub < fb;
          decided = true;
          break;
        }
      }
    }
  } else {
    const int R = m.sr_bits;
    const std::uint64_t u = rng.leading(R);
    std::uint64_t F = 0;
    for (int b = 0; b < R; ++b) F = (F << 1) | static_cast<std::uint64_t>(f.next());
    up = u < F;
  }
  const double y = compose<double>(false, lo.n + (up ? 1u : 0u), lo.qe);
  return quantize<double>(ef, neg ? -y : y, round_mode{});
}

}  // namespace detail

// ---- the quantizer -----------------------------------------------------------------------------

tensor_quantizer::tensor_quantizer(tensor_format f, quantize_options opt, kernels::backend b)
    : fmt_(std::move(f)), opt_(opt), backend_(b) {
  if (fmt_.rule == scale_rule::none && fmt_.tracking) fail("scale tracking needs a scale rule (floor, ceil or room)");
  if (fmt_.rule == scale_rule::fp32) {
    if (fmt_.tracking) fail("scale tracking applies to power-of-two scales, not to the fp32 rule");
    if (fmt_.element.log_domain) fail("the fp32 scale rule does not support log-domain rounding");
    if (fmt_.element.kind == family::minifloat && fmt_.element.conv == convention::fnu)
      fail("the fp32 scale rule needs a signed element format with a zero");
    fmt_.element.scale_exp = 0;
    if (precision_bits(fmt_.element) > 24)
      fail("the fp32 scale rule needs an element format of at most 24 significant bits");
  }
  if (fmt_.stored_min > fmt_.stored_max) fail("empty stored scale range");
  state_.format = tensor_format_name(fmt_);
}

void tensor_quantizer::set_state(quantizer_state s) {
  if (s.format != tensor_format_name(fmt_))
    fail("quantizer state was written for '" + s.format + "', this quantizer is '" + tensor_format_name(fmt_) + "'");
  state_ = std::move(s);
}

void tensor_quantizer::reset() {
  state_ = quantizer_state{};
  state_.format = tensor_format_name(fmt_);
  scales_.clear();
}

namespace {

// Elements per task of the float32 fast path: small groups are taken whole into tasks of about this size
// (amax and quantization while the data is in cache); larger groups are cut into pieces of the second size.
// Groups longer than direct_group_min run the plain kernel with parameters built at their own scale (about
// half a microsecond per distinct scale) instead of the scale-0 kernel with its exponent moves.
constexpr std::size_t small_group_chunk = std::size_t{1} << 14;
constexpr std::size_t large_group_chunk = std::size_t{1} << 16;
constexpr std::size_t direct_group_min = std::size_t{1} << 12;

struct run_t {
  std::size_t lin;  // C-order index of the first element
  std::size_t len;
  std::size_t in_off, out_off;  // memory offsets of the first element
};

// Runs of the group g along the last axis (merged when the memory is contiguous).
void group_runs(const group_geometry& geo, std::size_t g, const std::vector<std::int64_t>& cs,
                const std::vector<std::int64_t>& is, const std::vector<std::int64_t>& os, bool merge,
                std::vector<run_t>& runs) {
  runs.clear();
  const std::size_t nd = geo.shape.size();
  std::vector<std::int64_t> start(nd), ext(nd), j(nd, 0);
  std::size_t rem = g;
  for (std::size_t k = nd; k-- > 0;) {
    const auto gk = static_cast<std::int64_t>(rem % static_cast<std::size_t>(geo.grid[k]));
    rem /= static_cast<std::size_t>(geo.grid[k]);
    start[k] = gk * geo.box[k];
    ext[k] = std::min(geo.box[k], geo.shape[k] - start[k]);
    if (ext[k] <= 0) return;
  }
  const std::size_t last = nd - 1;
  while (true) {
    std::int64_t lin = 0, io = 0, oo = 0;
    for (std::size_t k = 0; k < nd; ++k) {
      const std::int64_t idx = start[k] + (k == last ? 0 : j[k]);
      lin += idx * cs[k];
      io += idx * is[k];
      oo += idx * os[k];
    }
    const run_t r{static_cast<std::size_t>(lin), static_cast<std::size_t>(ext[last]), static_cast<std::size_t>(io),
                  static_cast<std::size_t>(oo)};
    if (merge && !runs.empty() && runs.back().lin + runs.back().len == r.lin)
      runs.back().len += r.len;
    else
      runs.push_back(r);
    // odometer over axes 0..nd-2
    std::size_t k = last;
    bool done = true;
    while (k-- > 0) {
      if (++j[k] < ext[k]) {
        done = false;
        break;
      }
      j[k] = 0;
    }
    if (done) return;
  }
}

template <class T>
bool is_finite(T v) {
  return std::isfinite(v);
}

template <class T>
double max_abs_value(const element_format& f, bool negative) {
  const dyadic m = negative ? max_finite_negative(f) : max_finite(f);
  return compose<double>(false, m.significand, m.exponent);
}

struct pow2_choice {
  int s = 0;
  bool clamped = false;
};

// The power-of-two scale exponent of a group with finite amax >= 0 (rules floor, ceil, room; tracking moves the
// previous exponent *tracked by at most one binade), clamped to the stored range. The one copy of the rule: the
// generic path and the float32 fast path both call it.
template <class T>
pow2_choice pow2_scale(const tensor_format& fmt, int emax, T amax, const int* tracked) {
  const bool zero_group = amax == T(0);
  const int ea = zero_group ? 0 : decompose(amax).top_exponent;
  int target = ea + (fmt.rule == scale_rule::room ? fmt.room : 0) - emax;
  if (fmt.rule == scale_rule::ceil && !zero_group) {
    element_format f0 = fmt.element;
    f0.scale_exp = target;
    const dyadic mx = max_finite(f0);
    const decomposed da = decompose(amax);
    if (detail::compare_dyadic(da.significand, da.exponent, mx.significand, mx.exponent) > 0) ++target;
  }
  pow2_choice c;
  c.s = target;
  if (tracked) {
    const int prev = *tracked;
    c.s = zero_group ? prev : prev + (target > prev ? 1 : (target < prev ? -1 : 0));
  }
  const int stored = c.s + fmt.stored_offset;
  if (stored < fmt.stored_min || stored > fmt.stored_max) {
    c.s = std::clamp(stored, fmt.stored_min, fmt.stored_max) - fmt.stored_offset;
    c.clamped = true;
  }
  return c;
}

// Statistics of a range of groups (merged in group order, so the result never depends on threads).
struct group_acc {
  std::uint64_t nonfinite = 0, nan_groups = 0, zero_groups = 0, scale_clamped = 0, clipped = 0, flushed_to_zero = 0;
  bool have_range = false;
  int scale_min = 0, scale_max = 0;
  void range(int s) {
    scale_min = have_range ? std::min(scale_min, s) : s;
    scale_max = have_range ? std::max(scale_max, s) : s;
    have_range = true;
  }
  void merge(const group_acc& o) {
    nonfinite += o.nonfinite;
    nan_groups += o.nan_groups;
    zero_groups += o.zero_groups;
    scale_clamped += o.scale_clamped;
    clipped += o.clipped;
    flushed_to_zero += o.flushed_to_zero;
    if (o.have_range) {
      range(o.scale_min);
      range(o.scale_max);
    }
  }
  void store(quantize_stats& st) const {
    st.nonfinite = nonfinite;
    st.nan_groups = nan_groups;
    st.zero_groups = zero_groups;
    st.scale_clamped = scale_clamped;
    st.clipped = clipped;
    st.flushed_to_zero = flushed_to_zero;
    if (have_range) {
      st.scale_exp_min = scale_min;
      st.scale_exp_max = scale_max;
    }
  }
};

template <class T>
struct group_scratch {
  std::vector<run_t> runs;
  std::vector<T> tin, tout, tprev;
  std::vector<double> din, dout, dprev;
};

// float32 bits of the largest magnitude of the element format at scale s, given them at scale 0 (bits0, value L0
// as a double). Exact whenever the format at scale s is float32-native (every value, the limits included, is a float).
std::uint32_t limit_bits_at(std::uint32_t bits0, double L0, int s) {
  const int field = static_cast<int>(bits0 >> 23);
  if (bits0 == 0) return 0;
  if (field >= 1 && field + s >= 1 && field + s <= 254) return bits0 + (static_cast<std::uint32_t>(s) << 23);
  return std::bit_cast<std::uint32_t>(static_cast<float>(std::ldexp(L0, s)));
}

// tensor_quantizer's float32 fast path (contiguous in and out, groups that are contiguous runs of the flat array,
// power-of-two rules without tracking, no hysteresis, no codes; see docs/performance.md). Groups it cannot take
// exactly (non-finite or zero amax, clamped scale, a scale where the format is not float32-native, ...) go
// through `generic` one by one. Returns false, having touched nothing, when the call is not eligible.
template <class Generic>
bool run_fast(const tensor_format& fmt, const quantize_options& opt, kernels::backend backend,
              std::shared_ptr<const kernels::scaled_f32_kernel>& cache, std::span<const float> in, std::span<float> out,
              std::size_t n, const group_geometry& geo, int emax, std::vector<group_scale>& scales, group_acc& total,
              Generic& generic) {
  if (fmt.rule != scale_rule::floor && fmt.rule != scale_rule::ceil && fmt.rule != scale_rule::room) return false;
  if (opt.mode.kind == rounding::hys || backend == kernels::backend::scalar || backend == kernels::backend::cuda)
    return false;
  if (!kernels::scaled_fast_path_enabled()) return false;
  const float* ib = in.data();
  float* ob = out.data();
  if (ib != ob && ib < ob + n && ob < ib + n) return false;  // partial overlap: leave it to the generic copies
  // groups: contiguous runs iff box_k == 1 before some axis a and box_k covers the extent after it
  const std::size_t nd = geo.shape.size();
  std::size_t a = 0;
  while (a + 1 < nd && geo.box[a] == 1) ++a;
  std::size_t inner = 1;
  for (std::size_t k = a + 1; k < nd; ++k) {
    if (geo.box[k] < geo.shape[k]) return false;
    inner *= static_cast<std::size_t>(geo.shape[k]);
  }
  const std::size_t ext = static_cast<std::size_t>(geo.shape[a]), box = static_cast<std::size_t>(geo.box[a]),
                    per_row = static_cast<std::size_t>(geo.grid[a]);
  const std::size_t ngroups = geo.count();
  auto group_begin = [&](std::size_t g) { return ((g / per_row) * ext + (g % per_row) * box) * inner; };
  auto group_len = [&](std::size_t g) { return std::min(box, ext - (g % per_row) * box) * inner; };
  // the element format at scale 0 must be float32-native; at scale s it is iff lo <= s <= hi
  element_format f0 = fmt.element;
  f0.scale_exp = 0;
  if (!representable_in<float>(f0)) return false;
  const dyadic mp = max_finite(f0), mn = max_finite_negative(f0);
  const dyadic& mx = mn.significand > mp.significand ? mn : mp;
  const int lo = -149 - min_quantum_exp(f0), hi = 127 - (mx.exponent + detail::bit_width64(mx.significand) - 1);
  auto native_at = [&](int s) {
    element_format f = f0;
    f.scale_exp = s;
    return representable_in<float>(f);
  };
  if (lo > hi || !native_at(lo) || !native_at(hi) || native_at(lo - 1) || native_at(hi + 1)) return false;
  if (!cache || !cache->matches(f0, opt)) {
    try {
      cache = std::make_shared<const kernels::scaled_f32_kernel>(f0, opt);
    } catch (const std::invalid_argument&) {
      return false;
    }
  }
  const kernels::scaled_f32_kernel& kern = *cache;
  const double L0p = max_abs_value<float>(f0, false), L0n = max_abs_value<float>(f0, true);
  const std::uint32_t b0p = std::bit_cast<std::uint32_t>(static_cast<float>(L0p)),
                      b0n = std::bit_cast<std::uint32_t>(static_cast<float>(L0n));

  // a group's segment at its scale, or false: the generic path takes it
  auto plan = [&](std::uint32_t amax_bits, kernels::scaled_segment& seg) {
    if (amax_bits == 0 || amax_bits > 0x7f7fffffu) return false;
    const pow2_choice ch = pow2_scale<float>(fmt, emax, std::bit_cast<float>(amax_bits), nullptr);
    const int s = ch.s;
    if (ch.clamped || s < -127 || s > 127 || s < lo || s > hi) return false;
    if (static_cast<int>(amax_bits >> 23) - s > 254) return false;  // amax * 2^-s must stay finite
    seg.scale_exp = s;
    seg.clip_pos = limit_bits_at(b0p, L0p, s);
    seg.clip_neg = limit_bits_at(b0n, L0n, s);
    return true;
  };

  // all-zero groups (amax 0): the scale pow2_scale gives amax 0, taken when the format is native there
  const pow2_choice zero_choice = pow2_scale<float>(fmt, emax, 0.0f, nullptr);
  const bool zero_fast = zero_choice.s >= -127 && zero_choice.s <= 127 && zero_choice.s >= lo && zero_choice.s <= hi;
  auto zero_plan = [&](kernels::scaled_segment& seg) {
    if (!zero_fast) return false;
    seg.scale_exp = zero_choice.s;
    seg.clip_pos = limit_bits_at(b0p, L0p, zero_choice.s);
    seg.clip_neg = limit_bits_at(b0n, L0n, zero_choice.s);
    return true;
  };

  const std::size_t glen = box * inner;  // the longest group
  if (glen <= direct_group_min) {
    // small groups: each task takes whole groups: amax, scales, quantization, while the data is in cache
    const std::size_t per_task = std::max<std::size_t>(1, small_group_chunk / glen);
    const std::size_t tasks = (ngroups + per_task - 1) / per_task;
    std::vector<group_acc> accs(tasks);
    std::vector<std::exception_ptr> errors(tasks);
    // block mode (scaled.hpp quantize_blocks): every group the same length (ext a multiple of box, so group g
    // starts at g * glen), a rule whose plan depends on amax through its exponent field only
    const bool by_field = fmt.rule != scale_rule::ceil;
    const bool blocks = by_field && ext % box == 0 && kern.blocks_served(glen);
    const bool stream = out.size() * sizeof(float) >= kernels::stream_output_bytes;
    kernels::run_tasks(tasks, [&](std::size_t k) {
      try {
        const std::size_t g0 = k * per_task, g1 = std::min(ngroups, g0 + per_task);
        std::fill(scales.begin() + static_cast<std::ptrdiff_t>(g0), scales.begin() + static_cast<std::ptrdiff_t>(g1),
                  group_scale{});
        group_acc& acc = accs[k];
        // floor and room depend on amax only through floor(log2 amax): for a normal amax the plan is a function
        // of its exponent field, remembered per task (computed by the same plan on the first block that needs it)
        struct memo_t {
          std::int8_t state = 0;  // 0 unknown, 1 fast, -1 generic
          std::int32_t s = 0;
          std::uint32_t clip_pos = 0, clip_neg = 0;
        };
        std::array<memo_t, 256> memo{};
        auto field_plan = [&](std::uint32_t field, kernels::scaled_segment& seg) {
          memo_t& e = memo[field];
          if (e.state == 0) {
            kernels::scaled_segment t;
            e.state = plan(field << 23, t) ? 1 : -1;  // 2^(field - 127): the same floor(log2)
            e.s = t.scale_exp;
            e.clip_pos = t.clip_pos;
            e.clip_neg = t.clip_neg;
          }
          if (e.state < 0) return false;
          seg.scale_exp = e.s;
          seg.clip_pos = e.clip_pos;
          seg.clip_neg = e.clip_neg;
          return true;
        };
        auto plan_memo = [&](std::uint32_t amax_bits, kernels::scaled_segment& seg) {
          const std::uint32_t field = amax_bits >> 23;
          if (!by_field || field == 0 || field >= 255) return plan(amax_bits, seg);
          return field_plan(field, seg);
        };
        // the groups left for the segment kernel and the generic path, and their segments: all, or those the block
        // mode did not take
        std::vector<std::size_t> rest;
        std::vector<kernels::scaled_segment> segs;
        if (blocks) {
          // the kernel writes each block's scale_exp into its group's record (a stride of whole records)
          static_assert(std::is_same_v<decltype(group_scale::scale_exp), std::int32_t> &&
                        offsetof(group_scale, scale_exp) == 0 && sizeof(group_scale) % sizeof(std::int32_t) == 0);
          group_scale* sc = scales.data() + g0;
          const kernels::scaled_f32_kernel::block_result r =
              kern.quantize_blocks(ib, ob, g0 * glen, glen, g1 - g0, field_plan, opt.index_offset, stream,
                                   &sc->scale_exp, sizeof(group_scale) / sizeof(std::int32_t));
          acc.clipped += r.counts.clipped;
          acc.flushed_to_zero += r.counts.flushed_to_zero;
          if (r.scale_min <= r.scale_max) {
            acc.range(r.scale_min);
            acc.range(r.scale_max);
          }
          if (r.left == 0) return;
          for (std::size_t j = 0; j < g1 - g0; ++j) {
            if (sc[j].scale_exp != kernels::scaled_f32_kernel::no_block_scale) continue;
            sc[j].scale_exp = group_scale{}.scale_exp;  // as the generic path finds it
            rest.push_back(g0 + j);
            segs.emplace_back();
            segs.back().begin = (g0 + j) * glen;  // tiling: group g starts at g * glen
            segs.back().len = glen;
          }
        } else {
          rest.resize(g1 - g0);
          segs.resize(g1 - g0);
          std::size_t row = g0 / per_row, col = g0 % per_row;  // no division per group
          for (std::size_t g = g0; g < g1; ++g) {
            rest[g - g0] = g;
            segs[g - g0].begin = (row * ext + col * box) * inner;
            segs[g - g0].len = std::min(box, ext - col * box) * inner;
            if (++col == per_row) {
              col = 0;
              ++row;
            }
          }
        }
        std::vector<std::uint32_t> amax(rest.size());
        kern.amax_bits(ib, segs, amax.data());
        std::vector<std::size_t> slow;
        std::size_t m = 0;
        for (std::size_t j = 0; j < segs.size(); ++j) {
          const std::size_t g = rest[j];
          if (amax[j] == 0) {
            // an all-zero group: the generic path's scale for amax 0 (clamped or not), no scale range, and the
            // zeros quantized at that scale (+-0, or the smallest value of a format without zero)
            if (!zero_plan(segs[j])) {
              slow.push_back(g);
              continue;
            }
            scales[g].scale_exp = segs[j].scale_exp;
            scales[g].clamped = zero_choice.clamped;
            ++acc.zero_groups;
            if (zero_choice.clamped) ++acc.scale_clamped;
          } else {
            if (!plan_memo(amax[j], segs[j])) {  // in place (a struct copy after the field stores stalls forwarding)
              slow.push_back(g);
              continue;
            }
            scales[g].scale_exp = segs[j].scale_exp;
            acc.range(segs[j].scale_exp);
          }
          if (m != j) segs[m] = segs[j];
          ++m;
        }
        const kernels::scaled_counts c = kern.quantize(ib, ob, std::span(segs.data(), m), opt.index_offset);
        acc.clipped += c.clipped;
        acc.flushed_to_zero += c.flushed_to_zero;
        group_scratch<float> scratch;
        for (const std::size_t g : slow) generic(g, acc, scratch);
      } catch (...) {
        errors[k] = std::current_exception();
      }
    });
    for (std::size_t k = 0; k < tasks; ++k) {
      if (errors[k]) std::rethrow_exception(errors[k]);
      total.merge(accs[k]);
    }
    return true;
  }

  // large groups (per tensor, per channel): pieces of at most large_group_chunk elements, every group quantized at
  // the scale of the largest amax of its pieces.
  // Out of place, one pass does both: each piece takes its amax and is quantized at once, while it is in cache, at
  // the scale of the largest amax its group has shown so far (a guess: the pieces run in any order on any thread);
  // afterwards the pieces whose guess was not the group's final scale are quantized again from the input. Outputs
  // and counts are those of the final scale whatever the guesses. When the first pieces already hold an amax of the
  // group's final binade (Gaussian-like data: the largest of 2^16 values is rarely a binade below the largest of
  // millions) nothing is redone and the input is read from memory once instead of twice; at worst (every piece a
  // binade above the ones before) the pieces are quantized twice. In place, the input is gone once quantized: the
  // amax of every piece first, then the quantization.
  std::fill(scales.begin(), scales.end(), group_scale{});
  struct piece_t {
    std::size_t g;
    kernels::scaled_segment seg;
  };
  std::vector<piece_t> pieces;
  for (std::size_t g = 0; g < ngroups; ++g) {
    const std::size_t b = group_begin(g), len = group_len(g);
    for (std::size_t o = 0; o < len; o += large_group_chunk) {
      piece_t p{g, {}};
      p.seg.begin = b + o;
      p.seg.len = std::min(large_group_chunk, len - o);
      pieces.push_back(p);
    }
  }
  const bool stream = out.size() * sizeof(float) >= kernels::stream_output_bytes;
  std::vector<std::uint32_t> piece_amax(pieces.size());
  std::vector<kernels::scaled_counts> counts(pieces.size());
  std::vector<std::int32_t> done_at(pieces.size(), INT32_MIN);  // the scale a piece was quantized at
  // quantizes piece k at the scale and clip bits of `at` (parameters built once per kernel and scale); ahead > 0:
  // prefetches the piece that starts `ahead` elements later meanwhile
  auto quantize_piece = [&](std::size_t k, const kernels::scaled_segment& at, std::size_t ahead) {
    const kernels::detail::simd_params* ps = kern.params_cached(at.scale_exp);
    if (!ps) return;
    kernels::scaled_segment seg = at;
    seg.begin = pieces[k].seg.begin;
    seg.len = pieces[k].seg.len;
    counts[k] = kern.quantize_at(*ps, ib, ob, std::span(&seg, 1), opt.index_offset, stream, opt.count, ahead);
    done_at[k] = at.scale_exp;
  };
  if (ib != ob) {
    std::vector<std::atomic<std::uint32_t>> seen(ngroups);  // the largest piece amax so far, per group
    // tasks of consecutive pieces (4 per thread), so that a piece's quantization can prefetch the task's next piece
    // (the amax read then finds it in L2 instead of waiting on memory with the store stream idle)
    const std::size_t ntasks = std::min<std::size_t>(pieces.size(), 4 * std::max(1u, kernels::thread_count()));
    const std::size_t per_task = (pieces.size() + ntasks - 1) / ntasks;
    kernels::run_tasks((pieces.size() + per_task - 1) / per_task, [&](std::size_t t) {
      const std::size_t k1 = std::min(pieces.size(), (t + 1) * per_task);
      for (std::size_t k = t * per_task; k < k1; ++k) {
        kern.amax_bits(ib, std::span(&pieces[k].seg, 1), &piece_amax[k]);
        const std::uint32_t a = piece_amax[k];
        if (a > 0x7f7fffffu) continue;  // a NaN or an inf: the group goes to the generic path
        std::atomic<std::uint32_t>& m = seen[pieces[k].g];
        std::uint32_t cur = m.load(std::memory_order_relaxed);
        while (cur < a && !m.compare_exchange_weak(cur, a, std::memory_order_relaxed)) {
        }
        const std::size_t next = pieces[k].seg.begin + pieces[k].seg.len;
        const bool prefetch = k + 1 < k1 && pieces[k + 1].seg.begin == next;
        kernels::scaled_segment guess;
        if (plan(std::max(cur, a), guess)) quantize_piece(k, guess, prefetch ? pieces[k].seg.len : 0);
      }
    });
  } else {
    kernels::run_tasks(pieces.size(),
                       [&](std::size_t k) { kern.amax_bits(ib, std::span(&pieces[k].seg, 1), &piece_amax[k]); });
  }
  std::vector<std::uint32_t> group_amax(ngroups, 0);
  for (std::size_t k = 0; k < pieces.size(); ++k)
    group_amax[pieces[k].g] = std::max(group_amax[pieces[k].g], piece_amax[k]);
  std::vector<kernels::scaled_segment> group_seg(ngroups);
  std::vector<unsigned char> fast(ngroups, 0);
  for (std::size_t g = 0; g < ngroups; ++g) {
    if (!plan(group_amax[g], group_seg[g]) || !kern.params_cached(group_seg[g].scale_exp)) continue;
    fast[g] = 1;
    scales[g].scale_exp = group_seg[g].scale_exp;
    total.range(group_seg[g].scale_exp);
  }
  // the pieces of fast groups not yet quantized at their group's scale
  std::vector<std::size_t> todo;
  for (std::size_t k = 0; k < pieces.size(); ++k) {
    const std::size_t g = pieces[k].g;
    if (!fast[g]) continue;
    if (done_at[k] != group_seg[g].scale_exp) todo.push_back(k);
  }
  kernels::run_tasks(todo.size(), [&](std::size_t j) { quantize_piece(todo[j], group_seg[pieces[todo[j]].g], 0); });
  for (std::size_t k = 0; k < pieces.size(); ++k) {
    if (!fast[pieces[k].g]) continue;
    total.clipped += counts[k].clipped;
    total.flushed_to_zero += counts[k].flushed_to_zero;
  }
  group_scratch<float> scratch;
  for (std::size_t g = 0; g < ngroups; ++g)
    if (!fast[g]) generic(g, total, scratch);
  return true;
}

}  // namespace

template <class T>
quantize_stats tensor_quantizer::run(std::span<const T> in, const tensor_layout& in_layout, std::span<T> out,
                                     const tensor_layout& out_layout, std::vector<std::uint32_t>* codes) {
  const fp_env_scope env;
  if (in_layout.shape != out_layout.shape)
    fail("input shape " + shape_text(in_layout.shape) + " and output shape " + shape_text(out_layout.shape) +
         " differ");
  for (auto d : in_layout.shape)
    if (d < 0) fail("tensor shape " + shape_text(in_layout.shape) + " has a negative extent");
  if (!in_layout.strides.empty() && in_layout.strides.size() != in_layout.shape.size())
    fail("input strides and shape have different ranks");
  if (!out_layout.strides.empty() && out_layout.strides.size() != out_layout.shape.size())
    fail("output strides and shape have different ranks");
  for (auto s : in_layout.strides)
    if (s < 0) fail("negative strides are not supported");
  for (auto s : out_layout.strides)
    if (s < 0) fail("negative strides are not supported");
  if (in.size() < in_layout.span_needed())
    fail("input span holds " + std::to_string(in.size()) + " elements, the layout needs " +
         std::to_string(in_layout.span_needed()));
  if (out.size() < out_layout.span_needed())
    fail("output span holds " + std::to_string(out.size()) + " elements, the layout needs " +
         std::to_string(out_layout.span_needed()));

  const std::size_t n = in_layout.size();
  const group_geometry geo = make_geometry(fmt_.groups, in_layout.shape);
  const std::size_t ngroups = n == 0 ? 0 : geo.count();
  std::vector<std::int64_t> shape1 = geo.shape;
  tensor_layout il = in_layout, ol = out_layout;
  if (il.shape.empty()) {
    il.shape = {1};
    ol.shape = {1};
  }
  const auto cs = tensor_layout::contiguous(shape1).effective_strides();
  const auto is = il.effective_strides(), os = ol.effective_strides();
  const bool merge = il.is_contiguous() && ol.is_contiguous();

  // state checks
  const bool hys = opt_.mode.kind == rounding::hys;
  if ((fmt_.tracking || hys) && !state_.shape.empty() && state_.shape != in_layout.shape)
    fail("quantizer state holds a tensor of shape " + shape_text(state_.shape) + ", this call has shape " +
         shape_text(in_layout.shape));
  if (fmt_.tracking && !state_.scale_exp.empty() && state_.scale_exp.size() != ngroups)
    fail("quantizer state holds " + std::to_string(state_.scale_exp.size()) + " tracked scales, this call has " +
         std::to_string(ngroups) + " groups");
  const bool have_prev = hys && state_.previous.size() == n && n > 0;
  const round_mode mode = (hys && !have_prev) ? round_mode{} : opt_.mode;

  quantize_stats st;
  st.elements = n;
  st.groups = ngroups;
  st.payload_bits = double(n) * code_bits(fmt_.element);
  st.scale_bits = fmt_.rule == scale_rule::none ? 0.0 : double(ngroups) * fmt_.scale_bits;
  if (codes) codes->assign(n, 0);
  // every record is reset to group_scale{} before its group is quantized: by run_fast (the small groups' tasks each
  // their own records, while those are in cache, instead of a separate pass over all of them) or before the other
  // paths
  scales_.resize(ngroups);
  std::vector<int> new_tracked(fmt_.tracking ? ngroups : 0);

  const int emax = element_emax(fmt_.element);

  // One group through the generic path: any layout, rule, tracking, hysteresis, codes. Touches only the group's
  // own outputs, codes, scales_[g] and new_tracked[g], and the accumulator and scratch it is given (the fast
  // path calls it from several threads for groups it does not take).
  auto generic_group = [&](std::size_t g, group_acc& acc, group_scratch<T>& scratch) {
    std::vector<run_t>& runs = scratch.runs;
    std::vector<T>&tin = scratch.tin, &tout = scratch.tout, &tprev = scratch.tprev;
    std::vector<double>&din = scratch.din, &dout = scratch.dout, &dprev = scratch.dprev;
    group_runs(geo, g, cs, is, os, merge, runs);
    // ---- scan: amax over finite elements, non-finite elements
    T amax = T(0);
    std::size_t nonfinite = 0;
    std::size_t first_bad = 0;
    T first_bad_value = T(0);
    for (const run_t& r : runs) {
      for (std::size_t i = 0; i < r.len; ++i) {
        const T v = in[r.in_off + i * static_cast<std::size_t>(is.back())];
        if (!is_finite(v)) {
          if (nonfinite++ == 0) {
            first_bad = r.lin + i;
            first_bad_value = v;
          }
          continue;
        }
        const T av = std::fabs(v);
        if (av > amax) amax = av;
      }
    }
    acc.nonfinite += nonfinite;
    if (nonfinite && fmt_.rule != scale_rule::none) {
      if (fmt_.nonfinite == nonfinite_policy::error)
        fail("element " + std::to_string(first_bad) + " is " + (std::isnan(first_bad_value) ? "NaN" : "infinite") +
             " and the non-finite policy is 'error'");
      if (fmt_.nonfinite == nonfinite_policy::nan_group) {
        scales_[g].nan = true;
        ++acc.nan_groups;
        if (fmt_.tracking) new_tracked[g] = state_.scale_exp.empty() ? 0 : state_.scale_exp[g];
        for (const run_t& r : runs)
          for (std::size_t i = 0; i < r.len; ++i) {
            out[r.out_off + i * static_cast<std::size_t>(os.back())] = quiet_nan<T>(false);
            // the NaN scale carries the NaN; the element code is its NaN code where it has one, else 0
            if (codes) (*codes)[r.lin + i] = has_nan(fmt_.element) ? nan_code(fmt_.element, false) : 0u;
          }
        return;
      }
    }
    // ---- the scale
    element_format f = fmt_.element;
    double S = 1.0;
    const bool zero_group = amax == T(0);
    if (zero_group && fmt_.rule != scale_rule::none) ++acc.zero_groups;
    if (fmt_.rule == scale_rule::fp32) {
      f.scale_exp = 0;
      if (!zero_group) {
        const dyadic mx = max_finite(f);
        const double mxd = compose<double>(false, mx.significand, mx.exponent);
        float s32 = divide_to_float(static_cast<double>(amax), mxd);
        if (s32 == 0.0f) s32 = std::numeric_limits<float>::denorm_min();
        S = s32;
      }
      scales_[g].real_scale = static_cast<float>(S);
    } else if (fmt_.rule != scale_rule::none) {
      const pow2_choice ch =
          pow2_scale<T>(fmt_, emax, amax, fmt_.tracking && !state_.scale_exp.empty() ? &state_.scale_exp[g] : nullptr);
      const int s = ch.s;
      if (ch.clamped) {
        scales_[g].clamped = true;
        ++acc.scale_clamped;
      }
      if (fmt_.tracking) new_tracked[g] = s;
      f.scale_exp = s;
      scales_[g].scale_exp = s;
      if (!zero_group) acc.range(s);
    }
    const double lim_pos = max_abs_value<T>(f, false) * S, lim_neg = max_abs_value<T>(f, true) * S;

    // ---- quantize the runs
    const bool pow2 = fmt_.rule != scale_rule::fp32;
    const bool native = pow2 && representable_in<T>(f);
    if (pow2 && !native && !representable_in<double>(f))
      fail("scale 2^" + std::to_string(f.scale_exp) + " puts values of " + format_name(fmt_.element) +
           " outside float64's exact range");
    for (const run_t& r : runs) {
      const std::size_t isd = static_cast<std::size_t>(is.back()), osd = static_cast<std::size_t>(os.back());
      std::span<const T> src;
      if (isd == 1) {
        src = in.subspan(r.in_off, r.len);
      } else {
        tin.resize(r.len);
        for (std::size_t i = 0; i < r.len; ++i) tin[i] = in[r.in_off + i * isd];
        src = tin;
      }
      std::span<T> dst;
      if (osd == 1) {
        dst = out.subspan(r.out_off, r.len);
      } else {
        tout.resize(r.len);
        dst = tout;
      }
      // copy the input before writing when in and out may alias and a second look is needed
      if (isd == 1 && osd == 1 && src.data() == dst.data()) {
        tin.assign(src.begin(), src.end());
        src = tin;
      }
      std::span<const T> prev;
      if (have_prev) {
        tprev.resize(r.len);
        for (std::size_t i = 0; i < r.len; ++i) tprev[i] = static_cast<T>(state_.previous[r.lin + i]);
        prev = tprev;
      }
      const quantize_options qo{mode, opt_.seed, opt_.index_offset + r.lin};
      if (!pow2) {
        element_format fz = f;
        for (std::size_t i = 0; i < r.len; ++i) {
          const double y =
              detail::quantize_real(fz, static_cast<double>(src[i]), S, mode, opt_.seed, opt_.index_offset + r.lin + i,
                                    have_prev ? static_cast<double>(prev[i]) : 0.0);
          dst[i] = static_cast<T>(y * S);  // y * S is exact in double; one rounding to T
          if (codes) {
            const encode_result er = encode_value(fz, y);
            if (!er.ok)
              fail("element " + std::to_string(r.lin + i) + " is NaN and format " + format_name(fz) +
                   " has no NaN code");
            (*codes)[r.lin + i] = er.code;
          }
        }
      } else if (native) {
        kernels::quantize<T>(backend_, f, src, dst, qo, prev);
      } else {
        din.assign(src.begin(), src.end());
        dout.resize(r.len);
        dprev.assign(prev.begin(), prev.end());
        kernels::quantize<double>(backend_, f, din, dout, qo, dprev);
        for (std::size_t i = 0; i < r.len; ++i) {
          const T v = static_cast<T>(dout[i]);
          if (static_cast<double>(v) != dout[i] && !std::isnan(dout[i]))
            fail("element " + std::to_string(r.lin + i) + ": its value in " + format_name(fmt_.element) +
                 " at scale 2^" + std::to_string(f.scale_exp) + " is not representable in the output type");
          dst[i] = v;
        }
      }
      // statistics, codes, pass-through
      for (std::size_t i = 0; i < r.len; ++i) {
        const T x = src[i];
        if (!is_finite(x)) {
          if (fmt_.nonfinite == nonfinite_policy::passthrough && fmt_.rule != scale_rule::none) dst[i] = x;
          continue;
        }
        const double ax = std::fabs(static_cast<double>(x));
        if (ax > (x < 0 ? lim_neg : lim_pos)) ++acc.clipped;
        if (x != T(0) && dst[i] == T(0)) ++acc.flushed_to_zero;
      }
      if (codes && pow2) {
        for (std::size_t i = 0; i < r.len; ++i) {
          const encode_result er = encode_value(f, dst[i]);
          if (!er.ok)
            fail("element " + std::to_string(r.lin + i) + " is NaN and format " + format_name(fmt_.element) +
                 " has no NaN code");
          (*codes)[r.lin + i] = er.code;
        }
      }
      if (osd != 1)
        for (std::size_t i = 0; i < r.len; ++i) out[r.out_off + i * osd] = dst[i];
    }
  };

  group_acc acc;
  bool fast = false;
  if constexpr (std::is_same_v<T, float>) {
    if (!codes && !fmt_.tracking && !hys && n > 0 && il.is_contiguous() && ol.is_contiguous())
      fast = run_fast(fmt_, opt_, backend_, fast_kernel_, in, out, n, geo, emax, scales_, acc, generic_group);
  }
  if (!fast) {
    std::fill(scales_.begin(), scales_.end(), group_scale{});
    group_scratch<T> scratch;
    for (std::size_t g = 0; g < ngroups; ++g) generic_group(g, acc, scratch);
  }
  acc.store(st);

  // ---- state
  if (fmt_.tracking) state_.scale_exp = std::move(new_tracked);
  if (hys) {
    state_.previous.resize(n);
    std::vector<std::int64_t> idx(shape1.size(), 0);
    for (std::size_t i = 0; i < n; ++i) {
      std::size_t off = 0;
      for (std::size_t k = 0; k < shape1.size(); ++k)
        off += static_cast<std::size_t>(idx[k]) * static_cast<std::size_t>(os[k]);
      state_.previous[i] = static_cast<double>(out[off]);
      for (std::size_t k = shape1.size(); k-- > 0;) {
        if (++idx[k] < shape1[k]) break;
        idx[k] = 0;
      }
    }
  }
  if (fmt_.tracking || hys) state_.shape = in_layout.shape;
  ++state_.calls;
  if (!opt_.count) {  // the fast path may have skipped them: 0 on every path
    st.clipped = 0;
    st.flushed_to_zero = 0;
  }
  return st;
}

template <class T>
quantize_stats tensor_quantizer::quantize(std::span<const T> in, const tensor_layout& in_layout, std::span<T> out,
                                          const tensor_layout& out_layout) {
  return run<T>(in, in_layout, out, out_layout, nullptr);
}

template <class T>
quantize_stats tensor_quantizer::quantize(std::span<const T> in, std::span<T> out,
                                          std::span<const std::int64_t> shape) {
  const tensor_layout l = tensor_layout::contiguous({shape.begin(), shape.end()});
  if (in.size() != l.size() || out.size() != l.size())
    fail("tensor of shape " + shape_text(shape) + " needs " + std::to_string(l.size()) + " elements, got " +
         std::to_string(in.size()) + " in and " + std::to_string(out.size()) + " out");
  return run<T>(in, l, out, l, nullptr);
}

template <class T>
quantize_stats tensor_quantizer::encode(std::span<const T> in, std::span<const std::int64_t> shape,
                                        std::vector<std::uint32_t>& codes) {
  const tensor_layout l = tensor_layout::contiguous({shape.begin(), shape.end()});
  if (in.size() != l.size())
    fail("tensor of shape " + shape_text(shape) + " needs " + std::to_string(l.size()) + " elements, got " +
         std::to_string(in.size()));
  std::vector<T> out(in.size());
  return run<T>(in, l, std::span<T>(out), l, &codes);
}

template <class T>
quantize_stats quantize_tensor(const tensor_format& f, std::span<const T> in, std::span<T> out,
                               std::span<const std::int64_t> shape, const quantize_options& opt) {
  tensor_quantizer q(f, opt);
  return q.quantize<T>(in, out, shape);
}

#define FMTSIM_TQ_INSTANTIATE(T)                                                                                \
  template quantize_stats tensor_quantizer::quantize<T>(std::span<const T>, const tensor_layout&, std::span<T>, \
                                                        const tensor_layout&);                                  \
  template quantize_stats tensor_quantizer::quantize<T>(std::span<const T>, std::span<T>,                       \
                                                        std::span<const std::int64_t>);                         \
  template quantize_stats tensor_quantizer::encode<T>(std::span<const T>, std::span<const std::int64_t>,        \
                                                      std::vector<std::uint32_t>&);                             \
  template quantize_stats quantize_tensor<T>(const tensor_format&, std::span<const T>, std::span<T>,            \
                                             std::span<const std::int64_t>, const quantize_options&);

FMTSIM_TQ_INSTANTIATE(float)
FMTSIM_TQ_INSTANTIATE(double)

}  // namespace fmtsim
