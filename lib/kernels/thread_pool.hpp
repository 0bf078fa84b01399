// SPDX-License-Identifier: MIT
// A small persistent thread pool for splitting elementwise kernels over cores (results never depend on it).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace fmtsim::kernels::detail {

class thread_pool {
 public:
  static thread_pool& instance();

  // Total threads used by run() (the caller included), >= 1.
  unsigned threads();
  void set_threads(unsigned n);

  // Calls task(k) for k in [0, tasks), spread over the pool and the calling thread; returns when all
  // are done. If the pool is serving another caller, or is called from one of its own workers, the
  // tasks run on the calling thread. The first exception thrown by a task is rethrown here.
  void run(std::size_t tasks, const std::function<void(std::size_t)>& task);

  ~thread_pool();

 private:
  thread_pool();
  void start(unsigned workers);
  void stop();
  void worker_loop();
  void drain();  // take tasks of the current job until none are left

  std::mutex run_mutex_;  // one job at a time
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  std::vector<std::thread> workers_;
  // read without run_mutex_ (threads() must not wait for a running job, which holds it); written under it
  std::atomic<unsigned> threads_{1};
  bool stopping_ = false;
  unsigned long long generation_ = 0;
  // the current job
  const std::function<void(std::size_t)>* task_ = nullptr;
  std::size_t tasks_ = 0;
  std::size_t next_ = 0;
  unsigned busy_ = 0;
  std::exception_ptr error_;
};

}  // namespace fmtsim::kernels::detail
