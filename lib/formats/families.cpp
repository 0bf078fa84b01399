// SPDX-License-Identifier: MIT
// Real-scaled families: asymmetric min/max, 1-bit codes, AGP, SCQ, SmaQ, S2FP8.
#include <fmtsim/core/fp_env.hpp>
#include <fmtsim/core/philox.hpp>
#include <fmtsim/core/quantize.hpp>
#include <fmtsim/formats/families.hpp>

#include <boost/multiprecision/cpp_int.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>

namespace fmtsim {

namespace {

[[noreturn]] void fail(const std::string& m) { throw std::invalid_argument(m); }

using boost::multiprecision::cpp_int;
using boost::multiprecision::cpp_rational;

cpp_rational to_rat(double x) {
  const decomposed d = decompose(x);
  if (d.is_zero) return 0;
  cpp_rational r = cpp_rational(cpp_int(d.significand));
  if (d.exponent >= 0)
    r *= cpp_rational(cpp_int(1) << d.exponent);
  else
    r /= cpp_rational(cpp_int(1) << (-d.exponent));
  return d.negative ? cpp_rational(-r) : r;
}

// The exact rational r rounded once (to nearest, ties to even) to T, with subnormals and overflow to inf.
template <class T>
T round_rational(const cpp_rational& r) {
  using tr = float_traits<T>;
  if (r == 0) return T(0);
  const bool neg = r < 0;
  const cpp_rational a = neg ? cpp_rational(-r) : r;
  const cpp_int num = boost::multiprecision::numerator(a), den = boost::multiprecision::denominator(a);
  int e = static_cast<int>(boost::multiprecision::msb(num)) - static_cast<int>(boost::multiprecision::msb(den));
  auto p2 = [](int k) { return k >= 0 ? cpp_rational(cpp_int(1) << k) : cpp_rational(cpp_int(1), cpp_int(1) << (-k)); };
  if (p2(e) > a) --e;
  const int qe = std::max(e, tr::emin) - tr::mantissa_bits;
  const cpp_rational t = a / p2(qe);
  cpp_int n = boost::multiprecision::numerator(t) / boost::multiprecision::denominator(t);
  const cpp_rational frac = t - cpp_rational(n);
  if (frac > cpp_rational(1, 2) || (frac == cpp_rational(1, 2) && boost::multiprecision::bit_test(n, 0))) n += 1;
  const int top = qe + static_cast<int>(boost::multiprecision::msb(n));
  if (top > tr::emax) return signed_inf<T>(neg);
  return compose<T>(neg, static_cast<std::uint64_t>(n), qe);
}

std::size_t count_of(std::span<const std::int64_t> shape) {
  std::size_t n = 1;
  for (auto d : shape) {
    if (d < 0) fail("negative extent in a tensor shape");
    n *= static_cast<std::size_t>(d);
  }
  return n;
}

// Element indices of each group, in C order, using the tensor quantizer's geometry.
std::vector<std::vector<std::size_t>> group_members(const scale_groups& g, std::span<const std::int64_t> shape) {
  const group_geometry geo = make_geometry(g, shape);
  const std::size_t n = count_of(shape);
  std::vector<std::vector<std::size_t>> out(n ? geo.count() : 0);
  std::vector<std::int64_t> idx(geo.shape.size(), 0);
  for (std::size_t i = 0; i < n; ++i) {
    out[geo.group_of(idx)].push_back(i);
    for (std::size_t k = idx.size(); k-- > 0;) {
      if (++idx[k] < geo.shape[k]) break;
      idx[k] = 0;
    }
  }
  return out;
}

template <class T>
void check_finite(std::span<const T> in, const char* what) {
  for (std::size_t i = 0; i < in.size(); ++i)
    if (!std::isfinite(in[i])) fail(std::string(what) + ": element " + std::to_string(i) + " is not finite");
}

}  // namespace

int sign_of_sum(std::initializer_list<double> terms) {
  std::vector<double> e;  // non-overlapping expansion, increasing magnitude
  for (double v : terms) {
    double q = v;
    for (double& h : e) {
      const double s = q + h;
      const double bb = s - q;
      const double err = (q - (s - bb)) + (h - bb);
      h = err;
      q = s;
    }
    e.push_back(q);
  }
  for (std::size_t i = e.size(); i-- > 0;)
    if (e[i] != 0) return e[i] > 0 ? 1 : -1;
  return 0;
}

// ---- asymmetric ---------------------------------------------------------------------------------

template <class T>
quantize_stats asymmetric_quantize(std::span<const T> in, std::span<T> out, std::span<const std::int64_t> shape,
                                   const scale_groups& groups, int bits, const quantize_options& opt,
                                   std::vector<asymmetric_group>* group_out, std::vector<std::uint32_t>* codes) {
  const fp_env_scope env;
  const std::size_t n = count_of(shape);
  if (in.size() != n || out.size() != n) fail("asymmetric_quantize: spans do not match the shape");
  if (bits < 1 || bits > 16) fail("asymmetric_quantize: bits must be 1..16, got " + std::to_string(bits));
  const bool sr = opt.mode.kind == rounding::sr;
  if (!sr && opt.mode.kind != rounding::rne)
    fail("asymmetric_quantize: rounding must be rne (nearest) or sr (stochastic)");
  check_finite(in, "asymmetric_quantize");
  const int R = (opt.mode.sr_bits == 0 || opt.mode.sr_bits > 29) ? 29 : opt.mode.sr_bits;
  const std::int64_t L = (std::int64_t{1} << bits) - 1;
  quantize_stats st;
  st.elements = n;
  st.payload_bits = double(n) * bits;
  const auto members = group_members(groups, shape);
  st.groups = members.size();
  st.scale_bits = 64.0 * double(members.size());
  if (group_out) group_out->assign(members.size(), {});
  if (codes) codes->assign(n, 0);
  for (std::size_t g = 0; g < members.size(); ++g) {
    const auto& mem = members[g];
    // min and max of the float32 values of the group
    float lo = static_cast<float>(in[mem[0]]), hi = lo;
    for (auto i : mem) {
      if (static_cast<double>(static_cast<float>(in[i])) != static_cast<double>(in[i]))
        fail("asymmetric_quantize: element " + std::to_string(i) +
             " is not a float32 value (min/max are stored as float32)");
      lo = std::min(lo, static_cast<float>(in[i]));
      hi = std::max(hi, static_cast<float>(in[i]));
    }
    if (hi == lo) {
      for (auto i : mem) out[i] = static_cast<T>(lo);
      if (group_out) (*group_out)[g] = {lo, 0.0f};
      ++st.zero_groups;
      continue;
    }
    // D = (hi - lo) / L rounded once to float32, decided with exact sums
    const double range_approx = double(hi) - double(lo);
    float D = static_cast<float>(range_approx / double(L));
    auto cmp_mid = [&](double p) { return sign_of_sum({double(hi), -double(lo), -p * double(L)}); };
    for (int iter = 0; iter < 8; ++iter) {
      const float up = std::nextafter(D, std::numeric_limits<float>::infinity());
      const int ch = cmp_mid((double(D) + double(up)) / 2);
      const bool odd = (std::bit_cast<std::uint32_t>(D) & 1u) != 0;
      if (ch > 0 || (ch == 0 && odd)) {
        D = up;
        continue;
      }
      const float dn = std::nextafter(D, 0.0f);
      const int cl = cmp_mid((double(D) + double(dn)) / 2);
      if (cl < 0 || (cl == 0 && odd)) {
        D = dn;
        continue;
      }
      break;
    }
    if (D == 0) D = std::numeric_limits<float>::denorm_min();
    if (group_out) (*group_out)[g] = {lo, D};
    const double Dd = D;
    for (auto i : mem) {
      const double x = static_cast<double>(in[i]);
      // k = floor((x - lo) / D) exactly
      double t = (x - double(lo)) / Dd;
      std::int64_t k = static_cast<std::int64_t>(std::floor(std::clamp(t, 0.0, double(L))));
      while (k < L && sign_of_sum({x, -double(lo), -double(k + 1) * Dd}) >= 0) ++k;
      while (k > 0 && sign_of_sum({x, -double(lo), -double(k) * Dd}) < 0) --k;
      if (k < L) {
        const int on = sign_of_sum({x, -double(lo), -double(k) * Dd});
        if (on != 0) {
          bool up = false;
          if (!sr) {
            const int c = sign_of_sum({x, -double(lo), -(double(k) + 0.5) * Dd});
            up = c > 0 || (c == 0 && (k & 1) != 0);
          } else {
            element_random rng(opt.seed, opt.index_offset + i);
            const std::uint64_t u = rng.leading(R);
            // u < floor(f 2^R)  <=>  x - lo - k D >= (u + 1) D 2^-R   (each product exact in double)
            up = sign_of_sum({x, -double(lo), -double(k) * Dd, -std::ldexp(double(u + 1) * Dd, -R)}) >= 0;
          }
          if (up) ++k;
        }
      }
      out[i] = round_sum<T>(double(lo), double(k) * Dd);
      if (codes) (*codes)[i] = static_cast<std::uint32_t>(k);
    }
  }
  return st;
}

// ---- 1-bit --------------------------------------------------------------------------------------

template <class T>
quantize_stats sign_quantize(std::span<const T> in, std::span<T> out, std::span<const std::int64_t> shape,
                             const scale_groups& groups, std::vector<float>* scales) {
  const fp_env_scope env;
  const std::size_t n = count_of(shape);
  if (in.size() != n || out.size() != n) fail("sign_quantize: spans do not match the shape");
  check_finite(in, "sign_quantize");
  const auto members = group_members(groups, shape);
  quantize_stats st;
  st.elements = n;
  st.groups = members.size();
  st.payload_bits = double(n);
  st.scale_bits = 32.0 * double(members.size());
  if (scales) scales->assign(members.size(), 0.0f);
  for (std::size_t g = 0; g < members.size(); ++g) {
    cpp_rational sum = 0;
    for (auto i : members[g]) sum += to_rat(std::fabs(static_cast<double>(in[i])));
    const float scale = round_rational<float>(sum / cpp_rational(static_cast<long long>(members[g].size())));
    if (scales) (*scales)[g] = scale;
    for (auto i : members[g]) out[i] = static_cast<T>(std::signbit(in[i]) && in[i] != 0 ? -scale : scale);
  }
  return st;
}

template <class T>
quantize_stats stochastic_binary(std::span<const T> in, std::span<T> out, std::span<const std::int64_t> shape,
                                 const scale_groups& groups, const quantize_options& opt) {
  const fp_env_scope env;
  const std::size_t n = count_of(shape);
  if (in.size() != n || out.size() != n) fail("stochastic_binary: spans do not match the shape");
  check_finite(in, "stochastic_binary");
  quantize_stats st;
  st.elements = n;
  st.payload_bits = double(n);
  const auto members = group_members(groups, shape);
  st.groups = members.size();
  st.scale_bits = 32.0 * double(members.size());
  for (const auto& mem : members) {
    T a = 0;
    for (auto i : mem) a = std::max(a, static_cast<T>(std::fabs(in[i])));
    if (a == 0) {
      for (auto i : mem) out[i] = T(0);
      continue;
    }
    for (auto i : mem) {
      // the asymmetric quantizer with 1 bit on [-a, a]: step 2a, P(+a) = (x + a) / 2a
      const double x = static_cast<double>(in[i]);
      if (x == static_cast<double>(a) || x == -static_cast<double>(a)) {
        out[i] = static_cast<T>(x);
        continue;
      }
      element_random rng(opt.seed, opt.index_offset + i);
      const int R = (opt.mode.sr_bits == 0 || opt.mode.sr_bits > 29) ? 29 : opt.mode.sr_bits;
      const std::uint64_t u = rng.leading(R);
      // up iff u < floor(f 2^R), f = (x + a) / (2a)  <=>  x + a >= (u + 1) 2a 2^-R
      const bool up =
          sign_of_sum({x, static_cast<double>(a), -std::ldexp(double(u + 1) * 2 * static_cast<double>(a), -R)}) >= 0;
      out[i] = up ? a : -a;
    }
  }
  return st;
}

template <class T>
agp_result agp_quantize(std::span<const T> in, std::span<T> out, std::span<const std::int64_t> shape, int bits,
                        bool deterministic, const quantize_options& opt) {
  const fp_env_scope env;
  const std::size_t n = count_of(shape);
  if (shape.empty()) fail("agp_quantize: needs a tensor with a sample axis (axis 0)");
  if (in.size() != n || out.size() != n) fail("agp_quantize: spans do not match the shape");
  check_finite(in, "agp_quantize");
  const scale_groups per_sample{group_kind::channel, 0, 32, 48, 48};
  const auto members = group_members(per_sample, shape);
  const std::size_t N = members.size();
  agp_result res;
  res.keep_probability.assign(N, 0.0);
  res.kept.assign(N, 0);
  std::vector<double> range(N, 0.0);
  double total = 0;
  for (std::size_t g = 0; g < N; ++g) {
    if (members[g].empty()) continue;
    double lo = static_cast<double>(in[members[g][0]]), hi = lo;
    for (auto i : members[g]) {
      lo = std::min(lo, static_cast<double>(in[i]));
      hi = std::max(hi, static_cast<double>(in[i]));
    }
    range[g] = hi - lo;
    total += range[g];
  }
  if (deterministic) {
    const std::size_t keep = (N + static_cast<std::size_t>(bits) - 1) / static_cast<std::size_t>(bits);
    std::vector<std::size_t> order(N);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return range[a] > range[b]; });
    for (std::size_t j = 0; j < std::min(keep, N); ++j) {
      res.kept[order[j]] = 1;
      res.keep_probability[order[j]] = 1.0;
    }
  } else {
    for (std::size_t g = 0; g < N; ++g) {
      const double p = total > 0 ? std::min(1.0, double(N) * range[g] / (double(bits) * total)) : 0.0;
      res.keep_probability[g] = p;
      // keep iff u < p, u uniform in [0, 1) with 53 bits; random stream: seed ^ a fixed tag, index g
      element_random rng(opt.seed ^ 0xA6B0A6B0A6B0A6B0ull, g);
      const double u = std::ldexp(static_cast<double>(rng.leading(53)), -53);
      res.kept[g] = u < p ? 1 : 0;
    }
  }
  quantize_options qo = opt;
  for (std::size_t g = 0; g < N; ++g) {
    const auto& mem = members[g];
    if (!res.kept[g]) {
      for (auto i : mem) out[i] = T(0);
      continue;
    }
    std::vector<T> gi(mem.size()), go(mem.size());
    for (std::size_t j = 0; j < mem.size(); ++j) gi[j] = in[mem[j]];
    qo.index_offset = opt.index_offset + (mem.empty() ? 0 : mem[0]);
    const std::int64_t len = static_cast<std::int64_t>(mem.size());
    asymmetric_quantize<T>(gi, go, std::span<const std::int64_t>(&len, 1), scale_groups{}, bits, qo);
    const double p = res.keep_probability[g];
    for (std::size_t j = 0; j < mem.size(); ++j)
      out[mem[j]] = deterministic ? go[j] : static_cast<T>(static_cast<double>(go[j]) / p);
  }
  res.stats.elements = n;
  res.stats.groups = N;
  std::size_t kept = 0;
  for (auto k : res.kept) kept += k;
  res.stats.payload_bits = 0;
  for (std::size_t g = 0; g < N; ++g)
    if (res.kept[g]) res.stats.payload_bits += double(members[g].size()) * bits;
  res.stats.scale_bits = 64.0 * double(kept) + double(N);  // min/step per kept group, one keep bit per group
  return res;
}

template <class T>
void scq_quantize(std::span<const T> dy, std::span<const std::int64_t> shape, int bits, const quantize_options& opt,
                  std::span<T> for_input_grad, std::span<T> for_weight_grad) {
  const fp_env_scope env;
  if (shape.size() != 2) fail("scq_quantize: dY must be a matrix [samples, channels]");
  asymmetric_quantize<T>(dy, for_input_grad, shape, scale_groups{group_kind::channel, 0, 32, 48, 48}, bits, opt);
  asymmetric_quantize<T>(dy, for_weight_grad, shape, scale_groups{group_kind::channel, 1, 32, 48, 48}, bits, opt);
}

// ---- SmaQ ---------------------------------------------------------------------------------------

namespace {

void check_smaq(const smaq_config& c) {
  if (c.main_bits < 3 || c.main_bits > 16) fail("SmaQ: main bits must be 3..16");
  if (c.outlier_bits < 3 || c.outlier_bits > 16) fail("SmaQ: outlier bits must be 3..16");
  if (c.mode.kind != rounding::sr && c.mode.kind != rounding::rne) fail("SmaQ: rounding must be sr or rne");
  if (c.sampled && c.sample_size == 0) fail("SmaQ: sample size must be positive");
}

// round(t) of the exact rational t (nearest ties even, or stochastic with 64 random bits)
std::int64_t round_exact(const cpp_rational& t, const smaq_config& c, std::uint64_t index) {
  cpp_int fl = boost::multiprecision::numerator(t) / boost::multiprecision::denominator(t);
  if (cpp_rational(fl) > t) fl -= 1;  // floor for negatives
  const cpp_rational f = t - cpp_rational(fl);
  bool up = false;
  if (f != 0) {
    if (c.mode.kind == rounding::rne) {
      up = f > cpp_rational(1, 2) ||
           (f == cpp_rational(1, 2) && boost::multiprecision::bit_test(fl < 0 ? cpp_int(-fl) : fl, 0));
    } else {
      element_random rng(c.seed, index);
      const std::uint64_t u = rng.next64();
      // u < floor(f 2^64)  <=>  u + 1 <= f 2^64
      up = cpp_rational(cpp_int(u) + 1) <= f * cpp_rational(cpp_int(1) << 64);
    }
  }
  return static_cast<std::int64_t>(fl) + (up ? 1 : 0);
}

}  // namespace

template <class T>
smaq_encoded smaq_encode(std::span<const T> in, const smaq_config& cfg, quantize_stats* stats) {
  const fp_env_scope env;
  check_smaq(cfg);
  check_finite(in, "SmaQ");
  const std::size_t n = in.size();
  smaq_encoded e;
  e.code.assign(n, 0);
  e.outlier.assign(n, 0);
  quantize_stats st;
  st.elements = n;
  st.groups = 1;
  if (n == 0) {
    if (stats) *stats = st;
    return e;
  }
  // statistics (exact mean and variance of the chosen elements, rounded once to float32)
  std::vector<std::size_t> pick;
  if (cfg.sampled) {
    for (std::size_t k = 0; k < cfg.sample_size; ++k) {
      element_random rng(cfg.sample_seed, k);
      pick.push_back(static_cast<std::size_t>(rng.next64() % n));
    }
  } else {
    pick.resize(n);
    std::iota(pick.begin(), pick.end(), 0);
  }
  cpp_rational sum = 0;
  for (auto i : pick) sum += to_rat(static_cast<double>(in[i]));
  const cpp_rational mean = sum / cpp_rational(static_cast<long long>(pick.size()));
  cpp_rational var = 0;
  for (auto i : pick) {
    const cpp_rational d = to_rat(static_cast<double>(in[i])) - mean;
    var += d * d;
  }
  var /= cpp_rational(static_cast<long long>(pick.size()));
  e.mu = round_rational<float>(mean);
  // sigma = sqrt(var) rounded to float32: the float s with s^2 closest... decided exactly by midpoints
  float s = static_cast<float>(std::sqrt(static_cast<double>(var)));
  for (int it = 0; it < 8; ++it) {
    const float up = std::nextafter(s, std::numeric_limits<float>::infinity());
    const cpp_rational mh = (to_rat(s) + to_rat(up)) / 2;
    if (mh * mh < var) {
      s = up;
      continue;
    }
    if (s > 0) {
      const float dn = std::nextafter(s, 0.0f);
      const cpp_rational ml = (to_rat(s) + to_rat(dn)) / 2;
      if (ml * ml > var) {
        s = dn;
        continue;
      }
    }
    break;
  }
  e.sigma = s;
  const std::int64_t K = (std::int64_t{1} << (cfg.main_bits - 2)) - 1;
  const std::int64_t Ko = (std::int64_t{1} << (cfg.outlier_bits - 2)) - 1;
  const cpp_rational mu = to_rat(e.mu), sg = to_rat(e.sigma);
  std::size_t outliers = 0, clamped = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (sg == 0) {
      e.code[i] = 0;
      continue;
    }
    const cpp_rational z = (to_rat(static_cast<double>(in[i])) - mu) / sg;
    if (z <= 1 && z >= -1) {
      e.code[i] = static_cast<std::int32_t>(round_exact(z * K, cfg, i));
    } else {
      e.outlier[i] = z > 0 ? 1 : 2;
      ++outliers;
      const cpp_rational t =
          (z > 0 ? cpp_rational(z - 1) : cpp_rational(z + 1)) * cpp_rational(Ko) * cpp_rational(2, 3);
      std::int64_t c = round_exact(t, cfg, i);
      if (c > Ko || c < -Ko) {
        ++clamped;
        c = std::clamp(c, -Ko, Ko);
      }
      e.code[i] = static_cast<std::int32_t>(c);
    }
  }
  st.outliers = outliers;
  st.outliers_clamped = clamped;
  st.payload_bits = double(n - outliers) * cfg.main_bits + double(outliers) * cfg.outlier_bits;  // the paper's count
  st.scale_bits = 64;                                                                            // mu and sigma
  if (stats) *stats = st;
  return e;
}

template <class T>
void smaq_decode(const smaq_encoded& e, const smaq_config& cfg, std::span<T> out) {
  const fp_env_scope env;
  check_smaq(cfg);
  if (out.size() != e.code.size() || e.outlier.size() != e.code.size()) fail("SmaQ decode: sizes differ");
  const std::int64_t K = (std::int64_t{1} << (cfg.main_bits - 2)) - 1;
  const std::int64_t Ko = (std::int64_t{1} << (cfg.outlier_bits - 2)) - 1;
  const cpp_rational mu = to_rat(e.mu), sg = to_rat(e.sigma);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::int64_t c = e.code[i];
    cpp_rational z;
    if (!e.outlier[i]) {
      if (c > K || c < -K)
        fail("SmaQ decode: main code " + std::to_string(c) + " out of range at element " + std::to_string(i));
      z = cpp_rational(c, K);
    } else {
      if (c > Ko || c < -Ko)
        fail("SmaQ decode: outlier code " + std::to_string(c) + " out of range at element " + std::to_string(i));
      // outlier[i] = 1: z > 1 (code >= 0), 2: z < -1 (code <= 0); the side is the data's sign bit
      if ((e.outlier[i] == 1 && c < 0) || (e.outlier[i] == 2 && c > 0) || e.outlier[i] > 2)
        fail("SmaQ decode: outlier code " + std::to_string(c) + " contradicts its side at element " +
             std::to_string(i));
      z = (e.outlier[i] == 1 ? cpp_rational(1) : cpp_rational(-1)) + cpp_rational(3, 2) * cpp_rational(c, Ko);
    }
    out[i] = round_rational<T>(mu + sg * z);
  }
}

template <class T>
quantize_stats smaq_quantize(std::span<const T> in, std::span<T> out, const smaq_config& cfg) {
  const fp_env_scope env;
  quantize_stats st;
  const smaq_encoded e = smaq_encode<T>(in, cfg, &st);
  smaq_decode<T>(e, cfg, out);
  return st;
}

// ---- S2FP8 --------------------------------------------------------------------------------------

template <class T>
s2fp8_params s2fp8_quantize(std::span<const T> in, std::span<T> out, const quantize_options& opt,
                            std::vector<std::uint8_t>* codes, quantize_stats* stats) {
  if (in.size() != out.size()) fail("S2FP8: input and output sizes differ");
  check_finite(in, "S2FP8");
  double sum = 0, mx = -std::numeric_limits<double>::infinity();
  std::size_t cnt = 0;
  for (T x : in) {
    if (x == 0) continue;
    const double l = std::log2(std::fabs(static_cast<double>(x)));
    sum += l;
    mx = std::max(mx, l);
    ++cnt;
  }
  s2fp8_params p;
  if (cnt > 0) {
    const double mu = sum / double(cnt);
    if (mx > mu) {
      p.alpha = static_cast<float>(15.0 / (mx - mu));
      p.beta = static_cast<float>(-double(p.alpha) * mu);
    } else {
      p.alpha = 1.0f;
      p.beta = static_cast<float>(-mu);
    }
  }
  element_format e5m2;
  e5m2.kind = family::minifloat;
  e5m2.conv = convention::ieee;
  e5m2.exponent_bits = 5;
  e5m2.mantissa_bits = 2;
  e5m2.bias = 15;
  if (codes) codes->assign(in.size(), 0);
  quantize_stats st;
  st.elements = in.size();
  st.groups = 1;
  st.payload_bits = 8.0 * double(in.size());
  st.scale_bits = 64;
  for (std::size_t i = 0; i < in.size(); ++i) {
    const double x = static_cast<double>(in[i]);
    if (x == 0) {
      out[i] = static_cast<T>(x);
      if (codes) (*codes)[i] = static_cast<std::uint8_t>(encode_value<double>(e5m2, x).code);
      continue;
    }
    const double y = std::copysign(std::exp2(double(p.beta) + double(p.alpha) * std::log2(std::fabs(x))), x);
    const double q = quantize<double>(e5m2, y, opt.mode, element_context<double>{opt.seed, opt.index_offset + i, 0.0});
    if (codes) (*codes)[i] = static_cast<std::uint8_t>(encode_value<double>(e5m2, q).code);
    if (q == 0) {
      ++st.flushed_to_zero;
      out[i] = static_cast<T>(q);
      continue;
    }
    if (std::isinf(q)) ++st.clipped;
    out[i] = static_cast<T>(std::copysign(std::exp2((std::log2(std::fabs(q)) - double(p.beta)) / double(p.alpha)), q));
  }
  if (stats) *stats = st;
  return p;
}

#define FMTSIM_FAM_INSTANTIATE(T)                                                                                 \
  template quantize_stats asymmetric_quantize<T>(std::span<const T>, std::span<T>, std::span<const std::int64_t>, \
                                                 const scale_groups&, int, const quantize_options&,               \
                                                 std::vector<asymmetric_group>*, std::vector<std::uint32_t>*);    \
  template quantize_stats sign_quantize<T>(std::span<const T>, std::span<T>, std::span<const std::int64_t>,       \
                                           const scale_groups&, std::vector<float>*);                             \
  template quantize_stats stochastic_binary<T>(std::span<const T>, std::span<T>, std::span<const std::int64_t>,   \
                                               const scale_groups&, const quantize_options&);                     \
  template agp_result agp_quantize<T>(std::span<const T>, std::span<T>, std::span<const std::int64_t>, int, bool, \
                                      const quantize_options&);                                                   \
  template void scq_quantize<T>(std::span<const T>, std::span<const std::int64_t>, int, const quantize_options&,  \
                                std::span<T>, std::span<T>);                                                      \
  template smaq_encoded smaq_encode<T>(std::span<const T>, const smaq_config&, quantize_stats*);                  \
  template void smaq_decode<T>(const smaq_encoded&, const smaq_config&, std::span<T>);                            \
  template quantize_stats smaq_quantize<T>(std::span<const T>, std::span<T>, const smaq_config&);                 \
  template s2fp8_params s2fp8_quantize<T>(std::span<const T>, std::span<T>, const quantize_options&,              \
                                          std::vector<std::uint8_t>*, quantize_stats*);

FMTSIM_FAM_INSTANTIATE(float)
FMTSIM_FAM_INSTANTIATE(double)

}  // namespace fmtsim
