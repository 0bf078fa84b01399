// SPDX-License-Identifier: MIT
// Philox-4x32-10 counter-based generator: random bits keyed by (seed, element index), identical on every backend.
#pragma once

#include <fmtsim/core/host_device.hpp>

#include <array>
#include <cstdint>

namespace fmtsim {

using philox_block = std::array<std::uint32_t, 4>;

namespace detail {
inline constexpr std::uint32_t philox_m0 = 0xD2511F53u;
inline constexpr std::uint32_t philox_m1 = 0xCD9E8D57u;
inline constexpr std::uint32_t philox_w0 = 0x9E3779B9u;  // golden ratio
inline constexpr std::uint32_t philox_w1 = 0xBB67AE85u;  // sqrt(3) - 1
}  // namespace detail

// Philox-4x32 with 10 rounds (Salmon et al., SC'11), as in Random123.
FMTSIM_HD constexpr philox_block philox4x32_10(philox_block ctr, std::uint32_t key0, std::uint32_t key1) {
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      key0 += detail::philox_w0;
      key1 += detail::philox_w1;
    }
    const std::uint64_t p0 = static_cast<std::uint64_t>(detail::philox_m0) * ctr[0];
    const std::uint64_t p1 = static_cast<std::uint64_t>(detail::philox_m1) * ctr[2];
    const std::uint32_t hi0 = static_cast<std::uint32_t>(p0 >> 32), lo0 = static_cast<std::uint32_t>(p0);
    const std::uint32_t hi1 = static_cast<std::uint32_t>(p1 >> 32), lo1 = static_cast<std::uint32_t>(p1);
    ctr = philox_block{hi1 ^ ctr[1] ^ key0, lo1, hi0 ^ ctr[3] ^ key1, lo0};
  }
  return ctr;
}

// The random bits of one element: an endless stream of 32-bit words, consumed most significant bit first.
// Word 0 of element i is shared out of one block per 4 elements so that a vector of 16 blocks gives the first
// words of 64 consecutive elements, in order, for any SIMD width that divides 16:
//   word 0 = word ((i >> 4) & 3) of Philox(counter c = ((i >> 6) << 4) | (i & 15) as (c_lo, c_hi, 0, 0)),
// i.e. elements 64g + 16w + l (w < 4, l < 16) take word w of block 16g + l. The rest of the stream, needed
// only when the first 32 bits do not decide (sr<R> with R > 32, or exact sr on an equal prefix: probability
// 2^-32 per element), comes from the element's own blocks, marked by counter word 3 = 1:
//   word j >= 1 = word ((j - 1) & 3) of Philox(i_lo, i_hi, (j - 1) >> 2, 1).
class element_random {
 public:
  FMTSIM_HD constexpr element_random(std::uint64_t seed, std::uint64_t index) : seed_(seed), index_(index) {}

  // The counter of the shared block that holds word 0 of element `index`, and which of its words it is.
  FMTSIM_HD static constexpr std::uint64_t first_counter(std::uint64_t index) {
    return ((index >> 6) << 4) | (index & 15u);
  }
  FMTSIM_HD static constexpr unsigned first_word(std::uint64_t index) {
    return static_cast<unsigned>((index >> 4) & 3u);
  }

  FMTSIM_HD constexpr std::uint32_t next32() {
    const std::uint32_t k0 = static_cast<std::uint32_t>(seed_), k1 = static_cast<std::uint32_t>(seed_ >> 32);
    if (word_ == 0) {
      ++word_;
      const std::uint64_t c = first_counter(index_);
      return philox4x32_10({static_cast<std::uint32_t>(c), static_cast<std::uint32_t>(c >> 32), 0u, 0u}, k0,
                           k1)[first_word(index_)];
    }
    const std::uint32_t j = word_ - 1;
    ++word_;
    if ((j & 3u) == 0) {
      block_ = philox4x32_10({static_cast<std::uint32_t>(index_), static_cast<std::uint32_t>(index_ >> 32), j >> 2, 1u},
                             k0, k1);
    }
    return block_[j & 3u];
  }

  // The next 64 bits of the stream (two words, the first one high).
  FMTSIM_HD constexpr std::uint64_t next64() {
    const std::uint64_t hi = next32();
    return (hi << 32) | next32();
  }

  // A uniform integer in [0, 2^bits), bits = 1..64: the top bits of the next word (bits <= 32) or of the next
  // two words.
  FMTSIM_HD constexpr std::uint64_t leading(int bits) {
    if (bits <= 32) return next32() >> (32 - bits);
    return bits == 64 ? next64() : (next64() >> (64 - bits));
  }

 private:
  std::uint64_t seed_;
  std::uint64_t index_;
  std::uint32_t word_ = 0;
  philox_block block_{};
};

}  // namespace fmtsim
