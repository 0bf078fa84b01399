// SPDX-License-Identifier: MIT
// A small persistent thread pool: workers take task indices from a shared counter under a mutex.
#include "thread_pool.hpp"

#include <fmtsim/core/fp_env.hpp>

#include <cstdlib>
#include <exception>
#include <string>

namespace fmtsim::kernels::detail {

namespace {
thread_local bool in_worker = false;

unsigned default_threads() {
  if (const char* env = std::getenv("FMTSIM_THREADS")) {
    char* end = nullptr;
    const unsigned long v = std::strtoul(env, &end, 10);
    if (end != env && *end == '\0' && v >= 1 && v <= 4096) return static_cast<unsigned>(v);
  }
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : hw;
}
}  // namespace

thread_pool& thread_pool::instance() {
  static thread_pool pool;
  return pool;
}

thread_pool::thread_pool() { threads_ = default_threads(); }

thread_pool::~thread_pool() { stop(); }

unsigned thread_pool::threads() { return threads_.load(std::memory_order_relaxed); }

void thread_pool::set_threads(unsigned n) {
  std::lock_guard<std::mutex> lock(run_mutex_);
  const unsigned want = n == 0 ? default_threads() : n;
  if (want == threads_) return;
  stop();
  threads_ = want;
}

void thread_pool::start(unsigned workers) {
  std::lock_guard<std::mutex> lock(mutex_);
  stopping_ = false;
  for (unsigned i = 0; i < workers; ++i) workers_.emplace_back([this] { worker_loop(); });
}

void thread_pool::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : workers_) t.join();
  workers_.clear();
}

void thread_pool::drain() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (next_ < tasks_) {
    const std::size_t k = next_++;
    const auto* task = task_;
    lock.unlock();
    try {
      (*task)(k);
    } catch (...) {
      lock.lock();
      if (!error_) error_ = std::current_exception();
      next_ = tasks_;  // skip the rest
      continue;
    }
    lock.lock();
  }
}

void thread_pool::worker_loop() {
  in_worker = true;
  const fp_env_scope env;  // a worker inherits its creator's environment
  unsigned long long seen = 0;
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
    if (stopping_) return;
    seen = generation_;
    ++busy_;
    lock.unlock();
    drain();
    lock.lock();
    if (--busy_ == 0) done_.notify_all();
  }
}

void thread_pool::run(std::size_t tasks, const std::function<void(std::size_t)>& task) {
  std::unique_lock<std::mutex> run_lock(run_mutex_, std::try_to_lock);
  if (in_worker || !run_lock.owns_lock() || threads_ <= 1 || tasks <= 1) {
    for (std::size_t k = 0; k < tasks; ++k) task(k);
    return;
  }
  if (workers_.size() + 1 != threads_) {
    stop();
    start(threads_ - 1);
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    task_ = &task;
    tasks_ = tasks;
    next_ = 0;
    error_ = nullptr;
    ++generation_;
  }
  wake_.notify_all();
  drain();
  std::exception_ptr error;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return busy_ == 0 && next_ >= tasks_; });
    task_ = nullptr;
    error = error_;
    error_ = nullptr;
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace fmtsim::kernels::detail
