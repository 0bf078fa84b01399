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
#include <fmtsim/formats/family_spec.hpp>
#include <fmtsim/formats/packed.hpp>
#include <fmtsim/formats/tensor.hpp>
#include <fmtsim/kernels/elementwise.hpp>
#include <fmtsim/kernels/strided.hpp>

#ifdef FMTSIM_PY_CUDA
#include <fmtsim_cuda.hpp>  // cuda/: device kernels (the module is built with them)
#endif

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

using namespace fmtsim::strided;

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

real_type real_type_of(real_kind k) { return k == real_kind::f32 ? real_type::f32 : real_type::f64; }

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
  strided::quantize(f, in, ov, pv ? &*pv : nullptr, opt, b, real_type_of(k));
}

// ---- encode -------------------------------------------------------------------------------------

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
  strided::encode(f, in, cv,
                  cd.bits == 8    ? code_type::u8
                  : cd.bits == 16 ? code_type::u16
                                  : code_type::u32,
                  pv ? &*pv : nullptr, opt, real_type_of(k));
}

// ---- decode -------------------------------------------------------------------------------------

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
  const code_type ct = is_int ? (cd.bits == 8    ? code_type::i8
                                 : cd.bits == 16 ? code_type::i16
                                 : cd.bits == 32 ? code_type::i32
                                                 : code_type::i64)
                              : (cd.bits == 8    ? code_type::u8
                                 : cd.bits == 16 ? code_type::u16
                                 : cd.bits == 32 ? code_type::u32
                                                 : code_type::u64);
  nb::gil_scoped_release release;
  strided::decode(f, cv, ct, ov, real_type_of(k));
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

// A tensor quantizer (element / scaled specs) or a real-scaled family (asym<B>, sign, sbin, agp<B>, smaq, s2fp8).
struct py_tensor_quantizer {
  std::optional<tensor_quantizer> q;
  std::optional<real_family_spec> family;
  quantize_options family_options;
  real_family_result last_family;
  quantize_stats last{};

  nb::dict call(ro_array x, rw_array out) {
    const real_kind k = real_of(x);
    if (k == real_kind::other) fail("quantize takes float32 or float64 data, got " + dtype_text(x.dtype()));
    if (real_of(out) != k) fail("the output array must have the input's dtype");
    const strided_view in = view_of(x), ov = view_of(out);
    check_same_shape(in, ov, "the output array");
    {
      nb::gil_scoped_release release;
      if (family) {
        last_family = strided::quantize(*family, in, ov, family_options, real_type_of(k));
        last = last_family.stats;
      } else {
        last = strided::quantize(*q, in, ov, real_type_of(k));
      }
    }
    return stats_dict(last);
  }

  // codes (C order, uint32) of a tensor; the scales are in last_scales().
  std::pair<std::vector<std::uint32_t>, nb::dict> encode(ro_array x) {
    const real_kind k = real_of(x);
    if (k == real_kind::other) fail("encode takes float32 or float64 data, got " + dtype_text(x.dtype()));
    if (family) fail("encode: the family " + family->spelling + " has no element codes here (use quantize)");
    const strided_view in = view_of(x);
    std::vector<std::uint32_t> codes;
    {
      nb::gil_scoped_release release;
      last = strided::encode(*q, in, codes, real_type_of(k));
    }
    return {std::move(codes), stats_dict(last)};
  }

  tensor_quantizer& tq(const char* what) {
    if (!q) fail(std::string(what) + ": the family " + family->spelling + " keeps no scales or state");
    return *q;
  }
  const tensor_quantizer& tq(const char* what) const {
    if (!q) fail(std::string(what) + ": the family " + family->spelling + " keeps no scales or state");
    return *q;
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
      std::vector<float> buf = c_order_copy<float>(in);
      bytes = serialize_packed(pack_tensor<float>(f, std::span<const float>(buf), in.shape, opt));
    } else {
      std::vector<double> buf = c_order_copy<double>(in);
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
      std::vector<float> buf = c_order_copy<float>(in);
      bytes = serialize_packed(pack_smaq<float>(std::span<const float>(buf), in.shape, cfg));
    } else {
      std::vector<double> buf = c_order_copy<double>(in);
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

// ---- CUDA tensors (device pointers from torch) --------------------------------------------------

constexpr bool cuda_built =
#ifdef FMTSIM_PY_CUDA
    true;
#else
    false;
#endif

// Elementwise fake quantization of n contiguous float32 values in device memory (the caller synchronizes
// its stream first); bit-identical to the CPU kernels.
void py_quantize_cuda(const element_format& f, std::uintptr_t in, std::uintptr_t out, std::size_t n,
                      const std::string& rounding, std::uint64_t seed, std::uint64_t index_offset,
                      std::uintptr_t previous) {
  quantize_options opt;
  opt.mode = rounding_of(rounding);
  opt.seed = seed;
  opt.index_offset = index_offset;
  if (opt.mode.kind == rounding::hys && previous == 0)
    fail("hysteresis rounding (hys) needs the previous quantized values: pass previous=...");
#ifdef FMTSIM_PY_CUDA
  nb::gil_scoped_release release;
  cuda::quantize(f, reinterpret_cast<const float*>(in), reinterpret_cast<float*>(out), n, opt,
                 previous ? reinterpret_cast<const float*>(previous) : nullptr);
#else
  (void)f, (void)in, (void)out, (void)n;
  fail(
      "this fmtsim build has no CUDA kernels (configure with -Dcuda=enabled where nvcc is installed); "
      "move the tensor to the CPU with tensor.cpu()");
#endif
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

  m.def("is_family_spec", [](const std::string& spec) { return parse_real_family(spec).has_value(); });
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

  m.def("cuda_built", [] { return cuda_built; });
  m.def("cuda_available", [] {
#ifdef FMTSIM_PY_CUDA
    return cuda::device_available();
#else
    return false;
#endif
  });
  m.def("quantize_cuda_into", &py_quantize_cuda, "fmt"_a, "in_ptr"_a, "out_ptr"_a, "n"_a, "rounding"_a, "seed"_a,
        "index_offset"_a, "previous_ptr"_a);

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
            const kernels::backend b = backend_of(backend);
            if (auto fam = parse_real_family(spec)) {
              if (groups) {
                if (!real_family_takes_groups(*fam)) fail("the family " + fam->spelling + " takes no scale groups");
                fam->groups = parse_groups(*groups);
              }
              if (rule || room || tracking || nonfinite)
                fail("the family " + fam->spelling +
                     " has its own scaling: rule, room, tracking and nonfinite apply to element and scaled specs");
              if (saturate) fail("the family " + fam->spelling + " does not saturate");
              if (opt.mode.kind == rounding::hys)
                fail("hysteresis rounding (hys) applies to element and scaled specs, not " + fam->spelling);
              new (self) py_tensor_quantizer{};
              self->family = *fam;
              self->family_options = opt;
              return;
            }
            new (self) py_tensor_quantizer{};
            self->q.emplace(make_tensor_format(spec, groups, rule, room, tracking, saturate, nonfinite), opt, b);
          },
          "spec"_a, "groups"_a.none(), "rule"_a.none(), "room"_a.none(), "tracking"_a, "saturate"_a,
          "nonfinite"_a.none(), "rounding"_a, "seed"_a, "backend"_a)
      .def("quantize_into", &py_tensor_quantizer::call, "x"_a, "out"_a)
      .def("encode", &py_tensor_quantizer::encode, "x"_a)
      .def_prop_ro("is_family", [](const py_tensor_quantizer& t) { return t.family.has_value(); })
      .def_prop_ro("description",
                   [](const py_tensor_quantizer& t) {
                     return t.family ? real_family_name(*t.family) : tensor_format_name(t.q->format());
                   })
      .def_prop_ro("element",
                   [](const py_tensor_quantizer& t) {
                     element_format e = t.tq("element").format().element;
                     e.scale_exp = 0;
                     return e;
                   })
      .def_prop_ro("groups",
                   [](const py_tensor_quantizer& t) {
                     if (t.family) return groups_name(t.family->groups);
                     return groups_name(t.q->format().groups);
                   })
      .def_prop_ro("rule",
                   [](const py_tensor_quantizer& t) {
                     return t.family ? std::string("family") : std::string(scale_rule_name(t.q->format().rule));
                   })
      .def_prop_ro("room", [](const py_tensor_quantizer& t) { return t.family ? 0 : t.q->format().room; })
      .def_prop_ro("tracking", [](const py_tensor_quantizer& t) { return t.family ? false : t.q->format().tracking; })
      .def_prop_ro("scale_bits", [](const py_tensor_quantizer& t) { return t.tq("scale_bits").format().scale_bits; })
      .def_prop_ro("stored_offset",
                   [](const py_tensor_quantizer& t) { return t.tq("stored_offset").format().stored_offset; })
      .def_prop_ro("rounding",
                   [](const py_tensor_quantizer& t) {
                     return rounding_name(t.family ? t.family_options.mode : t.q->options().mode);
                   })
      .def("set_seed",
           [](py_tensor_quantizer& t, std::uint64_t seed) {
             if (t.family) {
               t.family_options.seed = seed;
               return;
             }
             quantize_options o = t.q->options();
             o.seed = seed;
             t.q->set_options(o);
           })
      .def("last_scales",
           [](const py_tensor_quantizer& t) {
             std::vector<int> e;
             std::vector<float> r;
             std::vector<bool> nan, cl;
             if (t.q)
               for (const group_scale& g : t.q->last_scales()) {
                 e.push_back(g.scale_exp);
                 r.push_back(g.real_scale);
                 nan.push_back(g.nan);
                 cl.push_back(g.clamped);
               }
             return std::make_tuple(e, r, nan, cl);
           })
      .def("family_params",
           [](const py_tensor_quantizer& t) {
             if (!t.family) fail("family_params: not a family quantizer (asym, scq, sign, sbin, agp, smaq, s2fp8)");
             nb::dict d;
             d["alpha"] = t.last_family.alpha;
             d["beta"] = t.last_family.beta;
             d["keep_probability"] = t.last_family.keep_probability;
             d["kept"] = std::vector<int>(t.last_family.kept.begin(), t.last_family.kept.end());
             return d;
           })
      .def("save_state", [](const py_tensor_quantizer& t) { return save_state(t.tq("save_state").state()); })
      .def("load_state",
           [](py_tensor_quantizer& t, const std::string& s) { t.tq("load_state").set_state(load_state(s)); })
      .def("state_calls", [](const py_tensor_quantizer& t) { return t.q ? t.q->state().calls : std::uint64_t{0}; })
      .def("reset", [](py_tensor_quantizer& t) {
        if (t.q) t.q->reset();
        t.last_family = {};
      });
}
