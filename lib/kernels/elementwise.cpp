// SPDX-License-Identifier: MIT
// Elementwise quantization dispatch (scalar reference for now; SIMD/threads/CUDA plug in here).
#include <fmtsim/kernels/elementwise.hpp>

#include <stdexcept>
#include <string>

namespace fmtsim::kernels {

std::string_view backend_name(backend b) {
  switch (b) {
    case backend::automatic: return "auto";
    case backend::scalar: return "scalar";
    case backend::simd: return "simd";
    case backend::cuda: return "cuda";
  }
  return "?";
}

std::optional<backend> parse_backend(std::string_view name) {
  if (name == "auto") return backend::automatic;
  if (name == "scalar") return backend::scalar;
  if (name == "simd") return backend::simd;
  if (name == "cuda") return backend::cuda;
  return std::nullopt;
}

template <class T>
void quantize(backend b, const element_format& f, std::span<const T> in, std::span<T> out, const quantize_options& opt,
              std::span<const T> previous) {
  switch (b) {
    case backend::automatic:
    case backend::scalar: quantize_array<T>(f, in, out, opt, previous); return;
    case backend::simd: throw std::invalid_argument("the simd backend is not built in this configuration");
    case backend::cuda: throw std::invalid_argument("the cuda backend is not built in this configuration");
  }
}

template void quantize<float>(backend, const element_format&, std::span<const float>, std::span<float>,
                              const quantize_options&, std::span<const float>);
template void quantize<double>(backend, const element_format&, std::span<const double>, std::span<double>,
                               const quantize_options&, std::span<const double>);

}  // namespace fmtsim::kernels
