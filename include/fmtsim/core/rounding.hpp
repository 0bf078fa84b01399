// SPDX-License-Identifier: MIT
// Rounding modes (formats.md section 2): names shared by C++, the CLI and Python.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fmtsim {

enum class rounding : std::uint8_t {
  rne,  // to nearest, ties to even
  rna,  // to nearest, ties away from zero
  rtz,  // toward zero
  rup,  // toward +inf
  rdn,  // toward -inf
  rto,  // round to odd
  sr,   // stochastic (sr = exact, srR = R random bits)
  hys,  // hysteresis: needs the previous quantized value
};

struct round_mode {
  rounding kind = rounding::rne;
  // For sr: number of random bits R (1..64); 0 means exact (as many bits as the distance needs).
  std::uint8_t sr_bits = 0;

  constexpr bool operator==(const round_mode&) const = default;
  constexpr bool stochastic() const { return kind == rounding::sr; }
};

// "rne", "rna", "rtz", "rup", "rdn", "rto", "sr", "sr<R>" (R = 1..64), "hys". Returns nullopt if unknown.
std::optional<round_mode> parse_rounding(std::string_view text);
std::string rounding_name(round_mode mode);
// Human-readable list of accepted names, for error messages and --help.
std::string_view rounding_names_help();

}  // namespace fmtsim
