// SPDX-License-Identifier: MIT
// Family spec strings (asym<B>, scq<B>:dx|dw, sign, sbin, agp<B>[:det], smaq[:M,O], s2fp8) and their dispatch.
#include <fmtsim/formats/family_spec.hpp>

#include <charconv>
#include <stdexcept>
#include <string>

namespace fmtsim {

namespace {

[[noreturn]] void fail(const std::string& msg) { throw std::invalid_argument(msg); }

// The integer spelled by all of `text` (no sign, no spaces), or nullopt.
std::optional<int> whole_int(std::string_view text) {
  int v = 0;
  if (text.empty() || text.size() > 6) return std::nullopt;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (r.ec != std::errc{} || r.ptr != text.data() + text.size()) return std::nullopt;
  return v;
}

int bits_of(std::string_view spec, std::string_view digits, int lo, int hi) {
  const auto b = whole_int(digits);
  if (!b || *b < lo || *b > hi)
    fail("family spec '" + std::string(spec) + "': the bit width must be an integer " + std::to_string(lo) + ".." +
         std::to_string(hi));
  return *b;
}

bool starts_with_digits(std::string_view s, std::string_view prefix) {
  return s.size() > prefix.size() && s.substr(0, prefix.size()) == prefix && s[prefix.size()] >= '0' &&
         s[prefix.size()] <= '9';
}

}  // namespace

std::optional<real_family_spec> parse_real_family(std::string_view spec) {
  real_family_spec f;
  const auto colon = spec.find(':');
  const std::string_view head = spec.substr(0, colon);
  const std::string_view tail = colon == std::string_view::npos ? std::string_view{} : spec.substr(colon + 1);
  const bool has_tail = colon != std::string_view::npos;
  if (starts_with_digits(head, "asym")) {
    if (has_tail) fail("family spec '" + std::string(spec) + "': asym<B> takes no modifier (groups are an option)");
    f.kind = real_family::asymmetric;
    f.bits = bits_of(spec, head.substr(4), 1, 16);
    f.spelling = "asym" + std::to_string(f.bits);
  } else if (starts_with_digits(head, "scq")) {
    f.kind = real_family::asymmetric;
    f.bits = bits_of(spec, head.substr(3), 1, 16);
    if (tail != "dx" && tail != "dw")
      fail("family spec '" + std::string(spec) + "': scq<B> needs :dx (per-sample copy) or :dw (per-channel copy)");
    f.matrix = true;
    f.groups_fixed = true;
    f.groups = scale_groups{group_kind::channel, tail == "dx" ? 0 : 1, 32, 48, 48};
    f.spelling = "scq" + std::to_string(f.bits) + ":" + std::string(tail);
  } else if (head == "sign" || head == "sbin") {
    if (has_tail) fail("family spec '" + std::string(spec) + "' takes no modifier (groups are an option)");
    f.kind = head == "sign" ? real_family::sign : real_family::stochastic_binary;
    f.bits = 1;
    f.spelling = std::string(head);
  } else if (starts_with_digits(head, "agp")) {
    f.kind = real_family::agp;
    f.bits = bits_of(spec, head.substr(3), 1, 16);
    if (has_tail && tail != "det")
      fail("family spec '" + std::string(spec) + "': agp<B> takes only the modifier :det (top-ceil(N/B) selection)");
    f.deterministic = has_tail;
    f.spelling = "agp" + std::to_string(f.bits) + (has_tail ? ":det" : "");
  } else if (head == "smaq") {
    f.kind = real_family::smaq;
    std::string_view rest = tail;
    if (has_tail) {
      const auto colon2 = rest.find(':');
      const std::string_view bits = rest.substr(0, colon2);
      rest = colon2 == std::string_view::npos ? std::string_view{} : rest.substr(colon2 + 1);
      const auto comma = bits.find(',');
      if (comma == std::string_view::npos)
        fail("family spec '" + std::string(spec) + "': write smaq:M,O (main bits, outlier bits)");
      f.smaq.main_bits = bits_of(spec, bits.substr(0, comma), 3, 16);
      f.smaq.outlier_bits = bits_of(spec, bits.substr(comma + 1), 3, 16);
      if (colon2 != std::string_view::npos) {
        // :sample=S[@SEED]: statistics from S elements drawn with replacement (stream SEED)
        if (rest.substr(0, 7) != "sample=")
          fail("family spec '" + std::string(spec) + "': the third part of smaq is sample=SIZE[@SEED]");
        rest = rest.substr(7);
        const auto at = rest.find('@');
        const auto size = whole_int(rest.substr(0, at));
        if (!size || *size < 1) fail("family spec '" + std::string(spec) + "': the sample size must be 1..999999");
        f.smaq.sampled = true;
        f.smaq.sample_size = static_cast<std::size_t>(*size);
        if (at != std::string_view::npos) {
          const std::string_view digits = rest.substr(at + 1);
          std::uint64_t seed = 0;
          const auto r = std::from_chars(digits.data(), digits.data() + digits.size(), seed);
          if (digits.empty() || r.ec != std::errc{} || r.ptr != digits.data() + digits.size())
            fail("family spec '" + std::string(spec) + "': the sample seed must be an unsigned 64-bit integer");
          f.smaq.sample_seed = seed;
        }
      }
    }
    f.bits = f.smaq.main_bits;
    f.spelling = "smaq:" + std::to_string(f.smaq.main_bits) + "," + std::to_string(f.smaq.outlier_bits);
    if (f.smaq.sampled)
      f.spelling += ":sample=" + std::to_string(f.smaq.sample_size) + "@" + std::to_string(f.smaq.sample_seed);
  } else if (head == "s2fp8") {
    if (has_tail) fail("family spec '" + std::string(spec) + "': s2fp8 takes no modifier");
    f.kind = real_family::s2fp8;
    f.bits = 8;
    f.spelling = "s2fp8";
  } else {
    return std::nullopt;
  }
  return f;
}

bool real_family_takes_groups(const real_family_spec& f) {
  return !f.groups_fixed &&
         (f.kind == real_family::asymmetric || f.kind == real_family::sign || f.kind == real_family::stochastic_binary);
}

std::string real_family_name(const real_family_spec& f) {
  std::string s = f.spelling;
  if (f.kind == real_family::asymmetric || f.kind == real_family::sign || f.kind == real_family::stochastic_binary)
    s += " groups=" + groups_name(f.groups);
  return s;
}

template <class T>
real_family_result real_family_quantize(const real_family_spec& f, std::span<const T> in, std::span<T> out,
                                        std::span<const std::int64_t> shape, const quantize_options& opt) {
  if (opt.mode.kind == rounding::hys) fail(f.spelling + ": hysteresis rounding applies to element formats only");
  if (f.matrix && shape.size() != 2)
    fail(f.spelling + ": dY must be a matrix [samples, channels], got " + std::to_string(shape.size()) + " axes");
  real_family_result r;
  switch (f.kind) {
    case real_family::asymmetric:
      r.stats = asymmetric_quantize<T>(in, out, shape, f.groups, f.bits, opt);
      break;
    case real_family::sign:
      r.stats = sign_quantize<T>(in, out, shape, f.groups);
      break;
    case real_family::stochastic_binary:
      r.stats = stochastic_binary<T>(in, out, shape, f.groups, opt);
      break;
    case real_family::agp: {
      agp_result a = agp_quantize<T>(in, out, shape, f.bits, f.deterministic, opt);
      r.stats = a.stats;
      r.keep_probability = std::move(a.keep_probability);
      r.kept = std::move(a.kept);
      break;
    }
    case real_family::smaq: {
      if (opt.index_offset != 0) fail("smaq: index_offset is not supported (the random stream is per tensor)");
      smaq_config c = f.smaq;
      c.mode = opt.mode;
      c.seed = opt.seed;
      r.stats = smaq_quantize<T>(in, out, c);
      break;
    }
    case real_family::s2fp8: {
      const s2fp8_params p = s2fp8_quantize<T>(in, out, opt, nullptr, &r.stats);
      r.alpha = p.alpha;
      r.beta = p.beta;
      break;
    }
  }
  return r;
}

template real_family_result real_family_quantize<float>(const real_family_spec&, std::span<const float>,
                                                        std::span<float>, std::span<const std::int64_t>,
                                                        const quantize_options&);
template real_family_result real_family_quantize<double>(const real_family_spec&, std::span<const double>,
                                                         std::span<double>, std::span<const std::int64_t>,
                                                         const quantize_options&);

}  // namespace fmtsim
