// SPDX-License-Identifier: MIT
// CUDA kernels: __global__ wrappers around the shared FMTSIM_HD bodies (cuda/kernel_bodies.hpp) and their launchers.
#include "fmtsim_cuda.hpp"
#include "kernel_bodies.hpp"

#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

namespace fmtsim::cuda {

namespace {

__global__ void elementwise_kernel(cuda_kernels::elementwise_args a) {
  cuda_kernels::elementwise_body(a, {blockIdx.x, blockDim.x, threadIdx.x, gridDim.x});
}

__global__ void grouped_kernel(cuda_kernels::grouped_args a) {
  cuda_kernels::grouped_body(a, {blockIdx.x, blockDim.x, threadIdx.x, gridDim.x});
}

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string("CUDA error in ") + what + ": " + cudaGetErrorString(e));
}

unsigned grid_for(std::size_t work, unsigned block) {
  int device = 0, sms = 1;
  check(cudaGetDevice(&device), "cudaGetDevice");
  check(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device), "cudaDeviceGetAttribute");
  const std::size_t needed = (work + block - 1) / block;
  const std::size_t cap = static_cast<std::size_t>(sms) * 32;  // grid-stride beyond this
  return static_cast<unsigned>(needed < cap ? (needed == 0 ? 1 : needed) : cap);
}

}  // namespace

bool device_available() {
  int count = 0;
  return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
}

void quantize(const element_format& f, const float* in, float* out, std::size_t n, const quantize_options& opt,
              const float* previous) {
  check_array_call<float>(f, opt, n, previous ? n : 0);
  if (n == 0) return;
  cuda_kernels::elementwise_args a;
  a.format = f;
  a.mode = opt.mode;
  a.seed = opt.seed;
  a.index_offset = opt.index_offset;
  a.in = in;
  a.out = out;
  a.previous = opt.mode.kind == rounding::hys ? previous : nullptr;
  a.n = n;
  constexpr unsigned block = 256;
  elementwise_kernel<<<grid_for(n, block), block>>>(a);
  check(cudaGetLastError(), "elementwise_kernel launch");
}

void quantize_grouped(const element_format& f, const float* in, float* out, std::size_t n, std::size_t group,
                      const quantize_options& opt, int* scale_exp, int scale_min, int scale_max) {
  if (group == 0) throw std::invalid_argument("quantize_grouped: group size must be >= 1");
  if (opt.mode.kind == rounding::hys) throw std::invalid_argument("quantize_grouped: hys needs previous values");
  check_array_call<float>(f, opt, n, 0);
  if (n == 0) return;
  cuda_kernels::grouped_args a;
  a.format = f;
  a.mode = opt.mode;
  a.seed = opt.seed;
  a.index_offset = opt.index_offset;
  a.in = in;
  a.out = out;
  a.n = n;
  a.group = group;
  a.scale_min = scale_min;
  a.scale_max = scale_max;
  a.scale_exp_out = scale_exp;
  constexpr unsigned block = 128;
  grouped_kernel<<<grid_for((n + group - 1) / group, block), block>>>(a);
  check(cudaGetLastError(), "grouped_kernel launch");
}

}  // namespace fmtsim::cuda
