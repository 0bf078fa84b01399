// SPDX-License-Identifier: MIT
// Internal: row-major SGEMM through CBLAS (OpenBLAS), pinned to one BLAS thread per call.
#pragma once

#include <cblas.h>

#include <cstdint>

namespace fmtsim::sim::detail {

// Sets the BLAS library to one thread (the engine parallelises over its own tasks). Idempotent.
void blas_single_thread();

// C[M x N] = alpha * op(A) * op(B) + beta * C, row-major.
inline void sgemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
                  const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c,
                  std::int64_t ldc) {
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha, a, static_cast<int>(lda), b,
              static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
}

}  // namespace fmtsim::sim::detail
