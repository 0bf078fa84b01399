// SPDX-License-Identifier: MIT
// The float32 quantize kernel written once against xsimd::batch<T, Arch>; each lib/kernels/simd_<isa>.cpp instantiates
// it.
//
// A branch-free vector form of the scalar reference (core/quantize.hpp): split the float bits into
// sign / exponent field / significand, look up how many significand bits the format's grid rounds
// away (simd_params::shift_*), decide "round up" per lane for the rounding mode (with a vectorised
// Philox-4x32-10 for sr, keyed exactly like element_random), round by masking and adding one quantum
// on the float's own bit pattern, then judge overflow against the limit's bit pattern. Lanes the
// vector rule does not cover (float32 subnormal inputs where the format's grid changes below 2^-126,
// the logdomain midpoint of subnormal inputs, and the 2^-64-probability sr case that needs a second
// random word) are flagged and recomputed by the scalar reference itself.
#pragma once

#include "simd_isa.hpp"
#include "simd_params.hpp"

#include <fmtsim/core/philox.hpp>

#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#if defined(__SSE2__) || defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

// Inlining: functions carry [[gnu::always_inline]] before the declaration. A lambda that must be inlined carries
// FMTSIM_INLINE_LAMBDA after its parameter list: the GNU form, because a standard attribute there appertains to the
// lambda's type and GCC ignores it (clang warns). The other lambdas are left to the compiler: forcing every one of
// them measured no gain (in cache: bf16 sr 6-14% and e5m2 sr 3-9% slower, int8 sr -6% to +10% in two runs).
#define FMTSIM_INLINE_LAMBDA __attribute__((always_inline))

namespace fmtsim::kernels::detail {

template <class A>
struct simd_ops {
  using vi = xsimd::batch<std::int32_t, A>;
  using vf = xsimd::batch<float, A>;
  using vb = xsimd::batch_bool<std::int32_t, A>;
  static constexpr std::size_t size = vi::size;

  static constexpr bool is_avx512 =
#if XSIMD_WITH_AVX512F
      std::is_base_of_v<xsimd::avx512f, A>;
#else
      false;
#endif
  static constexpr bool is_avx2 =
#if XSIMD_WITH_AVX2
      std::is_base_of_v<xsimd::avx2, A>;
#else
      false;
#endif
  static constexpr bool is_sse41 =
#if XSIMD_WITH_SSE4_1
      std::is_base_of_v<xsimd::sse4_1, A>;
#else
      false;
#endif

  // x << s and x >> s (logical) per lane, s in [0, 31].
  static vi shl(vi x, vi s) {
#if XSIMD_WITH_AVX512F
    if constexpr (is_avx512) return vi(_mm512_sllv_epi32(x, s));
#endif
#if XSIMD_WITH_AVX2
    if constexpr (is_avx2) return vi(_mm256_sllv_epi32(x, s));
#endif
    alignas(64) std::uint32_t a[size];
    alignas(64) std::int32_t b[size];
    xsimd::bitwise_cast<xsimd::batch<std::uint32_t, A>>(x).store_aligned(a);
    s.store_aligned(b);
    for (std::size_t i = 0; i < size; ++i) a[i] <<= b[i];
    return xsimd::bitwise_cast<vi>(xsimd::batch<std::uint32_t, A>::load_aligned(a));
  }
  static vi shr(vi x, vi s) {
#if XSIMD_WITH_AVX512F
    if constexpr (is_avx512) return vi(_mm512_srlv_epi32(x, s));
#endif
#if XSIMD_WITH_AVX2
    if constexpr (is_avx2) return vi(_mm256_srlv_epi32(x, s));
#endif
    alignas(64) std::uint32_t a[size];
    alignas(64) std::int32_t b[size];
    xsimd::bitwise_cast<xsimd::batch<std::uint32_t, A>>(x).store_aligned(a);
    s.store_aligned(b);
    for (std::size_t i = 0; i < size; ++i) a[i] >>= b[i];
    return xsimd::bitwise_cast<vi>(xsimd::batch<std::uint32_t, A>::load_aligned(a));
  }

  // The 64-bit product a * m of unsigned 32-bit lanes, as high and low halves.
  static void mulhilo(vi a, std::uint32_t m, vi& hi, vi& lo) {
#if XSIMD_WITH_AVX512F
    if constexpr (is_avx512) {
      // the 64-bit products of the even and odd lanes; each half moves to its lane with one merging
      // pair swap (vpshufd with a mask) instead of a shift and a blend
      const __m512i mm = _mm512_set1_epi32(static_cast<int>(m));
      const __m512i even = _mm512_mul_epu32(a, mm);
      const __m512i odd = _mm512_mul_epu32(_mm512_srli_epi64(a, 32), mm);
      lo = vi(_mm512_mask_shuffle_epi32(even, 0xAAAA, odd, _MM_PERM_CDAB));
      hi = vi(_mm512_mask_shuffle_epi32(odd, 0x5555, even, _MM_PERM_CDAB));
      return;
    }
#endif
#if XSIMD_WITH_AVX2
    if constexpr (is_avx2) {
      const __m256i mm = _mm256_set1_epi32(static_cast<int>(m));
      const __m256i even = _mm256_mul_epu32(a, mm);
      const __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), mm);
      lo = vi(_mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA));
      hi = vi(_mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA));
      return;
    }
#endif
#if XSIMD_WITH_SSE4_1
    if constexpr (is_sse41 && size == 4) {
      const __m128i mm = _mm_set1_epi32(static_cast<int>(m));
      const __m128i even = _mm_mul_epu32(a, mm);
      const __m128i odd = _mm_mul_epu32(_mm_srli_epi64(a, 32), mm);
      lo = vi(_mm_blend_epi16(even, _mm_slli_epi64(odd, 32), 0xCC));
      hi = vi(_mm_blend_epi16(_mm_srli_epi64(even, 32), odd, 0xCC));
      return;
    }
#endif
    alignas(64) std::uint32_t x[size], h[size], l[size];
    xsimd::bitwise_cast<xsimd::batch<std::uint32_t, A>>(a).store_aligned(x);
    for (std::size_t i = 0; i < size; ++i) {
      const std::uint64_t p = static_cast<std::uint64_t>(x[i]) * m;
      h[i] = static_cast<std::uint32_t>(p >> 32);
      l[i] = static_cast<std::uint32_t>(p);
    }
    hi = xsimd::bitwise_cast<vi>(xsimd::batch<std::uint32_t, A>::load_aligned(h));
    lo = xsimd::bitwise_cast<vi>(xsimd::batch<std::uint32_t, A>::load_aligned(l));
  }

  // Non-temporal store of a full batch to an address aligned to the batch size.
  static void stream(float* p, vf v) {
#if XSIMD_WITH_AVX512F
    if constexpr (is_avx512) {
      _mm512_stream_ps(p, v);
      return;
    }
#endif
#if XSIMD_WITH_AVX2
    if constexpr (is_avx2) {
      _mm256_stream_ps(p, v);
      return;
    }
#endif
#if XSIMD_WITH_SSE4_1
    if constexpr (is_sse41 && size == 4) {
      _mm_stream_ps(p, v);
      return;
    }
#endif
    v.store_aligned(p);
  }

  static void stream_fence() {
#if defined(__SSE2__)
    _mm_sfence();
#endif
  }

  // floor(g) as an unsigned 32-bit integer for float lanes g in [0, 2^32). Below AVX-512 the lanes at or above 2^31
  // convert g - 2^31 (exact: those g are multiples of 2^8) and take the top bit back.
  static vi trunc_u32(vf g) {
#if XSIMD_WITH_AVX512F
    if constexpr (is_avx512) return vi(_mm512_cvttps_epu32(g));
#endif
    const vf two31(2147483648.0f);
    const auto big = g >= two31;
    const vi top = xsimd::bitwise_cast<vi>(xsimd::select(big, vf(-0.0f), vf(0.0f)));  // 0x80000000 or 0
    return xsimd::to_int(g - xsimd::select(big, two31, vf(0.0f))) ^ top;
  }

  static vb ult(vi a, vi b) {  // unsigned a < b
#if XSIMD_WITH_AVX512F
    if constexpr (is_avx512) return vb(_mm512_cmplt_epu32_mask(a, b));
#endif
    const vi bias(static_cast<std::int32_t>(0x80000000u));
    return (a ^ bias) < (b ^ bias);
  }

  // a + b in the lanes of m, a elsewhere (AVX-512: one masked add).
  static vf add_where(vf a, vb m, vf b) {
#if XSIMD_WITH_AVX512F
    if constexpr (is_avx512) return vf(_mm512_mask_add_ps(a, static_cast<__mmask16>(m), a, b));
#endif
    return a + xsimd::bitwise_cast<vf>(xsimd::select(m, xsimd::bitwise_cast<vi>(b), vi(0)));
  }

  // acc + 1 in the lanes of m (AVX-512: one masked add instead of a mask-to-vector move and an add).
  static vi inc(vi acc, vb m) {
#if XSIMD_WITH_AVX512F
    if constexpr (is_avx512)
      return vi(_mm512_mask_add_epi32(acc, static_cast<__mmask16>(m), acc, _mm512_set1_epi32(1)));
#endif
    return acc + xsimd::select(m, vi(1), vi(0));
  }

  // A mask with every lane `b`. (xsimd 8's batch_bool(bool) builds the mask lane by lane through an
  // out-of-line call on AVX-512, which cost more than the whole rounding; a compare is one instruction.)
  static vb splat(bool b) { return vi(b ? 0 : 1) == vi(0); }

  // table[idx] per lane for idx in [0, 63], table 64-byte aligned (AVX-512 only: two two-register permutes
  // and a blend, several times cheaper than a gather)
  static vi lookup64(const std::int32_t* table, vi idx) {
#if XSIMD_WITH_AVX512F
    if constexpr (is_avx512) {
      const vi t[4] = {vi::load_aligned(table), vi::load_aligned(table + 16), vi::load_aligned(table + 32),
                       vi::load_aligned(table + 48)};
      return lookup64(t, idx);
    }
#endif
    return gather(table, idx);
  }
#if XSIMD_WITH_AVX512F
  // The same with the table already in four registers.
  static vi lookup64(const vi (&t)[4], vi idx) requires is_avx512 {
    const __m512i lo = _mm512_permutex2var_epi32(t[0], idx, t[1]);
    const __m512i hi = _mm512_permutex2var_epi32(t[2], idx, t[3]);
    return vi(_mm512_mask_blend_epi32(_mm512_test_epi32_mask(idx, _mm512_set1_epi32(32)), lo, hi));
  }
  // t[idx] for idx in [0, 31] with a 32-entry table in two registers: one two-register permute.
  static vi lookup32(vi t0, vi t1, vi idx) requires is_avx512 { return vi(_mm512_permutex2var_epi32(t0, idx, t1)); }
  // The index of exponent field `field` (0..255) in a W-entry window that starts at field `base` (0..256 - W):
  // min(max(field - base, 0), W - 1), the lower clamp an unsigned 16-bit saturating subtract (both operands' upper
  // halves are 0), one instruction instead of a subtract and a max.
  template <int W = 64>
  static vi window_index(vi field, vi base) requires is_avx512 {
    return xsimd::min(vi(_mm512_subs_epu16(field, base)), vi(W - 1));
  }
#endif

  // Magnitude bits m (< 2^31) with the sign of input bits u where m != 0, +0 where m = 0 (formats without -0);
  // nonzero: the lanes where m != 0. AVX-512: a test into a mask and one masked three-input logic operation
  // (m | (u & sign) in the mask's lanes, m elsewhere). Else plain bitwise operations: 0 - m has its top bit set iff
  // m != 0.
  static vi sign_nonzero(vi u, vi m, vb& nonzero) {
    const vi sign_bit(static_cast<std::int32_t>(0x80000000u));
#if XSIMD_WITH_AVX512F
    if constexpr (is_avx512) {
      const __mmask16 nz = _mm512_test_epi32_mask(m, m);
      nonzero = vb(nz);
      return vi(_mm512_mask_ternarylogic_epi32(m, nz, u, sign_bit, 0xF8));  // 0xF8: a | (b & c)
    }
#endif
    nonzero = m != vi(0);
    return m | (u & (vi(0) - m) & sign_bit);
  }
  static vi sign_nonzero(vi u, vi m) {
    vb nonzero;
    return sign_nonzero(u, m, nonzero);
  }
#if XSIMD_WITH_AVX512F
  // (x + c) - c for 0 <= x < c, the add rounding to nearest even (Rz: toward zero) by the instruction whatever MXCSR
  // says: x rounded to a multiple of the ulp of c (the sum lies in [c, 2c], the subtraction is exact). AVX-512 only.
  template <bool Rz>
  static vf snap(vf x, vf c) requires is_avx512 {
    constexpr int mode = (Rz ? _MM_FROUND_TO_ZERO : _MM_FROUND_TO_NEAREST_INT) | _MM_FROUND_NO_EXC;
    return vf(_mm512_sub_ps(_mm512_add_round_ps(x, c, mode), c));
  }
#endif
  // table[idx] per lane. (xsimd 8.1's int32 gather overloads for AVX2/AVX-512 never match, so
  // batch::gather falls back to a lane-by-lane loop; the hardware gathers are called directly.)
  static vi gather(const std::int32_t* table, vi idx) {
#if XSIMD_WITH_AVX512F
    if constexpr (is_avx512) return vi(_mm512_i32gather_epi32(idx, table, 4));
#endif
#if XSIMD_WITH_AVX2
    if constexpr (is_avx2) return vi(_mm256_i32gather_epi32(table, idx, 4));
#endif
    alignas(64) std::int32_t a[size];
    idx.store_aligned(a);
    for (std::size_t i = 0; i < size; ++i) a[i] = table[a[i]];
    return vi::load_aligned(a);
  }

  // Sum of the lanes read as non-negative counts (rarely called: a plain loop).
  static std::uint64_t hsum(vi x) {
    alignas(64) std::int32_t a[size];
    x.store_aligned(a);
    std::uint64_t t = 0;
    for (std::size_t i = 0; i < size; ++i) t += static_cast<std::uint32_t>(a[i]);
    return t;
  }

  // Largest lane (signed).
  static std::int32_t hmax(vi x) {
#if XSIMD_WITH_AVX512F
    if constexpr (is_avx512) return _mm512_reduce_max_epi32(x);
#endif
#if XSIMD_WITH_AVX2
    if constexpr (is_avx2) {
      __m128i m = _mm_max_epi32(_mm256_castsi256_si128(x), _mm256_extracti128_si256(x, 1));
      m = _mm_max_epi32(m, _mm_shuffle_epi32(m, 0x4E));
      m = _mm_max_epi32(m, _mm_shuffle_epi32(m, 0xB1));
      return _mm_cvtsi128_si32(m);
    }
#endif
#if XSIMD_WITH_SSE4_1
    if constexpr (is_sse41 && size == 4) {
      __m128i m = x;
      m = _mm_max_epi32(m, _mm_shuffle_epi32(m, 0x4E));
      m = _mm_max_epi32(m, _mm_shuffle_epi32(m, 0xB1));
      return _mm_cvtsi128_si32(m);
    }
#endif
    alignas(64) std::int32_t a[size];
    x.store_aligned(a);
    std::int32_t m = a[0];
    for (std::size_t i = 1; i < size; ++i) m = a[i] > m ? a[i] : m;
    return m;
  }

  // out[j] = hmax(x[j]) for each of `size` batches. AVX-512: a tree of two-source permutes, each level halving the
  // lanes that hold one batch's partial maxima (15 steps of two permutes and a max for 16 batches, against 16
  // reductions of 8 operations each); the partials stay in batch order, so the last level holds the 16 maxima.
  static void hmax_each(const vi (&x)[size], std::int32_t* out) {
#if XSIMD_WITH_AVX512F
    if constexpr (is_avx512) {
      struct tables {
        alignas(64) std::int32_t idx[4][2][16];
      };
      static constexpr tables t = [] {
        tables r{};
        for (int level = 0; level < 4; ++level) {
          const int s = 16 >> level, h = s / 2, per = 16 / s;  // lanes per partial before; partials per input
          for (int half = 0; half < 2; ++half) {
            for (int o = 0; o < 16; ++o) {
              const int g = o / h, w = o % h + half * h;
              r.idx[level][half][o] = g < per ? g * s + w : 16 + (g - per) * s + w;
            }
          }
        }
        return r;
      }();
      __m512i v[16];
      for (std::size_t j = 0; j < 16; ++j) v[j] = x[j];
      for (int level = 0, n = 16; level < 4; ++level, n /= 2) {
        const __m512i lo = _mm512_load_si512(t.idx[level][0]), hi = _mm512_load_si512(t.idx[level][1]);
        for (int j = 0; j < n / 2; ++j)
          v[j] = _mm512_max_epi32(_mm512_permutex2var_epi32(v[2 * j], lo, v[2 * j + 1]),
                                  _mm512_permutex2var_epi32(v[2 * j], hi, v[2 * j + 1]));
      }
      _mm512_storeu_si512(out, v[0]);
      return;
    }
#endif
    for (std::size_t j = 0; j < size; ++j) out[j] = hmax(x[j]);
  }

  // Whether every lane x (0 <= x < 256) is in the set `bits` (bit x % 32 of bits[x / 32]).
  static bool all_in(vi x, const std::uint32_t (&bits)[8]) {
#if XSIMD_WITH_AVX512F
    if constexpr (is_avx512) {
      const __m512i words = _mm512_permutexvar_epi32(
          _mm512_srli_epi32(x, 5), _mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(bits))));
      const __m512i at = _mm512_srlv_epi32(words, _mm512_and_si512(x, _mm512_set1_epi32(31)));
      return _mm512_test_epi32_mask(at, _mm512_set1_epi32(1)) == 0xffff;
    }
#endif
    alignas(64) std::int32_t a[size];
    x.store_aligned(a);
    bool all = true;
    for (std::size_t i = 0; i < size; ++i) all &= (bits[a[i] / 32] >> (a[i] % 32) & 1) != 0;
    return all;
  }

  // Number of true lanes.
  static unsigned count(vb m) {
#if XSIMD_WITH_AVX512F
    if constexpr (is_avx512)
      return static_cast<unsigned>(__builtin_popcount(static_cast<unsigned>(static_cast<__mmask16>(m))));
#endif
#if XSIMD_WITH_AVX2
    if constexpr (is_avx2)
      return static_cast<unsigned>(
          __builtin_popcount(static_cast<unsigned>(_mm256_movemask_ps(_mm256_castsi256_ps(m)))));
#endif
#if XSIMD_WITH_SSE4_1
    if constexpr (is_sse41 && size == 4)
      return static_cast<unsigned>(__builtin_popcount(static_cast<unsigned>(_mm_movemask_ps(_mm_castsi128_ps(m)))));
#endif
    alignas(64) std::int32_t a[size];
    xsimd::select(m, vi(1), vi(0)).store_aligned(a);
    unsigned t = 0;
    for (std::size_t i = 0; i < size; ++i) t += static_cast<unsigned>(a[i]);
    return t;
  }

  static vi iota() {
    alignas(64) std::int32_t a[size];
    for (std::size_t i = 0; i < size; ++i) a[i] = static_cast<std::int32_t>(i);
    return vi::load_aligned(a);
  }
};

// floor(sqrt(2^47)) + 1: a 24-bit significand s has s^2 >= 2^47 iff s >= this (2^47 is not a square).
constexpr std::int32_t log_midpoint_threshold() {
  std::uint64_t s = 11863283;  // start near 2^23.5 and correct exactly
  while (s * s >= (std::uint64_t{1} << 47)) --s;
  while (s * s < (std::uint64_t{1} << 47)) ++s;
  return static_cast<std::int32_t>(s);
}

// Philox-4x32-10 of K vectors of counters (c_lo, c_hi, 0, 0) under the seed, all four words. The K chains are
// independent and interleaved round by round (a round's multiplies wait on the previous round's).
template <class A, std::size_t K>
inline void philox_words(const typename simd_ops<A>::vi (&c_lo)[K], const typename simd_ops<A>::vi (&c_hi)[K],
                         std::uint64_t seed, typename simd_ops<A>::vi (&w)[K][4]) {
  using ops = simd_ops<A>;
  using vi = typename ops::vi;
  std::uint32_t k0 = static_cast<std::uint32_t>(seed), k1 = static_cast<std::uint32_t>(seed >> 32);
  vi c0[K], c1[K], c2[K], c3[K];
  // round 0: counter words 2 and 3 are 0, so the second product is 0
  for (std::size_t j = 0; j < K; ++j) {
    vi hi0, lo0;
    ops::mulhilo(c_lo[j], fmtsim::detail::philox_m0, hi0, lo0);
    c0[j] = c_hi[j] ^ vi(static_cast<std::int32_t>(k0));
    c1[j] = vi(0);
    c2[j] = hi0 ^ vi(static_cast<std::int32_t>(k1));
    c3[j] = lo0;
  }
  for (int round = 1; round < 10; ++round) {
    k0 += fmtsim::detail::philox_w0;
    k1 += fmtsim::detail::philox_w1;
    for (std::size_t j = 0; j < K; ++j) {
      vi hi0, lo0, hi1, lo1;
      ops::mulhilo(c0[j], fmtsim::detail::philox_m0, hi0, lo0);
      ops::mulhilo(c2[j], fmtsim::detail::philox_m1, hi1, lo1);
      c0[j] = hi1 ^ c1[j] ^ vi(static_cast<std::int32_t>(k0));
      c1[j] = lo1;
      c2[j] = hi0 ^ c3[j] ^ vi(static_cast<std::int32_t>(k1));
      c3[j] = lo0;
    }
  }
  for (std::size_t j = 0; j < K; ++j) {
    w[j][0] = c0[j];
    w[j][1] = c1[j];
    w[j][2] = c2[j];
    w[j][3] = c3[j];
  }
}

// The first random word of every element (element_random's word 0), 64 elements at a time: the 16 shared
// Philox blocks of group g = index >> 6 hold them in element order (block 16g + l, word w -> element 64g + 16w + l),
// so 16 / N vector calls fill the group and each batch loads its N words. G consecutive groups are filled at
// once, as G independent Philox chains interleaved (the rounds' multiplies are latency-bound one chain at a
// time); a batch that runs past the last of them (a start not a multiple of N) refills from its own group.
template <class A>
struct sr_stream {
  using ops = simd_ops<A>;
  using vi = typename ops::vi;
  static constexpr std::size_t N = ops::size;
  static_assert(16 % N == 0, "a group's 16 blocks are filled N at a time");
  static constexpr std::size_t G = N == 16 ? 4 : 2;                          // groups filled at once
  static constexpr std::uint64_t group_mask = (std::uint64_t{1} << 58) - 1;  // index >> 6 of a 64-bit index

  explicit sr_stream(std::uint64_t s) : seed(s) {}

  [[gnu::always_inline]] vi first_words(std::uint64_t index0) {
    std::size_t avail;
    return vi::load_unaligned(reinterpret_cast<const std::int32_t*>(window(index0, avail)));
  }

  // The first words of elements index0, index0 + 1, ..., index0 + avail - 1 (avail >= N) in order, filled if needed.
  [[gnu::always_inline]] const std::uint32_t* window(std::uint64_t index0, std::size_t& avail) {
    const std::uint64_t g = index0 >> 6;
    const std::size_t off = static_cast<std::size_t>(index0 & 63u);
    std::uint64_t d = (g - first) & group_mask;  // indices wrap modulo 2^64 as in the scalar reference
    if (!valid || d >= G || (d == G - 1 && off + N > 64)) {
      fill(g);
      d = 0;
    }
    const std::size_t at = 64 * static_cast<std::size_t>(d) + off;
    avail = 64 * G - at;
    return words + at;
  }

  // The first words under `seed` of the elements of groups g, g + 1, ..., g + groups - 1 (groups a multiple of G;
  // indices modulo 2^64) into out[0, 64 groups), 64-byte aligned: group g + j's at out + 64 j. Out of line: inlined
  // into element_sweep, the interleaved chains' registers pushed the loop's temporaries to the stack (in cache, sr
  // 7-13% slower per element).
  [[gnu::noinline]] static void fill_groups(std::uint64_t seed, std::uint64_t g, std::size_t groups,
                                            std::uint32_t* out) {
    for (std::size_t g0 = 0; g0 < groups; g0 += G) {
      for (std::size_t l0 = 0; l0 < 16; l0 += N) {
        vi lo[G], hi[G], w[G][4];
        for (std::size_t j = 0; j < G; ++j) {
          const std::uint64_t base = ((g + g0 + j) & group_mask) << 4;  // counters base .. base + 15: no carry
          lo[j] = vi(static_cast<std::int32_t>(static_cast<std::uint32_t>(base) + l0)) + ops::iota();
          hi[j] = vi(static_cast<std::int32_t>(static_cast<std::uint32_t>(base >> 32)));
        }
        philox_words<A, G>(lo, hi, seed, w);
        for (std::size_t j = 0; j < G; ++j) {
          for (std::size_t k = 0; k < 4; ++k)
            w[j][k].store_aligned(reinterpret_cast<std::int32_t*>(out + 64 * (g0 + j) + 16 * k + l0));
        }
      }
    }
  }

 private:
  // groups g .. g + G - 1 into words
  void fill(std::uint64_t g) {
    first = g;
    valid = true;
    fill_groups(seed, g, G, words);
  }

  std::uint64_t seed;
  std::uint64_t first = 0;
  bool valid = false;
  alignas(64) std::uint32_t words[64 * G];
};

// A sweep's reader of sr's first random words: (*this)(i) gives those of the batch at element i, drawn from rs at
// index_base + i through rs.window (one compare and one load per batch; a refill when the window is used up).
template <class A>
struct sr_words {
  sr_stream<A>& rs;
  std::uint64_t index_base;
  const std::uint32_t* at = nullptr;  // the words of the elements [begin, end)
  std::size_t begin = 0, end = 0;
  [[gnu::always_inline]] typename simd_ops<A>::vi operator()(std::size_t i) {
    if (i + simd_ops<A>::size > end) {
      std::size_t avail;
      at = rs.window(index_base + i, avail);
      begin = i;
      end = i + avail;
    }
    return simd_ops<A>::vi::load_unaligned(reinterpret_cast<const std::int32_t*>(at + (i - begin)));
  }
};

// Whether the fast branch tries its uniform case (simd_params::fast_uniform), learnt per kernel loop (one
// task of at most 2^16 elements, or one scaled task) from the data: a batch that fails the uniform test costs
// the test and a mispredicted branch, one that passes saves the per-lane shift (about 9 vector operations).
// Each pass adds 1 to the credit (up to 64), each failure takes 8; once the credit is not positive the loop
// stops trying (e4m3fn on N(0, 1) data, where 18% of the batches have a lane below 2^-6, and the narrow
// formats, whose lanes mostly lie below their normal range, measured 5-15% slower when they kept testing;
// e5m2/fp16/bf16 and MX-scaled e4m3 pass nearly always). Only the path changes, never a result.
struct fast_hint {
  std::int32_t credit = 16;
  // records whether a batch qualified for the case, and returns it
  bool note(bool passed) {
    credit = passed ? std::min(credit + 1, 64) : credit - 8;
    return passed;
  }
};

// The rounding of the fast branch once the quantum 2^shift is known per lane (one_s = 2^shift, mask =
// one_s - 1): the rounded magnitude bits, before overflow. lsb() gives the kept significand's last bit (rne,
// rto). Overflow is fast_finish's.
template <class A, rounding Mode, class Lsb>
[[gnu::always_inline]] inline typename simd_ops<A>::vi fast_round(typename simd_ops<A>::vi mag,
                                                                  typename simd_ops<A>::vb neg,
                                                                  typename simd_ops<A>::vi one_s,
                                                                  typename simd_ops<A>::vi mask, Lsb lsb) {
  using vi = typename simd_ops<A>::vi;
  const vi zero(0), one(1);
  const vi keep = ~mask;
  if constexpr (Mode == rounding::rne) {
    return (mag + (one_s >> 1) - one + lsb()) & keep;
  } else if constexpr (Mode == rounding::rna) {
    return (mag + (one_s >> 1)) & keep;
  } else if constexpr (Mode == rounding::rtz) {
    return mag & keep;
  } else if constexpr (Mode == rounding::rup || Mode == rounding::rdn) {
    const auto away = Mode == rounding::rup ? !neg : neg;  // the lanes rounded up in magnitude
    return (mag + xsimd::select(away, mask, zero)) & keep;
  } else {
    static_assert(Mode == rounding::rto, "sr takes fast_round_sr, hys the generic pipeline");
    return (mag & keep) + xsimd::select(((mag & mask) != zero) & (lsb() == zero), one_s, zero);
  }
}

// Stochastic rounding in the fast branch (shift in [1, 24], 24 only for zero lanes): the distance r to the
// lower neighbour has at most 23 bits, so the threshold T = f 2^32 (sr<R>: floor(f 2^R) 2^(32-R)), f = r / 2^shift,
// is a 32-bit integer and the element's first random word w0 always decides: up iff w0 < T (formats.md 2,
// element_random). The generic pipeline's 64-bit threshold and its fallback are not needed.
template <class A>
[[gnu::always_inline]] inline typename simd_ops<A>::vi fast_round_sr(int bits, typename simd_ops<A>::vi mag,
                                                                     typename simd_ops<A>::vi shift,
                                                                     typename simd_ops<A>::vi one_s,
                                                                     typename simd_ops<A>::vi mask,
                                                                     typename simd_ops<A>::vi w0) {
  using ops = simd_ops<A>;
  using vi = typename ops::vi;
  const vi zero(0);
  // r = mag & mask never needs forming: the left shift by 32 - shift (+ d) drops mag's bits at and above shift
  vi t;
  if (bits != 0 && bits < 23) {
    const vi d = xsimd::max(shift - vi(bits), zero);  // the bits of r below floor(f 2^R)
    t = ops::shl(ops::shr(mag, d), vi(32) - shift + d);
  } else {
    t = ops::shl(mag, vi(32) - shift);
  }
  const vi down = mag & ~mask;
  return xsimd::select(ops::ult(w0, t), down + one_s, down);
}

// Whether overflow gives max instead of inf/NaN in the fast branch (rup/rdn decide per lane in fast_finish):
// the rounding-to-nearest modes and sr only with :sat.
template <rounding Mode>
constexpr bool fast_to_max(const simd_params& p) {
  return (Mode == rounding::rne || Mode == rounding::rna || Mode == rounding::sr) ? p.saturate : true;
}

// round(y) in the float unit for y = |x| 2^-q >= 0, an exact power-of-two scaling of the input (neg: the input's sign,
// for rup / rdn). For the integer t = trunc(y), y - t is exact (t is y with its fraction bits cleared), and either
// y < 2^24, where t + 1 is exact too, or y is an integer and no step is taken. The rounding instructions carry their
// mode (MXCSR's is not used).
template <class A, rounding Mode>
[[gnu::always_inline]] inline typename simd_ops<A>::vf unit_round(typename simd_ops<A>::vf y,
                                                                  typename simd_ops<A>::vb neg) {
  using ops = simd_ops<A>;
  using vi = typename ops::vi;
  using vf = typename ops::vf;
  if constexpr (Mode == rounding::rne) {
    return xsimd::nearbyint(y);
  } else if constexpr (Mode == rounding::rna) {
    const vf t = xsimd::trunc(y);
    return xsimd::select(y - t >= vf(0.5f), t + vf(1.0f), t);
  } else if constexpr (Mode == rounding::rtz) {
    return xsimd::trunc(y);
  } else if constexpr (Mode == rounding::rup || Mode == rounding::rdn) {
    const auto away = Mode == rounding::rup ? !neg : neg;  // the lanes rounded up in magnitude
    return xsimd::bitwise_cast<vf>(
        xsimd::select(away, xsimd::bitwise_cast<vi>(xsimd::ceil(y)), xsimd::bitwise_cast<vi>(xsimd::trunc(y))));
  } else {
    static_assert(Mode == rounding::rto, "sr and hys do not round in the float unit");
    const vf t = xsimd::trunc(y);
    const vi tb = xsimd::bitwise_cast<vi>(t);
    const auto bump = (tb != xsimd::bitwise_cast<vi>(y)) & ((xsimd::to_int(t) & vi(1)) == vi(0));
    return xsimd::bitwise_cast<vf>(xsimd::select(bump, xsimd::bitwise_cast<vi>(t + vf(1.0f)), tb));
  }
}

// The fixed-quantum lanes of the uniform case (simd_params::fast_fixed): n = round(|x| 2^-q) in the float unit,
// then n 2^q, both scalings exact (y < 2^23 there: the quantum lies above the input's last bit).
template <class A, rounding Mode>
[[gnu::always_inline]] inline typename simd_ops<A>::vi fast_fixed_round(const simd_params& p,
                                                                        typename simd_ops<A>::vi mag,
                                                                        typename simd_ops<A>::vb neg) {
  using ops = simd_ops<A>;
  using vi = typename ops::vi;
  using vf = typename ops::vf;
  const vf n = unit_round<A, Mode>(xsimd::bitwise_cast<vf>(mag) * vf(p.fixed_up), neg);
  return xsimd::bitwise_cast<vi>(n * vf(p.fixed_down));
}

// The modes the float-unit rounding at a lane's own quantum takes (unit_sweep, profile_sweep's Unit variant, the block
// mode's unit rules): those whose result is 0 below half the quantum, so that float32 subnormal inputs and products
// that underflow give 0 whatever DAZ / FTZ say.
template <rounding Mode>
constexpr bool unit_mode = Mode == rounding::rne || Mode == rounding::rna || Mode == rounding::rtz;

// The float32 bits of 2^-qe from those of 2^qe (both normal: exponent fields 1 .. 253).
template <class T>
[[gnu::always_inline]] inline T unit_inverse(T qb) {
  return T(254 * (1 << 23)) - qb;
}

// n = round(|x| 2^-qe) in the float unit at the lanes' quantum 2^qe (float32 bits qb; ib = unit_inverse(qb)): both
// products exact, or the first below one half where it underflows. Returns n 2^qe.
template <class A, rounding Mode>
[[gnu::always_inline]] inline typename simd_ops<A>::vi unit_quantize(typename simd_ops<A>::vi mag,
                                                                     typename simd_ops<A>::vi qb,
                                                                     typename simd_ops<A>::vi ib,
                                                                     typename simd_ops<A>::vb neg) {
  using vf = typename simd_ops<A>::vf;
  const vf n = unit_round<A, Mode>(xsimd::bitwise_cast<vf>(mag) * xsimd::bitwise_cast<vf>(ib), neg);
  return xsimd::bitwise_cast<typename simd_ops<A>::vi>(n * xsimd::bitwise_cast<vf>(qb));
}

// sr in the float unit at the lanes' quantum 2^qe (float32 bits qb; ib = unit_inverse(qb); unit_sr_serves): y = |x|
// 2^-qe is exact, so are t = trunc(y) and the fraction f = y - t, whose first R random bits' threshold T = floor(f
// 2^R) 2^(32 - R) comes from one truncating conversion: unit_sr_split gives t and t0 = floor(f 2^R) (two_r = 2^R;
// R = 32 for exact sr), unit_sr_round n 2^qe with n = t + 1 iff the element's first word w0 is below T (up = 32 - R;
// formats.md 2; y >= 2^24 has f = 0). Exact sr with w0 == t0 may need the element's next words: the callers test
// for it between the two steps (sr<R> decides on the first word alone).
template <class A>
struct unit_sr_parts {
  typename simd_ops<A>::vf t;
  typename simd_ops<A>::vi t0;
};
template <class A>
[[gnu::always_inline]] inline unit_sr_parts<A> unit_sr_split(typename simd_ops<A>::vi mag, typename simd_ops<A>::vi ib,
                                                             typename simd_ops<A>::vf two_r) {
  using vf = typename simd_ops<A>::vf;
  const vf y = xsimd::bitwise_cast<vf>(mag) * xsimd::bitwise_cast<vf>(ib);
  const vf t = xsimd::trunc(y);
  return {t, simd_ops<A>::trunc_u32((y - t) * two_r)};
}
template <class A>
[[gnu::always_inline]] inline typename simd_ops<A>::vi unit_sr_round(const unit_sr_parts<A>& sp,
                                                                     typename simd_ops<A>::vi w0, int up,
                                                                     typename simd_ops<A>::vi qb) {
  using ops = simd_ops<A>;
  using vf = typename ops::vf;
  const vf n = ops::add_where(sp.t, ops::ult(w0, up == 0 ? sp.t0 : sp.t0 << up), vf(1.0f));
  return xsimd::bitwise_cast<typename ops::vi>(n * xsimd::bitwise_cast<vf>(qb));
}

// unit_sr_split's and unit_sr_round's constants for p's sr mode: exact sr (R = 32; the callers test its first-word
// ties), two_r = 2^R, up = 32 - R. sr_bits is read once (a byte of p that the loops' float stores might alias).
template <class A>
struct unit_sr_consts {
  bool exact;
  typename simd_ops<A>::vf two_r;
  int up;
  explicit unit_sr_consts(const simd_params& p) {
    const int sr_bits = p.mode.sr_bits;
    exact = sr_bits == 0;
    const int R = exact ? 32 : sr_bits;
    two_r = typename simd_ops<A>::vf(std::ldexp(1.0f, R));
    up = 32 - R;
  }
};

// The sign of input bits u on the final magnitude out_mag (formats without -0 give +0 for a negative input rounded to
// zero).
template <class A>
[[gnu::always_inline]] inline typename simd_ops<A>::vi fast_sign(typename simd_ops<A>::vi u,
                                                                 typename simd_ops<A>::vi out_mag, bool negative_zero) {
  using vi = typename simd_ops<A>::vi;
  if (negative_zero) return out_mag | (u & vi(static_cast<std::int32_t>(0x80000000u)));
  return simd_ops<A>::sign_nonzero(u, out_mag);  // the sign only where the magnitude is not 0
}

// The end of the fast branch once the overflow value of every lane is known: magnitudes above limit take it, then
// the sign (formats without -0 give +0 for a negative input rounded to zero).
template <class A>
[[gnu::always_inline]] inline typename simd_ops<A>::vi fast_overflow_sign(typename simd_ops<A>::vi u,
                                                                          typename simd_ops<A>::vi res,
                                                                          typename simd_ops<A>::vi limit,
                                                                          typename simd_ops<A>::vi overflow_value,
                                                                          bool negative_zero) {
  return fast_sign<A>(u, xsimd::select(res > limit, overflow_value, res), negative_zero);
}

// Overflow and sign of the fast branch: res are the rounded magnitude bits of input bits u.
template <class A, rounding Mode>
[[gnu::always_inline]] inline typename simd_ops<A>::vi fast_finish(const simd_params& p, typename simd_ops<A>::vi u,
                                                                   typename simd_ops<A>::vb neg,
                                                                   typename simd_ops<A>::vi res) {
  using vi = typename simd_ops<A>::vi;
  const bool symmetric = p.limit_neg == p.limit_pos && p.big_neg == p.big_pos;
  const vi limit = symmetric ? vi(p.limit_pos) : xsimd::select(neg, vi(p.limit_neg), vi(p.limit_pos));
  const vi big_value = symmetric ? vi(p.big_pos) : xsimd::select(neg, vi(p.big_neg), vi(p.big_pos));
  vi overflow_value;
  if constexpr (Mode == rounding::rup || Mode == rounding::rdn) {
    // rup: negative lanes (rounded toward zero) saturate; rdn: positive ones
    const auto toward_zero = Mode == rounding::rup ? neg : !neg;
    overflow_value = p.saturate ? limit : xsimd::select(toward_zero, limit, big_value);
  } else {
    overflow_value = fast_to_max<Mode>(p) ? limit : big_value;
  }
  return fast_overflow_sign<A>(u, res, limit, overflow_value, p.has_negative_zero);
}

// simd_params::fast_below: the lanes below q = 2^(fast_lo's exponent) round to 0 or q (res elsewhere); ties
// (exactly q/2, the float32 bits `half`) go to 0, the even one.
template <class A, rounding Mode>
[[gnu::always_inline]] inline typename simd_ops<A>::vi fast_below_round(
    typename simd_ops<A>::vi mag, typename simd_ops<A>::vb neg, typename simd_ops<A>::vb is_zero,
    typename simd_ops<A>::vi res, typename simd_ops<A>::vi q, typename simd_ops<A>::vi half) {
  using ops = simd_ops<A>;
  using vi = typename ops::vi;
  using vb = typename ops::vb;
  const vb below = mag < q;
  vb up;
  if constexpr (Mode == rounding::rne) {
    up = mag > half;
  } else if constexpr (Mode == rounding::rna) {
    up = mag >= half;
  } else if constexpr (Mode == rounding::rtz) {
    up = ops::splat(false);
  } else if constexpr (Mode == rounding::rup || Mode == rounding::rdn) {
    up = (Mode == rounding::rup ? !neg : neg) & !is_zero;
  } else {
    up = !is_zero;  // rto: q is the odd neighbour
  }
  return xsimd::select(below, xsimd::select(up, q, vi(0)), res);
}

// The common case of quantize_batch (simd_params::fast): every lane is zero or finite with a shift in
// [1, 23], and the format needs nothing per lane beyond rounding and overflow. Then the generic
// pipeline reduces to integer arithmetic on the magnitude bits: the rounding decision of each mode
// becomes a bias added before the rounded-away bits are cleared (a carry moves into the exponent field
// exactly as the generic "add one quantum" does). The kept significand's last bit (ties-to-even, rto)
// is bit `shift` of (mag | 2^23): the implicit bit when shift = 23. Returns false, with `out`
// unspecified, if a lane does not qualify; the caller then runs the generic pipeline. Uniform (the caller's
// loop while fast_hint says it pays): first the case where every lane is zero or in the format's normal
// range, whose shift is the constant shift_high.
template <class A, rounding Mode, bool Table, bool Guarded, bool Uniform>
[[gnu::always_inline]] inline bool quantize_batch_fast(const simd_params& p, typename simd_ops<A>::vi u,
                                                       typename simd_ops<A>::vi& out, fast_hint& hint,
                                                       std::uint64_t index0, sr_stream<A>& rs) {
  using ops = simd_ops<A>;
  using vi = typename ops::vi;
  using vb = typename ops::vb;
  const vi zero(0), one(1);
  // Guarded (unsigned and fnu formats, simd_params::fast_guards): no negative lane, no zero lane for fnu
  if constexpr (Guarded) {
    if (p.fast_nonneg && xsimd::any(u < zero)) return false;
  }
  const vi mag = u & vi(0x7fffffff);
  const vb is_zero = mag == zero;
  // whether every lane is in range or zero (fnu formats have no zero)
  auto all_ok = [&](const vb& in_range) {
    if constexpr (Guarded) {
      if (!p.fast_zero) return xsimd::all(in_range);
    }
    return xsimd::all(in_range | is_zero);
  };
  if constexpr (!Table && Uniform) {
    if (Mode != rounding::sr && p.fast_fixed) {
      // integer and fixed-point grids: one quantum for every normal float32 magnitude below uni_lo (or zero)
      if (hint.note(all_ok(ops::ult(mag - vi(1 << 23), vi(p.uni_lo - (1 << 23)))))) {
        const vb neg = u < zero;
        if constexpr (Mode != rounding::sr) {
          out = fast_finish<A, Mode>(p, u, neg, fast_fixed_round<A, Mode>(p, mag, neg));
        }
        return true;
      }
    } else {
      // every lane in the format's normal range (or zero): one shift for all, splat constants
      if (hint.note(all_ok(ops::ult(mag - vi(p.uni_lo), vi(p.uni_span))))) {
        const vb neg = u < zero;
        const std::int32_t s = p.shift_high;
        const vi one_s(std::int32_t{1} << s);
        vi res;
        if constexpr (Mode == rounding::sr) {
          res = fast_round_sr<A>(p.mode.sr_bits, mag, vi(s), one_s, one_s - one, rs.first_words(index0));
        } else {
          // the kept last bit is bit s of the magnitude: the implicit bit when s = 23 (zero lanes give 0 either way)
          res = fast_round<A, Mode>(mag, neg, one_s, one_s - one, [&]() { return s == 23 ? one : (mag >> s) & one; });
        }
        out = fast_finish<A, Mode>(p, u, neg, res);
        return true;
      }
    }
  }
  vi shift;
  if constexpr (Table) {
    if constexpr (ops::is_avx512) {
      shift =
          ops::lookup64(p.fast_windows.w64.entries.data(), ops::window_index(mag >> 23, vi(p.fast_windows.w64.base)));
    } else {
      shift = ops::gather(p.fast_table.data(), mag >> 23);
    }
    // shift 24: a lane below the lowest qualifying binade (simd_params::fast_below; not for sr, whose
    // lanes there round up with probability |x| / q)
    if (!all_ok(ops::ult(shift - one, vi(Mode == rounding::sr ? 23 : 24)))) return false;
    shift = xsimd::max(shift, one);  // zero lanes: any shift in [1, 24] gives 0
  } else {
    if (p.fast_below && Mode != rounding::sr) {
      if (!xsimd::all(mag < vi(p.fast_hi))) return false;
    } else if (!all_ok(ops::ult(mag - vi(p.fast_lo), vi(p.fast_hi - p.fast_lo)))) {
      return false;
    }
    const vi e = (mag >> 23) - vi(127);
    // zero lanes (e = -127) may have any shift >= 1: capped at 24 so that one_s stays a positive power
    shift = xsimd::min(xsimd::select(e >= vi(p.low_e), vi(p.shift_high), vi(p.low_shift_base) - e), vi(24));
  }
  const vb neg = u < zero;
  const vi one_s = ops::shl(one, shift);
  if constexpr (Mode == rounding::sr) {
    const vi res = fast_round_sr<A>(p.mode.sr_bits, mag, shift, one_s, one_s - one, rs.first_words(index0));
    out = fast_finish<A, Mode>(p, u, neg, res);
  } else {
    vi res =
        fast_round<A, Mode>(mag, neg, one_s, one_s - one, [&]() { return ops::shr(mag | vi(0x800000), shift) & one; });
    if (p.fast_below) res = fast_below_round<A, Mode>(mag, neg, is_zero, res, vi(p.fast_lo), vi(p.fast_lo - (1 << 23)));
    out = fast_finish<A, Mode>(p, u, neg, res);
  }
  return true;
}

// Quantize one batch of float32 bit patterns. `fallback` flags lanes that must be recomputed by the
// scalar reference. index0 = random stream index of lane 0 (sr draws its first words from rs).
template <class A, rounding Mode, bool Table, bool Guarded = false, bool Uniform = false>
[[gnu::always_inline]] inline typename simd_ops<A>::vi quantize_batch(const simd_params& p, typename simd_ops<A>::vf x,
                                                                      typename simd_ops<A>::vf prev,
                                                                      std::uint64_t index0,
                                                                      typename simd_ops<A>::vb& fallback,
                                                                      fast_hint& hint, sr_stream<A>& rs) {
  using ops = simd_ops<A>;
  using vi = typename ops::vi;
  using vb = typename ops::vb;
  const vi zero(0), one(1);

  const vi u = xsimd::bitwise_cast<vi>(x);
  if constexpr (Mode != rounding::hys) {
    vi out;
    // the fast branch needs its guards for unsigned and fnu formats: callers without them skip it there
    if (p.fast && (Guarded || !p.fast_guards) &&
        quantize_batch_fast<A, Mode, Table, Guarded, Uniform>(p, u, out, hint, index0, rs)) {
      fallback = ops::splat(false);
      return out;
    }
  }
  const vi mag = u & vi(0x7fffffff);
  const vb neg = u < zero;
  const vi field = mag >> 23;
  const vi mant = mag & vi(0x7fffff);
  const vb is_sub = field == zero;
  const vb is_special = field == vi(255);
  const vb is_zero = mag == zero;
  const vi sig = xsimd::select(is_sub, mant, mant | vi(0x800000));
  const vi e = xsimd::max(field, one) - vi(127);

  vi shift;
  if constexpr (Table) {
    shift = ops::gather(p.shift_table.data(), field);
  } else {
    shift = xsimd::select(is_sub, vi(p.subnormal_shift),
                          xsimd::select(e >= vi(p.low_e), vi(p.shift_high), vi(p.low_shift_base) - e));
  }
  fallback = ops::splat(false);
  if (!p.subnormal_uniform) fallback = is_sub & !is_zero;

  const vi shift_c = xsimd::min(xsimd::max(shift, zero), vi(25));
  const vi one_s = ops::shl(one, shift_c);  // one quantum in units of the input's last bit
  const vi mask = one_s - one;
  const vi half = one_s >> 1;
  const vi r = sig & mask;
  const vb rnz = r != zero;
  const vb odd = (sig & one_s) != zero;  // bit 0 of n = sig >> shift

  vb up = ops::splat(false);
  vb to_max = ops::splat(false);  // overflow gives max instead of inf/NaN
  if constexpr (Mode == rounding::rne || Mode == rounding::rna) {
    if constexpr (Mode == rounding::rne) {
      up = rnz & ((r > half) | ((r == half) & odd));
    } else {
      up = rnz & (r >= half);
    }
    if constexpr (Table) {
      if (p.log_domain) {
        // both rne and rna: geometric midpoint where the binade holds only its power of two, else ties-to-even
        const vb even_up = rnz & ((r > half) | ((r == half) & odd));
        const vb geo_up = rnz & (sig >= vi(log_midpoint_threshold()));
        const vb power_only = shift == vi(23);
        up = (power_only & geo_up) | ((!power_only) & even_up);
      }
    }
    to_max = ops::splat(p.saturate);
  } else if constexpr (Mode == rounding::rtz) {
    to_max = ops::splat(true);
  } else if constexpr (Mode == rounding::rup) {
    up = rnz & !neg;
    to_max = neg | ops::splat(p.saturate);
  } else if constexpr (Mode == rounding::rdn) {
    up = rnz & neg;
    to_max = (!neg) | ops::splat(p.saturate);
  } else if constexpr (Mode == rounding::rto) {
    up = rnz & !odd;
    to_max = ops::splat(true);
  } else if constexpr (Mode == rounding::hys) {
    // kind = x < previous ? rup : rdn (the float comparison of the reference, NaN compares false)
    using vf = typename ops::vf;
    // (sign bit of "toward +inf") xor (sign bit of x), in the integer domain
    const vi toward_pos = xsimd::bitwise_cast<vi>(xsimd::select(x < prev, vf(-0.0f), vf(0.0f)));
    const vb mag_up = (toward_pos ^ u) < zero;
    up = rnz & mag_up;
    to_max = (!mag_up) | ops::splat(p.saturate);
  } else if constexpr (Mode == rounding::sr) {
    const bool exact = p.mode.sr_bits == 0;
    const int bits = exact ? 64 : p.mode.sr_bits;
    // round up iff the first random word w < T = (r >> d) << pos (see simd_params.hpp / formats.md 2)
    const vi d = xsimd::max(shift - vi(bits), zero);
    const vi v = ops::shr(r, xsimd::min(d, vi(31)));
    const vi pos = xsimd::min(xsimd::max(vi(64) - shift + d, zero), vi(63));
    const vb high = pos >= vi(32);
    const vi t_hi =
        xsimd::select(high, ops::shl(v, xsimd::max(pos - vi(32), zero)), ops::shr(v, xsimd::min(vi(32) - pos, vi(31))));
    const vi t_lo = xsimd::select(high, zero, ops::shl(v, xsimd::min(pos, vi(31))));
    // the first random word decides unless it equals T's high word and more of T follows (probability 2^-32):
    // those lanes go to the scalar reference, which draws the element's further words
    const vi w0 = rs.first_words(index0);
    const vb hi_eq = w0 == t_hi;
    up = rnz & ops::ult(w0, t_hi);
    const vb more = exact ? ((t_lo != zero) | (shift > vi(64))) : (t_lo != zero);
    fallback = fallback | (rnz & !is_special & hi_eq & more);
    to_max = ops::splat(p.saturate);
  }

  // round on the float's own bit pattern: clear the rounded-away bits, add one quantum if up
  vi res = (mag & ~mask) + xsimd::select(up, one_s, zero);
  const vb big = shift >= vi(24);  // the quantum lies above the input's top bit: result is 0 or 2^qe
  if (xsimd::any(big & !is_special)) {
    const vi qe = e - vi(23) + shift;
    const vi pow2 = xsimd::select(qe >= vi(-126), (qe + vi(127)) << 23,
                                  ops::shl(one, xsimd::min(xsimd::max(qe + vi(149), zero), vi(31))));
    res = xsimd::select(big, xsimd::select(up, pow2, zero), res);
  }
  if (p.fnu) res = xsimd::select(is_sub | (e < vi(p.fnu_low_e)), vi(p.fnu_low_bits), res);

  const vi sign_bit(static_cast<std::int32_t>(0x80000000u));
  const bool symmetric = p.limit_neg == p.limit_pos && p.big_neg == p.big_pos;
  const vi limit = symmetric ? vi(p.limit_pos) : xsimd::select(neg, vi(p.limit_neg), vi(p.limit_pos));
  const vi big_value = symmetric ? vi(p.big_pos) : xsimd::select(neg, vi(p.big_neg), vi(p.big_pos));
  const vi overflow_value = xsimd::select(to_max, limit, big_value);
  vi out_mag = xsimd::select(res > limit, overflow_value, res);
  const bool any_special = xsimd::any(is_special);
  if (any_special) {
    const vb is_inf = mag == vi(0x7f800000);
    const vi inf_value = p.inf_passes ? vi(0x7f800000) : overflow_value;
    out_mag = xsimd::select(is_inf, inf_value, out_mag);
  }
  vi out;
  if (p.has_negative_zero) {
    out = out_mag | (u & sign_bit);  // every result keeps the input's sign
  } else {
    out = out_mag | xsimd::select(neg & (out_mag != zero), sign_bit, zero);
  }
  if (!p.has_sign) {
    if (p.fnu) {
      out = xsimd::select(neg | is_zero, vi(0x7fc00000), out);
    } else {
      out = xsimd::select(neg, zero, out);
    }
  }
  if (any_special) {
    const vb is_nan = mag > vi(0x7f800000);
    out = xsimd::select(is_nan, (u & sign_bit) | vi(0x7fc00000), out);
  }
  return out;
}

// f(std::true_type{}) or f(std::false_type{}) for a run-time flag: a kernel variant picked once per call.
template <class F>
void with_flag(bool b, F&& f) {
  if (b) {
    f(std::true_type{});
  } else {
    f(std::false_type{});
  }
}

// Whether a sweep call over [from, to) that recorded nfailed batches of n elements paid: at most half of its
// batches recorded. Once one does not, the caller runs the rest of its range through the general loop (sr on the
// narrow formats, whose lanes mostly lie below their normal range; profiles wider than the 64-entry window).
inline bool sweep_pays(std::size_t nfailed, std::size_t n, std::size_t from, std::size_t to) {
  return 2 * nfailed * n <= to - from;
}

// The sweeps' overflow value as a splat: every lane's, except under rup / rdn, where it is that of the lanes rounded
// away from zero (the others take limit), as in fast_finish.
template <class A, rounding Mode>
typename simd_ops<A>::vi sweep_overflow(const simd_params& p, bool negative = false) {
  using vi = typename simd_ops<A>::vi;
  const std::int32_t limit = negative ? p.limit_neg : p.limit_pos, big = negative ? p.big_neg : p.big_pos;
  if constexpr (Mode == rounding::rup || Mode == rounding::rdn) {
    return vi(p.saturate ? limit : big);
  } else {
    return vi(fast_to_max<Mode>(p) ? limit : big);
  }
}

// Every lane's overflow value from sweep_overflow's splat: under rup / rdn the lanes rounded toward zero take limit.
template <class A, rounding Mode>
[[gnu::always_inline]] inline typename simd_ops<A>::vi sweep_lane_overflow(typename simd_ops<A>::vb neg,
                                                                           typename simd_ops<A>::vi limit,
                                                                           typename simd_ops<A>::vi overflow) {
  if constexpr (Mode == rounding::rup || Mode == rounding::rdn) {
    return xsimd::select(Mode == rounding::rup ? neg : !neg, limit, overflow);
  } else {
    return overflow;
  }
}

// The sweeps' end of a lane: overflow (limit, and sweep_overflow's splat) and sign of the rounded magnitude res.
template <class A, rounding Mode, bool NegativeZero>
[[gnu::always_inline]] inline typename simd_ops<A>::vi sweep_finish(typename simd_ops<A>::vi u,
                                                                    typename simd_ops<A>::vb neg,
                                                                    typename simd_ops<A>::vi res,
                                                                    typename simd_ops<A>::vi limit,
                                                                    typename simd_ops<A>::vi overflow) {
  return fast_overflow_sign<A>(u, res, limit, sweep_lane_overflow<A, Mode>(neg, limit, overflow), NegativeZero);
}

// The sweeps' uniform case on lanes that are all zero or in the format's normal range: the one shift s = shift_high
// (one_s = 2^s and mask = one_s - 1 as splats), then sweep_finish. words() gives sr's first random words.
template <class A, rounding Mode, bool NegativeZero, class Words>
[[gnu::always_inline]] inline typename simd_ops<A>::vi sweep_uniform_lanes(
    int sr_bits, int s, typename simd_ops<A>::vi one_s, typename simd_ops<A>::vi mask, typename simd_ops<A>::vi limit,
    typename simd_ops<A>::vi overflow, typename simd_ops<A>::vi u, typename simd_ops<A>::vi mag,
    typename simd_ops<A>::vb neg, Words words) {
  using vi = typename simd_ops<A>::vi;
  vi res;
  if constexpr (Mode == rounding::sr) {
    res = fast_round_sr<A>(sr_bits, mag, vi(s), one_s, mask, words());
  } else {
    res = fast_round<A, Mode>(mag, neg, one_s, mask, [&]() { return ((mag | vi(0x800000)) >> s) & vi(1); });
  }
  return sweep_finish<A, Mode, NegativeZero>(u, neg, res, limit, overflow);
}

// The constants of the sweeps' per-lane branch for the signed float-like formats (arithmetic rule, one limit for
// both signs) at params p, as splats: quantize_batch_fast's branch without the table.
template <class A, rounding Mode>
struct sweep_consts {
  using vi = typename simd_ops<A>::vi;
  // low_field = low_e + 127 and low_shift_field = low_shift_base + 127: the per-lane rule on the exponent field
  vi limit, overflow, limit_n, overflow_n, q, half, hi, lo_span, low_field, shift_high, low_shift_field;
  int sr_bits;  // p.mode.sr_bits, read once (a byte of p that the loop's float stores might alias)
  // sweep_sr_below on AVX-512: |x| moves to |x| 2^(R - qx) on its exponent field (sr_scale), exact for inputs at or
  // above the float32 bits sr_low (normal, and still normal once moved); sr_up = 32 - R
  vi sr_scale, sr_low, sr_up;
  [[gnu::always_inline]] explicit sweep_consts(const simd_params& p)
      : limit(p.limit_pos),
        overflow(sweep_overflow<A, Mode>(p)),
        limit_n(p.limit_neg),
        overflow_n(sweep_overflow<A, Mode>(p, true)),
        q(p.fast_lo),
        half(p.fast_lo - (1 << 23)),
        hi(p.fast_hi),
        lo_span(p.fast_hi - p.fast_lo),
        low_field(p.low_e + 127),
        shift_high(p.shift_high),
        low_shift_field(p.low_shift_base + 127),
        sr_bits(p.mode.sr_bits) {
    const int R = sr_bits == 0 || sr_bits > 32 ? 32 : sr_bits;
    const int q_field = p.fast_lo >> 23;  // q = 2^qx, qx = q_field - 127 (q_field 0: no lane qualifies)
    const int move = R - (q_field - 127);
    sr_scale = vi(move * (1 << 23));
    sr_low = vi(q_field == 0 ? 0x7f800000 : std::max(1, 1 - move) * (1 << 23));
    sr_up = vi(32 - R);
  }
};

// The lanes (magnitude bits mag) the per-lane branch covers: those below fast_lo only with Below (sweep_below).
template <class A, rounding Mode, bool Below>
[[gnu::always_inline]] inline typename simd_ops<A>::vb sweep_lane_ok(const sweep_consts<A, Mode>& k,
                                                                     typename simd_ops<A>::vi mag) {
  using ops = simd_ops<A>;
  using vi = typename ops::vi;
  if constexpr (!Below) {
    return ops::ult(mag - k.q, k.lo_span) | (mag == vi(0));
  } else {
    return mag < k.hi;
  }
}

// Stochastic rounding of the lanes below q = 2^qx (the float32 bits k.q; simd_params::fast_below, sweep_below): 0 or
// q, up iff the element's random bits are below floor(f 2^R) for f = |x| / q (formats.md 2; R = 32 stands for exact
// sr's first word). |x| = r 2^-sh q with r the input's significand (no implicit bit for float32 subnormals) and
// sh = q's field + 23 - max(field, 1) >= 24 bits, so the threshold's first 32 bits are T = floor(r 2^(R - sh))
// 2^(32 - R), and up iff w0 < T unless exact sr finds w0 == T with bits of r left below it: those lanes are flagged in
// `fail` (the element's next words decide; the caller hands the batch to the scalar reference's pipeline).
template <class A, rounding Mode>
[[gnu::always_inline]] inline typename simd_ops<A>::vi sweep_sr_below(const sweep_consts<A, Mode>& k,
                                                                      typename simd_ops<A>::vi mag,
                                                                      typename simd_ops<A>::vi w0,
                                                                      typename simd_ops<A>::vi res,
                                                                      typename simd_ops<A>::vb& fail) {
  using ops = simd_ops<A>;
  using vi = typename ops::vi;
  using vb = typename ops::vb;
  const vi zero(0), one(1), c31(31);
  const vb below = mag < k.q;
  if (!xsimd::any(below)) return res;
  const bool exact = k.sr_bits == 0;
#if XSIMD_WITH_AVX512F
  if constexpr (ops::is_avx512) {
    // T0 = floor(|x| 2^(R - qx)) = floor(f 2^R) < 2^R by one exact exponent move and one truncating conversion to
    // unsigned; lanes the move does not keep normal (float32 subnormals) go to the scalar reference unless zero
    const vb ok = below & (mag >= k.sr_low);
    const __m512 scaled = _mm512_castsi512_ps(mag + k.sr_scale);
    const vi t0(_mm512_maskz_cvttps_epu32(static_cast<__mmask16>(ok), scaled));
    fail = fail | (below & !ok & (mag != zero));
    vi t = t0;
    if (exact) {
      // bits of f below the first word's: |x| 2^(32 - qx) is not the integer T0 (both sides normal or zero)
      const vb rest(_mm512_mask_cmp_ps_mask(static_cast<__mmask16>(ok), _mm512_cvtepu32_ps(t0), scaled, _CMP_NEQ_UQ));
      fail = fail | (rest & (w0 == t0));
    } else {
      t = ops::shl(t0, k.sr_up);
    }
    return xsimd::select(below, xsimd::select(ops::ult(w0, t), k.q, zero), res);
  }
#endif
  const vi R(exact ? 32 : k.sr_bits);
  const vi field = mag >> 23;
  const vi r = xsimd::select(field == zero, mag, (mag & vi(0x7fffff)) | vi(0x800000));
  const vi sh = (k.q >> 23) + vi(23) - xsimd::max(field, one);
  const vi a = R - sh;  // <= 8
  const vi thr = xsimd::select(a >= zero, ops::shl(r, xsimd::max(a, zero)), ops::shr(r, xsimd::min(zero - a, c31)));
  const vi t = ops::shl(thr, vi(32) - R);
  if (exact) {
    // bits of r below the first word's: sh > 32, and r's low sh - 32 bits (all of r once sh >= 64) not all zero
    const vb rest = ops::shl(r, xsimd::min(xsimd::max(vi(64) - sh, zero), c31)) != zero;
    fail = fail | (below & (sh > vi(32)) & (w0 == t) & rest);
  }
  return xsimd::select(below, xsimd::select(ops::ult(w0, t), k.q, zero), res);
}

// The per-lane branch on lanes sweep_lane_ok covers: input bits u (mag = u & 0x7fffffff, neg = u < 0); words()
// gives sr's first random words of the batch (called for sr only). NegativeZero: p.has_negative_zero. sr with Below:
// lanes whose decision needs more random words are flagged in `fail` (the result is then not to be used). Asym:
// the limit and overflow value of negative lanes are k.limit_n and k.overflow_n (integer grids, -2^(b-1)).
template <class A, rounding Mode, bool NegativeZero, bool Below, class Words, bool Asym = false>
[[gnu::always_inline]] inline typename simd_ops<A>::vi sweep_lanes(const sweep_consts<A, Mode>& k,
                                                                   typename simd_ops<A>::vi u,
                                                                   typename simd_ops<A>::vi mag,
                                                                   typename simd_ops<A>::vb neg, Words words,
                                                                   typename simd_ops<A>::vb& fail) {
  using ops = simd_ops<A>;
  using vi = typename ops::vi;
  const vi one(1), imp(0x800000);
  const vi field = mag >> 23;  // e + 127
  // zero lanes (e = -127) may have any shift >= 1: capped at 24 so that one_s stays a positive power
  const vi shift = xsimd::min(xsimd::select(field >= k.low_field, k.shift_high, k.low_shift_field - field), vi(24));
  const vi one_s = ops::shl(one, shift);
  vi res;
  if constexpr (Mode == rounding::sr) {
    const vi w0 = words();
    res = fast_round_sr<A>(k.sr_bits, mag, shift, one_s, one_s - one, w0);
    if constexpr (Below) res = sweep_sr_below<A, Mode>(k, mag, w0, res, fail);
  } else {
    res = fast_round<A, Mode>(mag, neg, one_s, one_s - one, [&]() { return ops::shr(mag | imp, shift) & one; });
    if constexpr (Below) res = fast_below_round<A, Mode>(mag, neg, mag == vi(0), res, k.q, k.half);
  }
  if constexpr (Asym) {
    return sweep_finish<A, Mode, NegativeZero>(u, neg, res, xsimd::select(neg, k.limit_n, k.limit),
                                               xsimd::select(neg, k.overflow_n, k.overflow));
  }
  return sweep_finish<A, Mode, NegativeZero>(u, neg, res, k.limit, k.overflow);
}

// The element kernel's loop for the signed float-like formats (arithmetic rule, one limit for both signs; every
// mode but hys): quantize_batch_fast's branches for them - the uniform case while hint's credit lasts
// (Uniform), then the per-lane shift - with every constant in a register and nothing out of line in the loop but
// sr's refills of random words, as profile_sweep: a batch neither branch covers is recorded in failed[nfailed++] for
// the caller's general loop, and the sweep returns once `cap` are recorded, at end, or (Uniform) when the credit
// runs out. NegativeZero: p.has_negative_zero; Below: p.fast_below. stream: non-temporal stores (dst + i aligned to
// the batch size). sr draws element i's first random word from rs at index_base + i. Count (the scaled kernel's long
// segments, one clip threshold for both signs): per lane, counts->clipped counts |x| above counts->thr and
// counts->flushed nonzero inputs whose result is +-0 (the caller keeps the lanes below 2^31).
template <class A>
struct sweep_counts {
  typename simd_ops<A>::vi thr, clipped, flushed;
};
template <class A, rounding Mode, bool Uniform, bool NegativeZero, bool Below, bool Count = false, bool Asym = false>
[[gnu::noinline]] std::size_t element_sweep(const simd_params& p, const float* src, float* dst, std::size_t i,
                                            std::size_t end, std::size_t* failed, std::size_t& nfailed, std::size_t cap,
                                            fast_hint& hint, std::uint64_t index_base, sr_stream<A>& rs, bool stream,
                                            sweep_counts<A>* counts = nullptr, std::size_t ahead = 0) {
  using ops = simd_ops<A>;
  using vi = typename ops::vi;
  using vf = typename ops::vf;
  using vb = typename ops::vb;
  constexpr std::size_t N = ops::size;
  const vi zero(0), one(1), abs_mask(0x7fffffff);
  const sweep_consts<A, Mode> k(p);
  const vi uni_lo(p.uni_lo), uni_span(p.uni_span);
  const int s = p.shift_high;
  const vi one_s_u(std::int32_t{1} << s);
  const vi mask_u = one_s_u - one;
  fast_hint h = hint;
  vi thr(0), cv(0), fv(0);
  if constexpr (Count) {
    thr = counts->thr;
    cv = counts->clipped;
    fv = counts->flushed;
  }
  auto put = [&](std::size_t at, vi mag, vi out) {
    if constexpr (Count) {
      cv = ops::inc(cv, mag > thr);
      fv = ops::inc(fv, ((out & abs_mask) == zero) & (mag != zero));
    }
    if (stream) {
      ops::stream(dst + at, xsimd::bitwise_cast<vf>(out));
    } else {
      xsimd::bitwise_cast<vf>(out).store_unaligned(dst + at);
    }
  };
  sr_words<A> next_words{rs, index_base};
  for (; i + N <= end; i += N) {
    if (ahead != 0) __builtin_prefetch(src + i + ahead, 0, 2);  // the caller's next piece, into L2
    const vi u = xsimd::bitwise_cast<vi>(vf::load_unaligned(src + i));
    const vi mag = u & abs_mask;
    const vb neg = u < zero;
    auto words = [&]() { return next_words(i); };
    if constexpr (Uniform) {
      if (h.credit <= 0) break;
      // every lane in the format's normal range (or zero): the one shift s
      if (h.note(xsimd::all(ops::ult(mag - uni_lo, uni_span) | (mag == zero)))) {
        put(i, mag,
            sweep_uniform_lanes<A, Mode, NegativeZero>(k.sr_bits, s, one_s_u, mask_u, k.limit, k.overflow, u, mag, neg,
                                                       words));
        continue;
      }
    }
    if (!xsimd::all(sweep_lane_ok<A, Mode, Below>(k, mag))) [[unlikely]] {
      failed[nfailed++] = i;
      if (nfailed == cap) {
        i += N;
        break;
      }
      continue;
    }
    vb fail = ops::splat(false);
    const vi r = sweep_lanes<A, Mode, NegativeZero, Below, decltype(words), Asym>(k, u, mag, neg, words, fail);
    if (Mode == rounding::sr && Below && xsimd::any(fail)) [[unlikely]] {
      failed[nfailed++] = i;
      if (nfailed == cap) {
        i += N;
        break;
      }
      continue;
    }
    put(i, mag, r);
  }
  hint = h;
  if constexpr (Count) {
    counts->clipped = cv;
    counts->flushed = fv;
  }
  return i;
}

// The sweeps' loop over full batches from i to end: batch(i, u, out) rounds the input bits u of the batch at i into
// out, or returns false when the batch does not qualify; its position is then recorded in failed[nfailed++] for the
// caller's general loop, and the sweep returns once `cap` are recorded. Returns where it stopped. Stream: non-temporal
// stores (dst + i aligned to the batch size). ahead > 0: prefetches src + i + ahead into L2 (the scaled kernel: the
// caller's next piece; the element kernel: 16 KiB ahead in large arrays).
template <class A, bool Stream, class Batch>
[[gnu::always_inline]] inline std::size_t sweep_loop(const float* src, float* dst, std::size_t i, std::size_t end,
                                                     std::size_t* failed, std::size_t& nfailed, std::size_t cap,
                                                     std::size_t ahead, Batch batch) {
  using ops = simd_ops<A>;
  using vi = typename ops::vi;
  using vf = typename ops::vf;
  constexpr std::size_t N = ops::size;
  for (; i + N <= end; i += N) {
    if (ahead != 0) __builtin_prefetch(src + i + ahead, 0, 2);
    vi out;
    if (!batch(i, xsimd::bitwise_cast<vi>(vf::load_unaligned(src + i)), out)) [[unlikely]] {
      failed[nfailed++] = i;
      if (nfailed == cap) return i + N;
      continue;
    }
    if constexpr (Stream) {
      ops::stream(dst + i, xsimd::bitwise_cast<vf>(out));
    } else {
      xsimd::bitwise_cast<vf>(out).store_unaligned(dst + i);
    }
  }
  return i;
}

// Whether the element kernel's unit_sweep serves p: simd_params::unit under rne, rna or rtz, on the lanes of
// unit_lo / unit_span (every quantum there, the lowest at least 2^-125, a normal float whose inverse is normal); sr
// only where every finite lane qualifies (!unit_ranged) and unit_sr_serves.
template <rounding Mode>
bool unit_sweep_serves(const simd_params& p) {
  if (!p.unit || p.unit_span == 0) return false;
  if constexpr (Mode == rounding::sr) return !p.unit_ranged && unit_sr_serves(p);
  return unit_mode<Mode>;
}

// The element kernel's loop for unit_sweep_serves: every finite lane (Ranged: every lane in simd_params::unit_lo /
// unit_span) rounds in the float unit at its quantum 2^qe = 2^max(e - m, q) (One: the one quantum 2^q of integer and
// fixed-point grids; zero lanes at 2^-125 where q is lower), then overflow and sign (Asym: limits and overflow values
// per sign). rne, rna, rtz: n = round(|x| 2^-qe), result n 2^qe. sr: unit_sr_split and unit_sr_round; a batch with a
// lane exact sr cannot decide on its first word goes to the general loop, as do batches with a lane that does not
// qualify, through sweep_loop. sr draws element i's first word from rs at index_base + i. Count (the scaled kernel's
// statistics): per lane in counts, the lanes above counts->thr and the nonzero lanes that round to zero. ahead:
// sweep_loop's prefetch distance.
template <class A, rounding Mode, bool NegativeZero, bool One, bool Asym, bool Stream, bool Ranged, bool Count = false>
[[gnu::noinline]] std::size_t unit_sweep(const simd_params& p, const float* src, float* dst, std::size_t i,
                                         std::size_t end, std::size_t* failed, std::size_t& nfailed, std::size_t cap,
                                         std::uint64_t index_base, sr_stream<A>& rs, sweep_counts<A>* counts = nullptr,
                                         std::size_t ahead = 0) {
  using ops = simd_ops<A>;
  using vi = typename ops::vi;
  using vb = typename ops::vb;
  const vi zero(0), abs_mask(0x7fffffff), inf_bits(0x7f800000);
  // the lowest quantum, raised to 2^-125 where the format's is lower (then only zero lanes below unit_lo take it)
  const std::int32_t floor_bits = std::max(p.unit_low_bits, 2 * (1 << 23));
  const vi unit_m(p.unit_m_bits), low(floor_bits), low_inv(unit_inverse(floor_bits));
  const vi vmask(static_cast<std::int32_t>(p.unit_vmask)), lane_lo(static_cast<std::int32_t>(p.unit_lo));
  const vi lane_span(static_cast<std::int32_t>(p.unit_span)), lane_zero(static_cast<std::int32_t>(p.unit_zero));
  const vi limit(p.limit_pos), limit_n(p.limit_neg);
  const vi overflow = sweep_overflow<A, Mode>(p), overflow_n = sweep_overflow<A, Mode>(p, true);
  const unit_sr_consts<A> sr(p);
  sr_words<A> words{rs, index_base};  // per call: between calls the general loop draws from rs too
  vi thr(0), cv(0), fv(0);
  if constexpr (Count) {
    thr = counts->thr;
    cv = counts->clipped;
    fv = counts->flushed;
  }
  i = sweep_loop<A, Stream>(src, dst, i, end, failed, nfailed, cap, ahead, [&](std::size_t at, vi u, vi& out) {
    const vi mag = u & abs_mask;
    if constexpr (Ranged) {
      const vi v = u & vmask;
      if (!xsimd::all(ops::ult(v - lane_lo, lane_span) | (v == lane_zero))) [[unlikely]]
        return false;
    } else {
      if (!xsimd::all(mag < inf_bits)) [[unlikely]]
        return false;
    }
    const vb neg = u < zero;
    const vi qb = One ? low : xsimd::max((mag & inf_bits) - unit_m, low);
    const vi ib = One ? low_inv : unit_inverse(qb);
    vi res;
    if constexpr (Mode == rounding::sr) {
      const unit_sr_parts<A> sp = unit_sr_split<A>(mag, ib, sr.two_r);
      const vi w0 = words(at);
      if (sr.exact && xsimd::any(w0 == sp.t0)) [[unlikely]]
        return false;
      res = unit_sr_round<A>(sp, w0, sr.up, qb);
    } else {
      res = unit_quantize<A, Mode>(mag, qb, ib, neg);
    }
    if constexpr (Asym) {
      out = sweep_finish<A, Mode, NegativeZero>(u, neg, res, xsimd::select(neg, limit_n, limit),
                                                xsimd::select(neg, overflow_n, overflow));
    } else {
      out = sweep_finish<A, Mode, NegativeZero>(u, neg, res, limit, overflow);
    }
    if constexpr (Count) {
      cv = ops::inc(cv, mag > thr);
      fv = ops::inc(fv, (mag != zero) & ((out & abs_mask) == zero));
    }
    return true;
  });
  if constexpr (Count) {
    counts->clipped = cv;
    counts->flushed = fv;
  }
  return i;
}

// Whether element_sweep's uniform case (a batch of lanes in the format's normal range, one splat shift) runs before
// unit_sweep while it pays: where its rounding is cheaper than the float unit's. sr's uniform case forms the threshold
// with one shift (in cache, one thread, e5m2 sr 0.48 ns/element against 0.57 in unit_sweep), and rtz's mask beats
// unit_sweep's range check (Ranged) and two multiplies (bf16 rtz 0.143 against 0.155); elsewhere the two measure the
// same (e5m2 and fp16 rtz 0.127, 2026-12-07) or unit_sweep is faster (rne: e5m2 0.127 against 0.172, bf16 0.155
// against 0.172), and unit_sweep needs no hint.
template <rounding Mode>
bool uniform_first(const simd_params& p) {
  return Mode == rounding::sr || (Mode == rounding::rtz && p.unit_ranged);
}

// unit_sweep at p's own variant (its -0, integer grid, per-sign limits and ranged lanes, and the stores); a no-op in
// the modes it has no loop for.
template <class A, rounding Mode, bool Count = false>
void unit_sweep_for(const simd_params& p, bool stream, const float* src, float* dst, std::size_t& i, std::size_t end,
                    std::size_t* failed, std::size_t& nfailed, std::size_t cap, std::uint64_t index_base,
                    sr_stream<A>& rs, sweep_counts<A>* counts = nullptr, std::size_t ahead = 0) {
  if constexpr (unit_mode<Mode> || Mode == rounding::sr) {
    with_flag(p.has_negative_zero, [&](auto negative_zero) {
      with_flag(p.unit_m_bits == 255 * (1 << 23), [&](auto one) {
        with_flag(p.limit_neg != p.limit_pos || p.big_neg != p.big_pos, [&](auto asym) {
          with_flag(stream, [&](auto st) {
            with_flag(p.unit_ranged, [&](auto ranged) {
              i = unit_sweep<A, Mode, negative_zero(), one(), asym(), st(), ranged(), Count>(
                  p, src, dst, i, end, failed, nfailed, cap, index_base, rs, counts, ahead);
            });
          });
        });
      });
    });
  }
}

template <class A, rounding Mode, bool Table, bool Guarded>
void quantize_run(const simd_call& c) {
  using ops = simd_ops<A>;
  using vi = typename ops::vi;
  using vf = typename ops::vf;
  using vb = typename ops::vb;
  constexpr std::size_t N = ops::size;
  const simd_params& p = *c.params;
  const bool hys = Mode == rounding::hys;

  auto finish = [&](vi res, const vb& fallback, std::size_t i, std::size_t count, const float* src, const float* prv,
                    float* dst, bool stream) {
    if (xsimd::any(fallback)) {
      alignas(64) std::int32_t r[N];
      alignas(64) std::int32_t fb[N];
      res.store_aligned(r);
      xsimd::select(fallback, vi(1), vi(0)).store_aligned(fb);
      for (std::size_t j = 0; j < count; ++j) {
        if (fb[j] == 0) continue;
        r[j] = std::bit_cast<std::int32_t>(scalar_reference_f32(p, src[j], c.index_base + i + j, hys ? prv[j] : 0.0f));
      }
      res = vi::load_aligned(r);
    }
    const vf out = xsimd::bitwise_cast<vf>(res);
    if (count == N) {
      if (stream) {
        ops::stream(dst, out);
      } else {
        out.store_unaligned(dst);
      }
    } else {
      alignas(64) float tmp[N];
      out.store_aligned(tmp);
      std::memcpy(dst, tmp, count * sizeof(float));
    }
  };

  fast_hint hint;
  sr_stream<A> rs(p.seed);
  // a partial batch: padded with zeros through a buffer (zeros never need the fallback)
  auto partial = [&](std::size_t i, std::size_t count) {
    alignas(64) float src[N] = {};
    alignas(64) float prv[N] = {};
    std::memcpy(src, c.in + i, count * sizeof(float));
    if (hys) std::memcpy(prv, c.prev + i, count * sizeof(float));
    vb fallback;
    const vi res = quantize_batch<A, Mode, Table, Guarded>(p, vf::load_aligned(src), vf::load_aligned(prv),
                                                           c.index_base + i, fallback, hint, rs);
    finish(res, fallback, i, count, src, prv, c.out + i, false);
  };

  std::size_t i = 0;
  const std::size_t n = c.n;
  bool stream = c.stream;
  if (stream) {
    const std::uintptr_t addr = reinterpret_cast<std::uintptr_t>(c.out);
    const std::size_t align = N * sizeof(float);
    if (addr % sizeof(float) != 0) {
      stream = false;
    } else {
      const std::size_t head = ((align - addr % align) % align) / sizeof(float);
      if (head > 0 && head <= n) {
        partial(0, head);
        i = head;
      }
    }
  }
  auto full = [&](auto uniform, std::size_t at) FMTSIM_INLINE_LAMBDA {
    const vf x = vf::load_unaligned(c.in + at);
    const vf pv = hys ? vf::load_unaligned(c.prev + at) : vf(0.0f);
    vb fallback;
    const vi res = quantize_batch<A, Mode, Table, Guarded, decltype(uniform)::value>(p, x, pv, c.index_base + at,
                                                                                     fallback, hint, rs);
    finish(res, fallback, at, N, c.in + at, hys ? c.prev + at : nullptr, c.out + at, stream);
  };
  if constexpr (!Table && Mode != rounding::hys) {
    // guarded formats (unsigned, fnu): unit_sweep checks their lanes itself; the element sweeps do not serve them
    const bool units = unit_sweep_serves<Mode>(p);
    const bool elements = !Guarded && (element_sweep_serves(p) || fixed_sr_sweep_serves(p));
    std::size_t failed[64];
    // one sweep call, then its recorded batches through the general loop; false once the sweep does not pay
    auto run = [&](auto sweep_call) {
      std::size_t nfailed = 0;
      const std::size_t from = i;
      sweep_call(nfailed);
      for (std::size_t j = 0; j < nfailed; ++j) full(std::false_type{}, failed[j]);
      return sweep_pays(nfailed, N, from, i);
    };
    auto unit = [&] {
      return run([&](std::size_t& nfailed) {
        unit_sweep_for<A, Mode>(p, stream, c.in, c.out, i, n, failed, nfailed, 64, c.index_base, rs, nullptr,
                                c.prefetch_ahead);
      });
    };
    auto element = [&](auto uniform) {
      return run([&](std::size_t& nfailed) {
        constexpr bool U = decltype(uniform)::value;
        if constexpr (!Guarded) {
          with_flag(p.has_negative_zero, [&](auto negative_zero) {
            with_flag(sweep_below(p), [&](auto below) {
              constexpr bool NZ = decltype(negative_zero)::value, B = decltype(below)::value;
              if constexpr (Mode == rounding::sr && !U) {
                // integer grids: the negative limit is one quantum further out
                with_flag(p.limit_neg != p.limit_pos || p.big_neg != p.big_pos, [&](auto asym) {
                  i = element_sweep<A, Mode, U, NZ, B, false, decltype(asym)::value>(
                      p, c.in, c.out, i, n, failed, nfailed, 64, hint, c.index_base, rs, stream, nullptr,
                      c.prefetch_ahead);
                });
              } else {
                i = element_sweep<A, Mode, U, NZ, B>(p, c.in, c.out, i, n, failed, nfailed, 64, hint, c.index_base, rs,
                                                     stream, nullptr, c.prefetch_ahead);
              }
            });
          });
        }
      });
    };
    bool pays = true;
    // element_sweep's uniform case first where it is cheaper than the float unit or no unit_sweep serves, while it
    // pays (fast_hint); then unit_sweep; then element_sweep's per-lane branch
    if (elements && p.fast_uniform && !p.fast_fixed && (uniform_first<Mode>(p) || !units)) {
      while (pays && i + N <= n && hint.credit > 0) pays = element(std::true_type{});
    }
    if (units) {
      while (pays && i + N <= n) pays = unit();
    }
    if (elements) {
      while (pays && i + N <= n) pays = element(std::false_type{});
    }
  }
  // the uniform case while it pays (fast_hint), then the loop without it
  if (p.fast_uniform) {
    for (; i + N <= n && hint.credit > 0; i += N) full(std::true_type{}, i);
  }
  for (; i + N <= n; i += N) full(std::false_type{}, i);
  if (i < n) partial(i, n - i);
  if (stream) ops::stream_fence();
}

// The deterministic modes: the fast branch with its guards only for the formats that need them (unsigned, fnu),
// so that the common signed formats keep the unguarded code.
template <class A, rounding Mode, bool Table>
void quantize_guard(const simd_call& c) {
  if (c.params->fast_guards) {
    quantize_run<A, Mode, Table, true>(c);
  } else {
    quantize_run<A, Mode, Table, false>(c);
  }
}

// f(std::integral_constant<rounding, M>{}) for the run-time rounding kind: the one place that turns it into the
// kernels' template parameter.
template <class F>
void with_mode(rounding kind, F&& f) {
  using r = rounding;
  switch (kind) {
    case r::rne:
      return f(std::integral_constant<r, r::rne>{});
    case r::rna:
      return f(std::integral_constant<r, r::rna>{});
    case r::rtz:
      return f(std::integral_constant<r, r::rtz>{});
    case r::rup:
      return f(std::integral_constant<r, r::rup>{});
    case r::rdn:
      return f(std::integral_constant<r, r::rdn>{});
    case r::rto:
      return f(std::integral_constant<r, r::rto>{});
    case r::sr:
      return f(std::integral_constant<r, r::sr>{});
    case r::hys:
      return f(std::integral_constant<r, r::hys>{});
  }
}

template <class A, bool Table>
void quantize_mode(const simd_call& c) {
  with_mode(c.params->mode.kind, [&](auto m) {
    if constexpr (m() == rounding::hys) {
      quantize_run<A, rounding::hys, Table, false>(c);
    } else {
      quantize_guard<A, m(), Table>(c);
    }
  });
}

template <class A>
void quantize_f32(const simd_call& c) {
  if (c.params->table) {
    quantize_mode<A, true>(c);
  } else {
    quantize_mode<A, false>(c);
  }
}

// ---- the scaled kernel (include/fmtsim/kernels/scaled.hpp) ---------------------------------------

template <class A>
void scaled_amax_f32(scaled_call& c) {
  using ops = simd_ops<A>;
  using vi = typename ops::vi;
  using vf = typename ops::vf;
  constexpr std::size_t N = ops::size;
  const vi abs_mask(0x7fffffff);
  for (std::size_t k = 0; k < c.nsegs; ++k) {
    const scaled_segment& g = c.segs[k];
    const float* p = c.in + g.begin;
    const std::size_t n = g.len;
    vi m0(0), m1(0);
    std::size_t i = 0;
    for (; i + 2 * N <= n; i += 2 * N) {
      m0 = xsimd::max(m0, xsimd::bitwise_cast<vi>(vf::load_unaligned(p + i)) & abs_mask);
      m1 = xsimd::max(m1, xsimd::bitwise_cast<vi>(vf::load_unaligned(p + i + N)) & abs_mask);
    }
    if (i + N <= n) {
      m0 = xsimd::max(m0, xsimd::bitwise_cast<vi>(vf::load_unaligned(p + i)) & abs_mask);
      i += N;
    }
    std::int32_t m = ops::hmax(xsimd::max(m0, m1));
    for (; i < n; ++i) {
      const std::int32_t b = std::bit_cast<std::int32_t>(p[i]) & 0x7fffffff;
      m = b > m ? b : m;
    }
    c.amax[k] = static_cast<std::uint32_t>(m);
  }
}

// Per segment at scale s: y = x * 2^-s and r * 2^s are done on the exponent field (exact, and independent of the
// FPU's flush-to-zero modes); lanes where either is not a plain exponent move (x or the result a float32
// subnormal, or out of range) are recomputed by the scalar reference at scale s, as are the kernel's own
// fallback lanes.
// Direct: the params are already at the segments' scale (one long group): no exponent moves, only the statistics.
// The scaled kernel's loop for the per-tensor profiles (Direct, Table; one limit for both signs, one zero, fast_below:
// every profile and log format): quantize_batch_fast's table branch alone, with every constant in a
// register and nothing out of line in the loop (measured: the general loop kept its constants and masks on the stack
// around the fallback's call). Full batches from i to end; a batch that does not qualify is skipped, its position
// recorded in failed[nfailed++], and the sweep returns once `cap` are recorded (the caller runs them through the whole
// pipeline). Returns where it stopped. Per lane, clipped_v counts |x| above thr and flushed_v nonzero inputs whose
// result is zero. Stream: non-temporal stores (dst + i aligned to the batch size). Unit (rne, rna, rtz; the format's
// simd_params::unit_profile): n = round(|x| 2^-qe) in the float unit at the lane's quantum 2^qe from unit_table,
// result n 2^qe, instead of the shift, its rounding bias and the separate rounding below fast_lo. sr (Unit only, where
// profile_sr_serves): unit_sr_split and unit_sr_round at the lane's quantum, element i's first random word drawn from
// rs at index_base + i; a batch with a lane exact sr cannot decide on that word is recorded like one that does not
// qualify.
template <class A, rounding Mode, bool Stream, bool Count, bool Unit>
[[gnu::noinline]] std::size_t profile_sweep(const simd_params& p, const float* src, float* dst, std::size_t i,
                                            std::size_t end, std::int32_t thr_bits, std::size_t* failed,
                                            std::size_t& nfailed, std::size_t cap, typename simd_ops<A>::vi& clipped_v,
                                            typename simd_ops<A>::vi& flushed_v, std::size_t ahead,
                                            std::uint64_t index_base, sr_stream<A>& rs) {
  static_assert(Mode != rounding::sr || Unit, "profile_sweep rounds sr in the float unit only");
  using ops = simd_ops<A>;
  using vi = typename ops::vi;
  using vb = typename ops::vb;
  const vi zero(0), one(1), abs_mask(0x7fffffff), below_one(24), thr(thr_bits), imp(0x800000);
  const vi limit(p.limit_pos);
  const vi overflow = sweep_overflow<A, Mode>(p);
  const vi q(p.fast_lo), half(p.fast_lo - (1 << 23));
  // AVX-512: the table's window in registers, its 32-entry form where that serves (field_windows::narrow)
  const field_windows& ws = Unit ? p.unit_windows : p.fast_windows;
  const bool narrow = ops::is_avx512 && ws.narrow;
  vi window[4] = {};
  const vi base(narrow ? ws.w32.base : ws.w64.base);
  if constexpr (ops::is_avx512) {
    const std::int32_t* w = narrow ? ws.w32.entries.data() : ws.w64.entries.data();
    for (std::size_t k = 0; k < (narrow ? 2 : 4); ++k) window[k] = vi::load_aligned(w + 16 * k);
  }
  vi cv = clipped_v, fv = flushed_v;
  const unit_sr_consts<A> sr(p);
  sr_words<A> words{rs, index_base};  // per call: between calls the general loop draws from rs too
  auto sweep = [&](auto narrow_c) {
    return sweep_loop<A, Stream>(src, dst, i, end, failed, nfailed, cap, ahead, [&](std::size_t at, vi u, vi& out) {
      const vi mag = u & abs_mask;
      const vb is_zero = mag == zero;
      vi entry;  // Unit: the quantum's bits (0: no), else the shift
      if constexpr (ops::is_avx512 && narrow_c()) {
        entry = ops::lookup32(window[0], window[1], ops::template window_index<32>(mag >> 23, base));
      } else if constexpr (ops::is_avx512) {
        entry = ops::lookup64(window, ops::window_index(mag >> 23, base));
      } else {
        entry = ops::gather(Unit ? p.unit_table.data() : p.fast_table.data(), mag >> 23);
      }
      const vb ok = Unit ? entry != zero : ops::ult(entry - one, below_one) | is_zero;
      if (!xsimd::all(ok)) [[unlikely]]
        return false;
      const vb neg = u < zero;
      vi res;
      if constexpr (Mode == rounding::sr) {
        const unit_sr_parts<A> sp = unit_sr_split<A>(mag, unit_inverse(entry), sr.two_r);
        const vi w0 = words(at);
        if (sr.exact && xsimd::any(w0 == sp.t0)) [[unlikely]]
          return false;
        res = unit_sr_round<A>(sp, w0, sr.up, entry);
      } else if constexpr (Unit) {
        res = unit_quantize<A, Mode>(mag, entry, unit_inverse(entry), neg);
      } else {
        const vi shift = xsimd::max(entry, one);  // zero lanes: any shift in [1, 24] gives 0
        const vi one_s = ops::shl(one, shift);
        res = fast_round<A, Mode>(mag, neg, one_s, one_s - one, [&]() { return ops::shr(mag | imp, shift) & one; });
        res = fast_below_round<A, Mode>(mag, neg, is_zero, res, q, half);
      }
      // fast_overflow_sign without -0; the lanes whose result is not 0 are kept for the flushed count
      const vi out_mag = xsimd::select(res > limit, sweep_lane_overflow<A, Mode>(neg, limit, overflow), res);
      vb nonzero;
      out = ops::sign_nonzero(u, out_mag, nonzero);
      if constexpr (Count) {  // without: about 4% of the search's CPU (its quantizers never read the counts)
        cv = ops::inc(cv, mag > thr);
        fv = ops::inc(fv, (mag != zero) & ~nonzero);
      }
      return true;
    });
  };
  if constexpr (ops::is_avx512) {
    i = narrow ? sweep(std::true_type{}) : sweep(std::false_type{});
  } else {
    i = sweep(std::false_type{});
  }
  clipped_v = cv;
  flushed_v = fv;
  return i;
}

// Whether profile_sweep serves p (at one segment's clip bits).
inline bool profile_sweep_serves(const simd_params& p, const scaled_segment& g) {
  return p.table && p.fast && !p.fast_guards && !p.has_negative_zero && p.fast_below && p.limit_neg == p.limit_pos &&
         p.big_neg == p.big_pos && g.clip_pos == g.clip_neg;
}

template <class A, rounding Mode, bool Table, bool Direct>
void scaled_run(scaled_call& c) {
  using ops = simd_ops<A>;
  using vi = typename ops::vi;
  using vf = typename ops::vf;
  using vb = typename ops::vb;
  constexpr std::size_t N = ops::size;
  // a local copy: its address never reaches the fallback's out-of-line call (which gets c.params), so the
  // compiler need not assume the call changes it (measured MX 1.07-1.12x; the per-tensor profiles unchanged)
  const simd_params p = *c.params;
  const vi zero(0), one(1), abs_mask(0x7fffffff);
  // statistics: long segments (Direct) count per lane in registers, moved to the 64-bit totals before a lane
  // could reach 2^31 (measured 1.2-1.35x faster for per-tensor formats); short ones (MX blocks) popcount the
  // masks on the scalar ports, which the vector ports' load makes the faster choice there (about 5%)
  std::uint64_t clipped = 0, flushed = 0;
  vi clipped_v(0), flushed_v(0);
  std::uint64_t batches = 0;
  bool streamed = false;
  fast_hint hint;
  sr_stream<A> rs(p.seed);
  auto flush_counts = [&] {
    clipped += ops::hsum(clipped_v);
    flushed += ops::hsum(flushed_v);
    clipped_v = zero;
    flushed_v = zero;
    batches = 0;
  };

  for (std::size_t k = 0; k < c.nsegs; ++k) {
    const scaled_segment& g = c.segs[k];
    const std::int32_t s = g.scale_exp;
    const vi shift_bits(s * (1 << 23));
    // x moves to y = x * 2^-s on its exponent field iff |x| >= 2^(max(1, s + 1) - 127) (y stays normal; the
    // segment's contract keeps the largest y finite); a result r moves back iff |r| >= 2^(max(1, 1 - s) - 127)
    // and r is finite (r * 2^s <= the format's largest value at scale s, a float, so it cannot overflow)
    const vi in_lo((s + 1 > 1 ? s + 1 : 1) * (1 << 23));
    const vi out_lo((1 - s > 1 ? 1 - s : 1) * (1 << 23));
    const vi inf_bits(0x7f800000);
    const bool symmetric = g.clip_pos == g.clip_neg;
    const vi thr_p(static_cast<std::int32_t>(g.clip_pos)), thr_n(static_cast<std::int32_t>(g.clip_neg));
    const float* src = c.in + g.begin;
    float* dst = c.out + g.begin;
    const std::uint64_t idx0 = c.index_base + g.begin;

    auto body = [&](auto uniform, vf x, std::size_t i, std::size_t count, float* d) FMTSIM_INLINE_LAMBDA {
      constexpr bool U = decltype(uniform)::value;
      const vi u = xsimd::bitwise_cast<vi>(x);
      const vi mag = u & abs_mask;
      const vb nonzero = mag != zero;
      vb fb;
      vi r;
      if constexpr (Direct) {
        r = quantize_batch<A, Mode, Table, false, U>(p, x, vf(0.0f), idx0 + i, fb, hint, rs);
      } else {
        const vb in_ok = mag >= in_lo;
        const vi y = xsimd::select(in_ok, u - shift_bits,
                                   u & vi(static_cast<std::int32_t>(0x80000000u)));  // zeros keep their sign
        r = quantize_batch<A, Mode, Table, false, U>(p, xsimd::bitwise_cast<vf>(y), vf(0.0f), idx0 + i, fb, hint, rs);
        const vi rmag = r & abs_mask;
        const vb r_low = rmag < out_lo;
        r = xsimd::select(!r_low & (rmag < inf_bits), r + shift_bits, r);
        fb = fb | (nonzero & !in_ok) | (r_low & (rmag != zero));
      }
      if (xsimd::any(fb)) [[unlikely]] {
        alignas(64) std::int32_t rb[N];
        alignas(64) std::int32_t fl[N];
        alignas(64) float xs[N];
        r.store_aligned(rb);
        xsimd::select(fb, one, zero).store_aligned(fl);
        x.store_aligned(xs);
        for (std::size_t j = 0; j < count; ++j) {
          if (fl[j] == 0) continue;
          rb[j] = std::bit_cast<std::int32_t>(Direct ? scalar_reference_f32(*c.params, xs[j], idx0 + i + j, 0.0f)
                                                     : scalar_reference_scaled_f32(*c.params, s, xs[j], idx0 + i + j));
        }
        r = vi::load_aligned(rb);
      }
      const vi thr = symmetric ? thr_p : xsimd::select(u < zero, thr_n, thr_p);
      if constexpr (Direct) {
        clipped_v += xsimd::select(mag > thr, one, zero);
        flushed_v += xsimd::select(nonzero & ((r & abs_mask) == zero), one, zero);
        if (++batches == (std::uint64_t{1} << 30)) flush_counts();
      } else {
        clipped += ops::count(mag > thr);
        flushed += ops::count(nonzero & ((r & abs_mask) == zero));
      }
      const vf out = xsimd::bitwise_cast<vf>(r);
      if (count == N) {
        out.store_unaligned(d);
      } else {
        alignas(64) float tmp[N];
        out.store_aligned(tmp);
        std::memcpy(d, tmp, count * sizeof(float));
      }
    };

    const std::size_t n = g.len;
    std::size_t i = 0;
    // count < N elements from i, through a zero-padded buffer (zeros are never clipped, never flushed)
    auto part = [&](std::size_t at, std::size_t count) {
      alignas(64) float buf[N] = {};
      std::memcpy(buf, src + at, count * sizeof(float));
      body(std::false_type{}, vf::load_aligned(buf), at, count, dst + at);
    };
    if constexpr (Direct && Mode != rounding::hys) {
      // the sweeps, each with the statistics in registers: profile_sweep for the profiles (sr where profile_sr_serves);
      // for the element formats with one clip threshold for both signs, unit_sweep where it serves (unless
      // element_sweep's uniform case is the cheaper one, as in the element kernel), else element_sweep for the signed
      // float-like formats
      bool sweeps = false, units = false;
      if constexpr (Table) {
        sweeps = (Mode != rounding::sr || profile_sr_serves(p)) && profile_sweep_serves(p, g);
      } else {
        const bool elements = element_sweep_serves(p);
        units = symmetric && unit_sweep_serves<Mode>(p) &&
                !(elements && p.fast_uniform && !p.fast_fixed && uniform_first<Mode>(p));
        sweeps = units || (symmetric && elements);
      }
      if (sweeps) {
        // non-temporal stores need batches aligned to their size: the elements before go through body
        const std::uintptr_t addr = reinterpret_cast<std::uintptr_t>(dst);
        const bool stream = c.stream && addr % sizeof(float) == 0;
        if (stream) {
          const std::size_t head =
              std::min(n, ((N * sizeof(float) - addr % (N * sizeof(float))) % (N * sizeof(float))) / sizeof(float));
          if (head > 0) part(0, head);
          i = head;
          streamed = true;
        }
        std::size_t failed[64];
        for (bool pays = true; pays && i + N <= n;) {
          std::size_t nfailed = 0;
          const std::size_t from = i;
          // at most 2^30 batches a call, so that the per-lane counts stay below 2^31
          const std::size_t end = n - i > (std::size_t{N} << 30) ? i + (std::size_t{N} << 30) : n;
          if constexpr (Table) {
            vi cv(0), fv(0);
            const std::int32_t thr = static_cast<std::int32_t>(g.clip_pos);
            with_flag(stream, [&](auto st) {
              with_flag(c.count, [&](auto ct) {
                auto sweep = [&](auto unit) {
                  i = profile_sweep<A, Mode, st(), ct(), unit()>(p, src, dst, i, end, thr, failed, nfailed, 64, cv, fv,
                                                                 c.prefetch_ahead, idx0, rs);
                };
                if constexpr (Mode == rounding::sr) {
                  sweep(std::true_type{});  // profile_sr_serves: unit_profile
                } else if constexpr (unit_mode<Mode>) {
                  with_flag(p.unit_profile, sweep);
                } else {
                  sweep(std::false_type{});
                }
              });
            });
            clipped += ops::hsum(cv);
            flushed += ops::hsum(fv);
          } else if (units) {
            sweep_counts<A> sc{thr_p, zero, zero};
            with_flag(c.count, [&](auto ct) {
              unit_sweep_for<A, Mode, ct()>(p, stream, src, dst, i, end, failed, nfailed, 64, idx0, rs, &sc,
                                            c.prefetch_ahead);
            });
            clipped += ops::hsum(sc.clipped);
            flushed += ops::hsum(sc.flushed);
          } else {
            sweep_counts<A> sc{thr_p, zero, zero};
            const bool uniform = p.fast_uniform && hint.credit > 0;
            with_flag(p.has_negative_zero, [&](auto negative_zero) {
              with_flag(sweep_below(p), [&](auto below) {
                constexpr bool NZ = decltype(negative_zero)::value, B = decltype(below)::value;
                with_flag(c.count, [&](auto ct) {
                  constexpr bool C = decltype(ct)::value;
                  if (uniform) {
                    i = element_sweep<A, Mode, true, NZ, B, C>(p, src, dst, i, end, failed, nfailed, 64, hint, idx0, rs,
                                                               stream, &sc, c.prefetch_ahead);
                  } else {
                    i = element_sweep<A, Mode, false, NZ, B, C>(p, src, dst, i, end, failed, nfailed, 64, hint, idx0,
                                                                rs, stream, &sc, c.prefetch_ahead);
                  }
                });
              });
            });
            clipped += ops::hsum(sc.clipped);
            flushed += ops::hsum(sc.flushed);
          }
          for (std::size_t j = 0; j < nfailed; ++j)
            body(std::false_type{}, vf::load_unaligned(src + failed[j]), failed[j], N, dst + failed[j]);
          // a uniform sweep that ran out of credit paid; the next round runs without the uniform case
          pays = sweep_pays(nfailed, N, from, i);
        }
      }
    }
    // the uniform case while it pays (fast_hint), then the loop without it
    if (p.fast_uniform) {
      for (; i + N <= n && hint.credit > 0; i += N) body(std::true_type{}, vf::load_unaligned(src + i), i, N, dst + i);
    }
    for (; i + N <= n; i += N) body(std::false_type{}, vf::load_unaligned(src + i), i, N, dst + i);
    if (i < n) part(i, n - i);
  }
  if (streamed) ops::stream_fence();
  flush_counts();
  c.clipped += clipped;
  c.flushed_to_zero += flushed;
}

// How the block mode rounds a block's lanes (block_sweep).
enum class block_rule {
  lanes,     // element_sweep's branches: the uniform case while it pays, else the per-lane shift (every mode but hys)
  fixed,     // integer and fixed-point grids (simd_params::fast_fixed at the block's scale, not sr): every lane zero or
             // normal below uni_lo, rounded in the float unit at the one quantum, limits per sign
  unit,      // simd_params::unit with a quantum per lane (minifloats; rne, rna, rtz, sr), one limit for both signs
  unit_one,  // simd_params::unit with one quantum (integer and fixed-point grids; rne, rna, rtz, sr), limits per sign
};

// Whether the block mode rounds blocks of the format at p (at scale 0; then at each block's scale) in the float unit
// (block_rule::unit, unit_one): the deterministic modes whose result is 0 below half the quantum, where float32
// subnormal inputs and scalings that underflow give 0 whatever DAZ / FTZ say, and sr where unit_sr_serves.
template <rounding Mode>
bool block_unit_serves(const simd_params& p) {
  if (!p.unit || p.fast_guards ||
      !(p.unit_m_bits == 255 * (1 << 23) || (p.limit_neg == p.limit_pos && p.big_neg == p.big_pos)))
    return false;
  if constexpr (Mode == rounding::sr) return unit_sr_serves(p);
  return unit_mode<Mode>;
}

// The scaled kernel's block mode (scaled_f32_kernel::quantize_blocks: MX and other small groups of K batches,
// contiguous, float-like elements): per block the amax from the K batches in registers, the block's scale from the
// caller's plan for the amax's exponent field (asked once per field and call), then the block's lanes rounded by Rule
// with the params at that scale - Q_{f,s}(x) computed directly, no exponent moves and no fallback lanes - the
// statistics in per-lane registers, and the K results stored only when every lane of the block qualified (so a
// block left to the caller is untouched, also in place). NegativeZero / Below: the format's, at every scale.
// Rule unit / unit_one: every lane of a block qualifies once its amax field does (2^qe and 2^-qe normal for the
// lanes' quanta 2^qe, the largest being that of the amax; the lowest at least 2^-125); under exact sr a block with a
// lane whose first random word equals its threshold's (unit_sr_split) is left to the caller.
template <class A, rounding Mode, bool NegativeZero, bool Below, std::size_t K, block_rule Rule>
[[gnu::noinline]] void block_sweep(scaled_call& c) {
  using ops = simd_ops<A>;
  using vi = typename ops::vi;
  using vf = typename ops::vf;
  using vb = typename ops::vb;
  constexpr std::size_t N = ops::size;
  constexpr std::size_t L = K * N;
  constexpr bool Fixed = Rule == block_rule::fixed;
  constexpr bool Unit = Rule == block_rule::unit || Rule == block_rule::unit_one;
  // Unit under rne and rtz on AVX-512: n 2^qe as (|x| + c) - c with c = 2^(qe + 23) (simd_ops::snap), two operations
  // for the four of the products and the rounding instruction
  constexpr bool Snap = Unit && ops::is_avx512 && (Mode == rounding::rne || Mode == rounding::rtz);
  block_job& job = *c.blocks;
  const simd_params& p0 = *c.params;
  const vi zero(0), one(1), abs_mask(0x7fffffff);
  const int sh = p0.shift_high;  // the uniform case's shift (the same at every scale)
  const int sr_bits = p0.mode.sr_bits;
  // Unit under sr (unit_sr_split, unit_sr_round; sr_bits <= 32 there: block_unit_serves)
  const unit_sr_consts<A> usr(p0);
  const vi one_s_u(std::int32_t{1} << (sh > 0 && sh < 31 ? sh : 0));
  const vi mask_u = one_s_u - one;
  const vi unit_m(p0.unit_m_bits), snap_m((23 << 23) - p0.unit_m_bits);
  // Unit: the overflow value is the limit at every scale (the format's saturation does not depend on the scale)
  const bool sat = fast_to_max<Mode>(p0);
  // the plan per exponent field of the amax: params at the blocks' scale (null: not taken)
  struct entry {
    const simd_params* p;
    std::int32_t s;
    std::int32_t clip_pos, clip_neg;
    std::int32_t uni_lo, uni_span;  // the uniform case at that scale (uni_span 0: none); Fixed: its range
    // Unit: the field of the lowest quantum 2^q (bits), 2^-q, the limits and overflow values per sign; Snap: 2^(q+23)
    std::int32_t unit_low, unit_inv, limit_pos, limit_neg, over_pos, over_neg, unit_snap;
  };
  entry memo[256];
  // the fields asked (bit field % 32 of word field / 32), and 0 and 255, which are never asked
  std::uint32_t known[8] = {1, 0, 0, 0, 0, 0, 0, 0x80000000u};
  // Unit: the fields whose plan takes a block (as known) and their scale_exp (set for those only: only those are read)
  std::uint32_t usable[8] = {};
  alignas(64) std::int32_t scale_of[256];
  auto learn = [&](std::uint32_t field) {
    const block_scale b = job.resolve(job.ctx, field);
    const simd_params* p = b.params;
    if (p && !(p->mode == p0.mode && p->seed == p0.seed)) p = nullptr;
    if constexpr (Fixed) {
      if (p && !fixed_sweep_serves(*p)) p = nullptr;
    } else if constexpr (Unit) {
      if (p && !(block_unit_serves<Mode>(*p) && p->unit_m_bits == p0.unit_m_bits &&
                 p->has_negative_zero == NegativeZero && (Rule == block_rule::unit_one || b.clip_pos == b.clip_neg)))
        p = nullptr;
      // the quanta's fields, from that of the lowest to that of the amax's, within [2, 253]
      if (p && !unit_quanta_normal(p->unit_low_bits,
                                   std::max(static_cast<std::int32_t>(field << 23) - p0.unit_m_bits, p->unit_low_bits)))
        p = nullptr;
      // Snap: every lane below its c = 2^(qe + 23) (the quanta's significands have at most 22 bits; unit_one: the
      // amax below 2^(q + 23)), and the greatest c, that of the amax's quantum, finite
      if (Snap && p) {
        const std::int32_t low = p->unit_low_bits >> 23, m = p0.unit_m_bits >> 23;
        const std::int32_t amax = static_cast<std::int32_t>(field);
        if (Rule == block_rule::unit ? !(m <= 22 && std::max(amax - m, low) + 23 <= 254)
                                     : !(amax + 1 <= low + 23 && low + 23 <= 254))
          p = nullptr;
      }
    } else {
      if (p && !(element_sweep_serves(*p) && sweep_below(*p) == Below && p->has_negative_zero == NegativeZero &&
                 b.clip_pos == b.clip_neg))
        p = nullptr;
    }
    const bool uniform = !Unit && p && p->fast_uniform && (Fixed || p->shift_high == p0.shift_high);
    entry e{p,
            b.scale_exp,
            static_cast<std::int32_t>(b.clip_pos),
            static_cast<std::int32_t>(b.clip_neg),
            uniform ? p->uni_lo : 0,
            uniform ? p->uni_span : 0,
            0,
            0,
            0,
            0,
            0,
            0,
            0};
    if (Unit && p) {
      e.unit_low = p->unit_low_bits;
      e.unit_inv = unit_inverse(p->unit_low_bits);
      e.limit_pos = p->limit_pos;
      e.limit_neg = p->limit_neg;
      e.over_pos = fast_to_max<Mode>(*p) ? p->limit_pos : p->big_pos;
      e.over_neg = fast_to_max<Mode>(*p) ? p->limit_neg : p->big_neg;
      e.unit_snap = p->unit_low_bits + (23 << 23);
    }
    memo[field] = e;
    known[field / 32] |= 1u << (field % 32);
    if (p) {
      usable[field / 32] |= 1u << (field % 32);
      scale_of[field] = b.scale_exp;
    }
  };
  const bool stream = c.stream && reinterpret_cast<std::uintptr_t>(c.out + job.first) % (N * sizeof(float)) == 0;
  // sr: the first random words of a chunk of N blocks, filled before its blocks are rounded (groups of 64 elements
  // from that of the chunk's first; the blocks read them with no call: with sr_stream's refills in the block loop, its
  // vectors lived on the stack, and mxfp8_e4m3 sr took 2.7x the cycles of e4m3fn sr in cache)
  constexpr std::size_t G = sr_stream<A>::G;
  constexpr std::size_t sr_groups = Mode == rounding::sr ? ((N * L + 63) / 64 + 1 + G - 1) / G * G : 0;
  alignas(64) std::uint32_t sr_buf[sr_groups == 0 ? 1 : 64 * sr_groups];
  std::uint64_t sr_from = 0;  // the element index of sr_buf[0]
  auto words = [&](std::uint64_t index) FMTSIM_INLINE_LAMBDA {
    return vi::load_unaligned(reinterpret_cast<const std::int32_t*>(sr_buf + (index - sr_from)));
  };
  fast_hint hint;
  if (!p0.fast_uniform) hint.credit = 0;
  vi cv(0), fv(0);
  std::size_t since_flush = 0, taken = 0;
  std::int32_t smin = INT32_MAX, smax = INT32_MIN;
  vi smin_v(INT32_MAX), smax_v(INT32_MIN);
  const float* const in_base = c.in;
  float* const out_base = c.out;
  // block b at the plan en: rounded and stored, or false when a lane is not covered (the block left untouched).
  // Inlined at both uses (out of line, sr measured +8-20%).
  auto block = [&](std::size_t b, const entry& en) FMTSIM_INLINE_LAMBDA {
    const std::size_t at = job.first + b * L;
    vi u[K], mag[K];
    for (std::size_t k = 0; k < K; ++k) {
      u[k] = xsimd::bitwise_cast<vi>(vf::load_unaligned(in_base + at + k * N));
      mag[k] = u[k] & abs_mask;
    }
    const vi thr(en.clip_pos);
    // whether pred(mag) holds in every lane of the block
    auto every = [&](auto pred) {
      vb all = pred(mag[0]);
      for (std::size_t k = 1; k < K; ++k) all = all & pred(mag[k]);
      return xsimd::all(all);
    };
    auto put = [&](std::size_t k, vi r) {
      if (stream) {
        ops::stream(out_base + at + k * N, xsimd::bitwise_cast<vf>(r));
      } else {
        xsimd::bitwise_cast<vf>(r).store_unaligned(out_base + at + k * N);
      }
    };
    if constexpr (Unit) {
      // n = round(|x| 2^-qe) at the lane's quantum 2^qe = 2^max(e - unit_m, q) (unit_one: 2^q), result n 2^qe
      const vi low(en.unit_low), limit(en.limit_pos), overflow(en.over_pos);
      auto quantum = [&](vi m) {
        return Rule == block_rule::unit ? xsimd::max((m & vi(0x7f800000)) - unit_m, low) : low;
      };
      auto inverse = [&](vi qb) { return Rule == block_rule::unit ? unit_inverse(qb) : vi(en.unit_inv); };
      // lanes k rounded to the magnitude res: overflow, sign, statistics, stored
      auto finish = [&](std::size_t k, vb neg, vi res) FMTSIM_INLINE_LAMBDA {
        const vi lim = Rule == block_rule::unit_one ? xsimd::select(neg, vi(en.limit_neg), limit) : limit;
        // a saturating format's overflow value is its limit: one min (res >= 0 and limits < 2^31 as integers)
        const vi r = sat ? fast_sign<A>(u[k], xsimd::min(res, lim), NegativeZero)
                         : sweep_finish<A, Mode, NegativeZero>(
                               u[k], neg, res, lim,
                               Rule == block_rule::unit_one ? xsimd::select(neg, vi(en.over_neg), overflow) : overflow);
        cv = ops::inc(cv, mag[k] > (Rule == block_rule::unit_one ? xsimd::select(neg, vi(en.clip_neg), thr) : thr));
        fv = ops::inc(fv, (mag[k] != zero) & (res == zero));  // res = n 2^qe is +0 iff n is; limits > 0
        put(k, r);
      };
      if constexpr (Mode == rounding::sr) {
        // every lane's result first: a block with a flagged lane is left untouched
        vi res[K];
        vb fail = ops::splat(false);
        for (std::size_t k = 0; k < K; ++k) {
          const vi qb = quantum(mag[k]);
          const unit_sr_parts<A> sp = unit_sr_split<A>(mag[k], inverse(qb), usr.two_r);
          const vi w0 = words(c.index_base + at + k * N);
          fail = fail | (w0 == sp.t0);  // used under exact sr only (the OR measured faster than a select on it)
          res[k] = unit_sr_round<A>(sp, w0, usr.up, qb);
        }
        if (usr.exact && xsimd::any(fail)) [[unlikely]]
          return false;
        for (std::size_t k = 0; k < K; ++k) finish(k, u[k] < zero, res[k]);
      } else {
        for (std::size_t k = 0; k < K; ++k) {
          const vb neg = u[k] < zero;
          vi res;
          if constexpr (Snap) {
#if XSIMD_WITH_AVX512F
            // c = 2^(qe + 23) = 2^max(e - unit_m + 23, q + 23)
            const vi snap_c(en.unit_snap);
            const vi cb = Rule == block_rule::unit ? xsimd::max((mag[k] & vi(0x7f800000)) + snap_m, snap_c) : snap_c;
            res = xsimd::bitwise_cast<vi>(ops::template snap<Mode == rounding::rtz>(xsimd::bitwise_cast<vf>(mag[k]),
                                                                                    xsimd::bitwise_cast<vf>(cb)));
#endif
          } else {
            const vi qb = quantum(mag[k]);
            res = unit_quantize<A, Mode>(mag[k], qb, inverse(qb), neg);
          }
          finish(k, neg, res);
        }
      }
    } else if constexpr (Fixed) {
      // every lane zero or a normal float32 magnitude below uni_lo: one quantum
      const vi span(en.uni_lo - (1 << 23));
      if (!every([&](vi x) { return ops::ult(x - vi(1 << 23), span) | (x == zero); })) return false;
      const vi thr_neg(en.clip_neg);
      for (std::size_t k = 0; k < K; ++k) {
        const vb neg = u[k] < zero;
        const vi r = fast_finish<A, Mode>(*en.p, u[k], neg, fast_fixed_round<A, Mode>(*en.p, mag[k], neg));
        cv = ops::inc(cv, mag[k] > xsimd::select(neg, thr_neg, thr));
        fv = ops::inc(fv, (mag[k] != zero) & ((r & abs_mask) == zero));
        put(k, r);
      }
    } else {
      // the uniform case while it pays (fast_hint): every lane in the format's normal range at the block's scale (or
      // zero), the one shift shift_high for every scale; a nonzero lane there never rounds to zero
      const vi uni_lo(en.uni_lo), uni_span(en.uni_span);
      if (hint.credit > 0 && hint.note(every([&](vi x) { return ops::ult(x - uni_lo, uni_span) | (x == zero); }))) {
        const vi limit(en.p->limit_pos);
        const vi overflow = sweep_overflow<A, Mode>(*en.p);
        for (std::size_t k = 0; k < K; ++k) {
          auto words_k = [&]() { return words(c.index_base + at + k * N); };
          cv = ops::inc(cv, mag[k] > thr);
          put(k, sweep_uniform_lanes<A, Mode, NegativeZero>(sr_bits, sh, one_s_u, mask_u, limit, overflow, u[k], mag[k],
                                                            u[k] < zero, words_k));
        }
      } else {
        const sweep_consts<A, Mode> kc(*en.p);
        if (!every([&](vi x) { return sweep_lane_ok<A, Mode, Below>(kc, x); })) [[unlikely]]
          return false;
        vi r[K];
        vb fail = ops::splat(false);
        for (std::size_t k = 0; k < K; ++k) {
          auto words_k = [&]() { return words(c.index_base + at + k * N); };
          r[k] = sweep_lanes<A, Mode, NegativeZero, Below>(kc, u[k], mag[k], u[k] < zero, words_k, fail);
        }
        if (Mode == rounding::sr && Below && xsimd::any(fail)) [[unlikely]]
          return false;
        for (std::size_t k = 0; k < K; ++k) {
          cv = ops::inc(cv, mag[k] > thr);
          fv = ops::inc(fv, (mag[k] != zero) & ((r[k] & abs_mask) == zero));
          put(k, r[k]);
        }
      }
    }
    return true;
  };
  // the statistics' per-lane registers are emptied before they could reach 2^31 (at most K a block)
  auto blocks_done = [&](std::size_t n) {
    since_flush += n;
    if (since_flush >= (std::size_t{1} << 26)) {
      c.clipped += ops::hsum(cv);
      c.flushed_to_zero += ops::hsum(fv);
      cv = fv = zero;
      since_flush = 0;
    }
  };
  // N blocks at a time: first their amaxes (reduced together, ops::hmax_each) and the plan for any new field, then
  // their rounding, with no call and no wait on a block's own reduction. The next N blocks' lanes are read (for their
  // amaxes) while these are rounded, block by block, so that the reads are spread over the loop as in a copy; a block
  // is in L1 when it is rounded.
  vi ms[N];
  auto amax_of = [&](std::size_t b) {
    // and the lines 64 KiB further on, into L2 (prefetcht1; prefetches never fault): the loop alone keeps too few
    // reads in flight to stream at the rate of a copy. 2^24 elements, one thread, G elem/s (medians of 3 runs on
    // 2026-12-07's Intel host): mxfp8_e4m3 rne 0.95 without, 1.21 with this, 0.75 with prefetchnta 8 KiB ahead (the
    // earlier choice, which the Zen 4 host had measured at 0.62-0.64x copy against 0.59-0.60x without; this choice is
    // not measured there); two threads 1.48 -> 2.45 against prefetchnta. 16 KiB ahead and prefetcht0 measured within
    // the spread of this.
    const std::uintptr_t ahead =
        reinterpret_cast<std::uintptr_t>(in_base) + (job.first + b * L) * sizeof(float) + 65536;
    for (std::size_t q = 0; q < L * sizeof(float); q += 64)
      __builtin_prefetch(reinterpret_cast<const void*>(ahead + q), 0, 2);
    vi m = zero;
    if (b < job.count) {
      for (std::size_t k = 0; k < K; ++k)
        m = xsimd::max(m, xsimd::bitwise_cast<vi>(vf::load_unaligned(in_base + job.first + b * L + k * N)) & abs_mask);
    }
    return m;
  };
  for (std::size_t j = 0; j < N; ++j) ms[j] = amax_of(j);
  for (std::size_t b0 = 0; b0 < job.count; b0 += N) {
    const std::size_t g = std::min(N, job.count - b0);
    alignas(64) std::int32_t amax[N];
    ops::hmax_each(ms, amax);
    if constexpr (Mode == rounding::sr) {
      // the groups of the elements from the chunk's first to its last, in multiples of G
      const std::uint64_t i0 = c.index_base + job.first + b0 * L;
      const std::size_t groups = (static_cast<std::size_t>(i0 & 63u) + g * L + 63) / 64;
      sr_stream<A>::fill_groups(p0.seed, i0 >> 6, (groups + G - 1) / G * G, sr_buf);
      sr_from = i0 & ~std::uint64_t{63};
    }
    const vi fields = vi::load_aligned(amax) >> 23;  // amaxes are >= 0: the arithmetic shift is the field
    // (the padding's amax 0 has field 0, which counts as known)
    if (!ops::all_in(fields, known)) {
      for (std::size_t j = 0; j < g; ++j) {
        const std::uint32_t field = static_cast<std::uint32_t>(amax[j]) >> 23;
        if (!(known[field / 32] >> (field % 32) & 1)) learn(field);
      }
    }
    if constexpr (Unit) {
      // every block of the chunk taken (the unit rules take every block whose field the plan takes, but for exact sr's
      // flagged lanes): the scales and their range in registers
      if (g == N && ops::all_in(fields, usable)) {
        const vi sv = ops::gather(scale_of, fields);
        smin_v = xsimd::min(smin_v, sv);
        smax_v = xsimd::max(smax_v, sv);
        alignas(64) std::int32_t sc[N];
        sv.store_aligned(sc);
        std::int32_t* so = job.scale_out + b0 * job.scale_stride;
        for (std::size_t j = 0; j < N; ++j) so[j * job.scale_stride] = sc[j];
        std::size_t left = 0;
        for (std::size_t j = 0; j < N; ++j) {
          ms[j] = amax_of(b0 + N + j);
          if (!block(b0 + j, memo[static_cast<std::uint32_t>(amax[j]) >> 23])) [[unlikely]] {
            // exact sr left it to the caller (its scale is the one recorded in the range: it depends on the amax only)
            so[j * job.scale_stride] = scaled_f32_kernel::no_block_scale;
            ++left;
          }
        }
        taken += N - left;
        blocks_done(N);
        continue;
      }
    }
    for (std::size_t j = 0; j < N; ++j) ms[j] = amax_of(b0 + N + j);
    for (std::size_t j = 0; j < g; ++j) {
      const std::size_t b = b0 + j;
      std::int32_t& scale_out = job.scale_out[b * job.scale_stride];
      const std::uint32_t field = static_cast<std::uint32_t>(amax[j]) >> 23;
      // zero or subnormal amax (0), or a NaN / inf in the block (255)
      if (field - 1 >= 254 || !memo[field].p || !block(b, memo[field])) {
        scale_out = scaled_f32_kernel::no_block_scale;
        continue;
      }
      const entry& en = memo[field];
      scale_out = en.s;
      ++taken;
      smin = std::min(smin, en.s);
      smax = std::max(smax, en.s);
      blocks_done(1);
    }
  }
  if (stream) ops::stream_fence();
  c.clipped += ops::hsum(cv);
  c.flushed_to_zero += ops::hsum(fv);
  job.taken = taken;
  alignas(64) std::int32_t lo[N], hi[N];
  smin_v.store_aligned(lo);
  smax_v.store_aligned(hi);
  for (std::size_t j = 0; j < N; ++j) {
    smin = std::min(smin, lo[j]);
    smax = std::max(smax, hi[j]);
  }
  job.scale_min = smin;
  job.scale_max = smax;
}

template <class A, rounding Mode>
void block_mode(scaled_call& c) {
  constexpr std::size_t N = simd_ops<A>::size;
  const simd_params& p = *c.params;
  const std::size_t len = c.blocks->len;
  auto run = [&](auto negative_zero, auto below, auto rule) {
    constexpr bool Z = decltype(negative_zero)::value, B = decltype(below)::value;
    constexpr block_rule R = decltype(rule)::value;
    switch (len / N) {
      case 1:
        return block_sweep<A, Mode, Z, B, 1, R>(c);
      case 2:
        return block_sweep<A, Mode, Z, B, 2, R>(c);
      case 4:
        return block_sweep<A, Mode, Z, B, 4, R>(c);
      default:
        return block_sweep<A, Mode, Z, B, 8, R>(c);
    }
  };
  using lanes = std::integral_constant<block_rule, block_rule::lanes>;
  if constexpr (unit_mode<Mode> || Mode == rounding::sr) {
    if (block_unit_serves<Mode>(p)) {
      return with_flag(p.has_negative_zero, [&](auto negative_zero) {
        if (p.unit_m_bits == 255 * (1 << 23)) {
          run(negative_zero, std::false_type{}, std::integral_constant<block_rule, block_rule::unit_one>{});
        } else {
          run(negative_zero, std::false_type{}, std::integral_constant<block_rule, block_rule::unit>{});
        }
      });
    }
  }
  if constexpr (Mode != rounding::sr) {
    if (fixed_sweep_serves(p))
      return run(std::false_type{}, std::false_type{}, std::integral_constant<block_rule, block_rule::fixed>{});
  }
  with_flag(p.has_negative_zero, [&](auto negative_zero) {
    with_flag(sweep_below(p), [&](auto below) { run(negative_zero, below, lanes{}); });
  });
}

template <class A, rounding Mode, bool Table>
void scaled_direct(scaled_call& c) {
  if (c.direct)
    scaled_run<A, Mode, Table, true>(c);
  else
    scaled_run<A, Mode, Table, false>(c);
}

// The scaled kernel's modes: every one but hys (scaled_f32_kernel does not offer it: it needs the previous output).
template <class A>
void scaled_blocks(scaled_call& c) {
  with_mode(c.params->mode.kind, [&](auto m) {
    if constexpr (m() != rounding::hys) block_mode<A, m()>(c);
  });
}

template <class A, bool Table>
void scaled_mode(scaled_call& c) {
  with_mode(c.params->mode.kind, [&](auto m) {
    if constexpr (m() != rounding::hys) scaled_direct<A, m(), Table>(c);
  });
}

template <class A>
void scaled_quantize_f32(scaled_call& c) {
  if (c.blocks) {
    scaled_blocks<A>(c);
  } else if (c.params->table) {
    scaled_mode<A, true>(c);
  } else {
    scaled_mode<A, false>(c);
  }
}

}  // namespace fmtsim::kernels::detail

#undef FMTSIM_INLINE_LAMBDA
