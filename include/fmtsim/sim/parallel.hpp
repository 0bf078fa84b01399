// SPDX-License-Identifier: MIT
// Engine threading: a global worker count and a deterministic parallel-for over task indices.
#pragma once

#include <cstdint>
#include <functional>

namespace fmtsim::sim {

// Number of threads the engine uses (default: std::thread::hardware_concurrency()). BLAS calls
// run single-threaded inside the engine's own tasks, so results never depend on this number.
void set_num_threads(int threads);
int num_threads() noexcept;

// Runs fn(i) for i in [0, tasks) on up to num_threads() threads. Work is split into tasks whose
// boundaries the caller fixes independently of the thread count, so the output is deterministic.
// The first exception thrown by a task is rethrown after all threads finish.
void parallel_for(std::int64_t tasks, const std::function<void(std::int64_t)>& fn);

}  // namespace fmtsim::sim
