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
#include <cstring>

namespace fmtsim::sim::detail {
namespace {

thread_local std::vector<float> tl_v, tl_m, tl_rows, tl_y;

// Rows of one input plane, zero-padded and split into even and odd padded columns so that the
// tile loops below read with unit stride: row r (r = 0 .. 2 th + 1) holds input row r - 1, its
// first half E[m] = column 2m - 1 and its second half O[m] = column 2m (m = 0 .. tw); zero outside.
void split_plane(const float* plane, std::int64_t h, std::int64_t w, std::int64_t th, std::int64_t tw, float* rows) {
  const std::int64_t half = tw + 1, width = 2 * half;
  std::fill_n(rows, (2 * th + 2) * width, 0.0f);
  const std::int64_t odd_n = (w + 1) / 2, even_n = w / 2;  // columns 0, 2, ... and 1, 3, ...
  for (std::int64_t ih = 0; ih < h; ++ih) {
    const float* __restrict src = plane + ih * w;
    float* __restrict e = rows + (ih + 1) * width;
    float* __restrict o = e + half;
    for (std::int64_t m = 0; m < even_n; ++m) e[m + 1] = src[2 * m + 1];
    for (std::int64_t m = 0; m < odd_n; ++m) o[m] = src[2 * m];
  }
}

// The loops below take their rows as restrict-qualified parameters (GCC vectorises them only
// then; restrict on local pointers is not used for its alias analysis).

// B^T d B for a row of tiles, from the tile row's four split padded rows r0..r3 (split_plane): tile
// tj's columns 2tj-1 .. 2tj+2 are E[tj], O[tj], E[tj+1], O[tj+1] (O = E + half). B^T combines the
// rows (0 - 2, 1 + 2, 2 - 1, 1 - 3), B the columns the same way; product e = 4 i + j goes to o[e].
// One loop for all 16 products: its rows are freshly stored by split_plane at their own alignment,
// and every value is loaded once.
inline void tile_row(const float* __restrict r0, const float* __restrict r1, const float* __restrict r2,
                     const float* __restrict r3, std::int64_t half, float* __restrict o0, float* __restrict o1,
                     float* __restrict o2, float* __restrict o3, float* __restrict o4, float* __restrict o5,
                     float* __restrict o6, float* __restrict o7, float* __restrict o8, float* __restrict o9,
                     float* __restrict o10, float* __restrict o11, float* __restrict o12, float* __restrict o13,
                     float* __restrict o14, float* __restrict o15, std::int64_t tw) {
  for (std::int64_t tj = 0; tj < tw; ++tj) {
    float d[4][4];  // d[row][column] of the tile's 4x4 patch
    const float* rows[4] = {r0, r1, r2, r3};
    for (int r = 0; r < 4; ++r) {
      d[r][0] = rows[r][tj];
      d[r][1] = rows[r][half + tj];
      d[r][2] = rows[r][tj + 1];
      d[r][3] = rows[r][half + tj + 1];
    }
    float q[4][4];  // B^T d
    for (int j = 0; j < 4; ++j) {
      q[0][j] = d[0][j] - d[2][j];
      q[1][j] = d[1][j] + d[2][j];
      q[2][j] = d[2][j] - d[1][j];
      q[3][j] = d[1][j] - d[3][j];
    }
    float* out[16] = {o0, o1, o2, o3, o4, o5, o6, o7, o8, o9, o10, o11, o12, o13, o14, o15};
    for (int i = 0; i < 4; ++i) {  // (B^T d) B
      out[4 * i + 0][tj] = q[i][0] - q[i][2];
      out[4 * i + 1][tj] = q[i][1] + q[i][2];
      out[4 * i + 2][tj] = q[i][2] - q[i][1];
      out[4 * i + 3][tj] = q[i][1] - q[i][3];
    }
  }
}

// Tiles of one input plane: tile (ti, tj) reads rows 2ti-1 .. 2ti+2 and columns 2tj-1 .. 2tj+2
// (zero outside the plane) and writes its 16 transformed values to dst[e * estride + ti * tw + tj].
void input_tiles(const float* plane, std::int64_t h, std::int64_t w, std::int64_t th, std::int64_t tw, float* dst,
                 std::int64_t estride, float* rows) {
  const std::int64_t half = tw + 1, width = 2 * half;
  split_plane(plane, h, w, th, tw, rows);
  for (std::int64_t ti = 0; ti < th; ++ti) {
    const float* d = rows + 2 * ti * width;
    float* o = dst + ti * tw;
    const std::int64_t s = estride;
    tile_row(d, d + width, d + 2 * width, d + 3 * width, half, o, o + s, o + 2 * s, o + 3 * s, o + 4 * s, o + 5 * s,
             o + 6 * s, o + 7 * s, o + 8 * s, o + 9 * s, o + 10 * s, o + 11 * s, o + 12 * s, o + 13 * s, o + 14 * s,
             o + 15 * s, tw);
  }
}

// A^T M A for a row of tiles: m0..m15 are the 16 products of each tile.
inline void tiles_at(const float* __restrict m0, const float* __restrict m1, const float* __restrict m2,
                     const float* __restrict m3, const float* __restrict m4, const float* __restrict m5,
                     const float* __restrict m6, const float* __restrict m7, const float* __restrict m8,
                     const float* __restrict m9, const float* __restrict m10, const float* __restrict m11,
                     const float* __restrict m12, const float* __restrict m13, const float* __restrict m14,
                     const float* __restrict m15, float bias, float* __restrict y00, float* __restrict y01,
                     float* __restrict y10, float* __restrict y11, std::int64_t tw) {
  for (std::int64_t tj = 0; tj < tw; ++tj) {
    // A^T M: rows 0 + 1 + 2 and 1 - 2 - 3 of every column; then the same on the columns.
    const float r00 = m0[tj] + m4[tj] + m8[tj], r01 = m1[tj] + m5[tj] + m9[tj];
    const float r02 = m2[tj] + m6[tj] + m10[tj], r03 = m3[tj] + m7[tj] + m11[tj];
    const float r10 = m4[tj] - m8[tj] - m12[tj], r11 = m5[tj] - m9[tj] - m13[tj];
    const float r12 = m6[tj] - m10[tj] - m14[tj], r13 = m7[tj] - m11[tj] - m15[tj];
    y00[tj] = r00 + r01 + r02 + bias;
    y01[tj] = r01 - r02 - r03 + bias;
    y10[tj] = r10 + r11 + r12 + bias;
    y11[tj] = r11 - r12 - r13 + bias;
  }
}

// out[0 .. n) = a[0], b[0], a[1], b[1], ... (n output columns: an odd n drops the last b).
inline void interleave(const float* __restrict a, const float* __restrict b, float* __restrict out, std::int64_t n) {
  const std::int64_t pairs = n / 2;
  for (std::int64_t i = 0; i < pairs; ++i) {
    out[2 * i] = a[i];
    out[2 * i + 1] = b[i];
  }
  if (n % 2 != 0) out[n - 1] = a[pairs];
}

// One output channel of a chunk: A^T M A of all its t tiles in one pass (src[e * estride + k] is
// product e of tile k; tiles are sample-major, then row-major), then every output row is
// interleaved from its tile row; rows and columns past h x w (the second half of the last tile of
// an odd size) are dropped. y points at the channel's plane of the chunk's first sample and
// moves by sample_stride per sample.
void output_tiles(const float* src, std::int64_t estride, std::int64_t t, float bias, float* y,
                  std::int64_t sample_stride, std::int64_t h, std::int64_t w, std::int64_t th, std::int64_t tw,
                  float* rows) {
  const float* m = src;
  const std::int64_t s = estride;
  tiles_at(m, m + s, m + 2 * s, m + 3 * s, m + 4 * s, m + 5 * s, m + 6 * s, m + 7 * s, m + 8 * s, m + 9 * s, m + 10 * s,
           m + 11 * s, m + 12 * s, m + 13 * s, m + 14 * s, m + 15 * s, bias, rows, rows + t, rows + 2 * t, rows + 3 * t,
           t);
  const std::int64_t tiles = th * tw;
  for (std::int64_t k = 0; k < t / tiles; ++k) {
    float* plane = y + k * sample_stride;
    for (std::int64_t ti = 0; ti < th; ++ti) {
      const std::int64_t r = k * tiles + ti * tw;
      interleave(rows + r, rows + t + r, plane + 2 * ti * w, w);
      if (2 * ti + 1 < h) interleave(rows + 2 * t + r, rows + 3 * t + r, plane + (2 * ti + 1) * w, w);
    }
  }
}

}  // namespace

void winograd_kernel(const float* w, std::int64_t outs, std::int64_t ins, bool adjoint, std::vector<float>& u) {
  const std::int64_t rows = adjoint ? ins : outs, cols = adjoint ? outs : ins;
  u.resize(static_cast<std::size_t>(16 * rows * cols));
  for (std::int64_t o = 0; o < outs; ++o) {
    for (std::int64_t c = 0; c < ins; ++c) {
      const float* k = w + (o * ins + c) * 9;
      double g[3][3];
      for (int a = 0; a < 3; ++a) {
        for (int b = 0; b < 3; ++b) g[a][b] = adjoint ? k[(2 - a) * 3 + (2 - b)] : k[a * 3 + b];
      }
      double t[4][3];  // G g
      for (int b = 0; b < 3; ++b) {
        t[0][b] = g[0][b];
        t[1][b] = 0.5 * (g[0][b] + g[1][b] + g[2][b]);
        t[2][b] = 0.5 * (g[0][b] - g[1][b] + g[2][b]);
        t[3][b] = g[2][b];
      }
      const std::int64_t r = adjoint ? c : o, cc = adjoint ? o : c;
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
                      const std::vector<float>& u, std::int64_t o, const float* bias, float* y) {
  const std::int64_t th = (h + 1) / 2, tw = (w + 1) / 2, tiles = th * tw;
  // About 2 MB of transformed tiles and products per task; fixed by the shapes only.
  const std::int64_t chunk = std::clamp<std::int64_t>(
      (std::int64_t{1} << 17) / std::max<std::int64_t>(1, 16 * (c + o) * tiles), 1, std::max<std::int64_t>(1, n));
  const std::int64_t chunks = (n + chunk - 1) / chunk;
  parallel_for(chunks, [&](std::int64_t ch) {
    const std::int64_t n0 = ch * chunk, ns = std::min(chunk, n - n0), t = ns * tiles;
    tl_v.resize(static_cast<std::size_t>(16 * c * t));
    tl_m.resize(static_cast<std::size_t>(16 * o * t));
    tl_rows.resize(static_cast<std::size_t>((2 * th + 2) * (2 * tw + 2)));
    tl_y.resize(static_cast<std::size_t>(4 * t));
    for (std::int64_t s = 0; s < ns; ++s) {
      for (std::int64_t ci = 0; ci < c; ++ci) {
        input_tiles(x + ((n0 + s) * c + ci) * h * w, h, w, th, tw, tl_v.data() + ci * t + s * tiles, c * t,
                    tl_rows.data());
      }
    }
    for (int e = 0; e < 16; ++e) {
      sgemm(false, false, o, t, c, 1.0f, u.data() + e * o * c, c, tl_v.data() + e * c * t, t, 0.0f,
            tl_m.data() + e * o * t, t);
    }
    for (std::int64_t oc = 0; oc < o; ++oc) {
      output_tiles(tl_m.data() + oc * t, o * t, t, bias != nullptr ? bias[oc] : 0.0f, y + (n0 * o + oc) * h * w,
                   o * h * w, h, w, th, tw, tl_y.data());
    }
  });
}

}  // namespace fmtsim::sim::detail
