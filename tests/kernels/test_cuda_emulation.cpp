// SPDX-License-Identifier: MIT
// Host emulation of the CUDA kernels: the FMTSIM_HD bodies of cuda/kernel_bodies.hpp run over a simulated
// grid (every blockIdx x threadIdx, several grid shapes) and must match the scalar reference bit for bit;
// the grouped (MX) kernel must match the tensor quantizer of include/fmtsim/formats/tensor.hpp.
#include <doctest/doctest.h>

#include <fmtsim/core/array.hpp>
#include <fmtsim/core/spec.hpp>
#include <fmtsim/formats/tensor.hpp>

#include "kernel_bodies.hpp"
#include "kernel_inputs.hpp"

#include <cstring>
#include <string>
#include <vector>

using namespace fmtsim;
using namespace fmtsim_kernel_tests;

namespace {

// Launch `body(args, coords)` for every thread of a grid_dim x block_dim grid, blocks in reverse order
// and threads from the last (a GPU gives no order guarantee).
template <class Args, class Body>
void emulate(const Args& args, unsigned grid_dim, unsigned block_dim, Body body) {
  for (unsigned b = grid_dim; b-- > 0;)
    for (unsigned t = block_dim; t-- > 0;) body(args, cuda_kernels::grid_coords{b, block_dim, t, grid_dim});
}

}  // namespace

TEST_CASE("CUDA elementwise kernel body over a simulated grid == scalar reference") {
  const std::vector<std::pair<unsigned, unsigned>> grids = {{1, 1}, {3, 32}, {7, 256}, {1000, 64}};
  for (const char* spec : {"e4m3fn", "e5m2", "e2m1fin", "e8m0fnu", "bf16", "fp16", "int8", "fix8.4", "fp143",
                           "log4:logdomain", "e4m3fnuz", "e3m2:u", "e5m2:sat"}) {
    const element_format f = parse_format(spec);
    std::vector<float> x = hard_inputs(f);
    const std::vector<float> r = random_inputs(f, 3000, 5);
    x.insert(x.end(), r.begin(), r.end());
    std::vector<float> prev(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) prev[i] = quantize<float>(f, x[(i * 3) % x.size()], round_mode{});
    for (const char* mode : {"rne", "rna", "rtz", "rup", "rdn", "rto", "sr", "sr8", "hys"}) {
      quantize_options opt;
      opt.mode = *parse_rounding(mode);
      opt.seed = 0xabcdefull;
      opt.index_offset = 1000;
      const bool hys = opt.mode.kind == rounding::hys;
      std::vector<float> expect(x.size());
      quantize_array<float>(f, x, expect, opt, hys ? std::span<const float>(prev) : std::span<const float>());
      for (auto [grid, block] : grids) {
        std::vector<float> got(x.size(), 12345.0f);
        cuda_kernels::elementwise_args a;
        a.format = f;
        a.mode = opt.mode;
        a.seed = opt.seed;
        a.index_offset = opt.index_offset;
        a.in = x.data();
        a.out = got.data();
        a.previous = hys ? prev.data() : nullptr;
        a.n = x.size();
        emulate(a, grid, block, cuda_kernels::elementwise_body);
        INFO("format ", std::string(spec), " mode ", std::string(mode), " grid ", grid, "x", block);
        const long d = first_difference(expect, got);
        CHECK(d < 0);
      }
    }
  }
}

TEST_CASE("CUDA grouped (MX) kernel body == tensor quantizer") {
  struct mx_case {
    const char* tensor_spec;
    const char* element_spec;
  };
  for (const mx_case c : {mx_case{"mxfp8_e4m3", "e4m3fn"}, mx_case{"mxfp8_e5m2", "e5m2"},
                          mx_case{"mxfp4_e2m1", "e2m1fin"}, mx_case{"mxfp6_e2m3", "e2m3fin"}}) {
    const tensor_format tf = parse_tensor_format(c.tensor_spec);
    element_format f = tf.element;  // MX elements saturate (formats.md 3)
    f.scale_exp = 0;
    CHECK(format_name(f) == std::string(c.element_spec) + ":sat");
    const std::size_t n = 32 * 300 + 17;  // a short last group
    std::vector<float> x = random_inputs(f, n, 11);
    for (std::size_t i = 0; i < n; ++i) {
      if (!std::isfinite(x[i])) x[i] = 1.0f;                              // NaN groups are checked below separately
      if (i / 32 == 5) x[i] = 0.0f;                                       // an all-zero group
      if (i / 32 == 6) x[i] = std::ldexp(x[i] == 0 ? 1.0f : x[i], -140);  // scale clamped at the E8M0 bottom
    }
    x[32 * 9 + 3] = std::numeric_limits<float>::quiet_NaN();
    for (const char* mode : {"rne", "rtz", "sr"}) {
      quantize_options opt;
      opt.mode = *parse_rounding(mode);
      opt.seed = 77;
      std::vector<float> expect(n), got(n);
      tensor_quantizer q(tf, opt);
      const std::int64_t shape[1] = {static_cast<std::int64_t>(n)};
      q.quantize<float>(x, expect, shape);
      cuda_kernels::grouped_args a;
      a.format = f;
      a.mode = opt.mode;
      a.seed = opt.seed;
      a.in = x.data();
      a.out = got.data();
      a.n = n;
      a.group = 32;
      emulate(a, 5, 32, cuda_kernels::grouped_body);
      INFO("format ", std::string(c.tensor_spec), " mode ", std::string(mode));
      const long d = first_difference(expect, got);
      if (d >= 0) {
        const auto k = static_cast<std::size_t>(d);
        INFO("element ", d, " x ", hex(x[k]), " tensor_quantizer ", hex(expect[k]), " cuda body ", hex(got[k]));
        CHECK(d < 0);
      } else {
        CHECK(d < 0);
      }
    }
  }
}
