// SPDX-License-Identifier: MIT
// scaled_f32_kernel: the float32 SIMD params of an element format built once at scale_exp 0, driving the per-ISA
// scaled entries (simd_impl.hpp scaled_amax_f32 / scaled_quantize_f32); the fast-path switch; run_tasks.
#include <fmtsim/kernels/scaled.hpp>

#include "simd_params.hpp"
#include "simd_table.hpp"
#include "thread_pool.hpp"

#include <array>
#include <atomic>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace fmtsim::kernels {

namespace {

// -2: off, -1: auto, k >= 0: index into simd_isa_table()
std::atomic<int> fast_path_setting{-1};
std::atomic<std::uint64_t> quantize_calls{0};

int isa_index(std::string_view name) {
  return static_cast<int>(&detail::named_isa(name) - detail::simd_isa_table().data());
}

}  // namespace

void set_scaled_fast_path(std::string_view mode) {
  if (mode == "auto") {
    fast_path_setting = -1;
  } else if (mode == "off") {
    fast_path_setting = -2;
  } else {
    fast_path_setting = isa_index(mode);
  }
}

std::string scaled_fast_path() {
  const int k = fast_path_setting;
  if (k == -1) return "auto";
  if (k == -2) return "off";
  return std::string(detail::simd_isa_table()[static_cast<std::size_t>(k)].name);
}

bool scaled_fast_path_enabled() {
  const int k = fast_path_setting;
  if (k == -2) return false;
  return k >= 0 || detail::best_isa() != nullptr;
}

std::uint64_t scaled_kernel_calls() { return quantize_calls.load(); }

void run_tasks(std::size_t tasks, const std::function<void(std::size_t)>& task) {
  if (tasks == 1) {
    task(0);
    return;
  }
  if (tasks > 1) detail::thread_pool::instance().run(tasks, task);
}

// The params at each scale the block mode asked for, built on first use (any thread) and kept with the kernel.
struct scaled_f32_kernel::scale_cache {
  std::mutex m;
  std::array<std::atomic<int>, 255> state{};  // by s + 127: 0 not built, 1 built (params below), -1 refused
  std::array<const detail::simd_params*, 255> at{};
  std::vector<std::unique_ptr<detail::simd_params>> owned;
};

scaled_f32_kernel::scaled_f32_kernel(const element_format& f, const quantize_options& opt, std::string_view isa)
    : opt_(opt), scales_(std::make_unique<scale_cache>()) {
  if (opt.mode.kind == rounding::hys) throw std::invalid_argument("scaled_f32_kernel: hysteresis is not supported");
  if (!isa.empty()) {
    isa_ = &detail::simd_isa_table()[static_cast<std::size_t>(isa_index(isa))];
  } else {
    const int k = fast_path_setting;
    setting_ = k;
    if (k == -2) throw std::invalid_argument("scaled_f32_kernel: the fast path is switched off");
    isa_ = k >= 0 ? &detail::simd_isa_table()[static_cast<std::size_t>(k)] : detail::best_isa();
    if (!isa_) throw std::invalid_argument("scaled_f32_kernel: no SIMD ISA available");
  }
  element_format f0 = f;
  f0.scale_exp = 0;
  params_ = std::make_unique<detail::simd_params>(detail::make_simd_params(f0, opt));
}

scaled_f32_kernel::~scaled_f32_kernel() = default;

const element_format& scaled_f32_kernel::format() const { return params_->format; }

std::string_view scaled_f32_kernel::isa() const { return isa_->name; }

bool scaled_f32_kernel::matches(const element_format& f, const quantize_options& opt) const {
  element_format f0 = f;
  f0.scale_exp = 0;
  return f0 == params_->format && opt.mode == opt_.mode && opt.seed == opt_.seed &&
         (setting_ == -3 || setting_ == fast_path_setting);
}

void scaled_f32_kernel::amax_bits(const float* in, std::span<const scaled_segment> segs, std::uint32_t* amax) const {
  detail::scaled_call c;
  c.params = params_.get();
  c.in = in;
  c.segs = segs.data();
  c.nsegs = segs.size();
  c.amax = amax;
  isa_->scaled_amax(c);
}

scaled_counts scaled_f32_kernel::quantize(const float* in, float* out, std::span<const scaled_segment> segs,
                                          std::uint64_t index_offset) const {
  detail::scaled_call c;
  c.params = params_.get();
  c.in = in;
  c.out = out;
  c.segs = segs.data();
  c.nsegs = segs.size();
  c.index_base = index_offset;
  isa_->scaled_quantize(c);
  quantize_calls.fetch_add(1, std::memory_order_relaxed);
  return scaled_counts{c.clipped, c.flushed_to_zero};
}

void scaled_f32_kernel::params_deleter::operator()(detail::simd_params* p) const { delete p; }

scaled_f32_kernel::params_ptr scaled_f32_kernel::params_at(int s) const {
  element_format f = params_->format;
  f.scale_exp = s;
  return params_ptr(new detail::simd_params(detail::make_simd_params(f, opt_)));
}

scaled_counts scaled_f32_kernel::quantize_at(const detail::simd_params& at, const float* in, float* out,
                                             std::span<const scaled_segment> segs, std::uint64_t index_offset,
                                             bool stream, bool count, std::size_t prefetch_ahead) const {
  detail::scaled_call c;
  c.count = count;
  c.prefetch_ahead = prefetch_ahead;
  c.params = &at;
  c.in = in;
  c.out = out;
  c.segs = segs.data();
  c.nsegs = segs.size();
  c.index_base = index_offset;
  c.direct = true;
  c.stream = stream;
  isa_->scaled_quantize(c);
  quantize_calls.fetch_add(1, std::memory_order_relaxed);
  return scaled_counts{c.clipped, c.flushed_to_zero};
}

const detail::simd_params* scaled_f32_kernel::params_cached(int s) const {
  if (s < -127 || s > 127) return nullptr;
  const std::size_t k = static_cast<std::size_t>(s + 127);
  scale_cache& c = *scales_;
  const int st = c.state[k].load(std::memory_order_acquire);
  if (st != 0) return st > 0 ? c.at[k] : nullptr;
  const std::lock_guard<std::mutex> lock(c.m);
  if (c.state[k].load(std::memory_order_relaxed) == 0) {
    element_format f = params_->format;
    f.scale_exp = s;
    try {
      c.owned.push_back(std::make_unique<detail::simd_params>(detail::make_simd_params(f, opt_)));
      c.at[k] = c.owned.back().get();
      c.state[k].store(1, std::memory_order_release);
    } catch (const std::invalid_argument&) {
      c.state[k].store(-1, std::memory_order_release);
    }
  }
  return c.state[k].load(std::memory_order_relaxed) > 0 ? c.at[k] : nullptr;
}

bool scaled_f32_kernel::blocks_served(std::size_t len) const {
  const std::size_t n = isa_->lanes;
  if (len == 0 || len % n != 0) return false;
  const std::size_t k = len / n;
  return (k == 1 || k == 2 || k == 4 || k == 8) && detail::block_mode_serves(*params_);
}

scaled_f32_kernel::block_result scaled_f32_kernel::quantize_blocks(
    const float* in, float* out, std::size_t first, std::size_t len, std::size_t count,
    const std::function<bool(std::uint32_t field, scaled_segment& seg)>& plan, std::uint64_t index_offset, bool stream,
    std::int32_t* scale_out, std::size_t scale_stride) const {
  if (!blocks_served(len)) {
    for (std::size_t b = 0; b < count; ++b) scale_out[b * scale_stride] = no_block_scale;
    block_result r;
    r.left = count;
    return r;
  }
  struct ctx_t {
    const scaled_f32_kernel* k;
    const std::function<bool(std::uint32_t, scaled_segment&)>* plan;
  } ctx{this, &plan};
  detail::block_job job;
  job.first = first;
  job.len = len;
  job.count = count;
  job.ctx = &ctx;
  job.scale_out = scale_out;
  job.scale_stride = scale_stride;
  job.resolve = [](void* p, std::uint32_t field) {
    const ctx_t& x = *static_cast<const ctx_t*>(p);
    scaled_segment seg;
    detail::block_scale b;
    if (!(*x.plan)(field, seg)) return b;
    b.params = x.k->params_cached(seg.scale_exp);
    b.scale_exp = seg.scale_exp;
    b.clip_pos = seg.clip_pos;
    b.clip_neg = seg.clip_neg;
    return b;
  };
  detail::scaled_call c;
  c.params = params_.get();
  c.in = in;
  c.out = out;
  c.index_base = index_offset;
  c.stream = stream;
  c.blocks = &job;
  isa_->scaled_quantize(c);
  quantize_calls.fetch_add(1, std::memory_order_relaxed);
  block_result r;
  r.counts = scaled_counts{c.clipped, c.flushed_to_zero};
  r.left = count - job.taken;
  r.scale_min = job.scale_min;
  r.scale_max = job.scale_max;
  return r;
}

}  // namespace fmtsim::kernels
