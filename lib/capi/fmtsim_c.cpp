// SPDX-License-Identifier: MIT
// C API implementation: opaque handles over element_format and tensor_quantizer; exceptions become status codes.
#include <fmtsim/fmtsim.h>
#include <fmtsim/core/array.hpp>
#include <fmtsim/core/format.hpp>
#include <fmtsim/core/quantize.hpp>
#include <fmtsim/core/rounding.hpp>
#include <fmtsim/core/spec.hpp>
#include <fmtsim/formats/family_spec.hpp>
#include <fmtsim/formats/packed.hpp>
#include <fmtsim/formats/tensor.hpp>
#include <fmtsim/kernels/elementwise.hpp>
#include <fmtsim/kernels/strided.hpp>

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

// A tensor quantizer (element / scaled specs) or a real-scaled family (asym<B>, sign, sbin, agp<B>, smaq, s2fp8).
struct fmtsim_quantizer {
  std::optional<fmtsim::tensor_quantizer> q;
  std::optional<fmtsim::real_family_spec> family;
  fmtsim::quantize_options family_options;
  fmtsim::real_family_result last_family;
};

namespace {

using namespace fmtsim;
using namespace fmtsim::strided;

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
  } catch (const packed_error& e) {
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

real_type real_of(fmtsim_dtype d) { return d == FMTSIM_FLOAT32 ? real_type::f32 : real_type::f64; }

code_type code_of(fmtsim_dtype d) {
  return d == FMTSIM_UINT8 ? code_type::u8 : d == FMTSIM_UINT16 ? code_type::u16 : code_type::u32;
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
    check_same_shape(iv, ov, "the output");
    std::optional<strided_view> pv;
    if (previous) {
      pv = view_of(previous, "previous");
      if (previous->dtype != in->dtype) fail("the previous values must have the input's dtype");
      check_same_shape(iv, *pv, "the previous values");
    }
    const element_format f = with_options(format->f, options);
    const quantize_options opt = options_of(options);
    if (opt.mode.kind == rounding::hys && !pv) fail("hysteresis rounding (hys) needs the previous quantized values");
    const kernels::backend b = backend_of(options);
    strided::quantize(f, iv, ov, pv ? &*pv : nullptr, opt, b, real_of(in->dtype));
  });
}

fmtsim_status fmtsim_encode(const fmtsim_format* format, const fmtsim_tensor* in, const fmtsim_tensor* codes,
                            const fmtsim_options* options, const fmtsim_tensor* previous) {
  return guarded([&] {
    need(format, "format");
    const strided_view iv = view_of(in, "input"), cv = view_of(codes, "codes");
    if (!is_real(in->dtype)) fail(std::string("encode takes float32 or float64 data, got ") + dtype_name(in->dtype));
    if (is_real(codes->dtype)) fail("codes must be uint8, uint16 or uint32");
    check_same_shape(iv, cv, "the codes");
    const element_format f = with_options(format->f, options);
    if (static_cast<std::size_t>(code_bits(f)) > 8 * cv.itemsize)
      fail("codes of " + format_name(f) + " need " + std::to_string(code_bits(f)) + " bits, wider than " +
           dtype_name(codes->dtype));
    std::optional<strided_view> pv;
    if (previous) {
      pv = view_of(previous, "previous");
      if (previous->dtype != in->dtype) fail("the previous values must have the input's dtype");
      check_same_shape(iv, *pv, "the previous values");
    }
    const quantize_options opt = options_of(options);
    if (opt.mode.kind == rounding::hys && !pv) fail("hysteresis rounding (hys) needs the previous quantized values");
    strided::encode(f, iv, cv, code_of(codes->dtype), pv ? &*pv : nullptr, opt, real_of(in->dtype));
  });
}

fmtsim_status fmtsim_decode(const fmtsim_format* format, const fmtsim_tensor* codes, const fmtsim_tensor* out) {
  return guarded([&] {
    need(format, "format");
    const strided_view cv = view_of(codes, "codes"), ov = view_of(out, "output");
    if (is_real(codes->dtype)) fail("codes must be uint8, uint16 or uint32");
    if (!is_real(out->dtype)) fail(std::string("decode writes float32 or float64, got ") + dtype_name(out->dtype));
    check_same_shape(cv, ov, "the output");
    strided::decode(format->f, cv, code_of(codes->dtype), ov, real_of(out->dtype));
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
    if (auto fam = parse_real_family(config->spec)) {
      // a real-scaled family: groups for asym/sign/sbin; no scale rule, room, tracking or non-finite policy
      if (config->groups) {
        if (!real_family_takes_groups(*fam))
          fail(std::string("the family ") + fam->spelling + " takes no scale groups");
        fam->groups = parse_groups(config->groups);
      }
      if (config->rule || config->has_room || config->tracking || config->nonfinite)
        fail(std::string("the family ") + fam->spelling +
             " has its own scaling: rule, room, tracking and nonfinite apply to element and scaled specs");
      if (options && options->saturate) fail(std::string("the family ") + fam->spelling + " does not saturate");
      const quantize_options opt = options_of(options);
      if (opt.mode.kind == rounding::hys)
        fail(std::string("hysteresis rounding (hys) applies to element and scaled specs, not ") + fam->spelling);
      backend_of(options);
      auto* h = new fmtsim_quantizer{};
      h->family = *fam;
      h->family_options = opt;
      *out = h;
      return;
    }
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
    auto* h = new fmtsim_quantizer{};
    h->q.emplace(std::move(t), options_of(options), backend_of(options));
    *out = h;
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
    check_same_shape(iv, ov, "the output");
    quantize_stats st;
    if (quantizer->family) {
      quantizer->last_family =
          strided::quantize(*quantizer->family, iv, ov, quantizer->family_options, real_of(in->dtype));
      st = quantizer->last_family.stats;
    } else {
      st = strided::quantize(*quantizer->q, iv, ov, real_of(in->dtype));
    }
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
    if (quantizer->family) {
      quantizer->family_options.seed = seed;
      return;
    }
    quantize_options o = quantizer->q->options();
    o.seed = seed;
    quantizer->q->set_options(o);
  });
}

fmtsim_status fmtsim_quantizer_describe(const fmtsim_quantizer* quantizer, char* buf, size_t size, size_t* needed) {
  return guarded([&] {
    need(quantizer, "quantizer");
    copy_string(quantizer->family ? real_family_name(*quantizer->family) : tensor_format_name(quantizer->q->format()),
                buf, size, needed);
  });
}

fmtsim_status fmtsim_quantizer_scales(const fmtsim_quantizer* quantizer, int32_t* scale_exp, size_t capacity,
                                      size_t* count) {
  return guarded([&] {
    need(quantizer, "quantizer");
    if (quantizer->family) {  // real-valued scales: see fmtsim_quantizer_family_params
      if (count) *count = 0;
      return;
    }
    const auto& s = quantizer->q->last_scales();
    if (count) *count = s.size();
    if (capacity > 0) need(scale_exp, "scale_exp");
    for (std::size_t i = 0; i < s.size() && i < capacity; ++i) scale_exp[i] = s[i].scale_exp;
  });
}

fmtsim_status fmtsim_quantizer_family_params(const fmtsim_quantizer* quantizer, double* alpha, double* beta,
                                             uint8_t* kept, size_t capacity, size_t* count) {
  return guarded([&] {
    need(quantizer, "quantizer");
    if (!quantizer->family) fail("the quantizer is not a family quantizer (asym, sign, sbin, agp, smaq, s2fp8)");
    const real_family_result& r = quantizer->last_family;
    if (alpha) *alpha = r.alpha;
    if (beta) *beta = r.beta;
    if (count) *count = r.kept.size();
    if (capacity > 0) need(kept, "kept");
    for (std::size_t i = 0; i < r.kept.size() && i < capacity; ++i) kept[i] = r.kept[i];
  });
}

fmtsim_status fmtsim_quantizer_save_state(const fmtsim_quantizer* quantizer, char* buf, size_t size, size_t* needed) {
  return guarded([&] {
    need(quantizer, "quantizer");
    if (quantizer->family) fail("the family " + quantizer->family->spelling + " keeps no state between calls");
    copy_string(save_state(quantizer->q->state()), buf, size, needed);
  });
}

fmtsim_status fmtsim_quantizer_load_state(fmtsim_quantizer* quantizer, const char* state) {
  return guarded([&] {
    need(quantizer, "quantizer");
    need(state, "state");
    if (quantizer->family) fail("the family " + quantizer->family->spelling + " keeps no state between calls");
    quantizer->q->set_state(load_state(state));
  });
}

fmtsim_status fmtsim_quantizer_reset(fmtsim_quantizer* quantizer) {
  return guarded([&] {
    need(quantizer, "quantizer");
    if (quantizer->q) quantizer->q->reset();
    quantizer->last_family = {};
  });
}

/* ---- packing ---- */

fmtsim_status fmtsim_pack_codes(const fmtsim_tensor* codes, int bits, uint8_t* buf, size_t size, size_t* needed) {
  return guarded([&] {
    const strided_view cv = view_of(codes, "codes");
    if (is_real(codes->dtype)) fail("codes must be uint8, uint16 or uint32");
    if (bits < 1 || bits > 32) fail("pack: code width must be 1..32 bits, got " + std::to_string(bits));
    const std::size_t n = cv.size();
    const std::size_t bytes = (n * static_cast<std::size_t>(bits) + 7) / 8;
    if (needed) *needed = bytes;
    if (!buf) {
      if (size != 0) throw null_pointer("buf is NULL");
      if (!needed) throw null_pointer("buf and needed are both NULL");
      return;
    }
    if (size < bytes)
      throw too_small("the packed codes need " + std::to_string(bytes) + " bytes, the buffer has " +
                      std::to_string(size));
    std::vector<std::uint32_t> c(n);
    const std::uint64_t limit = bits == 32 ? 0xFFFFFFFFull : (std::uint64_t{1} << bits) - 1;
    auto take = [&](auto tag) {
      using I = decltype(tag);
      const I* base = reinterpret_cast<const I*>(cv.data);
      for_each_offset(cv, [&](std::size_t i, std::int64_t off) {
        if (static_cast<std::uint64_t>(base[off]) > limit)
          throw element_error("element " + std::to_string(i) + ": code " + std::to_string(base[off]) +
                                  " does not fit in " + std::to_string(bits) + " bits",
                              i);
        c[i] = static_cast<std::uint32_t>(base[off]);
      });
    };
    if (codes->dtype == FMTSIM_UINT8)
      take(std::uint8_t{});
    else if (codes->dtype == FMTSIM_UINT16)
      take(std::uint16_t{});
    else
      take(std::uint32_t{});
    const std::vector<std::byte> b = bit_pack(std::span<const std::uint32_t>(c), bits);
    if (!b.empty()) std::memcpy(buf, b.data(), b.size());
  });
}

fmtsim_status fmtsim_unpack_codes(const uint8_t* buf, size_t size, int bits, const fmtsim_tensor* codes) {
  return guarded([&] {
    const strided_view cv = view_of(codes, "codes");
    if (is_real(codes->dtype)) fail("codes must be uint8, uint16 or uint32");
    if (bits < 1 || bits > 32) fail("unpack: code width must be 1..32 bits, got " + std::to_string(bits));
    if (static_cast<std::size_t>(bits) > 8 * cv.itemsize)
      fail("codes of " + std::to_string(bits) + " bits do not fit " + dtype_name(codes->dtype));
    const std::size_t n = cv.size();
    const std::size_t bytes = (n * static_cast<std::size_t>(bits) + 7) / 8;
    if (size < bytes)
      fail("unpack: " + std::to_string(n) + " codes of " + std::to_string(bits) + " bits need " +
           std::to_string(bytes) + " bytes, got " + std::to_string(size));
    if (bytes > 0) need(buf, "buf");
    const std::vector<std::uint32_t> c =
        bit_unpack(std::span<const std::byte>(reinterpret_cast<const std::byte*>(buf), bytes), bits, n);
    auto put = [&](auto tag) {
      using I = decltype(tag);
      std::vector<I> t(c.begin(), c.end());
      scatter(t.data(), cv);
    };
    if (codes->dtype == FMTSIM_UINT8)
      put(std::uint8_t{});
    else if (codes->dtype == FMTSIM_UINT16)
      put(std::uint16_t{});
    else
      put(std::uint32_t{});
  });
}

fmtsim_status fmtsim_quantizer_pack(fmtsim_quantizer* quantizer, const fmtsim_tensor* in, uint8_t* buf, size_t size,
                                    size_t* needed) {
  return guarded([&] {
    need(quantizer, "quantizer");
    const strided_view iv = view_of(in, "input");
    if (!is_real(in->dtype)) fail(std::string("pack takes float32 or float64 data, got ") + dtype_name(in->dtype));
    packed_tensor p;
    auto run = [&](auto tag) {
      using T = decltype(tag);
      const std::vector<T> x = c_order_copy<T>(iv);
      if (quantizer->family) {
        if (quantizer->family->kind != real_family::smaq)
          fail("the family " + quantizer->family->spelling +
               " has no packed container (element specs, MX, bm and smaq do)");
        smaq_config c = quantizer->family->smaq;
        c.mode = quantizer->family_options.mode;
        c.seed = quantizer->family_options.seed;
        p = pack_smaq<T>(std::span<const T>(x), iv.shape, c);
      } else {
        if (quantizer->q->format().tracking) fail("a tracking quantizer cannot be packed (the scale depends on state)");
        p = pack_tensor<T>(quantizer->q->format(), std::span<const T>(x), iv.shape, quantizer->q->options());
      }
    };
    if (in->dtype == FMTSIM_FLOAT32)
      run(float{});
    else
      run(double{});
    const std::vector<std::byte> b = serialize_packed(p);
    if (needed) *needed = b.size();
    if (!buf) {
      if (size != 0) throw null_pointer("buf is NULL");
      if (!needed) throw null_pointer("buf and needed are both NULL");
      return;
    }
    if (size < b.size())
      throw too_small("the packed tensor needs " + std::to_string(b.size()) + " bytes, the buffer has " +
                      std::to_string(size));
    std::memcpy(buf, b.data(), b.size());
  });
}

fmtsim_status fmtsim_packed_info(const uint8_t* buf, size_t size, int* ndim, int64_t* shape, int capacity,
                                 int* float64) {
  return guarded([&] {
    need(buf, "buf");
    const packed_tensor p =
        parse_packed(std::span<const std::byte>(reinterpret_cast<const std::byte*>(buf), size), "packed buffer");
    if (ndim) *ndim = static_cast<int>(p.shape.size());
    if (float64) *float64 = p.float64 ? 1 : 0;
    if (capacity > 0) need(shape, "shape");
    for (std::size_t k = 0; k < p.shape.size() && static_cast<int>(k) < capacity; ++k) shape[k] = p.shape[k];
  });
}

fmtsim_status fmtsim_unpack_tensor(const uint8_t* buf, size_t size, const fmtsim_tensor* out) {
  return guarded([&] {
    need(buf, "buf");
    const strided_view ov = view_of(out, "output");
    if (!is_real(out->dtype)) fail(std::string("unpack writes float32 or float64, got ") + dtype_name(out->dtype));
    const packed_tensor p =
        parse_packed(std::span<const std::byte>(reinterpret_cast<const std::byte*>(buf), size), "packed buffer");
    if (p.shape != ov.shape)
      fail("the output has shape " + shape_text(ov.shape) + ", the packed tensor has shape " + shape_text(p.shape));
    if (out->dtype == FMTSIM_FLOAT32) {
      const std::vector<float> v = unpack_values<float>(p);
      scatter(v.data(), ov);
    } else {
      const std::vector<double> v = unpack_values<double>(p);
      scatter(v.data(), ov);
    }
  });
}

}  // extern "C"
