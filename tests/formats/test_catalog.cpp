// SPDX-License-Identifier: MIT
// Tests of the lee22 / lee22-extra catalogs against an independent C++ reading of formats.md 1.3.
//
// Nothing here calls formats/generate_catalogs.py: the rule (a)-(e), the enumeration, the
// bp spelling, the fp1xy alias and the lee22-extra families (docs/catalogs.md) are
// re-implemented below from the spec text, and the catalog data must agree with them.
#include <doctest/doctest.h>

#include <fmtsim/formats/catalog.hpp>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#ifndef FMTSIM_CATALOG_CSV_DIR
#error "FMTSIM_CATALOG_CSV_DIR (the formats/ source directory) must be defined by the build"
#endif

namespace {

using profile_t = std::vector<int>;

profile_t to_profile(std::span<const std::int8_t> p) { return profile_t(p.begin(), p.end()); }

// ---- formats.md 1.3, read independently ------------------------------------------------

constexpr int kMaxBinades = 54;  // rule (e)

// (a): sum over m_d >= 1 of 2^(m_d - 1) == 2^(n-1) - 1.
long magnitudes(const profile_t& p) {
  long s = 0;
  for (int m : p) {
    if (m >= 1) s += 1L << (m - 1);
  }
  return s;
}

// A profile ends with its single 0 entry (the zero); every earlier entry is a binade (>= 1).
bool well_formed(const profile_t& p) {
  if (p.empty() || p.back() != 0) return false;
  return std::all_of(p.begin(), p.end() - 1, [](int m) { return m >= 1; });
}

// Plateaus: maximal runs of two or more equal entries among the binades before the final 0.
int plateau_count(const profile_t& p) {
  int count = 0;
  std::size_t i = 0;
  const std::size_t end = p.empty() ? 0 : p.size() - 1;
  while (i < end) {
    std::size_t j = i;
    while (j < end && p[j] == p[i]) ++j;
    if (j - i >= 2) ++count;
    i = j;
  }
  return count;
}

bool rule_a(const profile_t& p, int bits) { return magnitudes(p) == (1L << (bits - 1)) - 1; }
bool rule_b(const profile_t& p) {
  for (std::size_t d = 0; d + 1 < p.size(); ++d) {
    if (p[d] < p[d + 1]) return false;
  }
  return true;
}
bool rule_c(const profile_t& p) {
  for (std::size_t d = 0; d + 1 < p.size(); ++d) {
    if (p[d] - p[d + 1] > 1) return false;
  }
  return true;
}
bool rule_d(const profile_t& p) { return plateau_count(p) <= 2; }
bool rule_e(const profile_t& p) { return static_cast<int>(p.size()) - 1 <= kMaxBinades; }

bool lee22_rule(const profile_t& p, int bits) {
  return well_formed(p) && rule_a(p, bits) && rule_b(p) && rule_c(p) && rule_d(p) && rule_e(p);
}

// Enumeration by a different route than the generator: by (b), (c) and the final 0, a
// profile with top entry t is t, ..., 1, 0 where each value v in 1..t occurs c_v >= 1
// times in one run. So choose the counts c_t..c_1 with sum c_v 2^(v-1) == 2^(n-1) - 1,
// at most two c_v >= 2 (d) and sum c_v <= 54 (e).
void choose_counts(int v, long remaining, std::vector<int>& counts, int bits, std::set<profile_t>& out) {
  if (v == 0) {
    if (remaining != 0) return;
    profile_t p;
    const int top = static_cast<int>(counts.size());
    for (int i = 0; i < top; ++i) p.insert(p.end(), counts[i], top - i);
    p.push_back(0);
    int plateaus = 0;
    for (int c : counts) plateaus += c >= 2 ? 1 : 0;
    if (plateaus <= 2 && static_cast<int>(p.size()) - 1 <= kMaxBinades) out.insert(p);
    return;
  }
  const long weight = 1L << (v - 1);
  const long below_min = weight - 1;  // one binade each of v-1 .. 1
  for (int c = 1; remaining - c * weight >= below_min; ++c) {
    counts.push_back(c);
    choose_counts(v - 1, remaining - c * weight, counts, bits, out);
    counts.pop_back();
  }
}

std::set<profile_t> enumerate_rule(int bits) {
  std::set<profile_t> out;
  for (int top = 1; top <= bits - 1; ++top) {
    std::vector<int> counts;
    choose_counts(top, (1L << (bits - 1)) - 1, counts, bits, out);
  }
  return out;
}

// The fp1xy alias: bp:(y+1)x(2^x - 1), y, y-1, ..., 1, 0.
profile_t fp1xy(int x, int y) {
  profile_t p((1u << x) - 1, y + 1);
  for (int v = y; v >= 0; --v) p.push_back(v);
  return p;
}

// ---- bp spelling, written independently ------------------------------------------------

std::string spell(const profile_t& p) {
  std::string s = "bp:";
  for (std::size_t i = 0; i < p.size();) {
    std::size_t j = i;
    while (j < p.size() && p[j] == p[i]) ++j;
    if (i > 0) s += ',';
    s += std::to_string(p[i]);
    if (j - i >= 2) s += 'x' + std::to_string(j - i);
    i = j;
  }
  return s;
}

// Strict parser of the canonical form; returns false on anything else.
bool parse_canonical(const std::string& id, profile_t& out) {
  out.clear();
  if (id.rfind("bp:", 0) != 0) return false;
  std::stringstream ss(id.substr(3));
  std::string item;
  while (std::getline(ss, item, ',')) {
    const auto x = item.find('x');
    const std::string a = item.substr(0, x);
    if (a.empty() || a.size() > 3 || a.find_first_not_of("0123456789") != std::string::npos) {
      return false;
    }
    int k = 1;
    if (x != std::string::npos) {
      const std::string ks = item.substr(x + 1);
      if (ks.empty() || ks.size() > 3 || ks.find_first_not_of("0123456789") != std::string::npos) {
        return false;
      }
      k = std::stoi(ks);
      if (k < 2) return false;  // canonical: only runs of two or more use AxK
    }
    out.insert(out.end(), k, std::stoi(a));
  }
  return !out.empty();
}

std::set<profile_t> profiles_of(std::span<const fmtsim::catalog_entry> cat, int bits = 0) {
  std::set<profile_t> s;
  for (const auto& e : cat) {
    if (bits == 0 || e.bits == bits) s.insert(to_profile(e.profile));
  }
  return s;
}

// ---- lee22-extra families, written from docs/catalogs.md -------------------------------

std::set<profile_t> extra_families_from_docs(const std::set<profile_t>& lee22) {
  std::set<profile_t> out;
  auto add = [&](const profile_t& p) {
    if (!lee22.count(p) && rule_e(p)) out.insert(p);
  };
  for (int bits : {8, 7, 6}) {
    for (int x = 1; x <= bits - 1; ++x) {
      const int y = bits - 1 - x;
      const int body = (1 << x) - 1;
      // sliding windows over an fp1xy base of lee22 with x >= 2, y >= 1
      if (x >= 2 && y >= 1 && lee22.count(fp1xy(x, y))) {
        for (int k = 1; 2 * k <= body - 1; ++k) {
          for (int j = 1; j <= body - 2 * k; ++j) {
            profile_t p(j, y + 1);
            p.insert(p.end(), k, y + 2);
            p.insert(p.end(), body - 2 * k - j, y + 1);
            for (int v = y; v >= 0; --v) p.push_back(v);
            add(p);
          }
        }
      }
      // log tails lfp1xy, y >= 2
      if (y >= 2) {
        profile_t p(body, y + 1);
        p.insert(p.end(), (1 << y) - 1, 1);
        p.push_back(0);
        add(p);
      }
    }
  }
  for (int n = 4; n <= 8; ++n) {  // log<N>
    profile_t p((1 << (n - 1)) - 1, 1);
    p.push_back(0);
    add(p);
  }
  return out;
}

const fmtsim::catalog_entry* by_id(std::span<const fmtsim::catalog_entry> cat, std::string_view id) {
  for (const auto& e : cat) {
    if (e.id == id) return &e;
  }
  return nullptr;
}

}  // namespace

TEST_SUITE("unit") {
  TEST_CASE("catalog names and unknown catalogs") {
    const auto names = fmtsim::catalog_names();
    REQUIRE(names.size() == 2);
    CHECK(names[0] == "lee22");
    CHECK(names[1] == "lee22-extra");
    CHECK_FALSE(fmtsim::catalog("lee22").empty());
    CHECK_FALSE(fmtsim::catalog("lee22-extra").empty());
    try {
      (void)fmtsim::catalog("lee23");
      FAIL("catalog(\"lee23\") did not throw");
    } catch (const std::invalid_argument& ex) {
      const std::string msg = ex.what();
      CHECK(msg.find("lee23") != std::string::npos);
      CHECK(msg.find("lee22") != std::string::npos);
      CHECK(msg.find("lee22-extra") != std::string::npos);
    }
    CHECK_THROWS_AS((void)fmtsim::catalog(""), std::invalid_argument);
    CHECK_THROWS_AS((void)fmtsim::catalog("LEE22"), std::invalid_argument);
  }

  TEST_CASE("lee22 counts are the ones formats.md pins") {
    const auto cat = fmtsim::catalog("lee22");
    std::map<int, int> per_bits;
    for (const auto& e : cat) ++per_bits[e.bits];
    CHECK(per_bits.size() == 3);
    CHECK(per_bits[8] == 252);
    CHECK(per_bits[7] == 185);
    CHECK(per_bits[6] == 61);
    CHECK(cat.size() == 498);
  }

  TEST_CASE("every lee22 entry satisfies rules (a)-(e)") {
    for (const auto& e : fmtsim::catalog("lee22")) {
      const profile_t p = to_profile(e.profile);
      INFO("entry " << e.id);
      REQUIRE(well_formed(p));
      CHECK(rule_a(p, e.bits));
      CHECK(rule_b(p));
      CHECK(rule_c(p));
      CHECK(rule_d(p));
      CHECK(rule_e(p));
      CHECK(e.binades == static_cast<int>(p.size()) - 1);
    }
  }

  TEST_CASE("lee22 is exactly the set the rule defines") {
    const auto cat = fmtsim::catalog("lee22");
    for (int bits : {8, 7, 6}) {
      INFO("bits " << bits);
      const auto expected = enumerate_rule(bits);
      for (const auto& p : expected) CHECK(lee22_rule(p, bits));  // the two readings agree
      CHECK(profiles_of(cat, bits) == expected);
    }
    CHECK(enumerate_rule(8).size() + enumerate_rule(7).size() + enumerate_rule(6).size() == 498);
  }

  TEST_CASE("the rule checker rejects profiles that break one rule") {
    CHECK(lee22_rule({5, 5, 5, 5, 5, 5, 5, 4, 3, 2, 1, 0}, 8));
    CHECK_FALSE(lee22_rule({5, 5, 5, 5, 5, 5, 4, 3, 2, 1, 0}, 8));              // (a)
    CHECK_FALSE(lee22_rule({4, 5, 5, 5, 5, 4, 4, 4, 4, 4, 4, 3, 2, 1, 0}, 8));  // (b)
    CHECK_FALSE(lee22_rule({4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 1, 1, 1, 1, 1, 1, 1, 0},
                           8));  // (c)
    // three plateaus (4x5, 3x8, 2x3), every other rule holds: (d)
    const profile_t three = {6, 5, 4, 4, 4, 4, 4, 3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 1, 0};
    CHECK(rule_a(three, 8));
    CHECK(rule_b(three));
    CHECK(rule_c(three));
    CHECK(rule_e(three));
    CHECK(plateau_count(three) == 3);
    CHECK_FALSE(lee22_rule(three, 8));
    CHECK(plateau_count({3, 3, 2, 1, 0}) == 1);
    CHECK(plateau_count({1, 0}) == 0);
    profile_t fp161 = fp1xy(6, 1);  // 64 binades
    CHECK(rule_a(fp161, 8));
    CHECK_FALSE(lee22_rule(fp161, 8));                  // (e)
    CHECK_FALSE(lee22_rule({7, 6, 5, 4, 3, 2, 1}, 8));  // no zero
  }

  TEST_CASE("ids are unique and canonical bp spellings of the profile") {
    for (std::string_view name : fmtsim::catalog_names()) {
      std::set<std::string_view> ids;
      for (const auto& e : fmtsim::catalog(name)) {
        INFO(name << " entry " << e.id);
        CHECK(ids.insert(e.id).second);
        profile_t parsed;
        REQUIRE(parse_canonical(std::string(e.id), parsed));
        CHECK(parsed == to_profile(e.profile));
        CHECK(spell(to_profile(e.profile)) == e.id);
      }
    }
  }

  TEST_CASE("catalogs are ordered by bits, then profile, descending") {
    for (std::string_view name : fmtsim::catalog_names()) {
      const auto cat = fmtsim::catalog(name);
      for (std::size_t i = 1; i < cat.size(); ++i) {
        const auto& a = cat[i - 1];
        const auto& b = cat[i];
        INFO(name << ": " << a.id << " before " << b.id);
        const bool ordered =
            a.bits > b.bits || (a.bits == b.bits && std::lexicographical_compare(b.profile.begin(), b.profile.end(),
                                                                                 a.profile.begin(), a.profile.end()));
        CHECK(ordered);
      }
    }
  }

  TEST_CASE("the paper's named formats are in lee22 with the right ids") {
    const auto lee22 = fmtsim::catalog("lee22");
    struct named {
      const char* name;
      const char* id;
      int bits;
    };
    // ids written from formats.md 1.3
    const named paper[] = {
        {"fp134", "bp:5x7,4,3,2,1,0", 8},
        {"fp143", "bp:4x15,3,2,1,0", 8},
        {"fp152", "bp:3x31,2,1,0", 8},
        {"int8", "bp:7,6,5,4,3,2,1,0", 8},
    };
    for (const auto& n : paper) {
      INFO(n.name);
      const auto* e = by_id(lee22, n.id);
      REQUIRE(e != nullptr);
      CHECK(e->name == n.name);
      CHECK(e->bits == n.bits);
      CHECK(fmtsim::find_catalog_entry(n.name) == e);
      CHECK(fmtsim::find_catalog_entry(n.id) == e);
    }
    // FP125 and FP116 from the fp1xy alias formula
    CHECK(spell(fp1xy(2, 5)) == "bp:6x3,5,4,3,2,1,0");
    CHECK(spell(fp1xy(1, 6)) == "bp:7,6,5,4,3,2,1,0");  // FP116 is the INT8-like profile
    const auto* fp125 = by_id(lee22, "bp:6x3,5,4,3,2,1,0");
    REQUIRE(fp125 != nullptr);
    CHECK(fp125->name == "fp125");
    CHECK(fmtsim::find_catalog_entry("fp125") == fp125);
    const auto* fp116 = fmtsim::find_catalog_entry("fp116");
    REQUIRE(fp116 != nullptr);
    CHECK(fp116->id == "bp:7,6,5,4,3,2,1,0");
    CHECK(fp116->name == "int8");
    CHECK(fp116 == by_id(lee22, "bp:7,6,5,4,3,2,1,0"));
    // INT-like profiles of 7 and 6 bits
    const auto* int7 = by_id(lee22, "bp:6,5,4,3,2,1,0");
    const auto* int6 = by_id(lee22, "bp:5,4,3,2,1,0");
    REQUIRE(int7 != nullptr);
    REQUIRE(int6 != nullptr);
    CHECK(int7->name == "int7");
    CHECK(int6->name == "int6");
  }

  TEST_CASE("names follow the int<n> / log<n> / fp1xy rule") {
    const auto lee22 = fmtsim::catalog("lee22");
    std::set<const fmtsim::catalog_entry*> expected_named;
    for (int bits : {8, 7, 6}) {
      for (int x = 1; x <= bits - 1; ++x) {
        const int y = bits - 1 - x;
        const profile_t p = fp1xy(x, y);
        const std::string systematic = "fp1" + std::to_string(x) + std::to_string(y);
        const auto* e = by_id(lee22, spell(p));
        INFO(systematic);
        if (!rule_e(p)) {  // fp161, fp170, fp160 span too many binades
          CHECK(e == nullptr);
          continue;
        }
        REQUIRE(e != nullptr);
        std::string name = systematic;
        if (x == 1) name = "int" + std::to_string(bits);
        if (y == 0) name = "log" + std::to_string(bits);
        CHECK(e->name == name);
        CHECK(fmtsim::find_catalog_entry(systematic) == e);
        expected_named.insert(e);
      }
    }
    for (const auto& e : lee22) {
      INFO(e.id);
      CHECK(e.name.empty() == (expected_named.count(&e) == 0));
    }
    CHECK(expected_named.size() == 15);
    const auto* fp133 = fmtsim::find_catalog_entry("fp133");
    REQUIRE(fp133 != nullptr);
    CHECK(fp133->id == "bp:4x7,3,2,1,0");
    CHECK(fp133->bits == 7);
  }

  TEST_CASE("the FP143 -> FP134 two-plateau family is in lee22") {
    const auto lee22 = fmtsim::catalog("lee22");
    // K binades of 5 bits replace 2K binades of 4 bits: K = 0 is FP143, K = 7 is FP134.
    for (int k = 0; k <= 7; ++k) {
      profile_t p(k, 5);
      p.insert(p.end(), 15 - 2 * k, 4);
      p.insert(p.end(), {3, 2, 1, 0});
      INFO("K = " << k);
      const auto* e = by_id(lee22, spell(p));
      REQUIRE(e != nullptr);
      CHECK(to_profile(e->profile) == p);
      CHECK(e->binades == 18 - k);
    }
    CHECK(by_id(lee22, "bp:5x3,4x9,3,2,1,0") != nullptr);
    CHECK(by_id(lee22, "bp:5,4x13,3,2,1,0") != nullptr);
    CHECK(by_id(lee22, "bp:5x6,4x3,3,2,1,0") != nullptr);
  }

  TEST_CASE("lee22-extra: the documented families, no lee22 duplicates") {
    const auto lee22 = fmtsim::catalog("lee22");
    const auto extra = fmtsim::catalog("lee22-extra");
    const auto lee22_set = profiles_of(lee22);
    const auto expected = extra_families_from_docs(lee22_set);
    CHECK(profiles_of(extra) == expected);
    CHECK(extra.size() == expected.size());
    for (const auto& e : extra) {
      const profile_t p = to_profile(e.profile);
      INFO(e.id);
      CHECK(lee22_set.count(p) == 0);
      CHECK(by_id(lee22, e.id) == nullptr);
      REQUIRE(well_formed(p));
      CHECK(rule_a(p, e.bits));
      CHECK(rule_e(p));
      CHECK(e.binades == static_cast<int>(p.size()) - 1);
    }
    const auto* lfp8 = by_id(extra, "bp:4x15,1x7,0");
    REQUIRE(lfp8 != nullptr);
    CHECK(lfp8->name == "lfp8");
    CHECK(lfp8->bits == 8);
    CHECK(fmtsim::find_catalog_entry("lfp8") == lfp8);
    CHECK(fmtsim::find_catalog_entry("lfp143") == lfp8);
    const auto* log4 = by_id(extra, "bp:1x7,0");
    REQUIRE(log4 != nullptr);
    CHECK(log4->name == "log4");
    CHECK(log4->bits == 4);
    CHECK(fmtsim::find_catalog_entry("log4") == log4);
    const auto* lfp134 = by_id(extra, "bp:5x7,1x15,0");  // the scripts' other log tail
    REQUIRE(lfp134 != nullptr);
    CHECK(lfp134->name == "lfp134");
    // a sliding window of the scripts: four 5-bit binades one binade below the top of FP143
    CHECK(by_id(extra, "bp:4,5x4,4x6,3,2,1,0") != nullptr);
    CHECK(by_id(extra, "bp:4x7,5x4,3,2,1,0") != nullptr);
    // log6 = bp:1x31,0 is in lee22, so not in the extras; log7/log8 break (e)
    CHECK(by_id(extra, "bp:1x31,0") == nullptr);
    CHECK(by_id(lee22, "bp:1x31,0") != nullptr);
    CHECK(fmtsim::find_catalog_entry("log7") == nullptr);
  }

  TEST_CASE("names and aliases are unique across both catalogs") {
    std::set<std::string_view> names;
    for (std::string_view cat : fmtsim::catalog_names()) {
      for (const auto& e : fmtsim::catalog(cat)) {
        if (!e.name.empty()) CHECK_MESSAGE(names.insert(e.name).second, e.name);
      }
    }
    for (const auto& a : fmtsim::detail::catalog_aliases) {
      CHECK_MESSAGE(names.insert(a.alias).second, a.alias);
      const auto* e = fmtsim::find_catalog_entry(a.id);
      REQUIRE(e != nullptr);
      CHECK(e->id == a.id);
      CHECK(fmtsim::find_catalog_entry(a.alias) == e);
    }
  }

  TEST_CASE("find_catalog_entry: other spellings and misses") {
    const auto* fp134 = fmtsim::find_catalog_entry("fp134");
    REQUIRE(fp134 != nullptr);
    CHECK(fmtsim::find_catalog_entry("bp:5,5,5,5,5,5,5,4,3,2,1,0") == fp134);
    CHECK(fmtsim::find_catalog_entry("bp:5x3,5x4,4,3,2,1,0") == fp134);
    CHECK(fmtsim::find_catalog_entry("bp: 5x7, 4, 3, 2, 1, 0") == fp134);
    CHECK(fmtsim::find_catalog_entry("bp:5x7,4,3,2,1") == nullptr);      // no zero
    CHECK(fmtsim::find_catalog_entry("bp:5x6,4,3,2,1,0") == nullptr);    // not every code
    CHECK(fmtsim::find_catalog_entry("bp:5x99999999999,0") == nullptr);  // absurd count
    CHECK(fmtsim::find_catalog_entry("bp:5x,4") == nullptr);
    CHECK(fmtsim::find_catalog_entry("bp:") == nullptr);
    CHECK(fmtsim::find_catalog_entry("bp:,") == nullptr);
    CHECK(fmtsim::find_catalog_entry("bp:-1,0") == nullptr);
    CHECK(fmtsim::find_catalog_entry("fp999") == nullptr);
    CHECK(fmtsim::find_catalog_entry("") == nullptr);
    CHECK(fmtsim::find_catalog_entry("e4m3") == nullptr);
  }

  TEST_CASE("the C++ example of docs/catalogs.md") {
    int small_range = 0;
    for (const fmtsim::catalog_entry& e : fmtsim::catalog("lee22")) {
      if (e.bits == 8 && e.binades <= 11) ++small_range;
    }
    const fmtsim::catalog_entry* fp134 = fmtsim::find_catalog_entry("fp134");
    REQUIRE(fp134 != nullptr);
    CHECK(fp134->id == "bp:5x7,4,3,2,1,0");
    CHECK(fp134->binades == 11);
    // independent count of 8-bit rule profiles within 11 binades
    int expected = 0;
    for (const auto& p : enumerate_rule(8)) expected += static_cast<int>(p.size()) - 1 <= 11;
    CHECK(small_range == expected);
    CHECK(small_range > 0);
  }

  TEST_CASE("the CSV files hold the same data as the C++ catalog") {
    for (std::string_view name : fmtsim::catalog_names()) {
      const std::string path = std::string(FMTSIM_CATALOG_CSV_DIR) + "/" + std::string(name) + ".csv";
      INFO(path);
      std::ifstream in(path);
      REQUIRE(in.good());
      std::string line;
      REQUIRE(std::getline(in, line));
      CHECK(line == "# generated by: python3 formats/generate_catalogs.py");
      REQUIRE(std::getline(in, line));
      CHECK(line == "id,name,bits,profile,binades,codes");
      const auto cat = fmtsim::catalog(name);
      std::size_t row = 0;
      while (std::getline(in, line)) {
        REQUIRE(row < cat.size());
        const auto& e = cat[row];
        INFO("row " << row << ": " << line);
        std::string id;
        std::string rest;
        if (!line.empty() && line[0] == '"') {
          const auto close = line.find('"', 1);
          REQUIRE(close != std::string::npos);
          id = line.substr(1, close - 1);
          REQUIRE(line.size() > close + 1);
          REQUIRE(line[close + 1] == ',');
          rest = line.substr(close + 2);
        } else {
          const auto comma = line.find(',');
          id = line.substr(0, comma);
          rest = line.substr(comma + 1);
        }
        std::vector<std::string> fields;
        std::stringstream ss(rest);
        std::string f;
        while (std::getline(ss, f, ',')) fields.push_back(f);
        REQUIRE(fields.size() == 5);
        CHECK(id == e.id);
        CHECK(fields[0] == e.name);
        CHECK(std::stoi(fields[1]) == e.bits);
        std::stringstream ps(fields[2]);
        profile_t p;
        int m = 0;
        while (ps >> m) p.push_back(m);
        CHECK(p == to_profile(e.profile));
        CHECK(std::stoi(fields[3]) == e.binades);
        CHECK(std::stol(fields[4]) == (1L << e.bits));
        ++row;
      }
      CHECK(row == cat.size());
    }
  }

}  // TEST_SUITE
