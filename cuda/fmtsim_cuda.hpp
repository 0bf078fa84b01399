// SPDX-License-Identifier: MIT
// Host API of the CUDA kernels (device pointers in, device pointers out); compiled by nvcc into libfmtsim_cuda.
#pragma once

#include <fmtsim/core/array.hpp>
#include <fmtsim/core/format.hpp>

#include <cstddef>

namespace fmtsim::cuda {

// Whether a CUDA device is present and usable.
bool device_available();

// Elementwise fake quantization of n float32 values in device memory; bit-identical to
// fmtsim::quantize_array (same seed and index_offset give the same stochastic rounding).
// previous (device memory, n values) is required for hysteresis. Throws std::runtime_error on a CUDA
// error and std::invalid_argument on bad arguments (as quantize_array).
void quantize(const element_format& f, const float* in, float* out, std::size_t n, const quantize_options& opt,
              const float* previous = nullptr);

// Grouped power-of-two scales by the OCP MX rule (see cuda/kernel_bodies.hpp): contiguous groups of
// `group` elements, amax reduction and quantization in one kernel. scale_exp (device memory, one int per
// group) is optional.
void quantize_grouped(const element_format& f, const float* in, float* out, std::size_t n, std::size_t group,
                      const quantize_options& opt, int* scale_exp = nullptr, int scale_min = -127, int scale_max = 127);

}  // namespace fmtsim::cuda
