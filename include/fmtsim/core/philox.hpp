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

// The random bits of one element: an endless sequence of 64-bit words, word k of element `index`
// under `seed` being half of Philox block k/2 with counter (index_lo, index_hi, k/2, 0).
class element_random {
 public:
  FMTSIM_HD constexpr element_random(std::uint64_t seed, std::uint64_t index) : seed_(seed), index_(index) {}

  FMTSIM_HD constexpr std::uint64_t next64() {
    if ((word_ & 1u) == 0) {
      block_ = philox4x32_10({static_cast<std::uint32_t>(index_), static_cast<std::uint32_t>(index_ >> 32),
                              static_cast<std::uint32_t>(word_ >> 1), 0u},
                             static_cast<std::uint32_t>(seed_), static_cast<std::uint32_t>(seed_ >> 32));
    }
    const unsigned half = static_cast<unsigned>(word_ & 1u) * 2u;
    ++word_;
    return (static_cast<std::uint64_t>(block_[half]) << 32) | block_[half + 1];
  }

 private:
  std::uint64_t seed_;
  std::uint64_t index_;
  std::uint32_t word_ = 0;
  philox_block block_{};
};

}  // namespace fmtsim
