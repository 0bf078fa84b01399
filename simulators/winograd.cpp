// SPDX-License-Identifier: MIT
// Winograd F(2x2, 3x3) convolution: input tiles V = B^T d B, kernels U = G g G^T, products
// M = U V as one SGEMM per tile position, outputs Y = A^T M A.
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
//   G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
//   A^T = [1 1 1 0; 0 1 -1 -1]
#include "winograd.hpp"

#include "blas.hpp"
#include "fmtsim/sim/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
// F(4x4)'s transforms also for AVX (GCC's target pragma; clang and other ISAs keep the SSE or plain versions)
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FMTSIM_WINOGRAD_AVX 1
#include <immintrin.h>
#else
#define FMTSIM_WINOGRAD_AVX 0
#endif

namespace fmtsim::sim::detail {
namespace {

thread_local std::vector<float> tl_v, tl_m, tl_pad;

// Four floats: SSE where the baseline ISA has it, else a plain array the compiler vectorises. Only the
// operations the transforms use; both forms compute the same float operations in the same order.
#if defined(__SSE2__)
struct vec4 {
  __m128 v;
  static vec4 load(const float* p) { return {_mm_loadu_ps(p)}; }
  void store(float* p) const { _mm_storeu_ps(p, v); }
  friend vec4 operator+(vec4 a, vec4 b) { return {_mm_add_ps(a.v, b.v)}; }
  friend vec4 operator-(vec4 a, vec4 b) { return {_mm_sub_ps(a.v, b.v)}; }
  static vec4 splat(float x) { return {_mm_set1_ps(x)}; }
  // lanes 0, 2 of a then 0, 2 of b (even), and lanes 1, 3 of each (odd)
  static vec4 even(vec4 a, vec4 b) { return {_mm_shuffle_ps(a.v, b.v, _MM_SHUFFLE(2, 0, 2, 0))}; }
  static vec4 odd(vec4 a, vec4 b) { return {_mm_shuffle_ps(a.v, b.v, _MM_SHUFFLE(3, 1, 3, 1))}; }
  // a0 b0 a1 b1 and a2 b2 a3 b3
  static vec4 zip_lo(vec4 a, vec4 b) { return {_mm_unpacklo_ps(a.v, b.v)}; }
  static vec4 zip_hi(vec4 a, vec4 b) { return {_mm_unpackhi_ps(a.v, b.v)}; }
  // lanes 0, 1 of a then 0, 1 of b, and lanes 2, 3 of a then 2, 3 of b
  static vec4 low_halves(vec4 a, vec4 b) { return {_mm_movelh_ps(a.v, b.v)}; }
  static vec4 high_halves(vec4 a, vec4 b) { return {_mm_movehl_ps(b.v, a.v)}; }
  friend vec4 operator*(vec4 a, float k) { return {_mm_mul_ps(a.v, _mm_set1_ps(k))}; }
};
#else
struct vec4 {
  float v[4];
  static vec4 load(const float* p) { return {{p[0], p[1], p[2], p[3]}}; }
  void store(float* p) const { std::memcpy(p, v, sizeof v); }
  friend vec4 operator+(vec4 a, vec4 b) {
    return {{a.v[0] + b.v[0], a.v[1] + b.v[1], a.v[2] + b.v[2], a.v[3] + b.v[3]}};
  }
  friend vec4 operator-(vec4 a, vec4 b) {
    return {{a.v[0] - b.v[0], a.v[1] - b.v[1], a.v[2] - b.v[2], a.v[3] - b.v[3]}};
  }
  static vec4 splat(float x) { return {{x, x, x, x}}; }
  static vec4 even(vec4 a, vec4 b) { return {{a.v[0], a.v[2], b.v[0], b.v[2]}}; }
  static vec4 odd(vec4 a, vec4 b) { return {{a.v[1], a.v[3], b.v[1], b.v[3]}}; }
  static vec4 zip_lo(vec4 a, vec4 b) { return {{a.v[0], b.v[0], a.v[1], b.v[1]}}; }
  static vec4 zip_hi(vec4 a, vec4 b) { return {{a.v[2], b.v[2], a.v[3], b.v[3]}}; }
  static vec4 low_halves(vec4 a, vec4 b) { return {{a.v[0], a.v[1], b.v[0], b.v[1]}}; }
  static vec4 high_halves(vec4 a, vec4 b) { return {{a.v[2], a.v[3], b.v[2], b.v[3]}}; }
  friend vec4 operator*(vec4 a, float k) { return {{a.v[0] * k, a.v[1] * k, a.v[2] * k, a.v[3] * k}}; }
};
#endif

// Tiles are handled four at a time along a tile row: a row of tw tiles takes ceil(tw / 4) steps, and the
// lanes past tw are junk. Junk is only ever stored where a later store of correct values lands (the next
// tile row, the next block in memory order, the plane's next output rows) or into padding; an output store
// that would reach past its plane is cut to the row's end.
std::int64_t round4(std::int64_t n) { return (n + 3) / 4 * 4; }

// The padded plane: row r (0 .. m th + 1) is input row r - 1, column j (0 .. pw - 1) input column j - 1,
// zero outside the input, for output tiles of m x m (m = 2 or 4). pw = m round4(tw) + m covers the widest step's
// reads. The buffer is zeroed once per task; each plane then only copies its rows in.
std::int64_t pad_width(std::int64_t tw, int m) { return m * round4(tw) + m; }
// Rows are copied inline, four floats at a time: they are short (7-32 floats in the models here), and a memcpy
// call per row cost about as much as the input transform (measured: 4% of an errors evaluation in memmove).
void fill_pad(const float* plane, std::int64_t h, std::int64_t w, std::int64_t pw, float* pad) {
  for (std::int64_t ih = 0; ih < h; ++ih) {
    const float* src = plane + ih * w;
    float* dst = pad + (ih + 1) * pw + 1;
    std::int64_t j = 0;
    for (; j + 4 <= w; j += 4) vec4::load(src + j).store(dst + j);
    for (; j < w; ++j) dst[j] = src[j];
  }
}

// B^T d B of every tile of a padded plane. Tile (ti, tj) is the 4x4 patch at padded rows 2 ti .. 2 ti + 3 and
// columns 2 tj .. 2 tj + 3; per row, the even and odd columns of two loads give the patch's columns 0 and 1
// for four tiles, the same two loads two columns on give columns 2 and 3. B^T combines the rows (0 - 2, 1 + 2,
// 2 - 1, 1 - 3), B the columns the same way; product e = 4 i + j of tile (ti, tj) goes to
// dst[e * estride + ti * tw + tj] (3 floats past th * tw may be overwritten).
void input_tiles(const float* pad, std::int64_t th, std::int64_t tw, float* dst, std::int64_t estride) {
  const std::int64_t pw = pad_width(tw, 2);
  for (std::int64_t ti = 0; ti < th; ++ti) {
    for (std::int64_t tj = 0; tj < tw; tj += 4) {
      vec4 d[4][4];  // d[row][column], four tiles per vector
      for (int r = 0; r < 4; ++r) {
        const float* row = pad + (2 * ti + r) * pw + 2 * tj;
        const vec4 a = vec4::load(row), b = vec4::load(row + 4);
        const vec4 a2 = vec4::load(row + 2), b2 = vec4::load(row + 6);
        d[r][0] = vec4::even(a, b);
        d[r][1] = vec4::odd(a, b);
        d[r][2] = vec4::even(a2, b2);
        d[r][3] = vec4::odd(a2, b2);
      }
      vec4 q[4][4];  // B^T d
      for (int j = 0; j < 4; ++j) {
        q[0][j] = d[0][j] - d[2][j];
        q[1][j] = d[1][j] + d[2][j];
        q[2][j] = d[2][j] - d[1][j];
        q[3][j] = d[1][j] - d[3][j];
      }
      float* o = dst + ti * tw + tj;
      for (int i = 0; i < 4; ++i) {  // (B^T d) B
        (q[i][0] - q[i][2]).store(o + (4 * i + 0) * estride);
        (q[i][1] + q[i][2]).store(o + (4 * i + 1) * estride);
        (q[i][2] - q[i][1]).store(o + (4 * i + 2) * estride);
        (q[i][1] - q[i][3]).store(o + (4 * i + 3) * estride);
      }
    }
  }
}

// n floats of v to p (n <= 4)
inline void store_n(vec4 v, float* p, std::int64_t n) {
  alignas(16) float tmp[4];
  v.store(tmp);
  std::memcpy(p, tmp, static_cast<std::size_t>(n) * sizeof(float));
}

// A^T M A of the tiles of one output plane, straight into it: m points at the plane's first tile in product
// 0 (m[e * estride + ti * tw + tj] is product e of tile (ti, tj); up to 3 floats past the plane's last tile
// are read). A^T takes rows 0 + 1 + 2 (output row 2 ti) and 1 - 2 - 3 (row 2 ti + 1) of every column, A the
// same of the columns; the two output columns of four tiles interleave into 8 floats of the row. Rows and
// columns past h x w (the second half of the last tile of an odd size) are dropped. Rows are written in order.
void output_plane(const float* m, std::int64_t estride, float bias, float* y, std::int64_t h, std::int64_t w,
                  std::int64_t th, std::int64_t tw) {
  const vec4 b = vec4::splat(bias);
  for (std::int64_t ti = 0; ti < th; ++ti) {
    for (int half = 0; half < 2; ++half) {
      const std::int64_t row = 2 * ti + half;
      if (row >= h) break;
      float* out = y + row * w;
      for (std::int64_t tj = 0; tj < tw; tj += 4) {
        const float* t = m + ti * tw + tj;
        vec4 r[4];
        for (int j = 0; j < 4; ++j) {  // column j of A^T M: only the three products the row needs
          const auto mj = [&](int i) { return vec4::load(t + (4 * i + j) * estride); };
          r[j] = half == 0 ? mj(0) + mj(1) + mj(2) : mj(1) - mj(2) - mj(3);
        }
        const vec4 c0 = r[0] + r[1] + r[2] + b;
        const vec4 c1 = r[1] - r[2] - r[3] + b;
        const vec4 lo = vec4::zip_lo(c0, c1), hi = vec4::zip_hi(c0, c1);
        // columns col .. col + 7 of the row; whatever lies past its end up to the plane's end is written later
        const std::int64_t col = 2 * tj, left = w - col, room = (h - row) * w - col;
        if (room >= 8) {
          lo.store(out + col);
          hi.store(out + col + 4);
        } else if (left > 4) {
          lo.store(out + col);
          store_n(hi, out + col + 4, left - 4);
        } else {
          store_n(lo, out + col, left);
        }
      }
    }
  }
}

// F(4x4, 3x3) (Lavin and Gray's matrices):
//   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
//   G   = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
//   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
// The transforms are written once over a vector type V of four tiles of one tile row (vec4) or of two tile
// rows (rows8, AVX: the tile row ti in lanes 0-3 and ti + 1 in lanes 4-7; every shuffle stays inside 128-bit
// halves). Both compute the same float operations per tile in the same order, so the results are identical.
// V::load(p, d) / V::store(p, d): four floats at p (and four at p + d for the second tile row).

// The adapter that makes vec4 look like a one-row V.
struct row4 : vec4 {
  static constexpr int rows = 1, lanes = 4;
  row4() = default;
  row4(vec4 v) : vec4(v) {}
  static row4 load(const float* p, std::int64_t) { return vec4::load(p); }
  void store(float* p, std::int64_t) const { vec4::store(p); }
  // n floats of tile row `half` (0 only) at p
  void store_part(int, float* p, std::int64_t n) const { store_n(*this, p, n); }
  static row4 splat(float x) { return vec4::splat(x); }
  static row4 zip_lo(row4 a, row4 b) { return vec4::zip_lo(a, b); }
  static row4 zip_hi(row4 a, row4 b) { return vec4::zip_hi(a, b); }
  static row4 low_halves(row4 a, row4 b) { return vec4::low_halves(a, b); }
  static row4 high_halves(row4 a, row4 b) { return vec4::high_halves(a, b); }
  friend row4 operator+(row4 a, row4 b) { return static_cast<vec4>(a) + static_cast<vec4>(b); }
  friend row4 operator-(row4 a, row4 b) { return static_cast<vec4>(a) - static_cast<vec4>(b); }
  friend row4 operator*(row4 a, float k) { return static_cast<vec4>(a) * k; }
};

#define FMTSIM_WF4 ::fmtsim::sim::detail
#include "winograd_f4.inc"
#undef FMTSIM_WF4

}  // namespace

#if FMTSIM_WINOGRAD_AVX
// The same transforms for two tile rows per vector, compiled for AVX and used where the CPU has it (about half the
// transform instructions on the 28x28 planes of resnet20's first stage).
#pragma GCC push_options
#pragma GCC target("avx")
namespace avx {
namespace {

struct rows8 {
  static constexpr int rows = 2, lanes = 8;
  __m256 v;
  static rows8 load(const float* p, std::int64_t d) {
    return {_mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(p)), _mm_loadu_ps(p + d), 1)};
  }
  void store(float* p, std::int64_t d) const {  // the first half first (input_tiles4v relies on it)
    _mm_storeu_ps(p, _mm256_castps256_ps128(v));
    _mm_storeu_ps(p + d, _mm256_extractf128_ps(v, 1));
  }
  void store_part(int half, float* p, std::int64_t n) const {
    const __m128 h = half != 0 ? _mm256_extractf128_ps(v, 1) : _mm256_castps256_ps128(v);
    if (n >= 4) {
      _mm_storeu_ps(p, h);
    } else {
      alignas(16) float tmp[4];
      _mm_store_ps(tmp, h);
      std::memcpy(p, tmp, static_cast<std::size_t>(n) * sizeof(float));
    }
  }
  static rows8 splat(float x) { return {_mm256_set1_ps(x)}; }
  // within each 128-bit half, as vec4's
  static rows8 zip_lo(rows8 a, rows8 b) { return {_mm256_unpacklo_ps(a.v, b.v)}; }
  static rows8 zip_hi(rows8 a, rows8 b) { return {_mm256_unpackhi_ps(a.v, b.v)}; }
  static rows8 low_halves(rows8 a, rows8 b) { return {_mm256_shuffle_ps(a.v, b.v, _MM_SHUFFLE(1, 0, 1, 0))}; }
  static rows8 high_halves(rows8 a, rows8 b) { return {_mm256_shuffle_ps(a.v, b.v, _MM_SHUFFLE(3, 2, 3, 2))}; }
};
// (outside the class: GCC's target pragma does not reach friend functions defined inside it)
inline rows8 operator+(rows8 a, rows8 b) { return {_mm256_add_ps(a.v, b.v)}; }
inline rows8 operator-(rows8 a, rows8 b) { return {_mm256_sub_ps(a.v, b.v)}; }
inline rows8 operator*(rows8 a, float k) { return {_mm256_mul_ps(a.v, _mm256_set1_ps(k))}; }

#define FMTSIM_WF4 ::fmtsim::sim::detail::avx
#include "winograd_f4.inc"
#undef FMTSIM_WF4

}  // namespace

namespace {
void input_tiles4(const float* pad, std::int64_t th, std::int64_t tw, float* dst, std::int64_t estride) {
  input_tiles4v<rows8>(pad, th, tw, dst, estride);
}
void output_plane4(const float* m, std::int64_t estride, float bias, float* y, std::int64_t h, std::int64_t w,
                   std::int64_t th, std::int64_t tw) {
  output_plane4v<rows8>(m, estride, bias, y, h, w, th, tw);
}
}  // namespace

}  // namespace avx
#pragma GCC pop_options
#endif

namespace {
#if FMTSIM_WINOGRAD_AVX
std::atomic<bool> use_avx{__builtin_cpu_supports("avx") != 0};
#endif

// F(4x4)'s transforms: two tile rows per vector with AVX, else one.
void input_tiles4(const float* pad, std::int64_t th, std::int64_t tw, float* dst, std::int64_t estride) {
#if FMTSIM_WINOGRAD_AVX
  if (use_avx.load(std::memory_order_relaxed)) return avx::input_tiles4(pad, th, tw, dst, estride);
#endif
  input_tiles4v<row4>(pad, th, tw, dst, estride);
}
void output_plane4(const float* m, std::int64_t estride, float bias, float* y, std::int64_t h, std::int64_t w,
                   std::int64_t th, std::int64_t tw) {
#if FMTSIM_WINOGRAD_AVX
  if (use_avx.load(std::memory_order_relaxed)) return avx::output_plane4(m, estride, bias, y, h, w, th, tw);
#endif
  output_plane4v<row4>(m, estride, bias, y, h, w, th, tw);
}
}  // namespace

bool winograd_wide_transforms(bool on) {
#if FMTSIM_WINOGRAD_AVX
  if (on && __builtin_cpu_supports("avx") == 0) return false;
  use_avx = on;
  return true;
#else
  return !on;
#endif
}

namespace {
// G of F(4x4, 3x3) applied to three values (in double; products with the rounded reciprocals, as divisions cost
// more than the rest of the search's kernel transforms)
void g6(const double in[3], double out[6]) {
  constexpr double sixth = 1.0 / 6, twelfth = 1.0 / 12, twentyfourth = 1.0 / 24;
  out[0] = in[0] * 0.25;
  out[1] = -(in[0] + in[1] + in[2]) * sixth;
  out[2] = -(in[0] - in[1] + in[2]) * sixth;
  out[3] = in[0] * twentyfourth + in[1] * twelfth + in[2] * sixth;
  out[4] = in[0] * twentyfourth - in[1] * twelfth + in[2] * sixth;
  out[5] = in[2];
}
}  // namespace

void winograd_kernel(const float* w, std::int64_t outs, std::int64_t ins, bool adjoint, std::vector<float>& u, int m) {
  const std::int64_t rows = adjoint ? ins : outs, cols = adjoint ? outs : ins;
  const int alpha = m + 2;
  u.resize(static_cast<std::size_t>(alpha * alpha * rows * cols));
  for (std::int64_t o = 0; o < outs; ++o) {
    for (std::int64_t c = 0; c < ins; ++c) {
      const float* k = w + (o * ins + c) * 9;
      double g[3][3];
      for (int a = 0; a < 3; ++a) {
        for (int b = 0; b < 3; ++b) g[a][b] = adjoint ? k[(2 - a) * 3 + (2 - b)] : k[a * 3 + b];
      }
      const std::int64_t r = adjoint ? c : o, cc = adjoint ? o : c;
      if (m == 4) {
        double t[3][6];  // (G g) transposed: t[b][i]
        for (int b = 0; b < 3; ++b) {
          const double column[3] = {g[0][b], g[1][b], g[2][b]};
          g6(column, t[b]);
        }
        for (int i = 0; i < 6; ++i) {  // (G g) G^T
          const double row[3] = {t[0][i], t[1][i], t[2][i]};
          double v[6];
          g6(row, v);
          for (int j = 0; j < 6; ++j)
            u[static_cast<std::size_t>(((6 * i + j) * rows + r) * cols + cc)] = static_cast<float>(v[j]);
        }
        continue;
      }
      double t[4][3];  // G g
      for (int b = 0; b < 3; ++b) {
        t[0][b] = g[0][b];
        t[1][b] = 0.5 * (g[0][b] + g[1][b] + g[2][b]);
        t[2][b] = 0.5 * (g[0][b] - g[1][b] + g[2][b]);
        t[3][b] = g[2][b];
      }
      for (int i = 0; i < 4; ++i) {  // (G g) G^T
        const double v[4] = {t[i][0], 0.5 * (t[i][0] + t[i][1] + t[i][2]), 0.5 * (t[i][0] - t[i][1] + t[i][2]),
                             t[i][2]};
        for (int j = 0; j < 4; ++j)
          u[static_cast<std::size_t>(((4 * i + j) * rows + r) * cols + cc)] = static_cast<float>(v[j]);
      }
    }
  }
}

void winograd_conv3x3(const float* x, std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w,
                      const std::vector<float>& u, std::int64_t o, const float* bias, float* y, int m) {
  const std::int64_t th = (h + m - 1) / m, tw = (w + m - 1) / m, tiles = th * tw;
  const std::int64_t products = (m + 2) * (m + 2);
  // At most 512 KB of transformed tiles and products per task; fixed by the shapes only.
  const std::int64_t chunk = std::clamp<std::int64_t>(
      (std::int64_t{1} << 17) / std::max<std::int64_t>(1, products * (c + o) * tiles), 1, std::max<std::int64_t>(1, n));
  const std::int64_t chunks = (n + chunk - 1) / chunk;
  parallel_for(chunks, [&](std::int64_t ch) {
    const std::int64_t n0 = ch * chunk, ns = std::min(chunk, n - n0), t = ns * tiles;
    // products e of V at e * vstride (4 floats of padding after each for the last step's junk lanes), of M
    // at e * o * t (4 floats after the last for the output transform's reads)
    const std::int64_t vstride = c * t + 4;
    tl_v.resize(static_cast<std::size_t>(products * vstride));
    tl_m.resize(static_cast<std::size_t>(products * o * t + 4));
    const std::int64_t pw = pad_width(tw, m);
    tl_pad.assign(static_cast<std::size_t>((m * th + 2) * pw), 0.0f);
    // blocks (channel, sample) in memory order, so that a block's junk lanes land where a later block writes
    for (std::int64_t ci = 0; ci < c; ++ci) {
      for (std::int64_t s = 0; s < ns; ++s) {
        fill_pad(x + ((n0 + s) * c + ci) * h * w, h, w, pw, tl_pad.data());
        float* v = tl_v.data() + ci * t + s * tiles;
        if (m == 4) {
          input_tiles4(tl_pad.data(), th, tw, v, vstride);
        } else {
          input_tiles(tl_pad.data(), th, tw, v, vstride);
        }
      }
    }
    for (std::int64_t e = 0; e < products; ++e) {
      sgemm(false, false, o, t, c, 1.0f, u.data() + e * o * c, c, tl_v.data() + e * vstride, t, 0.0f,
            tl_m.data() + e * o * t, t);
    }
    for (std::int64_t oc = 0; oc < o; ++oc) {
      for (std::int64_t s = 0; s < ns; ++s) {
        const float* mp = tl_m.data() + oc * t + s * tiles;
        const float b = bias != nullptr ? bias[oc] : 0.0f;
        float* yp = y + ((n0 + s) * o + oc) * h * w;
        if (m == 4) {
          output_plane4(mp, o * t, b, yp, h, w, th, tw);
        } else {
          output_plane(mp, o * t, b, yp, h, w, th, tw);
        }
      }
    }
  });
}

}  // namespace fmtsim::sim::detail
