// SPDX-License-Identifier: MIT
// Elementwise quantization dispatch: scalar reference, per-ISA SIMD kernels (chosen once per call), thread split.
#include <fmtsim/core/fp_env.hpp>
#include <fmtsim/core/quantize.hpp>
#include <fmtsim/kernels/elementwise.hpp>

#include "simd_params.hpp"
#include "simd_table.hpp"
#include "thread_pool.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace fmtsim::kernels {

std::string_view backend_name(backend b) {
  switch (b) {
    case backend::automatic:
      return "auto";
    case backend::scalar:
      return "scalar";
    case backend::simd:
      return "simd";
    case backend::cuda:
      return "cuda";
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

void set_thread_count(unsigned threads) { detail::thread_pool::instance().set_threads(threads); }
unsigned thread_count() { return detail::thread_pool::instance().threads(); }

namespace {

// Elements per thread task: large enough to amortise the hand-off, a multiple of every batch size.
constexpr std::size_t task_elements = std::size_t{1} << 16;

template <class F>
void split(std::size_t n, F&& run_range) {
  const std::size_t tasks = (n + task_elements - 1) / task_elements;
  if (tasks <= 1) {
    run_range(std::size_t{0}, n);
    return;
  }
  detail::thread_pool::instance().run(tasks, [&](std::size_t k) {
    const std::size_t begin = k * task_elements;
    run_range(begin, std::min(n, begin + task_elements));
  });
}

void simd_float(const detail::simd_isa_entry& isa, const element_format& f, std::span<const float> in,
                std::span<float> out, const quantize_options& opt, std::span<const float> previous, bool threaded) {
  const detail::simd_params& params = detail::cached_simd_params(f, opt);
  const bool hys = opt.mode.kind == rounding::hys;
  // Non-temporal stores for large outputs, but not under sr: its kernels are bound by computation (the Philox
  // stream), and with ordinary stores they measured 1.45-1.64 G elem/s at 2^24 elements on one thread against
  // 1.24-1.36 with streaming stores (best of three runs each, 2026-12-07; two threads 2.88-3.00 against 2.54-2.67).
  // The scaled kernels keep them under sr (MX sr measured 10% slower without).
  const bool large = in.size() * sizeof(float) >= stream_output_bytes;
  const bool stream = opt.mode.kind != rounding::sr && large;
  // Large inputs are prefetched 4,096 elements (16 KiB) ahead into L2 by the sweeps, in every mode: on hosts whose
  // hardware prefetchers keep too few reads in flight the loop alone streams well below a copy (docs/performance.md,
  // change 36: 2^24 elements, one thread, on 2026-12-07's Intel host, G elem/s: e4m3fn rne 0.95 -> 1.18, int8 rne
  // 0.97 -> 1.24, e4m3fn sr 0.56 -> 0.70, bf16 sr 0.60 -> 0.74; two threads rne and rtz 2.07-2.37 -> 2.98-3.21).
  // 1,024 and 16,384 elements ahead measured within the spread of this.
  const std::size_t prefetch = large ? std::size_t{4096} : 0;
  auto run_range = [&](std::size_t begin, std::size_t end) {
    detail::simd_call c;
    c.params = &params;
    c.in = in.data() + begin;
    c.out = out.data() + begin;
    c.prev = hys ? previous.data() + begin : nullptr;
    c.n = end - begin;
    c.index_base = opt.index_offset + begin;
    c.stream = stream;
    c.prefetch_ahead = prefetch;
    isa.entry(c);
  };
  if (threaded) {
    split(in.size(), run_range);
  } else {
    run_range(0, in.size());
  }
}

template <class T>
void scalar_threaded(const element_format& f, std::span<const T> in, std::span<T> out, const quantize_options& opt,
                     std::span<const T> previous) {
  const bool hys = opt.mode.kind == rounding::hys;
  split(in.size(), [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) {
      const element_context<T> ctx{opt.seed, opt.index_offset + i, hys ? previous[i] : T(0)};
      out[i] = fmtsim::quantize<T>(f, in[i], opt.mode, ctx);
    }
  });
}

template <class T>
void check_call(const element_format& f, std::span<const T> in, std::span<T> out, const quantize_options& opt,
                std::span<const T> previous) {
  if (in.size() != out.size()) throw std::invalid_argument("kernels::quantize: input and output lengths differ");
  check_array_call<T>(f, opt, in.size(), previous.size());
}

}  // namespace

std::string_view simd_isa() {
  const detail::simd_isa_entry* e = detail::best_isa();
  return e ? e->name : std::string_view("none");
}

std::vector<std::string_view> simd_isas() {
  std::vector<std::string_view> names;
  for (const detail::simd_isa_entry& e : detail::simd_isa_table())
    if (e.supported()) names.push_back(e.name);
  return names;
}

std::vector<std::string_view> simd_isas_compiled() {
  std::vector<std::string_view> names;
  for (const detail::simd_isa_entry& e : detail::simd_isa_table()) names.push_back(e.name);
  return names;
}

void quantize_simd_isa(std::string_view isa, const element_format& f, std::span<const float> in, std::span<float> out,
                       const quantize_options& opt, std::span<const float> previous) {
  const fp_env_scope env;
  const detail::simd_isa_entry& e = detail::named_isa(isa);
  check_call<float>(f, in, out, opt, previous);
  simd_float(e, f, in, out, opt, previous, false);
}

template <class T>
void quantize(backend b, const element_format& f, std::span<const T> in, std::span<T> out, const quantize_options& opt,
              std::span<const T> previous) {
  const fp_env_scope env;
  switch (b) {
    case backend::scalar:
      quantize_array<T>(f, in, out, opt, previous);
      return;
    case backend::cuda:
      throw std::invalid_argument(
          "the cuda backend works on device memory: use the fmtsim_cuda library (cuda/) with device pointers");
    case backend::automatic:
    case backend::simd:
      break;
  }
  check_call<T>(f, in, out, opt, previous);
  if constexpr (std::is_same_v<T, float>) {
    if (const detail::simd_isa_entry* e = detail::best_isa()) {
      simd_float(*e, f, in, out, opt, previous, true);
      return;
    }
    if (b == backend::simd)
      throw std::invalid_argument(detail::simd_isa_table().empty()
                                      ? "the simd backend is not built in this configuration (xsimd not found)"
                                      : "the simd backend has no kernel this CPU supports");
  }
  scalar_threaded<T>(f, in, out, opt, previous);
}

template void quantize<float>(backend, const element_format&, std::span<const float>, std::span<float>,
                              const quantize_options&, std::span<const float>);
template void quantize<double>(backend, const element_format&, std::span<const double>, std::span<double>,
                               const quantize_options&, std::span<const double>);

}  // namespace fmtsim::kernels
