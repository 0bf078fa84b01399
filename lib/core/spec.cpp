// SPDX-License-Identifier: MIT
// Format spec parser (formats.md 1.1-1.4): every spelling and alias, errors that name the position.
#include <fmtsim/core/spec.hpp>

#include <array>
#include <charconv>
#include <string>
#include <vector>

namespace fmtsim {

namespace {

constexpr named_format named_table[] = {
    {"float8_e5m2", "e5m2", "ml_dtypes float8_e5m2; OCP E5M2"},
    {"E5M2", "e5m2", "OCP MX/FP8 E5M2"},
    {"float8_e4m3", "e4m3", "ml_dtypes float8_e4m3 (IEEE-like, max 240)"},
    {"float8_e3m4", "e3m4", "ml_dtypes float8_e3m4 (IEEE-like, max 15.5)"},
    {"float8_e4m3fn", "e4m3fn", "ml_dtypes float8_e4m3fn (max 448)"},
    {"E4M3", "e4m3fn", "OCP MX/FP8 E4M3 (= e4m3fn, max 448)"},
    {"float8_e4m3fnuz", "e4m3fnuz", "ml_dtypes float8_e4m3fnuz (max 240)"},
    {"float8_e5m2fnuz", "e5m2fnuz", "ml_dtypes float8_e5m2fnuz (max 57344)"},
    {"float8_e4m3b11fnuz", "e4m3b11fnuz", "ml_dtypes float8_e4m3b11fnuz (max 30)"},
    {"float8_e8m0fnu", "e8m0fnu", "ml_dtypes float8_e8m0fnu; OCP MX scale E8M0"},
    {"float6_e2m3fn", "e2m3fin", "ml_dtypes float6_e2m3fn; OCP FP6 E2M3 (max 7.5)"},
    {"float6_e3m2fn", "e3m2fin", "ml_dtypes float6_e3m2fn; OCP FP6 E3M2 (max 28)"},
    {"float4_e2m1fn", "e2m1fin", "ml_dtypes float4_e2m1fn; OCP FP4 E2M1 (max 6)"},
    {"bf16", "e8m7", "bfloat16"},
    {"bfloat16", "e8m7", "bfloat16"},
    {"fp16", "e5m10", "IEEE binary16"},
    {"half", "e5m10", "IEEE binary16"},
    {"tf32", "e8m10", "NVIDIA TensorFloat-32"},
    {"fp32", "e8m23", "IEEE binary32 (identity on float32)"},
    {"fp134", "bp:5x7,4,3,2,1,0", "Lee et al. 2022 FP134 (1 sign, 3 exponent, 4 mantissa bits, gradual underflow)"},
    {"fp143", "bp:4x15,3,2,1,0", "Lee et al. 2022 FP143"},
    {"fp152", "bp:3x31,2,1,0", "Lee et al. 2022 FP152"},
    {"fp125", "bp:6x3,5,4,3,2,1,0", "Lee et al. 2022 FP125"},
    {"fp116", "bp:7,6,5,4,3,2,1,0", "Lee et al. 2022 FP116 (= the INT8-like profile)"},
    {"int8like", "bp:7,6,5,4,3,2,1,0", "Lee et al. 2022 INT8-like profile"},
    {"lfp8", "bp:4x15,1x7,0", "Lee et al. 2022 LFP8 (float body with a log tail)"},
    {"log4", "bp:1x7,0", "4-bit logarithmic weights: +-2^(s-k), k = 0..6, and 0"},
};

// A format of another family: the minifloat fields are zero (as formats::integer in named.hpp).
element_format of_family(family kind) {
  element_format f;
  f.kind = kind;
  f.exponent_bits = 0;
  f.mantissa_bits = 0;
  f.bias = 0;
  return f;
}

class parser {
 public:
  explicit parser(std::string_view spec) : s_(spec) {}

  element_format parse() {
    if (s_.empty()) fail(0, "expected a format such as e4m3fn, int8 or bp:5x7,4,3,2,1,0, got an empty string");
    // the base ends at the first ':' (except the one right after "bp")
    std::size_t base_end = s_.find(':');
    if (s_.substr(0, 3) == "bp:") base_end = s_.find(':', 3);
    if (base_end == std::string_view::npos) base_end = s_.size();
    element_format f = parse_base(base_end);
    std::size_t pos = base_end;
    while (pos < s_.size()) {
      // s_[pos] == ':'
      const std::size_t start = pos + 1;
      std::size_t end = s_.find(':', start);
      if (end == std::string_view::npos) end = s_.size();
      apply_modifier(f, start, s_.substr(start, end - start));
      pos = end;
    }
    validate(f);
    return f;
  }

 private:
  [[noreturn]] void fail(std::size_t pos, const std::string& what) const {
    std::string msg = "invalid format spec '" + std::string(s_) + "': ";
    if (pos < s_.size()) {
      msg += "at position " + std::to_string(pos) + " ('" + std::string(1, s_[pos]) + "'): ";
    } else if (!s_.empty()) {
      msg += "at the end: ";
    }
    msg += what;
    throw spec_error(msg, pos);
  }

  static bool is_digit(char c) { return c >= '0' && c <= '9'; }

  // Read an unsigned decimal number at pos (at least one digit), at most `limit`.
  long read_number(std::size_t& pos, std::size_t end, const char* what, long limit) const {
    if (pos >= end || !is_digit(s_[pos])) fail(pos, std::string("expected a number (") + what + ")");
    long value = 0;
    const std::size_t start = pos;
    while (pos < end && is_digit(s_[pos])) {
      value = value * 10 + (s_[pos] - '0');
      if (value > limit) fail(start, std::string(what) + " is too large (at most " + std::to_string(limit) + ")");
      ++pos;
    }
    return value;
  }

  bool starts_with(std::size_t pos, std::string_view word) const { return s_.substr(pos, word.size()) == word; }

  element_format parse_base(std::size_t end) {
    const std::string_view base = s_.substr(0, end);
    for (const auto& n : named_table) {
      if (base == n.name) {
        parser inner(n.canonical);
        return inner.parse_base(n.canonical.size());
      }
    }
    if (starts_with(0, "bp:")) return parse_profile(3, end);
    if (starts_with(0, "uint")) return parse_int(4, end, false);
    if (starts_with(0, "int")) return parse_int(3, end, true);
    if (starts_with(0, "fix")) return parse_fix(3, end);
    if (starts_with(0, "log")) return parse_log(3, end);
    if (starts_with(0, "fp") && end > 2 && is_digit(s_[2])) return parse_fp1xy(2, end);
    if (s_[0] == 'e') return parse_minifloat(end);
    std::string hint = "expected eXmY[bB][fn|fnuz|fin|fnu], intN, uintN, fixN.F, bp:..., fp1xy, logN or a named format";
    if (s_[0] == 'E' || s_[0] == 'F' || s_[0] == 'B')
      hint += " (names are case-sensitive; OCP names are E4M3 and E5M2)";
    fail(0, hint);
  }

  element_format parse_minifloat(std::size_t end) {
    element_format f;
    f.kind = family::minifloat;
    std::size_t pos = 1;
    f.exponent_bits = static_cast<int>(read_number(pos, end, "exponent bits", 99));
    if (pos >= end || s_[pos] != 'm') fail(pos, "expected 'm' after the exponent bits");
    ++pos;
    f.mantissa_bits = static_cast<int>(read_number(pos, end, "mantissa bits", 99));
    bool custom_bias = false;
    int bias = 0;
    if (pos < end && s_[pos] == 'b') {
      ++pos;
      bool neg = false;
      if (pos < end && s_[pos] == '-') {
        neg = true;
        ++pos;
      }
      bias = static_cast<int>(read_number(pos, end, "bias", 9999));
      if (neg) bias = -bias;
      custom_bias = true;
    }
    f.conv = convention::ieee;
    if (pos < end) {
      const std::string_view rest = s_.substr(pos, end - pos);
      if (rest == "fnuz")
        f.conv = convention::fnuz;
      else if (rest == "fnu")
        f.conv = convention::fnu;
      else if (rest == "fn")
        f.conv = convention::fn;
      else if (rest == "fin")
        f.conv = convention::fin;
      else
        fail(pos, "expected a suffix fn, fnuz, fin or fnu (or ':' and modifiers)");
    }
    if (f.exponent_bits < 1 || f.exponent_bits > 8) fail(1, "exponent bits must be 1..8");
    if (f.mantissa_bits < 0 || f.mantissa_bits > 23) fail(s_.find('m') + 1, "mantissa bits must be 0..23");
    const int default_bias =
        f.conv == convention::fnuz ? (1 << (f.exponent_bits - 1)) : (1 << (f.exponent_bits - 1)) - 1;
    f.bias = custom_bias ? bias : default_bias;
    if (f.conv == convention::fnu && f.mantissa_bits != 0)
      fail(s_.find('m') + 1, "the fnu convention (unsigned, no zero) is defined for M = 0 only (e8m0fnu)");
    return f;
  }

  element_format parse_int(std::size_t pos, std::size_t end, bool is_signed) {
    element_format f = of_family(family::integer);
    f.int_signed = is_signed;
    f.int_bits = static_cast<int>(read_number(pos, end, "integer bits", 99));
    if (pos != end) fail(pos, "unexpected character after the integer width");
    if (f.int_bits < 1 || f.int_bits > 32) fail(is_signed ? 3 : 4, "integer width must be 1..32");
    return f;
  }

  element_format parse_fix(std::size_t pos, std::size_t end) {
    element_format f = of_family(family::integer);
    f.int_bits = static_cast<int>(read_number(pos, end, "total bits", 99));
    if (pos >= end || s_[pos] != '.') fail(pos, "expected '.' then the fraction bits (fixN.F)");
    ++pos;
    f.frac_bits = static_cast<int>(read_number(pos, end, "fraction bits", 200));
    if (pos != end) fail(pos, "unexpected character after the fraction bits");
    if (f.int_bits < 1 || f.int_bits > 32) fail(3, "total bits must be 1..32");
    return f;
  }

  element_format parse_profile(std::size_t pos, std::size_t end) {
    element_format f = of_family(family::profile);
    int n = 0;
    while (true) {
      const std::size_t entry_pos = pos;
      const long m = read_number(pos, end, "binade precision m (hidden bit included)", 99);
      if (m > 24) fail(entry_pos, "binade precision m must be 0..24");
      long repeat = 1;
      if (pos < end && s_[pos] == 'x') {
        ++pos;
        const std::size_t rpos = pos;
        repeat = read_number(pos, end, "repeat count", 999);
        if (repeat < 1) fail(rpos, "repeat count must be at least 1");
      }
      for (long k = 0; k < repeat; ++k) {
        if (n >= max_profile_entries)
          fail(entry_pos, "too many binades (at most " + std::to_string(max_profile_entries) + ")");
        f.profile[static_cast<unsigned>(n++)] = static_cast<std::int8_t>(m);
      }
      if (pos == end) break;
      if (s_[pos] != ',') fail(pos, "expected ',' between binade entries (or 'x' for a repeat count)");
      ++pos;
    }
    f.profile_len = n;
    for (int d = 0; d + 1 < n; ++d)
      if (f.profile[static_cast<unsigned>(d)] == 0) fail(3, "a 0 entry (zero band) may only be the last binade");
    if (f.profile[0] == 0) fail(3, "the top binade must hold at least one value (m >= 1)");
    return f;
  }

  element_format parse_fp1xy(std::size_t pos, std::size_t end) {
    // fp1xy: x exponent bits, y mantissa bits -> bp:(y+1)x(2^x - 1), y, y-1, ..., 1, 0
    if (pos >= end || s_[pos] != '1') fail(pos, "expected fp1xy (1 sign bit, x exponent bits, y mantissa bits)");
    ++pos;
    if (pos + 2 != end || !is_digit(s_[pos]) || !is_digit(s_[pos + 1]))
      fail(pos, "expected exactly two digits x and y after 'fp1'");
    const int x = s_[pos] - '0', y = s_[pos + 1] - '0';
    if (x < 1 || x > 6) fail(pos, "exponent bits x must be 1..6");
    element_format f = of_family(family::profile);
    int n = 0;
    for (int k = 0; k < (1 << x) - 1; ++k) f.profile[static_cast<unsigned>(n++)] = static_cast<std::int8_t>(y + 1);
    for (int m = y; m >= 0; --m) f.profile[static_cast<unsigned>(n++)] = static_cast<std::int8_t>(m);
    f.profile_len = n;
    return f;
  }

  element_format parse_log(std::size_t pos, std::size_t end) {
    const std::size_t start = pos;
    const long bits = read_number(pos, end, "log format bits", 99);
    if (pos != end) fail(pos, "unexpected character after the log format width");
    if (bits < 2 || bits > 8) fail(start, "log<N> needs N = 2..8");
    element_format f = of_family(family::profile);
    const int mags = (1 << (bits - 1)) - 1;
    for (int k = 0; k < mags; ++k) f.profile[static_cast<unsigned>(k)] = 1;
    f.profile[static_cast<unsigned>(mags)] = 0;
    f.profile_len = mags + 1;
    return f;
  }

  void apply_modifier(element_format& f, std::size_t pos, std::string_view mod) {
    if (mod == "sat") {
      f.saturate = true;
    } else if (mod == "ftz") {
      if (f.kind != family::minifloat) fail(pos, "'ftz' applies to minifloats only");
      f.ftz = true;
    } else if (mod == "u") {
      if (f.kind == family::integer) fail(pos, "'u' does not apply to integers: use uintN");
      if (f.kind == family::minifloat && (f.conv == convention::fnuz || f.conv == convention::fnu))
        fail(pos, "'u' cannot be combined with the fnuz or fnu conventions");
      f.is_unsigned = true;
    } else if (mod == "logdomain") {
      if (f.kind != family::profile) fail(pos, "'logdomain' applies to log/profile formats only");
      f.log_domain = true;
    } else if (mod.empty()) {
      fail(pos, "expected a modifier (sat, ftz, u, logdomain) after ':'");
    } else {
      fail(pos, "unknown modifier '" + std::string(mod) + "' (expected sat, ftz, u or logdomain)");
    }
  }

  void validate(const element_format& f) const {
    const dyadic mx = max_finite(f);
    if (mx.significand == 0 && max_finite_negative(f).significand == 0)
      fail(0, "this format has no nonzero finite value");
    if (f.kind == family::minifloat && f.ftz && mx.exponent + detail::bit_width64(mx.significand) - 1 < grid_low_exp(f))
      fail(0, "this format has no nonzero finite value once subnormals are flushed (ftz)");
    if (code_bits(f) > 32) fail(0, "codes wider than 32 bits are not supported");
  }

  std::string_view s_;
};

void append_profile(std::string& out, const element_format& f) {
  out += "bp:";
  int d = 0;
  bool first = true;
  while (d < f.profile_len) {
    int run = 1;
    while (d + run < f.profile_len && f.profile[static_cast<unsigned>(d + run)] == f.profile[static_cast<unsigned>(d)])
      ++run;
    if (!first) out += ',';
    first = false;
    out += std::to_string(f.profile[static_cast<unsigned>(d)]);
    if (run > 1) out += 'x' + std::to_string(run);
    d += run;
  }
}

}  // namespace

element_format parse_format(std::string_view spec) { return parser(spec).parse(); }

std::string format_name(const element_format& f) {
  std::string out;
  switch (f.kind) {
    case family::minifloat: {
      out = "e" + std::to_string(f.exponent_bits) + "m" + std::to_string(f.mantissa_bits);
      const int default_bias =
          f.conv == convention::fnuz ? (1 << (f.exponent_bits - 1)) : (1 << (f.exponent_bits - 1)) - 1;
      if (f.bias != default_bias) out += "b" + std::to_string(f.bias);
      switch (f.conv) {
        case convention::ieee:
          break;
        case convention::fn:
          out += "fn";
          break;
        case convention::fnuz:
          out += "fnuz";
          break;
        case convention::fin:
          out += "fin";
          break;
        case convention::fnu:
          out += "fnu";
          break;
      }
      break;
    }
    case family::integer:
      if (f.frac_bits != 0) {
        out = "fix" + std::to_string(f.int_bits) + "." + std::to_string(f.frac_bits);
      } else {
        out = (f.int_signed ? "int" : "uint") + std::to_string(f.int_bits);
      }
      break;
    case family::profile:
      append_profile(out, f);
      break;
  }
  if (f.saturate) out += ":sat";
  if (f.ftz) out += ":ftz";
  if (f.is_unsigned) out += ":u";
  if (f.log_domain) out += ":logdomain";
  return out;
}

std::span<const named_format> named_formats() { return named_table; }

std::string_view family_name(const element_format& f) {
  switch (f.kind) {
    case family::minifloat:
      return "minifloat";
    case family::integer:
      return f.frac_bits != 0 ? "fixed" : "integer";
    case family::profile: {
      bool log = f.profile[static_cast<unsigned>(f.profile_len - 1)] == 0;
      for (int d = 0; d + 1 < f.profile_len; ++d) log = log && f.profile[static_cast<unsigned>(d)] == 1;
      return log ? "log" : "profile";
    }
  }
  return "?";
}

}  // namespace fmtsim
