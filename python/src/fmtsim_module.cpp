// SPDX-License-Identifier: MIT
// nanobind module fmtsim._fmtsim: element formats, quantize/encode/decode on strided arrays, catalogs, tensor
// quantizers.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <fmtsim/core/array.hpp>
#include <fmtsim/core/format.hpp>
#include <fmtsim/core/quantize.hpp>
#include <fmtsim/core/rounding.hpp>
#include <fmtsim/core/spec.hpp>
#include <fmtsim/formats/catalog.hpp>
#include <fmtsim/formats/families.hpp>
#include <fmtsim/formats/packed.hpp>
#include <fmtsim/formats/tensor.hpp>
#include <fmtsim/kernels/elementwise.hpp>

#include "strided.hpp"  // lib/capi/strided.hpp

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

namespace nb = nanobind;
using namespace nb::literals;

namespace fmtsim::python {
namespace {

using namespace fmtsim::detail::strided;

using ro_array = nb::ndarray<nb::ro, nb::device::cpu>;
using rw_array = nb::ndarray<nb::device::cpu>;

[[noreturn]] void fail(const std::string& msg) { throw std::invalid_argument(msg); }

template <class A>
strided_view view_of(const A& a) {
  strided_view v;
  v.data = static_cast<char*>(const_cast<void*>(static_cast<const void*>(a.data_handle()))) + a.byte_offset();
  v.itemsize = a.itemsize();
  v.shape.resize(a.ndim());
  v.strides.resize(a.ndim());
  for (std::size_t k = 0; k < a.ndim(); ++k) {
    v.shape[k] = static_cast<std::int64_t>(a.shape(k));
    v.strides[k] = a.stride_ptr() ? a.stride(k) : 0;
  }
  if (!a.stride_ptr()) {  // DLPack: no strides means C order
    std::int64_t s = 1;
    for (std::size_t k = a.ndim(); k-- > 0;) {
      v.strides[k] = s;
      s *= v.shape[k];
    }
  }
  return v;
}

enum class real_kind { f32, f64, other };

template <class A>
real_kind real_of(const A& a) {
  if (a.dtype() == nb::dtype<float>()) return real_kind::f32;
  if (a.dtype() == nb::dtype<double>()) return real_kind::f64;
  return real_kind::other;
}

std::string dtype_text(const nb::dlpack::dtype& d) {
  std::string k;
  switch (static_cast<nb::dlpack::dtype_code>(d.code)) {
    case nb::dlpack::dtype_code::Int:
      k = "int";
      break;
    case nb::dlpack::dtype_code::UInt:
      k = "uint";
      break;
    case nb::dlpack::dtype_code::Float:
      k = "float";
      break;
    case nb::dlpack::dtype_code::Bfloat:
      k = "bfloat";
      break;
    case nb::dlpack::dtype_code::Complex:
      k = "complex";
      break;
    case nb::dlpack::dtype_code::Bool:
      return "bool";
    default:
      k = "dtype";
  }
  return k + std::to_string(d.bits);
}

round_mode rounding_of(const std::string& name) {
  const auto m = parse_rounding(name);
  if (!m) fail("unknown rounding mode '" + name + "' (known: " + std::string(rounding_names_help()) + ")");
  return *m;
}

kernels::backend backend_of(const std::string& name) {
  const auto b = kernels::parse_backend(name);
  if (!b) fail("unknown backend '" + name + "' (known: auto, scalar, simd, cuda)");
  if (*b == kernels::backend::cuda) fail("the cuda backend takes device pointers; NumPy arrays live on the CPU");
  return *b;
}

double to_double(dyadic d) { return std::ldexp(static_cast<double>(d.significand), d.exponent); }

// A contiguous C-order buffer for a view: the view's own memory when it is contiguous and may be used
// directly, else a gathered copy.
template <class T>
struct input_buffer {
  std::vector<T> copy;
  const T* ptr = nullptr;
  void init(const strided_view& v, bool must_copy) {
    if (v.c_contiguous() && !must_copy) {
      ptr = reinterpret_cast<const T*>(v.data);
    } else {
      copy.resize(v.size());
      gather(v, copy.data());
      ptr = copy.data();
    }
  }
};

// ---- quantize -----------------------------------------------------------------------------------

template <class T>
void quantize_typed(const element_format& f, const strided_view& in, const strided_view& out,
                    const std::optional<strided_view>& prev, const quantize_options& opt, kernels::backend b) {
  const std::size_t n = in.size();
  // The input may be used in place only if it is the same memory as the output or does not overlap it.
  const bool same = in.data == out.data && in.strides == out.strides;
  input_buffer<T> xin, pin;
  xin.init(in, !same && overlaps(in, out));
  if (prev) pin.init(*prev, overlaps(*prev, out));
  const bool direct_out = out.c_contiguous();
  std::vector<T> tmp;
  T* dst = reinterpret_cast<T*>(out.data);
  if (!direct_out) {
    tmp.resize(n);
    dst = tmp.data();
  }
  kernels::quantize<T>(b, f, std::span<const T>(xin.ptr, n), std::span<T>(dst, n), opt,
                       prev ? std::span<const T>(pin.ptr, n) : std::span<const T>());
  if (!direct_out) scatter(tmp.data(), out);
}

void check_same_shape(const strided_view& a, const strided_view& b, const char* what) {
  if (a.shape != b.shape)
    fail(std::string(what) + " has shape " + shape_text(b.shape) + ", the input has shape " + shape_text(a.shape));
}

void py_quantize(const element_format& f, ro_array x, rw_array out, const std::string& rounding, std::uint64_t seed,
                 std::uint64_t index_offset, std::optional<ro_array> previous, const std::string& backend) {
  const real_kind k = real_of(x);
  if (k == real_kind::other) fail("quantize takes float32 or float64 data, got " + dtype_text(x.dtype()));
  if (real_of(out) != k) fail("the output array must have the input's dtype");
  const strided_view in = view_of(x), ov = view_of(out);
  check_same_shape(in, ov, "the output array");
  std::optional<strided_view> pv;
  if (previous) {
    if (real_of(*previous) != k) fail("the previous values must have the input's dtype");
    pv = view_of(*previous);
    check_same_shape(in, *pv, "the previous values");
  }
  quantize_options opt;
  opt.mode = rounding_of(rounding);
  opt.seed = seed;
  opt.index_offset = index_offset;
  if (opt.mode.kind == rounding::hys && !pv)
    fail("hysteresis rounding (hys) needs the previous quantized values: pass previous=...");
  const kernels::backend b = backend_of(backend);
  if (k == real_kind::f32)
    check_array_call<float>(f, opt, in.size(), pv ? in.size() : 0);
  else
    check_array_call<double>(f, opt, in.size(), pv ? in.size() : 0);
  nb::gil_scoped_release release;
  if (k == real_kind::f32)
    quantize_typed<float>(f, in, ov, pv, opt, b);
  else
    quantize_typed<double>(f, in, ov, pv, opt, b);
}

// ---- encode -------------------------------------------------------------------------------------

template <class T, class C>
void encode_typed(const element_format& f, const strided_view& in, const strided_view& codes,
                  const std::optional<strided_view>& prev, const quantize_options& opt) {
  const std::size_t n = in.size();
  input_buffer<T> xin, pin;
  xin.init(in, false);
  if (prev) pin.init(*prev, false);
  const bool direct = codes.c_contiguous() && !overlaps(in, codes);
  std::vector<C> tmp;
  C* dst = reinterpret_cast<C*>(codes.data);
  if (!direct) {
    tmp.resize(n);
    dst = tmp.data();
  }
  encode_array<T, C>(f, std::span<const T>(xin.ptr, n), std::span<C>(dst, n), opt,
                     prev ? std::span<const T>(pin.ptr, n) : std::span<const T>());
  if (!direct) scatter(tmp.data(), codes);
}

template <class T>
void encode_dispatch(const element_format& f, const strided_view& in, const strided_view& cv, int code_width,
                     const std::optional<strided_view>& pv, const quantize_options& opt) {
  if (code_width == 8)
    encode_typed<T, std::uint8_t>(f, in, cv, pv, opt);
  else if (code_width == 16)
    encode_typed<T, std::uint16_t>(f, in, cv, pv, opt);
  else
    encode_typed<T, std::uint32_t>(f, in, cv, pv, opt);
}

void py_encode(const element_format& f, ro_array x, rw_array codes, const std::string& rounding, std::uint64_t seed,
               std::uint64_t index_offset, std::optional<ro_array> previous) {
  const real_kind k = real_of(x);
  if (k == real_kind::other) fail("encode takes float32 or float64 data, got " + dtype_text(x.dtype()));
  const auto cd = codes.dtype();
  if (cd.code != static_cast<std::uint8_t>(nb::dlpack::dtype_code::UInt) ||
      (cd.bits != 8 && cd.bits != 16 && cd.bits != 32))
    fail("codes must be uint8, uint16 or uint32, got " + dtype_text(cd));
  if (code_bits(f) > cd.bits)
    fail("codes of " + format_name(f) + " need " + std::to_string(code_bits(f)) + " bits, wider than " +
         dtype_text(cd));
  const strided_view in = view_of(x), cv = view_of(codes);
  check_same_shape(in, cv, "the code array");
  std::optional<strided_view> pv;
  if (previous) {
    if (real_of(*previous) != k) fail("the previous values must have the input's dtype");
    pv = view_of(*previous);
    check_same_shape(in, *pv, "the previous values");
  }
  quantize_options opt;
  opt.mode = rounding_of(rounding);
  opt.seed = seed;
  opt.index_offset = index_offset;
  if (opt.mode.kind == rounding::hys && !pv)
    fail("hysteresis rounding (hys) needs the previous quantized values: pass previous=...");
  nb::gil_scoped_release release;
  if (k == real_kind::f32)
    encode_dispatch<float>(f, in, cv, cd.bits, pv, opt);
  else
    encode_dispatch<double>(f, in, cv, cd.bits, pv, opt);
}

// ---- decode -------------------------------------------------------------------------------------

template <class I>
void gather_codes(const strided_view& v, std::vector<std::uint32_t>& dst) {
  const I* base = reinterpret_cast<const I*>(v.data);
  for_each_offset(v, [&](std::size_t i, std::int64_t off) {
    const I c = base[off];
    if constexpr (std::is_signed_v<I>) {
      if (c < 0)
        throw element_error("element " + std::to_string(i) + ": code " + std::to_string(c) + " is negative", i);
    }
    if (static_cast<std::uint64_t>(c) > 0xFFFFFFFFull)
      throw element_error("element " + std::to_string(i) + ": code " + std::to_string(c) + " is wider than 32 bits", i);
    dst[i] = static_cast<std::uint32_t>(c);
  });
}

template <class T>
void decode_typed(const element_format& f, const std::vector<std::uint32_t>& codes, const strided_view& out) {
  const std::size_t n = codes.size();
  const bool direct = out.c_contiguous();
  std::vector<T> tmp;
  T* dst = reinterpret_cast<T*>(out.data);
  if (!direct) {
    tmp.resize(n);
    dst = tmp.data();
  }
  decode_array<T, std::uint32_t>(f, std::span<const std::uint32_t>(codes.data(), n), std::span<T>(dst, n));
  if (!direct) scatter(tmp.data(), out);
}

void py_decode(const element_format& f, ro_array codes, rw_array out) {
  const real_kind k = real_of(out);
  if (k == real_kind::other) fail("decode writes float32 or float64, got " + dtype_text(out.dtype()));
  const auto cd = codes.dtype();
  const bool is_int = cd.code == static_cast<std::uint8_t>(nb::dlpack::dtype_code::Int);
  const bool is_uint = cd.code == static_cast<std::uint8_t>(nb::dlpack::dtype_code::UInt);
  if (!(is_int || is_uint) || (cd.bits != 8 && cd.bits != 16 && cd.bits != 32 && cd.bits != 64))
    fail("codes must be an integer array, got " + dtype_text(cd));
  const strided_view cv = view_of(codes), ov = view_of(out);
  check_same_shape(cv, ov, "the output array");
  if (k == real_kind::f32)
    check_array_call<float>(f, quantize_options{}, 0, 0);
  else
    check_array_call<double>(f, quantize_options{}, 0, 0);
  nb::gil_scoped_release release;
  std::vector<std::uint32_t> c(cv.size());
  switch (cd.bits) {
    case 8:
      is_int ? gather_codes<std::int8_t>(cv, c) : gather_codes<std::uint8_t>(cv, c);
      break;
    case 16:
      is_int ? gather_codes<std::int16_t>(cv, c) : gather_codes<std::uint16_t>(cv, c);
      break;
    case 32:
      is_int ? gather_codes<std::int32_t>(cv, c) : gather_codes<std::uint32_t>(cv, c);
      break;
    default:
      is_int ? gather_codes<std::int64_t>(cv, c) : gather_codes<std::uint64_t>(cv, c);
      break;
  }
  if (k == real_kind::f32)
    decode_typed<float>(f, c, ov);
  else
    decode_typed<double>(f, c, ov);
}

// ---- format description -------------------------------------------------------------------------

constexpr int max_listed_bits = 20;

// The finite values of f in ascending order (-0 before +0), one per code that decodes to a finite number.
std::vector<double> format_values(const element_format& f) {
  const int bits = code_bits(f);
  if (bits > max_listed_bits)
    fail("format " + format_name(f) + " has 2^" + std::to_string(bits) + " codes; values() lists formats of at most " +
         std::to_string(max_listed_bits) + " bits");
  if (!representable_in<double>(f)) fail("format " + format_name(f) + " has values outside float64");
  std::vector<double> v;
  v.reserve(std::size_t{1} << bits);
  for (std::uint64_t c = 0; c < (std::uint64_t{1} << bits); ++c) {
    if (!code_in_range(f, c)) continue;
    const double d = decode<double>(f, static_cast<std::uint32_t>(c));
    if (std::isfinite(d)) v.push_back(d);
  }
  std::sort(v.begin(), v.end(), [](double a, double b) {
    if (a != b) return a < b;
    return std::signbit(a) && !std::signbit(b);
  });
  return v;
}

nb::object bits_or_none(bool present, int value) {
  if (present) return nb::int_(value);
  return nb::none();
}

// ---- tensor quantizer ---------------------------------------------------------------------------

nb::dict stats_dict(const quantize_stats& s) {
  nb::dict d;
  d["elements"] = s.elements;
  d["groups"] = s.groups;
  d["zero_groups"] = s.zero_groups;
  d["nan_groups"] = s.nan_groups;
  d["nonfinite"] = s.nonfinite;
  d["clipped"] = s.clipped;
  d["flushed_to_zero"] = s.flushed_to_zero;
  d["outliers"] = s.outliers;
  d["outliers_clamped"] = s.outliers_clamped;
  d["scale_clamped"] = s.scale_clamped;
  d["scale_exp_min"] = s.scale_exp_min;
  d["scale_exp_max"] = s.scale_exp_max;
  d["payload_bits"] = s.payload_bits;
  d["scale_bits"] = s.scale_bits;
  d["bits_per_element"] = s.bits_per_element();
  return d;
}

struct py_tensor_quantizer {
  tensor_quantizer q;
  quantize_stats last{};

  template <class T>
  void run(const strided_view& in, const strided_view& out) {
    const std::size_t n = in.size();
    auto nonneg = [](const strided_view& v) {
      for (auto s : v.strides)
        if (s < 0) return false;
      return true;
    };
    const bool same = in.data == out.data && in.strides == out.strides;
    input_buffer<T> xin;
    tensor_layout il{in.shape, {}}, ol{out.shape, {}};
    std::size_t in_span = n;
    if (nonneg(in) && (same || !overlaps(in, out))) {
      xin.ptr = reinterpret_cast<const T*>(in.data);
      il.strides = in.strides;
      in_span = il.span_needed();
    } else {
      xin.init(in, true);
    }
    std::vector<T> tmp;
    T* dst = reinterpret_cast<T*>(out.data);
    std::size_t out_span = n;
    if (nonneg(out)) {
      ol.strides = out.strides;
      out_span = ol.span_needed();
    } else {
      tmp.resize(n);
      dst = tmp.data();
    }
    last = q.quantize<T>(std::span<const T>(xin.ptr, in_span), il, std::span<T>(dst, out_span), ol);
    if (!tmp.empty()) scatter(tmp.data(), out);
  }

  nb::dict call(ro_array x, rw_array out) {
    const real_kind k = real_of(x);
    if (k == real_kind::other) fail("quantize takes float32 or float64 data, got " + dtype_text(x.dtype()));
    if (real_of(out) != k) fail("the output array must have the input's dtype");
    const strided_view in = view_of(x), ov = view_of(out);
    check_same_shape(in, ov, "the output array");
    {
      nb::gil_scoped_release release;
      if (k == real_kind::f32)
        run<float>(in, ov);
      else
        run<double>(in, ov);
    }
    return stats_dict(last);
  }

  // codes (C order, uint32) of a tensor; the scales are in last_scales().
  std::pair<std::vector<std::uint32_t>, nb::dict> encode(ro_array x) {
    const real_kind k = real_of(x);
    if (k == real_kind::other) fail("encode takes float32 or float64 data, got " + dtype_text(x.dtype()));
    const strided_view in = view_of(x);
    std::vector<std::uint32_t> codes;
    {
      nb::gil_scoped_release release;
      if (k == real_kind::f32) {
        input_buffer<float> b;
        b.init(in, false);
        last = q.encode<float>(std::span<const float>(b.ptr, in.size()), in.shape, codes);
      } else {
        input_buffer<double> b;
        b.init(in, false);
        last = q.encode<double>(std::span<const double>(b.ptr, in.size()), in.shape, codes);
      }
    }
    return {std::move(codes), stats_dict(last)};
  }
};

tensor_format make_tensor_format(const std::string& spec, std::optional<std::string> groups,
                                 std::optional<std::string> rule, std::optional<int> room, bool tracking, bool saturate,
                                 std::optional<std::string> nonfinite) {
  tensor_format t = parse_tensor_format(spec);
  if (groups) t.groups = parse_groups(*groups);
  if (rule) {
    const auto r = parse_scale_rule(*rule);
    if (!r) fail("unknown scale rule '" + *rule + "' (known: none, floor, ceil, room, fp32)");
    t.rule = *r;
  } else if (room && t.rule == scale_rule::none) {
    t.rule = scale_rule::room;
  }
  if (room) t.room = *room;
  if (room && t.rule != scale_rule::room) fail("room=" + std::to_string(*room) + " needs rule='room'");
  if (t.rule == scale_rule::none && (groups.has_value() || tracking))
    fail("scale groups and tracking need a scale rule (floor, ceil, room or fp32): pass rule=...");
  t.tracking = tracking;
  if (saturate) t.element.saturate = true;
  if (nonfinite) {
    const auto p = parse_nonfinite(*nonfinite);
    if (!p) fail("unknown non-finite policy '" + *nonfinite + "' (known: nan, error, pass)");
    t.nonfinite = *p;
  }
  return t;
}

// ---- families with real-valued statistics: SmaQ, S2FP8 ----------------------------------------------

template <class T>
std::vector<T> contiguous_copy(const strided_view& v) {
  std::vector<T> buf(v.size());
  gather(v, buf.data());
  return buf;
}

template <class T>
void write_out(const std::vector<T>& buf, const strided_view& out) {
  if (out.c_contiguous())
    std::memcpy(out.data, buf.data(), buf.size() * sizeof(T));
  else
    scatter(buf.data(), out);
}

smaq_config smaq_of(int main_bits, int outlier_bits, bool sampled, std::size_t sample_size, std::uint64_t sample_seed,
                    const std::string& rounding, std::uint64_t seed) {
  smaq_config c;
  c.main_bits = main_bits;
  c.outlier_bits = outlier_bits;
  c.sampled = sampled;
  c.sample_size = sample_size;
  c.sample_seed = sample_seed;
  c.mode = rounding_of(rounding);
  c.seed = seed;
  return c;
}

nb::dict py_smaq(ro_array x, rw_array out, int main_bits, int outlier_bits, bool sampled, std::size_t sample_size,
                 std::uint64_t sample_seed, const std::string& rounding, std::uint64_t seed) {
  const real_kind k = real_of(x);
  if (k == real_kind::other) fail("smaq takes float32 or float64 data, got " + dtype_text(x.dtype()));
  if (real_of(out) != k) fail("the output array must have the input's dtype");
  const strided_view in = view_of(x), ov = view_of(out);
  check_same_shape(in, ov, "the output array");
  const smaq_config cfg = smaq_of(main_bits, outlier_bits, sampled, sample_size, sample_seed, rounding, seed);
  quantize_stats st;
  {
    nb::gil_scoped_release release;
    auto run = [&](auto tag) {
      using T = decltype(tag);
      std::vector<T> buf = contiguous_copy<T>(in);
      std::vector<T> res(buf.size());
      st = smaq_quantize<T>(std::span<const T>(buf), std::span<T>(res), cfg);
      write_out(res, ov);
    };
    if (k == real_kind::f32)
      run(float{});
    else
      run(double{});
  }
  return stats_dict(st);
}

std::pair<float, float> py_s2fp8(ro_array x, rw_array out, const std::string& rounding, std::uint64_t seed) {
  const real_kind k = real_of(x);
  if (k == real_kind::other) fail("s2fp8 takes float32 or float64 data, got " + dtype_text(x.dtype()));
  if (real_of(out) != k) fail("the output array must have the input's dtype");
  const strided_view in = view_of(x), ov = view_of(out);
  check_same_shape(in, ov, "the output array");
  quantize_options opt;
  opt.mode = rounding_of(rounding);
  opt.seed = seed;
  s2fp8_params p;
  {
    nb::gil_scoped_release release;
    auto run = [&](auto tag) {
      using T = decltype(tag);
      std::vector<T> buf = contiguous_copy<T>(in);
      std::vector<T> res(buf.size());
      p = s2fp8_quantize<T>(std::span<const T>(buf), std::span<T>(res), opt);
      write_out(res, ov);
    };
    if (k == real_kind::f32)
      run(float{});
    else
      run(double{});
  }
  return {p.alpha, p.beta};
}

// ---- packed containers and bit packing ------------------------------------------------------------

nb::bytes py_pack_tensor(ro_array x, const std::string& spec, std::optional<std::string> groups,
                         std::optional<std::string> rule, std::optional<int> room, bool saturate,
                         const std::string& rounding, std::uint64_t seed) {
  const real_kind k = real_of(x);
  if (k == real_kind::other) fail("pack_tensor takes float32 or float64 data, got " + dtype_text(x.dtype()));
  const strided_view in = view_of(x);
  const tensor_format f = make_tensor_format(spec, groups, rule, room, false, saturate, std::nullopt);
  quantize_options opt;
  opt.mode = rounding_of(rounding);
  opt.seed = seed;
  std::vector<std::byte> bytes;
  {
    nb::gil_scoped_release release;
    if (k == real_kind::f32) {
      std::vector<float> buf = contiguous_copy<float>(in);
      bytes = serialize_packed(pack_tensor<float>(f, std::span<const float>(buf), in.shape, opt));
    } else {
      std::vector<double> buf = contiguous_copy<double>(in);
      bytes = serialize_packed(pack_tensor<double>(f, std::span<const double>(buf), in.shape, opt));
    }
  }
  return nb::bytes(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

nb::bytes py_pack_smaq(ro_array x, int main_bits, int outlier_bits, bool sampled, std::size_t sample_size,
                       std::uint64_t sample_seed, const std::string& rounding, std::uint64_t seed) {
  const real_kind k = real_of(x);
  if (k == real_kind::other) fail("pack_smaq takes float32 or float64 data, got " + dtype_text(x.dtype()));
  const strided_view in = view_of(x);
  const smaq_config cfg = smaq_of(main_bits, outlier_bits, sampled, sample_size, sample_seed, rounding, seed);
  std::vector<std::byte> bytes;
  {
    nb::gil_scoped_release release;
    if (k == real_kind::f32) {
      std::vector<float> buf = contiguous_copy<float>(in);
      bytes = serialize_packed(pack_smaq<float>(std::span<const float>(buf), in.shape, cfg));
    } else {
      std::vector<double> buf = contiguous_copy<double>(in);
      bytes = serialize_packed(pack_smaq<double>(std::span<const double>(buf), in.shape, cfg));
    }
  }
  return nb::bytes(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

// (values as float64 or float32 by the container's dtype flag, shape, description)
std::tuple<std::vector<double>, std::vector<std::int64_t>, bool, std::string> py_unpack_tensor(nb::bytes data) {
  const auto* p = reinterpret_cast<const std::byte*>(data.c_str());
  const packed_tensor t = parse_packed(std::span<const std::byte>(p, data.size()), "packed bytes");
  std::vector<double> v = unpack_values<double>(t);
  const std::string desc = t.kind == packed_kind::smaq ? std::string("smaq") : tensor_format_name(t.format);
  return {std::move(v), t.shape, t.float64, desc};
}

nb::bytes py_bit_pack(const std::vector<std::uint32_t>& codes, int bits) {
  const std::vector<std::byte> b = bit_pack(std::span<const std::uint32_t>(codes), bits);
  return nb::bytes(reinterpret_cast<const char*>(b.data()), b.size());
}

std::vector<std::uint32_t> py_bit_unpack(nb::bytes data, int bits, std::size_t count) {
  const auto* p = reinterpret_cast<const std::byte*>(data.c_str());
  return bit_unpack(std::span<const std::byte>(p, data.size()), bits, count);
}

}  // namespace
}  // namespace fmtsim::python

NB_MODULE(_fmtsim, m) {
  using namespace fmtsim;
  using namespace fmtsim::python;
  m.doc() = "fmtsim: bit-accurate low-precision number formats (compiled core)";

  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const element_error& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });

  nb::class_<element_format>(m, "ElementFormat")
      .def(
          "__init__",
          [](element_format* self, const std::string& spec) { new (self) element_format(parse_format(spec)); },
          "spec"_a)
      .def_prop_ro("spec", [](const element_format& f) { return format_name(f); })
      .def_prop_ro("family", [](const element_format& f) { return std::string(family_name(f)); })
      .def_prop_ro("bits", [](const element_format& f) { return code_bits(f); })
      .def_prop_ro("exponent_bits",
                   [](const element_format& f) { return bits_or_none(f.kind == family::minifloat, f.exponent_bits); })
      .def_prop_ro("mantissa_bits",
                   [](const element_format& f) { return bits_or_none(f.kind == family::minifloat, f.mantissa_bits); })
      .def_prop_ro("bias", [](const element_format& f) { return bits_or_none(f.kind == family::minifloat, f.bias); })
      .def_prop_ro("int_bits",
                   [](const element_format& f) { return bits_or_none(f.kind == family::integer, f.int_bits); })
      .def_prop_ro("frac_bits",
                   [](const element_format& f) { return bits_or_none(f.kind == family::integer, f.frac_bits); })
      .def_prop_ro("profile",
                   [](const element_format& f) {
                     std::vector<int> p;
                     for (int d = 0; d < f.profile_len; ++d) p.push_back(f.profile[static_cast<unsigned>(d)]);
                     return p;
                   })
      .def_prop_ro("scale_exp", [](const element_format& f) { return f.scale_exp; })
      .def_prop_ro("signed", [](const element_format& f) { return has_sign(f); })
      .def_prop_ro("has_inf", [](const element_format& f) { return has_inf(f); })
      .def_prop_ro("has_nan", [](const element_format& f) { return has_nan(f); })
      .def_prop_ro("has_zero", [](const element_format& f) { return has_zero(f); })
      .def_prop_ro("has_negative_zero", [](const element_format& f) { return has_negative_zero(f); })
      .def_prop_ro("saturate", [](const element_format& f) { return f.saturate; })
      .def_prop_ro("ftz", [](const element_format& f) { return f.ftz; })
      .def_prop_ro("max", [](const element_format& f) { return to_double(max_finite(f)); })
      .def_prop_ro("lowest",
                   [](const element_format& f) {
                     return has_sign(f) ? -to_double(max_finite_negative(f))
                                        : (has_zero(f) ? 0.0 : to_double(min_normal(f)));
                   })
      .def_prop_ro("min_normal", [](const element_format& f) { return to_double(min_normal(f)); })
      .def_prop_ro("min_subnormal", [](const element_format& f) { return to_double(min_subnormal(f)); })
      .def_prop_ro("finite_values", [](const element_format& f) { return finite_values(f); })
      .def_prop_ro("float32_exact", [](const element_format& f) { return representable_in<float>(f); })
      .def(
          "with_saturate",
          [](const element_format& f, bool on) {
            element_format g = f;
            g.saturate = on;
            return g;
          },
          "on"_a = true)
      .def("values", [](const element_format& f) { return format_values(f); })
      .def("__eq__", [](const element_format& a, const element_format& b) { return a == b; })
      .def("__hash__", [](const element_format& f) { return nb::hash(nb::str(format_name(f).c_str())); });

  m.def("quantize_into", &py_quantize, "fmt"_a, "x"_a, "out"_a, "rounding"_a, "seed"_a, "index_offset"_a,
        "previous"_a.none(), "backend"_a);
  m.def("encode_into", &py_encode, "fmt"_a, "x"_a, "codes"_a, "rounding"_a, "seed"_a, "index_offset"_a,
        "previous"_a.none());
  m.def("decode_into", &py_decode, "fmt"_a, "codes"_a, "out"_a);

  m.def("rounding_names", [] { return std::string(rounding_names_help()); });
  m.def("check_rounding", [](const std::string& r) { return rounding_name(rounding_of(r)); });
  m.def("named_formats", [] {
    std::vector<std::tuple<std::string, std::string, std::string>> out;
    for (const named_format& n : named_formats())
      out.emplace_back(std::string(n.name), std::string(n.canonical), std::string(n.note));
    return out;
  });
  m.def("catalog_names", [] {
    std::vector<std::string> out;
    for (auto n : catalog_names()) out.emplace_back(n);
    return out;
  });
  m.def("catalog", [](const std::string& name) {
    std::vector<std::tuple<std::string, std::string, int, std::vector<int>, int>> out;
    for (const catalog_entry& e : catalog(name))
      out.emplace_back(std::string(e.id), std::string(e.name), e.bits,
                       std::vector<int>(e.profile.begin(), e.profile.end()), e.binades);
    return out;
  });

  m.def("smaq_into", &py_smaq, "x"_a, "out"_a, "main_bits"_a, "outlier_bits"_a, "sampled"_a, "sample_size"_a,
        "sample_seed"_a, "rounding"_a, "seed"_a);
  m.def("s2fp8_into", &py_s2fp8, "x"_a, "out"_a, "rounding"_a, "seed"_a);
  m.def("pack_tensor", &py_pack_tensor, "x"_a, "spec"_a, "groups"_a.none(), "rule"_a.none(), "room"_a.none(),
        "saturate"_a, "rounding"_a, "seed"_a);
  m.def("pack_smaq", &py_pack_smaq, "x"_a, "main_bits"_a, "outlier_bits"_a, "sampled"_a, "sample_size"_a,
        "sample_seed"_a, "rounding"_a, "seed"_a);
  m.def("unpack_tensor", &py_unpack_tensor, "data"_a);
  m.def("bit_pack", &py_bit_pack, "codes"_a, "bits"_a);
  m.def("bit_unpack", &py_bit_unpack, "data"_a, "bits"_a, "count"_a);
  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const packed_error& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });

  m.def("set_thread_count", &kernels::set_thread_count, "threads"_a);
  m.def("thread_count", &kernels::thread_count);
  m.def("simd_isa", [] { return std::string(kernels::simd_isa()); });

  nb::class_<py_tensor_quantizer>(m, "TensorQuantizerCore")
      .def(
          "__init__",
          [](py_tensor_quantizer* self, const std::string& spec, std::optional<std::string> groups,
             std::optional<std::string> rule, std::optional<int> room, bool tracking, bool saturate,
             std::optional<std::string> nonfinite, const std::string& rounding, std::uint64_t seed,
             const std::string& backend) {
            quantize_options opt;
            opt.mode = rounding_of(rounding);
            opt.seed = seed;
            new (self) py_tensor_quantizer{
                tensor_quantizer(make_tensor_format(spec, groups, rule, room, tracking, saturate, nonfinite), opt,
                                 backend_of(backend)),
                {}};
          },
          "spec"_a, "groups"_a.none(), "rule"_a.none(), "room"_a.none(), "tracking"_a, "saturate"_a,
          "nonfinite"_a.none(), "rounding"_a, "seed"_a, "backend"_a)
      .def("quantize_into", &py_tensor_quantizer::call, "x"_a, "out"_a)
      .def("encode", &py_tensor_quantizer::encode, "x"_a)
      .def_prop_ro("description", [](const py_tensor_quantizer& t) { return tensor_format_name(t.q.format()); })
      .def_prop_ro("element",
                   [](const py_tensor_quantizer& t) {
                     element_format e = t.q.format().element;
                     e.scale_exp = 0;
                     return e;
                   })
      .def_prop_ro("groups", [](const py_tensor_quantizer& t) { return groups_name(t.q.format().groups); })
      .def_prop_ro("rule", [](const py_tensor_quantizer& t) { return std::string(scale_rule_name(t.q.format().rule)); })
      .def_prop_ro("room", [](const py_tensor_quantizer& t) { return t.q.format().room; })
      .def_prop_ro("tracking", [](const py_tensor_quantizer& t) { return t.q.format().tracking; })
      .def_prop_ro("scale_bits", [](const py_tensor_quantizer& t) { return t.q.format().scale_bits; })
      .def_prop_ro("stored_offset", [](const py_tensor_quantizer& t) { return t.q.format().stored_offset; })
      .def_prop_ro("rounding", [](const py_tensor_quantizer& t) { return rounding_name(t.q.options().mode); })
      .def("set_seed",
           [](py_tensor_quantizer& t, std::uint64_t seed) {
             quantize_options o = t.q.options();
             o.seed = seed;
             t.q.set_options(o);
           })
      .def("last_scales",
           [](const py_tensor_quantizer& t) {
             std::vector<int> e;
             std::vector<float> r;
             std::vector<bool> nan, cl;
             for (const group_scale& g : t.q.last_scales()) {
               e.push_back(g.scale_exp);
               r.push_back(g.real_scale);
               nan.push_back(g.nan);
               cl.push_back(g.clamped);
             }
             return std::make_tuple(e, r, nan, cl);
           })
      .def("save_state", [](const py_tensor_quantizer& t) { return save_state(t.q.state()); })
      .def("load_state", [](py_tensor_quantizer& t, const std::string& s) { t.q.set_state(load_state(s)); })
      .def("state_calls", [](const py_tensor_quantizer& t) { return t.q.state().calls; })
      .def("reset", [](py_tensor_quantizer& t) { t.q.reset(); });
}
