// SPDX-License-Identifier: MIT
// Tensor quantizer = element format + scale groups + scale rule (formats.md section 3), with state and statistics.
#pragma once

#include <fmtsim/core/array.hpp>
#include <fmtsim/core/format.hpp>
#include <fmtsim/core/rounding.hpp>
#include <fmtsim/kernels/elementwise.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace fmtsim {

namespace kernels {
class scaled_f32_kernel;
}

// ---- layout ------------------------------------------------------------------------------------

// Shape and strides (in elements, may be any non-negative values; empty strides = C order).
struct tensor_layout {
  std::vector<std::int64_t> shape;
  std::vector<std::int64_t> strides;

  static tensor_layout contiguous(std::vector<std::int64_t> shape);
  std::size_t size() const;                             // number of elements
  std::vector<std::int64_t> effective_strides() const;  // strides, or the C-order strides when empty
  bool is_contiguous() const;                           // C order, no gaps
  std::size_t span_needed() const;                      // 1 + largest memory offset (0 for an empty tensor)
};

// ---- groups ------------------------------------------------------------------------------------

enum class group_kind : std::uint8_t {
  tensor,   // one group
  channel,  // one group per index along `axis`
  block,    // runs of `block` consecutive elements along `axis` (last block may be short)
  tile,     // tile_rows x tile_cols tiles over the last two axes
};

struct scale_groups {
  group_kind kind = group_kind::tensor;
  int axis = 0;  // channel / block axis; negative counts from the end
  std::int64_t block = 32;
  std::int64_t tile_rows = 48;
  std::int64_t tile_cols = 48;
  bool operator==(const scale_groups&) const = default;
};

// "tensor", "channel[:AXIS]", "block:SIZE[:AXIS]", "tile:AxB". Throws std::invalid_argument.
scale_groups parse_groups(std::string_view text);
std::string groups_name(const scale_groups& g);

// Every group is the box [g_k * B_k, min((g_k + 1) * B_k, n_k)) on each axis k; groups are numbered in
// C order over the grid G_k = ceil(n_k / B_k).
struct group_geometry {
  std::vector<std::int64_t> shape;  // the tensor's shape (a 0-d tensor is treated as shape {1})
  std::vector<std::int64_t> box;    // B_k
  std::vector<std::int64_t> grid;   // G_k
  std::size_t count() const;        // number of groups
  std::size_t group_of(std::span<const std::int64_t> index) const;
};
group_geometry make_geometry(const scale_groups& g, std::span<const std::int64_t> shape);

// ---- scale rules -------------------------------------------------------------------------------

enum class scale_rule : std::uint8_t {
  none,   // no scale: plain elementwise quantization (scale_exp of the element format is used as is)
  floor,  // 2^(floor(log2 amax) - emax_elem)  (OCP MX; the same as room 0)
  ceil,   // the smallest power of two with amax <= max_elem * 2^s (never clips)
  room,   // top binade of the scaled format = floor(log2 amax) + room
  fp32,   // real scale S = amax / max_elem rounded once to float32
};

// What a group holding NaN or +-inf does.
enum class nonfinite_policy : std::uint8_t {
  nan_group,    // the group's scale is NaN: every element of the group becomes NaN (as an MX NaN scale)
  error,        // throw, naming the first non-finite element
  passthrough,  // the scale comes from the finite elements; NaN/inf elements are copied unchanged
};

std::optional<scale_rule> parse_scale_rule(std::string_view name);  // none|floor|ceil|room|fp32
std::string_view scale_rule_name(scale_rule r);
std::optional<nonfinite_policy> parse_nonfinite(std::string_view name);  // nan|error|pass
std::string_view nonfinite_name(nonfinite_policy p);

// A scaled tensor format. The element's scale_exp is overwritten per group (except for rule none).
struct tensor_format {
  element_format element;
  scale_groups groups;
  scale_rule rule = scale_rule::none;
  int room = 0;
  bool tracking = false;  // keep s between calls, move it by at most one binade per call
  // The stored exponent of a power-of-two scale is scale_exp + stored_offset (MX: 0, the E8M0 exponent;
  // block minifloat: emax_elem, the block's top binade); it is clamped to [stored_min, stored_max].
  int stored_offset = 0;
  int stored_min = -100000;
  int stored_max = 100000;
  int scale_bits = 8;  // storage per group, for the bits-per-element statistic and packing
  nonfinite_policy nonfinite = nonfinite_policy::nan_group;
  std::string preset;  // "mxfp8_e4m3", "bm8", ... or empty
};

// Parse a tensor format spec: an MX name (mxfp8_e4m3, mxfp8_e5m2, mxfp6_e2m3, mxfp6_e3m2, mxfp4_e2m1,
// mxint8), a block-minifloat preset (bm8, bm6, bm5, bm4 with :fwd (default) or :bwd), or any element spec
// (bp / fp1xy / log formats default to a per-tensor room-0 scale, the others to no scale).
tensor_format parse_tensor_format(std::string_view spec);
// Canonical description, e.g. "bp:5x7,4,3,2,1,0 groups=tensor rule=room room=1 tracking".
std::string tensor_format_name(const tensor_format& f);

// Largest exponent of the element format at scale_exp 0: floor(log2 max_finite) (e4m3fn: 8, e2m1fin: 2,
// fix8.6: 0, a profile: 0).
int element_emax(const element_format& f);

// ---- statistics and state ----------------------------------------------------------------------

struct quantize_stats {
  std::uint64_t elements = 0;
  std::uint64_t groups = 0;
  std::uint64_t zero_groups = 0;             // amax == 0
  std::uint64_t nan_groups = 0;              // groups turned to NaN by non-finite input (policy nan_group)
  std::uint64_t nonfinite = 0;               // NaN or inf input elements
  std::uint64_t clipped = 0;                 // finite |x| above the group's largest magnitude (saturated / overflowed)
  std::uint64_t flushed_to_zero = 0;         // finite x != 0 that became 0
  std::uint64_t outliers = 0;                // SmaQ: elements coded as outliers
  std::uint64_t outliers_clamped = 0;        // SmaQ: outliers beyond the outlier code range
  std::uint64_t scale_clamped = 0;           // groups whose scale exponent hit the stored range
  int scale_exp_min = 0, scale_exp_max = 0;  // over the finite, non-zero groups
  double payload_bits = 0;                   // element code bits in total
  double scale_bits = 0;                     // scale / statistics bits in total
  double bits_per_element() const { return elements ? (payload_bits + scale_bits) / double(elements) : 0.0; }
  void merge(const quantize_stats& o);
};
std::string stats_json(const quantize_stats& s, int indent = 2);

// Per-group result of the last call (for packing and inspection).
struct group_scale {
  int scale_exp = 0;     // power-of-two rules: the element format's scale_exp
  float real_scale = 1;  // fp32 rule
  bool nan = false;      // the group was turned to NaN
  bool clamped = false;
};

// The state of a stateful quantizer (tracking and/or hysteresis).
struct quantizer_state {
  std::string format;  // tensor_format_name of the quantizer that wrote it
  std::vector<std::int64_t> shape;
  std::vector<int> scale_exp;    // tracking: s per group (empty before the first call)
  std::vector<double> previous;  // hysteresis: the previous quantized tensor, C order
  std::uint64_t calls = 0;
};
std::string save_state(const quantizer_state& s);  // a small JSON document (version 1)
quantizer_state load_state(std::string_view json_text, const std::string& what = "state");

// ---- the quantizer -----------------------------------------------------------------------------

class tensor_quantizer {
 public:
  explicit tensor_quantizer(tensor_format f, quantize_options opt = {},
                            kernels::backend b = kernels::backend::automatic);

  // Fake-quantize `in` (laid out by in_layout) into `out` (out_layout, same shape). in and out may be the
  // same memory only if the layouts are equal. Stochastic rounding uses random stream opt.index_offset +
  // (C-order index of the element). Hysteresis (-r hys) uses the previous call's output (the first call
  // rounds to nearest, even). Throws std::invalid_argument on bad input.
  template <class T>
  quantize_stats quantize(std::span<const T> in, const tensor_layout& in_layout, std::span<T> out,
                          const tensor_layout& out_layout);
  // Contiguous C-order convenience.
  template <class T>
  quantize_stats quantize(std::span<const T> in, std::span<T> out, std::span<const std::int64_t> shape);

  // Quantize and return the element codes (C order) of a contiguous tensor; the scales are in last_scales().
  template <class T>
  quantize_stats encode(std::span<const T> in, std::span<const std::int64_t> shape, std::vector<std::uint32_t>& codes);

  const tensor_format& format() const { return fmt_; }
  const std::vector<group_scale>& last_scales() const { return scales_; }
  const quantizer_state& state() const { return state_; }
  void set_state(quantizer_state s);  // checks the format name
  void reset();
  void set_options(const quantize_options& o) { opt_ = o; }
  const quantize_options& options() const { return opt_; }

 private:
  template <class T>
  quantize_stats run(std::span<const T> in, const tensor_layout& in_layout, std::span<T> out,
                     const tensor_layout& out_layout, std::vector<std::uint32_t>* codes);

  tensor_format fmt_;
  quantize_options opt_;
  kernels::backend backend_;
  quantizer_state state_;
  std::vector<group_scale> scales_;
  // The float32 fast path's kernel (element parameters at scale 0), kept between calls; immutable once built.
  std::shared_ptr<const kernels::scaled_f32_kernel> fast_kernel_;
};

// One-shot helper: a fresh quantizer, one call.
template <class T>
quantize_stats quantize_tensor(const tensor_format& f, std::span<const T> in, std::span<T> out,
                               std::span<const std::int64_t> shape, const quantize_options& opt = {});

// ---- real-valued scale helpers (exact; used by the fp32 rule, FracTrain and the tests) -----------

// The float32 nearest (ties to even) to the exact quotient num / den (num >= 0 finite double, den > 0 a
// double of at most 26 significant bits). Throws if the quotient overflows float32.
float divide_to_float(double num, double den);
// Sign of a - (b + c) computed exactly (all finite doubles).
int exact_compare_sum(double a, double b, double c);
// The exact sum a + b rounded once (to nearest, ties to even) to T.
template <class T>
T round_sum(double a, double b);

}  // namespace fmtsim
