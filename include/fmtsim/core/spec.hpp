// SPDX-License-Identifier: MIT
// Format spec strings: parser, canonical names and the table of named formats and aliases.
#pragma once

#include <fmtsim/core/format.hpp>

#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

namespace fmtsim {

// A malformed spec. what() names the spec, the offending position and character, and what was expected.
class spec_error : public std::invalid_argument {
 public:
  spec_error(const std::string& message, std::size_t position) : std::invalid_argument(message), position_(position) {}
  std::size_t position() const noexcept { return position_; }

 private:
  std::size_t position_;
};

// Parse e.g. "e4m3fn", "float8_e4m3fn", "E4M3", "bf16", "e5m2:sat", "e4m3b11fnuz", "int8", "uint4",
// "fix8.4", "bp:5x7,4,3,2,1,0", "fp134", "log4:logdomain". Throws spec_error.
element_format parse_format(std::string_view spec);

// Canonical spelling: parse_format(format_name(f)) == f.
std::string format_name(const element_format& f);

struct named_format {
  std::string_view name;       // the alias as users write it
  std::string_view canonical;  // what it parses to
  std::string_view note;       // e.g. the ml_dtypes / OCP name it equals
};

// Every alias and named format of formats.md, in a stable order.
std::span<const named_format> named_formats();

// Human-readable family name: "minifloat", "integer", "fixed", "profile", "log".
std::string_view family_name(const element_format& f);

}  // namespace fmtsim
