// SPDX-License-Identifier: MIT
// Stochastic-rounding inputs shared by the kernel and scaled-format tests.
#pragma once

#include <fmtsim/core/philox.hpp>

#include <cstdint>

namespace fmtsim_sr_inputs {

// The first element index at or after `from` whose first random word w0 (returned) is below 2^23 and whose second
// word's top bit is 0 iff want_up. For such an element x = (2 w0 + 1) 2^-42 is a float, and at e4m3fn's subnormal
// quantum 2^-9 its distance f = (2 w0 + 1) 2^-33 has w0 as its top 32 bits and a 1 after them: the first word ties
// with the threshold, and exact sr rounds up (u < f) iff the second word's top bit is 0.
inline std::uint64_t first_word_tie_index(std::uint64_t seed, std::uint64_t from, bool want_up, std::uint32_t& w0) {
  for (std::uint64_t index = from;; ++index) {
    fmtsim::element_random rng(seed, index);
    w0 = rng.next32();
    if (w0 >= (1u << 23)) continue;
    if (((rng.next32() >> 31) == 0) == want_up) return index;
  }
}

}  // namespace fmtsim_sr_inputs
