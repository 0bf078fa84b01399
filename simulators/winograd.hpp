// SPDX-License-Identifier: MIT
// Internal: 3x3 convolutions with stride 1, padding 1 and dilation 1 by Winograd's minimal
// filtering algorithms F(m x m, 3x3) (Lavin and Gray, "Fast Algorithms for Convolutional Neural
// Networks", CVPR 2016) for output tiles of m = 2 or 4: (m + 2)^2 multiplications per m x m output
// tile instead of 9 m^2 (16 for 4 outputs, 36 for 16), as (m + 2)^2 SGEMMs over the transformed
// tiles. F(4x4) needs 1.78x fewer multiplications than F(2x2) and rounds a little worse. Used by conv2d for the forward
// pass and for the input gradient (the adjoint of such a convolution is again one, with the kernel flipped and
// transposed).
#pragma once

#include <cstdint>
#include <vector>

namespace fmtsim::sim::detail {

// Transformed kernel U = G g G^T of every (output, input) channel pair, stored [(m + 2)^2][rows][cols].
// w is a conv weight [outs][ins][3][3]. adjoint = false: the forward kernel, rows = outs, cols =
// ins. adjoint = true: the kernel of the input gradient, k[c][o][a][b] = w[o][c][2 - a][2 - b],
// rows = ins, cols = outs. Computed in double and rounded once.
void winograd_kernel(const float* w, std::int64_t outs, std::int64_t ins, bool adjoint, std::vector<float>& u, int m);

// y[n][o] = sum over c of x[n][c] correlated with the kernel behind u (zero padding 1, output the
// input's size h x w), plus bias[o] when bias is not null. x is [n][c][h][w], y is [n][o][h][w]
// and is fully written. Parallel over fixed chunks of samples (results do not depend on the
// thread count). y may be x when o == c: a chunk transforms all of its samples' input before it
// writes their outputs, and writes no other sample's.
void winograd_conv3x3(const float* x, std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w,
                      const std::vector<float>& u, std::int64_t o, const float* bias, float* y, int m);

// Whether F(4x4)'s transforms take two tile rows per vector (AVX, where the CPU has it; the default there) or one
// (SSE): both give the same bits. Returns false if `on` cannot be honoured (no AVX). For tests.
bool winograd_wide_transforms(bool on);

}  // namespace fmtsim::sim::detail
