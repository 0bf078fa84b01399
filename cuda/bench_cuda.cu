// SPDX-License-Identifier: MIT
// fmtsim-bench-cuda: throughput of the CUDA kernels against cudaMemcpy device-to-device on the same buffers.
//
// Usage: fmtsim-bench-cuda [n_log2 ...]   (default 24 26). Prints one line per benchmark: name, G elem/s,
// ratio to the device-to-device copy of the same n. Needs a CUDA device (sm_80 or sm_90 build targets).
#include "fmtsim_cuda.hpp"

#include <fmtsim/core/spec.hpp>

#include <cuda_runtime.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace {

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    std::fprintf(stderr, "fmtsim-bench-cuda: %s: %s\n", what, cudaGetErrorString(e));
    std::exit(1);
  }
}

template <class F>
double best_seconds(F&& f, int reps) {
  cudaEvent_t a, b;
  check(cudaEventCreate(&a), "cudaEventCreate");
  check(cudaEventCreate(&b), "cudaEventCreate");
  f();  // warm up
  check(cudaDeviceSynchronize(), "warm-up");
  float best = 1e30f;
  for (int r = 0; r < reps; ++r) {
    check(cudaEventRecord(a), "cudaEventRecord");
    f();
    check(cudaEventRecord(b), "cudaEventRecord");
    check(cudaEventSynchronize(b), "cudaEventSynchronize");
    float ms = 0;
    check(cudaEventElapsedTime(&ms, a, b), "cudaEventElapsedTime");
    best = ms < best ? ms : best;
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  return best / 1e3;
}

}  // namespace

int main(int argc, char** argv) {
  if (!fmtsim::cuda::device_available()) {
    std::fprintf(stderr, "fmtsim-bench-cuda: no CUDA device found\n");
    return 1;
  }
  std::vector<int> logs;
  for (int i = 1; i < argc; ++i) logs.push_back(std::atoi(argv[i]));
  if (logs.empty()) logs = {24, 26};
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
  std::printf("device: %s (sm_%d%d)\n", prop.name, prop.major, prop.minor);
  std::printf("%-40s %12s %10s\n", "benchmark", "G elem/s", "vs copy");
  for (int lg : logs) {
    const std::size_t n = std::size_t{1} << lg;
    std::vector<float> host(n);
    std::mt19937 rng(12345);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (float& v : host) v = normal(rng);
    float *in = nullptr, *out = nullptr;
    check(cudaMalloc(&in, n * sizeof(float)), "cudaMalloc");
    check(cudaMalloc(&out, n * sizeof(float)), "cudaMalloc");
    check(cudaMemcpy(in, host.data(), n * sizeof(float), cudaMemcpyHostToDevice), "cudaMemcpy");
    const double t_copy = best_seconds(
        [&] { check(cudaMemcpy(out, in, n * sizeof(float), cudaMemcpyDeviceToDevice), "cudaMemcpy D2D"); }, 20);
    std::printf("%-40s %12.3f %10.2f\n", ("copy/" + std::to_string(n)).c_str(), n / t_copy / 1e9, 1.0);
    for (const char* spec : {"e4m3fn", "e5m2", "e2m1fin", "bf16", "fp16", "int8", "bp:5x7,4,3,2,1,0"}) {
      for (const char* mode : {"rne", "rtz", "sr"}) {
        fmtsim::quantize_options opt;
        opt.mode = *fmtsim::parse_rounding(mode);
        const fmtsim::element_format f = fmtsim::parse_format(spec);
        const double t = best_seconds([&] { fmtsim::cuda::quantize(f, in, out, n, opt); }, 20);
        const std::string name = std::string("quantize/") + spec + "/" + mode + "/" + std::to_string(n);
        std::printf("%-40s %12.3f %10.2f\n", name.c_str(), n / t / 1e9, t_copy / t);
      }
    }
    for (const char* spec : {"e4m3fn", "e2m1fin"}) {
      fmtsim::quantize_options opt;
      const fmtsim::element_format f = fmtsim::parse_format(spec);
      const double t = best_seconds([&] { fmtsim::cuda::quantize_grouped(f, in, out, n, 32, opt); }, 20);
      const std::string name = std::string("quantize_grouped32/") + spec + "/rne/" + std::to_string(n);
      std::printf("%-40s %12.3f %10.2f\n", name.c_str(), n / t / 1e9, t_copy / t);
    }
    cudaFree(in);
    cudaFree(out);
  }
  return 0;
}
