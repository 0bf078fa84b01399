// SPDX-License-Identifier: MIT
// Engine thread count and parallel_for (one std::thread per worker per call, atomic task counter).
#include "fmtsim/sim/parallel.hpp"

#include "blas.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#if defined(FMTSIM_HAVE_OPENBLAS_SET_NUM_THREADS)
extern "C" void openblas_set_num_threads(int);
#endif

namespace fmtsim::sim {
namespace {

std::atomic<int>& thread_setting() {
  static std::atomic<int> n{static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))};
  return n;
}

}  // namespace

namespace detail {
void blas_single_thread() {
  static std::once_flag once;
  std::call_once(once, [] {
#if defined(FMTSIM_HAVE_OPENBLAS_SET_NUM_THREADS)
    openblas_set_num_threads(1);
#endif
  });
}
}  // namespace detail

void set_num_threads(int threads) { thread_setting() = std::max(1, threads); }

int num_threads() noexcept { return thread_setting().load(); }

void parallel_for(std::int64_t tasks, const std::function<void(std::int64_t)>& fn) {
  detail::blas_single_thread();
  if (tasks <= 0) return;
  const int workers = static_cast<int>(std::min<std::int64_t>(num_threads(), tasks));
  if (workers <= 1) {
    for (std::int64_t i = 0; i < tasks; ++i) fn(i);
    return;
  }
  std::atomic<std::int64_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&] {
    for (;;) {
      const std::int64_t i = next.fetch_add(1);
      if (i >= tasks) return;
      try {
        fn(i);
      } catch (...) {
        std::lock_guard lock(error_mutex);
        if (!error) error = std::current_exception();
        next = tasks;
      }
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(workers - 1);
  for (int w = 1; w < workers; ++w) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace fmtsim::sim
