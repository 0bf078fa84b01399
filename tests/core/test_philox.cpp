// SPDX-License-Identifier: MIT
// Philox-4x32-10 known-answer vectors (Random123 kat_vectors) and the per-element stream layout.
#include <fmtsim/core/philox.hpp>

#include <doctest/doctest.h>

using namespace fmtsim;

TEST_CASE("Philox-4x32-10 matches the Random123 known-answer vectors") {
  CHECK(philox4x32_10({0, 0, 0, 0}, 0, 0) == philox_block{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u});
  CHECK(philox4x32_10({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, 0xffffffffu, 0xffffffffu) ==
        philox_block{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu});
  CHECK(philox4x32_10({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}, 0xa4093822u, 0x299f31d0u) ==
        philox_block{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u});
}

TEST_CASE("element streams are keyed by seed and index, words come from consecutive blocks") {
  element_random a(42, 7), b(42, 7), c(43, 7), d(42, 8);
  const auto a0 = a.next64(), a1 = a.next64(), a2 = a.next64();
  CHECK(a0 == b.next64());
  CHECK(a0 != c.next64());
  CHECK(a0 != d.next64());
  const auto blk0 = philox4x32_10({7, 0, 0, 0}, 42, 0);
  const auto blk1 = philox4x32_10({7, 0, 1, 0}, 42, 0);
  CHECK(a0 == ((std::uint64_t{blk0[0]} << 32) | blk0[1]));
  CHECK(a1 == ((std::uint64_t{blk0[2]} << 32) | blk0[3]));
  CHECK(a2 == ((std::uint64_t{blk1[0]} << 32) | blk1[1]));
}
