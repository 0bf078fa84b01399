// SPDX-License-Identifier: MIT
// fmtsim-bench: Google Benchmark suite for the elementwise and scaled quantizers against the copy limit.
//
// Names (see docs/performance.md):
//   copy/<n>                          float32 read + write of the same buffers (the fastest of memcpy, a
//                                     streaming-store copy and one that also prefetches 16 KiB ahead, picked per
//                                     size at start-up; the label says which)
//   quantize/<spec>/<rounding>/<n>    kernels::quantize (element formats) or tensor_quantizer (scaled formats;
//                                     <element>@tensor: the element format with one power-of-two scale for the
//                                     whole tensor, rule floor)
//   quantize_mt/<spec>/<rounding>/<n> the same with the library's own threads (kernels::set_thread_count),
//                                     one benchmark thread, wall time
// Every benchmark runs at n = 2^14 (in cache) and 2^24 (streaming). The ->Threads(T) variants run T
// benchmark threads, each quantizing its own n-element buffers with the library single-threaded, so
// items_per_second is the aggregate over T cores; compare with copy/<n> at the same T.
#include <fmtsim/core/array.hpp>
#include <fmtsim/core/spec.hpp>
#include <fmtsim/formats/tensor.hpp>
#include <fmtsim/kernels/elementwise.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace {

using namespace fmtsim;

struct free_deleter {
  void operator()(float* p) const { std::free(p); }
};
using buffer = std::unique_ptr<float[], free_deleter>;

buffer make_buffer(std::size_t n) {
  void* p = std::aligned_alloc(64, ((n * sizeof(float) + 63) / 64) * 64);
  if (p == nullptr) throw std::bad_alloc();
  return buffer(static_cast<float*>(p));
}

// N(0, 1) data, the same for every benchmark (unsigned formats: its magnitudes, see bm_quantize).
buffer normal_data(std::size_t n) {
  buffer b = make_buffer(n);
  std::mt19937 rng(12345);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (std::size_t i = 0; i < n; ++i) b[i] = normal(rng);
  return b;
}

// A streaming-store copy; Prefetch: with the software prefetch the kernels use on large inputs (16 KiB ahead into
// L2), on hosts whose hardware prefetchers keep too few reads in flight the faster copy and the honest baseline.
template <bool Prefetch>
void stream_copy(const float* src, float* dst, std::size_t n) {
#if defined(__SSE2__)
  std::size_t i = 0;
  while (i < n && (reinterpret_cast<std::uintptr_t>(dst + i) % 16) != 0) {
    dst[i] = src[i];
    ++i;
  }
  for (; i + 16 <= n; i += 16) {
    if constexpr (Prefetch) __builtin_prefetch(src + i + 4096, 0, 2);
    const __m128 a = _mm_loadu_ps(src + i), b = _mm_loadu_ps(src + i + 4);
    const __m128 c = _mm_loadu_ps(src + i + 8), d = _mm_loadu_ps(src + i + 12);
    _mm_stream_ps(dst + i, a);
    _mm_stream_ps(dst + i + 4, b);
    _mm_stream_ps(dst + i + 8, c);
    _mm_stream_ps(dst + i + 12, d);
  }
  for (; i < n; ++i) dst[i] = src[i];
  _mm_sfence();
#else
  std::memcpy(dst, src, n * sizeof(float));
#endif
}

void memcpy_copy(const float* src, float* dst, std::size_t n) { std::memcpy(dst, src, n * sizeof(float)); }

using copy_fn = void (*)(const float*, float*, std::size_t);

// The fastest of memcpy, the streaming copy and the prefetching streaming copy for n elements (best of several timed
// runs each).
copy_fn pick_copy(std::size_t n, const char** name) {
  static std::mutex mutex;
  static std::map<std::size_t, std::pair<copy_fn, const char*>> chosen;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = chosen.find(n);
  if (it == chosen.end()) {
    buffer src = normal_data(n), dst = make_buffer(n);
    auto best_time = [&](copy_fn f) {
      double best = 1e30;
      const int reps = n <= (1u << 16) ? 2000 : 8;
      for (int r = 0; r < 3; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        for (int k = 0; k < reps; ++k) {
          f(src.get(), dst.get(), n);
          benchmark::ClobberMemory();
        }
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      }
      return best;
    };
    std::pair<copy_fn, const char*> best{&memcpy_copy, "memcpy"};
    double best_t = best_time(&memcpy_copy);
    for (const auto& cand :
         {std::make_pair(&stream_copy<false>, "stream"), std::make_pair(&stream_copy<true>, "stream+prefetch")}) {
      const double t = best_time(cand.first);
      if (t < best_t) {
        best_t = t;
        best = cand;
      }
    }
    it = chosen.emplace(n, best).first;
  }
  *name = it->second.second;
  return it->second.first;
}

void bm_copy(benchmark::State& state, std::size_t n) {
  const char* name = nullptr;
  const copy_fn f = pick_copy(n, &name);
  buffer src = normal_data(n), dst = make_buffer(n);
  for (auto _ : state) {
    f(src.get(), dst.get(), n);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(n));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(n) * 8);
  state.SetLabel(name);
}

bool is_scaled(const std::string& spec) {
  return spec.rfind("mx", 0) == 0 || spec.rfind("bm", 0) == 0 || spec.rfind("bp:", 0) == 0 ||
         spec.rfind("log", 0) == 0 || spec.find("@") != std::string::npos;
}

void bm_quantize(benchmark::State& state, std::string spec, std::string rounding, std::size_t n, bool library_threads) {
  quantize_options opt;
  opt.mode = *parse_rounding(rounding);
  opt.seed = 7;
  buffer src = normal_data(n), dst = make_buffer(n), prev = make_buffer(n);
  if (library_threads) kernels::set_thread_count(2);
  std::span<const float> in(src.get(), n);
  std::span<float> out(dst.get(), n);
  if (is_scaled(spec)) {
    tensor_format tf;
    if (const std::size_t at = spec.find('@'); at != std::string::npos && spec.substr(at) == "@tensor") {
      tf = parse_tensor_format(spec.substr(0, at));
      tf.groups = parse_groups("tensor");
      tf.rule = scale_rule::floor;
    } else {
      tf = parse_tensor_format(spec);
    }
    tensor_quantizer q(tf, opt);
    const std::int64_t shape[1] = {static_cast<std::int64_t>(n)};
    for (auto _ : state) {
      q.quantize<float>(in, out, shape);
      benchmark::ClobberMemory();
    }
  } else {
    const element_format f = parse_format(spec);
    if (!has_sign(f)) {
      // an unsigned format (e8m0fnu, the MX scale format; :u): its domain is x >= 0 (negative inputs give 0 or
      // NaN), so it is measured on |N(0, 1)|, the magnitudes of the same data
      for (std::size_t i = 0; i < n; ++i) src[i] = std::fabs(src[i]);
    }
    std::span<const float> previous;
    if (opt.mode.kind == rounding::hys) {
      quantize_options rne;
      kernels::quantize<float>(kernels::backend::automatic, f, in, std::span<float>(prev.get(), n), rne);
      previous = std::span<const float>(prev.get(), n);
    }
    for (auto _ : state) {
      kernels::quantize<float>(kernels::backend::automatic, f, in, out, opt, previous);
      benchmark::ClobberMemory();
    }
  }
  if (library_threads) kernels::set_thread_count(1);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(n));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(n) * 8);
}

}  // namespace

int main(int argc, char** argv) {
  // Benchmark threads each run the library single-threaded (see the header comment).
  kernels::set_thread_count(1);
  benchmark::AddCustomContext("fmtsim_simd_isa", std::string(kernels::simd_isa()));
  std::string isas;
  for (std::string_view s : kernels::simd_isas()) isas += (isas.empty() ? "" : ",") + std::string(s);
  benchmark::AddCustomContext("fmtsim_simd_isas_supported", isas);

  const std::vector<std::size_t> sizes = {std::size_t{1} << 14, std::size_t{1} << 24};
  struct item {
    const char* spec;
    std::vector<const char*> modes;
  };
  const std::vector<item> items = {
      {"e4m3fn", {"rne", "rtz", "sr", "hys"}},
      {"e5m2", {"rne", "rtz", "sr"}},
      {"e4m3", {"rne", "rtz"}},
      {"e4m3fnuz", {"rne", "rtz"}},
      {"e2m1fin", {"rne", "rtz", "sr"}},
      {"e2m3fin", {"rne", "rtz"}},
      {"e3m2fin", {"rne", "rtz"}},
      {"e8m0fnu", {"rne", "rtz"}},
      {"bf16", {"rne", "rtz", "sr"}},
      {"fp16", {"rne", "rtz"}},
      {"int8", {"rne", "rtz", "sr"}},
      {"fix8.4", {"rne", "rtz"}},
      {"bp:5x7,4,3,2,1,0", {"rne", "rtz", "sr"}},  // profile with a per-tensor scale (room 0)
      {"log4", {"rne"}},
      {"e4m3fn@tensor", {"rne"}},  // per-tensor power-of-two scale (floor), the common FP8 recipe with a 2^k scale
      {"mxfp8_e4m3", {"rne", "sr"}},
      {"mxfp4_e2m1", {"rne", "sr"}},
      {"mxint8", {"rne"}},
  };
  for (std::size_t n : sizes) {
    benchmark::RegisterBenchmark(("copy/" + std::to_string(n)).c_str(), bm_copy, n)
        ->Threads(1)
        ->Threads(2)
        ->UseRealTime();
  }
  for (const item& it : items) {
    for (const char* mode : it.modes) {
      for (std::size_t n : sizes) {
        const std::string name = "quantize/" + std::string(it.spec) + "/" + mode + "/" + std::to_string(n);
        benchmark::RegisterBenchmark(name.c_str(), bm_quantize, std::string(it.spec), std::string(mode), n, false)
            ->Threads(1)
            ->Threads(2)
            ->UseRealTime();
      }
    }
  }
  for (const char* spec : {"e4m3fn", "bf16", "mxfp8_e4m3", "bp:5x7,4,3,2,1,0"}) {
    for (const char* mode : {"rne", "sr"}) {
      const std::size_t n = std::size_t{1} << 24;
      const std::string name = "quantize_mt/" + std::string(spec) + "/" + mode + "/" + std::to_string(n);
      benchmark::RegisterBenchmark(name.c_str(), bm_quantize, std::string(spec), std::string(mode), n, true)
          ->UseRealTime();
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
