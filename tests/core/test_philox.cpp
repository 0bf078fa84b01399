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

TEST_CASE("element streams are keyed by seed and index: word 0 shared per 4 elements, the rest per element") {
  element_random a(42, 7), b(42, 7), c(43, 7), d(42, 8);
  const auto a0 = a.next32(), a1 = a.next32(), a2 = a.next32(), a3 = a.next32(), a4 = a.next32(), a5 = a.next32();
  CHECK(a0 == b.next32());
  CHECK(a0 != c.next32());
  CHECK(a0 != d.next32());
  // element 7 = 64*0 + 16*0 + 7: word 0 of block 7; then its own blocks (7, 0, k, 1)
  const auto shared = philox4x32_10({7, 0, 0, 0}, 42, 0);
  const auto own0 = philox4x32_10({7, 0, 0, 1}, 42, 0);
  const auto own1 = philox4x32_10({7, 0, 1, 1}, 42, 0);
  CHECK(a0 == shared[0]);
  CHECK(a1 == own0[0]);
  CHECK(a2 == own0[1]);
  CHECK(a3 == own0[2]);
  CHECK(a4 == own0[3]);
  CHECK(a5 == own1[0]);

  // element 64g + 16w + l takes word w of block 16g + l, for every element of a few groups
  const std::uint64_t seed = 0x0123456789abcdefull;
  for (std::uint64_t base : {std::uint64_t{0}, std::uint64_t{64} * 12345, ~std::uint64_t{0} - 127}) {
    for (std::uint64_t k = 0; k < 128; ++k) {
      const std::uint64_t i = base + k;
      const std::uint64_t g = i >> 6, w = (i >> 4) & 3, l = i & 15;
      const std::uint64_t ctr = 16 * g + l;
      CHECK(element_random::first_counter(i) == ctr);
      CHECK(element_random::first_word(i) == w);
      const auto blk = philox4x32_10({static_cast<std::uint32_t>(ctr), static_cast<std::uint32_t>(ctr >> 32), 0, 0},
                                     static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32));
      element_random r(seed, i);
      CHECK(r.next32() == blk[w]);
    }
  }

  // next64 = two words, high first; leading(R) = top bits of one word (R <= 32) or of two
  element_random e(5, 1000), f(5, 1000), h(5, 1000), q(5, 1000);
  const std::uint64_t w0 = e.next32(), w1 = e.next32();
  CHECK(f.next64() == ((w0 << 32) | w1));
  CHECK(h.leading(13) == (w0 >> 19));
  CHECK(q.leading(40) == (((w0 << 32) | w1) >> 24));
}
