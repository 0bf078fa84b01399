// SPDX-License-Identifier: MIT
// Binade-profile format catalogs (lee22, lee22-extra): read-only access to the generated data.
#ifndef FMTSIM_FORMATS_CATALOG_HPP
#define FMTSIM_FORMATS_CATALOG_HPP

// The data comes from formats/generate_catalogs.py (see docs/catalogs.md for the rules,
// the families, the naming and the ordering). Do not edit catalog_data.inc by hand.

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace fmtsim {

// One catalog profile. `id` is the canonical bp spelling (runs of K >= 2 equal entries A
// written AxK), `name` the short name or empty, `profile` the per-binade significant bits
// from the top binade down to the final 0, `binades` the entries before that 0.
// The number of codes of the format is 2^bits.
struct catalog_entry {
  std::string_view id;
  std::string_view name;
  int bits;
  std::span<const std::int8_t> profile;
  int binades;
};

namespace detail {

// A systematic spelling that names the same entry as a short name (e.g. fp116 = int8).
struct catalog_alias {
  std::string_view alias;
  std::string_view id;
};

#define FMTSIM_DETAIL_INCLUDING_CATALOG_DATA
#include "catalog_data.inc"
#undef FMTSIM_DETAIL_INCLUDING_CATALOG_DATA

inline constexpr std::string_view catalog_lee22_name = "lee22";
inline constexpr std::string_view catalog_lee22_extra_name = "lee22-extra";

// Parses a bp spelling ("bp:" then comma-separated entries A or AxK, K >= 1, optional
// spaces around entries) into `out`. Returns false on malformed input or when the profile
// would exceed `max_len` entries (no catalog profile is that long).
inline bool parse_bp_spelling(std::string_view text, std::vector<std::int8_t>& out, std::size_t max_len = 256) {
  out.clear();
  constexpr std::string_view prefix = "bp:";
  if (text.substr(0, prefix.size()) != prefix) return false;
  text.remove_prefix(prefix.size());
  auto trim = [](std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    return s;
  };
  auto parse_uint = [](std::string_view s, long limit, long& value) {
    if (s.empty()) return false;
    value = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return false;
      value = value * 10 + (c - '0');
      if (value > limit) return false;
    }
    return true;
  };
  while (true) {
    const std::size_t comma = text.find(',');
    const std::string_view item = trim(text.substr(0, comma));
    const std::size_t x = item.find('x');
    long value = 0;
    long count = 1;
    if (!parse_uint(item.substr(0, x), 127, value)) return false;
    if (x != std::string_view::npos) {
      if (!parse_uint(item.substr(x + 1), static_cast<long>(max_len), count) || count < 1) {
        return false;
      }
    }
    if (out.size() + static_cast<std::size_t>(count) > max_len) return false;
    out.insert(out.end(), static_cast<std::size_t>(count), static_cast<std::int8_t>(value));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return true;
}

inline bool same_profile(std::span<const std::int8_t> a, std::span<const std::int8_t> b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

}  // namespace detail

// Names of the known catalogs: "lee22", "lee22-extra".
inline std::vector<std::string_view> catalog_names() {
  return {detail::catalog_lee22_name, detail::catalog_lee22_extra_name};
}

// The entries of a catalog, in the documented order (bits descending, then profile
// descending lexicographically). Throws std::invalid_argument for an unknown name.
inline std::span<const catalog_entry> catalog(std::string_view name) {
  if (name == detail::catalog_lee22_name) return detail::lee22_entries;
  if (name == detail::catalog_lee22_extra_name) return detail::lee22_extra_entries;
  std::string msg = "unknown format catalog '";
  msg.append(name);
  msg += "' (known catalogs:";
  for (std::string_view known : catalog_names()) {
    msg += ' ';
    msg.append(known);
  }
  msg += ')';
  throw std::invalid_argument(msg);
}

// Looks an entry up in lee22, then lee22-extra, by canonical id ("bp:5x7,4,3,2,1,0"),
// short name ("fp134"), alias ("fp116" = int8) or any other bp spelling of the same
// profile ("bp:5,5,5,5,5,5,5,4,3,2,1,0"). Returns nullptr when nothing matches.
inline const catalog_entry* find_catalog_entry(std::string_view id_or_name) {
  if (id_or_name.empty()) return nullptr;
  const std::span<const catalog_entry> all[] = {detail::lee22_entries, detail::lee22_extra_entries};
  for (const auto& cat : all) {
    for (const catalog_entry& e : cat) {
      if (e.id == id_or_name) return &e;
    }
  }
  for (const auto& cat : all) {
    for (const catalog_entry& e : cat) {
      if (!e.name.empty() && e.name == id_or_name) return &e;
    }
  }
  for (const detail::catalog_alias& a : detail::catalog_aliases) {
    if (a.alias == id_or_name) return find_catalog_entry(a.id);
  }
  std::vector<std::int8_t> profile;
  if (!detail::parse_bp_spelling(id_or_name, profile)) return nullptr;
  for (const auto& cat : all) {
    for (const catalog_entry& e : cat) {
      if (detail::same_profile(e.profile, profile)) return &e;
    }
  }
  return nullptr;
}

}  // namespace fmtsim

#endif  // FMTSIM_FORMATS_CATALOG_HPP
