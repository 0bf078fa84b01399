// SPDX-License-Identifier: MIT
// Threaded kernels == single-threaded == scalar reference, for every family, sr and hys, float32 and float64.
#include <doctest/doctest.h>

#include <fmtsim/core/array.hpp>
#include <fmtsim/core/spec.hpp>
#include <fmtsim/kernels/elementwise.hpp>
#include <fmtsim/kernels/scaled.hpp>

#include "kernel_inputs.hpp"

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace fmtsim;
using namespace fmtsim_kernel_tests;

namespace {

struct thread_count_guard {
  ~thread_count_guard() { kernels::set_thread_count(0); }
};

template <class T>
std::vector<T> run(kernels::backend b, const element_format& f, const std::vector<T>& x, const quantize_options& opt,
                   const std::vector<T>& prev) {
  std::vector<T> out(x.size());
  kernels::quantize<T>(b, f, x, out, opt,
                       opt.mode.kind == rounding::hys ? std::span<const T>(prev) : std::span<const T>());
  return out;
}

template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

}  // namespace

TEST_CASE("thread count API") {
  thread_count_guard guard;
  kernels::set_thread_count(3);
  CHECK(kernels::thread_count() == 3);
  kernels::set_thread_count(1);
  CHECK(kernels::thread_count() == 1);
  kernels::set_thread_count(0);
  CHECK(kernels::thread_count() >= 1);
}

TEST_CASE("thread count: asking does not wait for another thread's running call") {
  // A call running its tasks inline (one thread) holds the pool for its whole length; thread_count() from another
  // thread must still answer at once. The task waits (at most 20 s) for the other thread to have asked.
  thread_count_guard guard;
  kernels::set_thread_count(1);
  std::mutex m;
  std::condition_variable cv;
  bool started = false, asked = false;
  unsigned seen = 0;
  bool answered_in_time = false;
  std::thread caller([&] {
    kernels::run_tasks(2, [&](std::size_t k) {
      if (k != 0) return;
      std::unique_lock<std::mutex> lock(m);
      started = true;
      cv.notify_all();
      answered_in_time = cv.wait_for(lock, std::chrono::seconds(20), [&] { return asked; });
    });
  });
  {
    std::unique_lock<std::mutex> lock(m);
    cv.wait(lock, [&] { return started; });
  }
  seen = kernels::thread_count();
  {
    std::lock_guard<std::mutex> lock(m);
    asked = true;
  }
  cv.notify_all();
  caller.join();
  CHECK(seen == 1);
  CHECK(answered_in_time);
}

TEST_CASE("threaded == single-threaded == scalar reference for every family") {
  thread_count_guard guard;
  // longer than several thread tasks (2^16 elements each), not a multiple of any batch size
  const std::size_t n = (std::size_t{1} << 18) + 37;
  for (const char* spec : {"e4m3fn", "e5m2", "e8m0fnu", "int8", "fix8.4", "fp143", "log4:logdomain", "bf16"}) {
    const element_format f = parse_format(spec);
    const std::vector<float> x = random_inputs(f, n, 99);
    std::vector<double> xd(x.begin(), x.end());
    for (const char* mode : {"rne", "rtz", "sr", "sr8", "hys"}) {
      quantize_options opt;
      opt.mode = *parse_rounding(mode);
      opt.seed = 0xfeedull;
      opt.index_offset = 12345;
      std::vector<float> prev(n);
      for (std::size_t i = 0; i < n; ++i) prev[i] = quantize<float>(f, x[(i * 13) % n], round_mode{});
      std::vector<double> prevd(prev.begin(), prev.end());
      INFO("format ", spec, " mode ", mode);
      const std::vector<float> ref = run<float>(kernels::backend::scalar, f, x, opt, prev);
      const std::vector<double> refd = run<double>(kernels::backend::scalar, f, xd, opt, prevd);
      for (unsigned threads : {1u, 2u, 3u, 4u}) {
        kernels::set_thread_count(threads);
        INFO("threads ", threads);
        CHECK(same_bits(run<float>(kernels::backend::simd, f, x, opt, prev), ref));
        CHECK(same_bits(run<float>(kernels::backend::automatic, f, x, opt, prev), ref));
        CHECK(same_bits(run<double>(kernels::backend::simd, f, xd, opt, prevd), refd));
      }
    }
  }
}

TEST_CASE("streaming (non-temporal) stores on large outputs, unaligned, and concurrent callers") {
  thread_count_guard guard;
  kernels::set_thread_count(2);
  const std::size_t n = (std::size_t{1} << 21) + 5;  // 8 MiB + : the streaming path
  const element_format f = parse_format("e4m3fn");
  std::vector<float> x = random_inputs(f, n + 1, 7);
  for (const char* mode : {"rne", "sr"}) {
    quantize_options opt;
    opt.mode = *parse_rounding(mode);
    opt.seed = 3;
    std::span<const float> in(x.data() + 1, n);  // misaligned start
    std::vector<float> ref(n), got(n + 1);
    quantize_array<float>(f, in, ref, opt);
    kernels::quantize<float>(kernels::backend::simd, f, in, std::span<float>(got.data() + 1, n), opt);
    CHECK(std::memcmp(ref.data(), got.data() + 1, n * sizeof(float)) == 0);
    // two user threads calling at once: the pool serves one, the other runs inline; both exact
    std::vector<float> a(n), b(n);
    std::thread t1([&] { kernels::quantize<float>(kernels::backend::simd, f, in, a, opt); });
    std::thread t2([&] { kernels::quantize<float>(kernels::backend::simd, f, in, b, opt); });
    t1.join();
    t2.join();
    CHECK(std::memcmp(ref.data(), a.data(), n * sizeof(float)) == 0);
    CHECK(std::memcmp(ref.data(), b.data(), n * sizeof(float)) == 0);
  }
}
