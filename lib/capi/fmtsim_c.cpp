// SPDX-License-Identifier: MIT
// C API implementation: opaque handles over element_format and tensor_quantizer; exceptions become status codes.
#include <fmtsim/fmtsim.h>
#include <fmtsim/core/array.hpp>
#include <fmtsim/core/format.hpp>
#include <fmtsim/core/quantize.hpp>
#include <fmtsim/core/rounding.hpp>
#include <fmtsim/core/spec.hpp>
#include <fmtsim/formats/tensor.hpp>
#include <fmtsim/kernels/elementwise.hpp>

#include "strided.hpp"

#include <cmath>
#include <cstring>
#include <new>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

struct fmtsim_format {
  fmtsim::element_format f;
};

struct fmtsim_quantizer {
  fmtsim::tensor_quantizer q;
};

namespace {

using namespace fmtsim;
using namespace fmtsim::detail::strided;

thread_local std::string last_error;

[[noreturn]] void fail(const std::string& msg) { throw std::invalid_argument(msg); }

struct null_pointer : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};
struct too_small : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

template <class F>
fmtsim_status guarded(F&& body) {
  try {
    last_error.clear();
    body();
    return FMTSIM_OK;
  } catch (const element_error& e) {
    last_error = e.what();
    return FMTSIM_ERROR_ELEMENT;
  } catch (const null_pointer& e) {
    last_error = e.what();
    return FMTSIM_ERROR_NULL_POINTER;
  } catch (const too_small& e) {
    last_error = e.what();
    return FMTSIM_ERROR_BUFFER_TOO_SMALL;
  } catch (const std::bad_alloc&) {
    last_error = "out of memory";
    return FMTSIM_ERROR_OUT_OF_MEMORY;
  } catch (const std::invalid_argument& e) {
    last_error = e.what();
    return FMTSIM_ERROR_INVALID_ARGUMENT;
  } catch (const std::exception& e) {
    last_error = e.what();
    return FMTSIM_ERROR_INTERNAL;
  } catch (...) {
    last_error = "unknown internal error";
    return FMTSIM_ERROR_INTERNAL;
  }
}

void need(const void* p, const char* what) {
  if (!p) throw null_pointer(std::string(what) + " is NULL");
}

std::size_t dtype_size(fmtsim_dtype d) {
  switch (d) {
    case FMTSIM_FLOAT32:
    case FMTSIM_UINT32:
      return 4;
    case FMTSIM_FLOAT64:
      return 8;
    case FMTSIM_UINT8:
      return 1;
    case FMTSIM_UINT16:
      return 2;
  }
  fail("unknown dtype " + std::to_string(static_cast<int>(d)));
}

const char* dtype_name(fmtsim_dtype d) {
  switch (d) {
    case FMTSIM_FLOAT32:
      return "float32";
    case FMTSIM_FLOAT64:
      return "float64";
    case FMTSIM_UINT8:
      return "uint8";
    case FMTSIM_UINT16:
      return "uint16";
    case FMTSIM_UINT32:
      return "uint32";
  }
  return "unknown";
}

strided_view view_of(const fmtsim_tensor* t, const char* what) {
  need(t, what);
  if (t->ndim < 0 || t->ndim > 64) fail(std::string(what) + ": ndim " + std::to_string(t->ndim) + " out of range");
  if (t->ndim > 0) need(t->shape, (std::string(what) + " shape").c_str());
  strided_view v;
  v.data = static_cast<char*>(t->data);
  v.itemsize = dtype_size(t->dtype);
  v.shape.assign(t->shape, t->shape + t->ndim);
  for (auto s : v.shape)
    if (s < 0) fail(std::string(what) + " has a negative extent in shape " + shape_text(v.shape));
  if (t->strides) {
    v.strides.assign(t->strides, t->strides + t->ndim);
  } else {
    v.strides.resize(static_cast<std::size_t>(t->ndim));
    std::int64_t s = 1;
    for (std::size_t k = v.shape.size(); k-- > 0;) {
      v.strides[k] = s;
      s *= v.shape[k];
    }
  }
  if (v.size() > 0) need(t->data, (std::string(what) + " data").c_str());
  return v;
}

bool is_real(fmtsim_dtype d) { return d == FMTSIM_FLOAT32 || d == FMTSIM_FLOAT64; }

quantize_options options_of(const fmtsim_options* o) {
  quantize_options q;
  if (!o) return q;
  if (o->rounding) {
    const auto m = parse_rounding(o->rounding);
    if (!m)
      fail(std::string("unknown rounding mode '") + o->rounding + "' (known: " + std::string(rounding_names_help()) +
           ")");
    q.mode = *m;
  }
  q.seed = o->seed;
  q.index_offset = o->index_offset;
  return q;
}

kernels::backend backend_of(const fmtsim_options* o) {
  if (!o || !o->backend) return kernels::backend::automatic;
  const auto b = kernels::parse_backend(o->backend);
  if (!b) fail(std::string("unknown backend '") + o->backend + "' (known: auto, scalar, simd, cuda)");
  return *b;
}

element_format with_options(element_format f, const fmtsim_options* o) {
  if (o && o->saturate) f.saturate = true;
  return f;
}

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

template <class T>
void quantize_typed(const element_format& f, const strided_view& in, const strided_view& out,
                    const std::optional<strided_view>& prev, const quantize_options& opt, kernels::backend b) {
  const std::size_t n = in.size();
  const bool same = in.data == out.data && in.strides == out.strides;
  input_buffer<T> xin, pin;
  xin.init(in, !same && overlaps(in, out));
  if (prev) pin.init(*prev, overlaps(*prev, out));
  std::vector<T> tmp;
  T* dst = reinterpret_cast<T*>(out.data);
  const bool direct = out.c_contiguous();
  if (!direct) {
    tmp.resize(n);
    dst = tmp.data();
  }
  kernels::quantize<T>(b, f, std::span<const T>(xin.ptr, n), std::span<T>(dst, n), opt,
                       prev ? std::span<const T>(pin.ptr, n) : std::span<const T>());
  if (!direct) scatter(tmp.data(), out);
}

template <class T, class C>
void encode_typed(const element_format& f, const strided_view& in, const strided_view& codes,
                  const std::optional<strided_view>& prev, const quantize_options& opt) {
  const std::size_t n = in.size();
  input_buffer<T> xin, pin;
  xin.init(in, false);
  if (prev) pin.init(*prev, false);
  std::vector<C> tmp;
  C* dst = reinterpret_cast<C*>(codes.data);
  const bool direct = codes.c_contiguous() && !overlaps(in, codes);
  if (!direct) {
    tmp.resize(n);
    dst = tmp.data();
  }
  encode_array<T, C>(f, std::span<const T>(xin.ptr, n), std::span<C>(dst, n), opt,
                     prev ? std::span<const T>(pin.ptr, n) : std::span<const T>());
  if (!direct) scatter(tmp.data(), codes);
}

template <class T>
void encode_codes(const element_format& f, const strided_view& in, const strided_view& cv, fmtsim_dtype cd,
                  const std::optional<strided_view>& pv, const quantize_options& opt) {
  if (cd == FMTSIM_UINT8)
    encode_typed<T, std::uint8_t>(f, in, cv, pv, opt);
  else if (cd == FMTSIM_UINT16)
    encode_typed<T, std::uint16_t>(f, in, cv, pv, opt);
  else
    encode_typed<T, std::uint32_t>(f, in, cv, pv, opt);
}

template <class C, class T>
void decode_typed(const element_format& f, const strided_view& codes, const strided_view& out) {
  const std::size_t n = codes.size();
  input_buffer<C> cin;
  cin.init(codes, overlaps(codes, out));
  std::vector<T> tmp;
  T* dst = reinterpret_cast<T*>(out.data);
  const bool direct = out.c_contiguous();
  if (!direct) {
    tmp.resize(n);
    dst = tmp.data();
  }
  decode_array<T, C>(f, std::span<const C>(cin.ptr, n), std::span<T>(dst, n));
  if (!direct) scatter(tmp.data(), out);
}

template <class T>
void decode_codes(const element_format& f, const strided_view& cv, fmtsim_dtype cd, const strided_view& ov) {
  if (cd == FMTSIM_UINT8)
    decode_typed<std::uint8_t, T>(f, cv, ov);
  else if (cd == FMTSIM_UINT16)
    decode_typed<std::uint16_t, T>(f, cv, ov);
  else
    decode_typed<std::uint32_t, T>(f, cv, ov);
}

void same_shape(const strided_view& a, const strided_view& b, const char* what) {
  if (a.shape != b.shape)
    fail(std::string(what) + " has shape " + shape_text(b.shape) + ", the input has shape " + shape_text(a.shape));
}

void copy_string(const std::string& s, char* buf, std::size_t size, std::size_t* needed) {
  if (needed) *needed = s.size() + 1;
  if (!buf) {
    if (size != 0) throw null_pointer("buffer is NULL");
    if (!needed) throw null_pointer("buffer and needed are both NULL");
    return;
  }
  if (size < s.size() + 1) {
    if (size > 0) buf[0] = '\0';
    throw too_small("the string needs " + std::to_string(s.size() + 1) + " bytes, the buffer has " +
                    std::to_string(size));
  }
  std::memcpy(buf, s.c_str(), s.size() + 1);
}

double to_double(dyadic d) { return std::ldexp(static_cast<double>(d.significand), d.exponent); }

}  // namespace

extern "C" {

const char* fmtsim_last_error(void) { return last_error.c_str(); }

const char* fmtsim_status_name(fmtsim_status status) {
  switch (status) {
    case FMTSIM_OK:
      return "ok";
    case FMTSIM_ERROR_INVALID_ARGUMENT:
      return "invalid argument";
    case FMTSIM_ERROR_ELEMENT:
      return "element error";
    case FMTSIM_ERROR_NULL_POINTER:
      return "null pointer";
    case FMTSIM_ERROR_BUFFER_TOO_SMALL:
      return "buffer too small";
    case FMTSIM_ERROR_OUT_OF_MEMORY:
      return "out of memory";
    case FMTSIM_ERROR_INTERNAL:
      return "internal error";
  }
  return "unknown status";
}

const char* fmtsim_version(void) { return "0.1.0"; }

void fmtsim_options_init(fmtsim_options* options) {
  if (!options) return;
  options->rounding = nullptr;
  options->seed = 0;
  options->index_offset = 0;
  options->saturate = 0;
  options->backend = nullptr;
}

fmtsim_status fmtsim_format_create(const char* spec, fmtsim_format** out) {
  return guarded([&] {
    need(out, "out");
    *out = nullptr;
    need(spec, "spec");
    *out = new fmtsim_format{parse_format(spec)};
  });
}

void fmtsim_format_destroy(fmtsim_format* format) { delete format; }

fmtsim_status fmtsim_format_describe(const fmtsim_format* format, fmtsim_format_info* info) {
  return guarded([&] {
    need(format, "format");
    need(info, "info");
    const element_format& f = format->f;
    fmtsim_format_info r{};
    r.family = f.kind == family::minifloat ? FMTSIM_FAMILY_MINIFLOAT
               : f.kind == family::integer ? FMTSIM_FAMILY_INTEGER
                                           : FMTSIM_FAMILY_PROFILE;
    r.bits = code_bits(f);
    if (f.kind == family::minifloat) {
      r.exponent_bits = f.exponent_bits;
      r.mantissa_bits = f.mantissa_bits;
      r.bias = f.bias;
    }
    r.is_signed = has_sign(f);
    r.has_inf = has_inf(f);
    r.has_nan = has_nan(f);
    r.has_negative_zero = has_negative_zero(f);
    r.float32_exact = representable_in<float>(f);
    r.max = to_double(max_finite(f));
    r.lowest = has_sign(f) ? -to_double(max_finite_negative(f)) : (has_zero(f) ? 0.0 : to_double(min_normal(f)));
    r.min_normal = to_double(min_normal(f));
    r.min_subnormal = to_double(min_subnormal(f));
    r.finite_values = finite_values(f);
    *info = r;
  });
}

fmtsim_status fmtsim_format_name(const fmtsim_format* format, char* buf, size_t size, size_t* needed) {
  return guarded([&] {
    need(format, "format");
    copy_string(format_name(format->f), buf, size, needed);
  });
}

fmtsim_status fmtsim_quantize(const fmtsim_format* format, const fmtsim_tensor* in, const fmtsim_tensor* out,
                              const fmtsim_options* options, const fmtsim_tensor* previous) {
  return guarded([&] {
    need(format, "format");
    const strided_view iv = view_of(in, "input"), ov = view_of(out, "output");
    if (!is_real(in->dtype)) fail(std::string("quantize takes float32 or float64 data, got ") + dtype_name(in->dtype));
    if (out->dtype != in->dtype) fail("the output must have the input's dtype");
    same_shape(iv, ov, "the output");
    std::optional<strided_view> pv;
    if (previous) {
      pv = view_of(previous, "previous");
      if (previous->dtype != in->dtype) fail("the previous values must have the input's dtype");
      same_shape(iv, *pv, "the previous values");
    }
    const element_format f = with_options(format->f, options);
    const quantize_options opt = options_of(options);
    if (opt.mode.kind == rounding::hys && !pv) fail("hysteresis rounding (hys) needs the previous quantized values");
    const kernels::backend b = backend_of(options);
    if (in->dtype == FMTSIM_FLOAT32) {
      check_array_call<float>(f, opt, iv.size(), pv ? iv.size() : 0);
      quantize_typed<float>(f, iv, ov, pv, opt, b);
    } else {
      check_array_call<double>(f, opt, iv.size(), pv ? iv.size() : 0);
      quantize_typed<double>(f, iv, ov, pv, opt, b);
    }
  });
}

fmtsim_status fmtsim_encode(const fmtsim_format* format, const fmtsim_tensor* in, const fmtsim_tensor* codes,
                            const fmtsim_options* options, const fmtsim_tensor* previous) {
  return guarded([&] {
    need(format, "format");
    const strided_view iv = view_of(in, "input"), cv = view_of(codes, "codes");
    if (!is_real(in->dtype)) fail(std::string("encode takes float32 or float64 data, got ") + dtype_name(in->dtype));
    if (is_real(codes->dtype)) fail("codes must be uint8, uint16 or uint32");
    same_shape(iv, cv, "the codes");
    const element_format f = with_options(format->f, options);
    if (static_cast<std::size_t>(code_bits(f)) > 8 * cv.itemsize)
      fail("codes of " + format_name(f) + " need " + std::to_string(code_bits(f)) + " bits, wider than " +
           dtype_name(codes->dtype));
    std::optional<strided_view> pv;
    if (previous) {
      pv = view_of(previous, "previous");
      if (previous->dtype != in->dtype) fail("the previous values must have the input's dtype");
      same_shape(iv, *pv, "the previous values");
    }
    const quantize_options opt = options_of(options);
    if (opt.mode.kind == rounding::hys && !pv) fail("hysteresis rounding (hys) needs the previous quantized values");
    if (in->dtype == FMTSIM_FLOAT32)
      encode_codes<float>(f, iv, cv, codes->dtype, pv, opt);
    else
      encode_codes<double>(f, iv, cv, codes->dtype, pv, opt);
  });
}

fmtsim_status fmtsim_decode(const fmtsim_format* format, const fmtsim_tensor* codes, const fmtsim_tensor* out) {
  return guarded([&] {
    need(format, "format");
    const strided_view cv = view_of(codes, "codes"), ov = view_of(out, "output");
    if (is_real(codes->dtype)) fail("codes must be uint8, uint16 or uint32");
    if (!is_real(out->dtype)) fail(std::string("decode writes float32 or float64, got ") + dtype_name(out->dtype));
    same_shape(cv, ov, "the output");
    if (out->dtype == FMTSIM_FLOAT32)
      decode_codes<float>(format->f, cv, codes->dtype, ov);
    else
      decode_codes<double>(format->f, cv, codes->dtype, ov);
  });
}

void fmtsim_quantizer_config_init(fmtsim_quantizer_config* config) {
  if (!config) return;
  config->spec = nullptr;
  config->groups = nullptr;
  config->rule = nullptr;
  config->room = 0;
  config->has_room = 0;
  config->tracking = 0;
  config->nonfinite = nullptr;
}

fmtsim_status fmtsim_quantizer_create(const fmtsim_quantizer_config* config, const fmtsim_options* options,
                                      fmtsim_quantizer** out) {
  return guarded([&] {
    need(out, "out");
    *out = nullptr;
    need(config, "config");
    need(config->spec, "config->spec");
    tensor_format t = parse_tensor_format(config->spec);
    if (config->groups) t.groups = parse_groups(config->groups);
    if (config->rule) {
      const auto r = parse_scale_rule(config->rule);
      if (!r) fail(std::string("unknown scale rule '") + config->rule + "' (known: none, floor, ceil, room, fp32)");
      t.rule = *r;
    } else if (config->has_room && t.rule == scale_rule::none) {
      t.rule = scale_rule::room;
    }
    if (config->has_room) {
      if (t.rule != scale_rule::room) fail("a room needs the scale rule 'room'");
      t.room = config->room;
    }
    t.tracking = config->tracking != 0;
    if (config->nonfinite) {
      const auto p = parse_nonfinite(config->nonfinite);
      if (!p) fail(std::string("unknown non-finite policy '") + config->nonfinite + "' (known: nan, error, pass)");
      t.nonfinite = *p;
    }
    if (options && options->saturate) t.element.saturate = true;
    *out = new fmtsim_quantizer{tensor_quantizer(std::move(t), options_of(options), backend_of(options))};
  });
}

void fmtsim_quantizer_destroy(fmtsim_quantizer* quantizer) { delete quantizer; }

fmtsim_status fmtsim_quantizer_quantize(fmtsim_quantizer* quantizer, const fmtsim_tensor* in, const fmtsim_tensor* out,
                                        fmtsim_stats* stats) {
  return guarded([&] {
    need(quantizer, "quantizer");
    const strided_view iv = view_of(in, "input"), ov = view_of(out, "output");
    if (!is_real(in->dtype)) fail(std::string("quantize takes float32 or float64 data, got ") + dtype_name(in->dtype));
    if (out->dtype != in->dtype) fail("the output must have the input's dtype");
    same_shape(iv, ov, "the output");
    // the tensor quantizer takes non-negative strides: other layouts go through C-order copies
    auto nonneg = [](const strided_view& v) {
      for (auto s : v.strides)
        if (s < 0) return false;
      return true;
    };
    const bool same = iv.data == ov.data && iv.strides == ov.strides;
    quantize_stats st;
    auto run = [&](auto tag) {
      using T = decltype(tag);
      const std::size_t n = iv.size();
      tensor_layout il{iv.shape, {}}, ol{ov.shape, {}};
      std::vector<T> in_copy, out_copy;
      const T* src = reinterpret_cast<const T*>(iv.data);
      std::size_t in_span = n, out_span = n;
      if (nonneg(iv) && (same || !overlaps(iv, ov))) {
        il.strides = iv.strides;
        in_span = il.span_needed();
      } else {
        in_copy.resize(n);
        gather(iv, in_copy.data());
        src = in_copy.data();
      }
      T* dst = reinterpret_cast<T*>(ov.data);
      if (nonneg(ov)) {
        ol.strides = ov.strides;
        out_span = ol.span_needed();
      } else {
        out_copy.resize(n);
        dst = out_copy.data();
      }
      st = quantizer->q.quantize<T>(std::span<const T>(src, in_span), il, std::span<T>(dst, out_span), ol);
      if (!out_copy.empty()) scatter(out_copy.data(), ov);
    };
    if (in->dtype == FMTSIM_FLOAT32)
      run(float{});
    else
      run(double{});
    if (stats) {
      fmtsim_stats s{};
      s.elements = st.elements;
      s.groups = st.groups;
      s.zero_groups = st.zero_groups;
      s.nan_groups = st.nan_groups;
      s.nonfinite = st.nonfinite;
      s.clipped = st.clipped;
      s.flushed_to_zero = st.flushed_to_zero;
      s.outliers = st.outliers;
      s.scale_clamped = st.scale_clamped;
      s.scale_exp_min = st.scale_exp_min;
      s.scale_exp_max = st.scale_exp_max;
      s.bits_per_element = st.bits_per_element();
      *stats = s;
    }
  });
}

fmtsim_status fmtsim_quantizer_set_seed(fmtsim_quantizer* quantizer, uint64_t seed) {
  return guarded([&] {
    need(quantizer, "quantizer");
    quantize_options o = quantizer->q.options();
    o.seed = seed;
    quantizer->q.set_options(o);
  });
}

fmtsim_status fmtsim_quantizer_describe(const fmtsim_quantizer* quantizer, char* buf, size_t size, size_t* needed) {
  return guarded([&] {
    need(quantizer, "quantizer");
    copy_string(tensor_format_name(quantizer->q.format()), buf, size, needed);
  });
}

fmtsim_status fmtsim_quantizer_scales(const fmtsim_quantizer* quantizer, int32_t* scale_exp, size_t capacity,
                                      size_t* count) {
  return guarded([&] {
    need(quantizer, "quantizer");
    const auto& s = quantizer->q.last_scales();
    if (count) *count = s.size();
    if (capacity > 0) need(scale_exp, "scale_exp");
    for (std::size_t i = 0; i < s.size() && i < capacity; ++i) scale_exp[i] = s[i].scale_exp;
  });
}

fmtsim_status fmtsim_quantizer_save_state(const fmtsim_quantizer* quantizer, char* buf, size_t size, size_t* needed) {
  return guarded([&] {
    need(quantizer, "quantizer");
    copy_string(save_state(quantizer->q.state()), buf, size, needed);
  });
}

fmtsim_status fmtsim_quantizer_load_state(fmtsim_quantizer* quantizer, const char* state) {
  return guarded([&] {
    need(quantizer, "quantizer");
    need(state, "state");
    quantizer->q.set_state(load_state(state));
  });
}

fmtsim_status fmtsim_quantizer_reset(fmtsim_quantizer* quantizer) {
  return guarded([&] {
    need(quantizer, "quantizer");
    quantizer->q.reset();
  });
}

}  // extern "C"
