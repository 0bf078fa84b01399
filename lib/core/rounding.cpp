// SPDX-License-Identifier: MIT
// Rounding-mode names (formats.md section 2).
#include <fmtsim/core/rounding.hpp>

#include <charconv>

namespace fmtsim {

std::optional<round_mode> parse_rounding(std::string_view text) {
  struct entry {
    std::string_view name;
    rounding kind;
  };
  static constexpr entry table[] = {{"rne", rounding::rne}, {"rna", rounding::rna}, {"rtz", rounding::rtz},
                                    {"rup", rounding::rup}, {"rdn", rounding::rdn}, {"rto", rounding::rto},
                                    {"sr", rounding::sr},   {"hys", rounding::hys}};
  for (const auto& e : table)
    if (text == e.name) return round_mode{e.kind, 0};
  if (text.size() > 2 && text.substr(0, 2) == "sr") {
    const std::string_view digits = text.substr(2);
    unsigned value = 0;
    const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec == std::errc{} && ptr == digits.data() + digits.size() && value >= 1 && value <= 64 && digits[0] != '0')
      return round_mode{rounding::sr, static_cast<std::uint8_t>(value)};
  }
  return std::nullopt;
}

std::string rounding_name(round_mode mode) {
  switch (mode.kind) {
    case rounding::rne:
      return "rne";
    case rounding::rna:
      return "rna";
    case rounding::rtz:
      return "rtz";
    case rounding::rup:
      return "rup";
    case rounding::rdn:
      return "rdn";
    case rounding::rto:
      return "rto";
    case rounding::sr:
      return mode.sr_bits == 0 ? "sr" : "sr" + std::to_string(mode.sr_bits);
    case rounding::hys:
      return "hys";
  }
  return "?";
}

std::string_view rounding_names_help() {
  return "rne (nearest, ties to even), rna (nearest, ties away), rtz (toward zero), rup (toward +inf), "
         "rdn (toward -inf), rto (to odd), sr (stochastic, exact), sr<R> (stochastic with R random bits, "
         "1..64), hys (hysteresis, needs the previous quantized value)";
}

}  // namespace fmtsim
