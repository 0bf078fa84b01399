// SPDX-License-Identifier: MIT
// Strided N-d views: element formats, tensor quantizers and families on views of any strides (C API, Python).
#include <fmtsim/core/array.hpp>
#include <fmtsim/core/fp_env.hpp>
#include <fmtsim/core/quantize.hpp>
#include <fmtsim/kernels/strided.hpp>

#include <cstring>
#include <span>
#include <stdexcept>
#include <type_traits>

namespace fmtsim::strided {

namespace {

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

// A C-order destination for a view: the view's memory when contiguous (and allowed), else a temporary that
// finish() scatters.
template <class T>
struct output_buffer {
  std::vector<T> tmp;
  T* ptr = nullptr;
  const strided_view* view = nullptr;
  void init(const strided_view& v, bool direct) {
    view = &v;
    if (direct) {
      ptr = reinterpret_cast<T*>(v.data);
    } else {
      tmp.resize(v.size());
      ptr = tmp.data();
    }
  }
  void finish() {
    if (!tmp.empty()) scatter(tmp.data(), *view);
  }
};

bool nonneg(const strided_view& v) {
  for (auto s : v.strides)
    if (s < 0) return false;
  return true;
}

bool same_memory(const strided_view& a, const strided_view& b) { return a.data == b.data && a.strides == b.strides; }

template <class T>
void quantize_typed(const element_format& f, const strided_view& in, const strided_view& out, const strided_view* prev,
                    const quantize_options& opt, kernels::backend b) {
  const std::size_t n = in.size();
  check_array_call<T>(f, opt, n, prev ? n : 0);
  input_buffer<T> xin, pin;
  xin.init(in, !same_memory(in, out) && overlaps(in, out));
  if (prev) pin.init(*prev, overlaps(*prev, out));
  output_buffer<T> o;
  o.init(out, out.c_contiguous());
  kernels::quantize<T>(b, f, std::span<const T>(xin.ptr, n), std::span<T>(o.ptr, n), opt,
                       prev ? std::span<const T>(pin.ptr, n) : std::span<const T>());
  o.finish();
}

template <class T, class C>
void encode_typed(const element_format& f, const strided_view& in, const strided_view& codes, const strided_view* prev,
                  const quantize_options& opt) {
  const std::size_t n = in.size();
  input_buffer<T> xin, pin;
  xin.init(in, false);
  if (prev) pin.init(*prev, false);
  output_buffer<C> o;
  o.init(codes, codes.c_contiguous() && !overlaps(in, codes) && !(prev && overlaps(*prev, codes)));
  encode_array<T, C>(f, std::span<const T>(xin.ptr, n), std::span<C>(o.ptr, n), opt,
                     prev ? std::span<const T>(pin.ptr, n) : std::span<const T>());
  o.finish();
}

template <class T>
void encode_real(const element_format& f, const strided_view& in, const strided_view& codes, code_type c,
                 const strided_view* prev, const quantize_options& opt) {
  switch (c) {
    case code_type::u8:
      return encode_typed<T, std::uint8_t>(f, in, codes, prev, opt);
    case code_type::u16:
      return encode_typed<T, std::uint16_t>(f, in, codes, prev, opt);
    case code_type::u32:
      return encode_typed<T, std::uint32_t>(f, in, codes, prev, opt);
    default:
      throw std::invalid_argument("codes must be uint8, uint16 or uint32");
  }
}

template <class I>
void gather_codes(const strided_view& v, std::vector<std::uint32_t>& dst) {
  const I* base = reinterpret_cast<const I*>(v.data);
  for_each_offset(v, [&](std::size_t i, std::int64_t off) {
    const I c = base[off];
    if constexpr (std::is_signed_v<I>) {
      if (c < 0)
        throw element_error("element " + std::to_string(i) + ": code " + std::to_string(c) + " is negative", i);
    }
    if constexpr (sizeof(I) > 4) {
      if (static_cast<std::uint64_t>(c) > 0xFFFFFFFFull)
        throw element_error("element " + std::to_string(i) + ": code " + std::to_string(c) + " is wider than 32 bits",
                            i);
    }
    dst[i] = static_cast<std::uint32_t>(c);
  });
}

template <class T>
void decode_typed(const element_format& f, const strided_view& codes, code_type c, const strided_view& out) {
  const std::size_t n = codes.size();
  check_array_call<T>(f, quantize_options{}, 0, 0);
  std::vector<std::uint32_t> u(n);
  switch (c) {
    case code_type::u8:
      gather_codes<std::uint8_t>(codes, u);
      break;
    case code_type::u16:
      gather_codes<std::uint16_t>(codes, u);
      break;
    case code_type::u32:
      gather_codes<std::uint32_t>(codes, u);
      break;
    case code_type::u64:
      gather_codes<std::uint64_t>(codes, u);
      break;
    case code_type::i8:
      gather_codes<std::int8_t>(codes, u);
      break;
    case code_type::i16:
      gather_codes<std::int16_t>(codes, u);
      break;
    case code_type::i32:
      gather_codes<std::int32_t>(codes, u);
      break;
    case code_type::i64:
      gather_codes<std::int64_t>(codes, u);
      break;
  }
  output_buffer<T> o;
  o.init(out, out.c_contiguous());
  decode_array<T, std::uint32_t>(f, std::span<const std::uint32_t>(u.data(), n), std::span<T>(o.ptr, n));
  o.finish();
}

template <class T>
quantize_stats tensor_quantize_typed(tensor_quantizer& q, const strided_view& in, const strided_view& out) {
  const std::size_t n = in.size();
  input_buffer<T> xin;
  tensor_layout il{in.shape, {}}, ol{out.shape, {}};
  std::size_t in_span = n, out_span = n;
  if (nonneg(in) && (same_memory(in, out) || !overlaps(in, out))) {
    xin.ptr = reinterpret_cast<const T*>(in.data);
    il.strides = in.strides;
    in_span = il.span_needed();
  } else {
    xin.init(in, true);
  }
  std::vector<T> tmp;
  T* dst = reinterpret_cast<T*>(out.data);
  if (nonneg(out)) {
    ol.strides = out.strides;
    out_span = ol.span_needed();
  } else {
    tmp.resize(n);
    dst = tmp.data();
  }
  const quantize_stats st = q.quantize<T>(std::span<const T>(xin.ptr, in_span), il, std::span<T>(dst, out_span), ol);
  if (!tmp.empty()) scatter(tmp.data(), out);
  return st;
}

template <class T>
real_family_result family_typed(const real_family_spec& f, const strided_view& in, const strided_view& out,
                                const quantize_options& opt) {
  const std::size_t n = in.size();
  input_buffer<T> xin;
  xin.init(in, overlaps(in, out));  // out may alias in: the families get a separate input
  output_buffer<T> o;
  o.init(out, out.c_contiguous());
  real_family_result r = real_family_quantize<T>(f, std::span<const T>(xin.ptr, n), std::span<T>(o.ptr, n),
                                                 std::span<const std::int64_t>(in.shape), opt);
  o.finish();
  return r;
}

}  // namespace

void check_same_shape(const strided_view& input, const strided_view& other, const std::string& what) {
  if (input.shape != other.shape)
    throw std::invalid_argument(what + " has shape " + shape_text(other.shape) + ", the input has shape " +
                                shape_text(input.shape));
}

int code_type_bits(code_type c) {
  switch (c) {
    case code_type::u8:
    case code_type::i8:
      return 8;
    case code_type::u16:
    case code_type::i16:
      return 16;
    case code_type::u32:
    case code_type::i32:
      return 32;
    default:
      return 64;
  }
}

void quantize(const element_format& f, const strided_view& in, const strided_view& out, const strided_view* prev,
              const quantize_options& opt, kernels::backend b, real_type t) {
  const fp_env_scope env;
  if (t == real_type::f32)
    quantize_typed<float>(f, in, out, prev, opt, b);
  else
    quantize_typed<double>(f, in, out, prev, opt, b);
}

void encode(const element_format& f, const strided_view& in, const strided_view& codes, code_type c,
            const strided_view* prev, const quantize_options& opt, real_type t) {
  const fp_env_scope env;
  if (t == real_type::f32)
    encode_real<float>(f, in, codes, c, prev, opt);
  else
    encode_real<double>(f, in, codes, c, prev, opt);
}

void decode(const element_format& f, const strided_view& codes, code_type c, const strided_view& out, real_type t) {
  const fp_env_scope env;
  if (t == real_type::f32)
    decode_typed<float>(f, codes, c, out);
  else
    decode_typed<double>(f, codes, c, out);
}

quantize_stats quantize(tensor_quantizer& q, const strided_view& in, const strided_view& out, real_type t) {
  const fp_env_scope env;
  return t == real_type::f32 ? tensor_quantize_typed<float>(q, in, out) : tensor_quantize_typed<double>(q, in, out);
}

quantize_stats encode(tensor_quantizer& q, const strided_view& in, std::vector<std::uint32_t>& codes, real_type t) {
  const fp_env_scope env;
  if (t == real_type::f32) {
    input_buffer<float> b;
    b.init(in, false);
    return q.encode<float>(std::span<const float>(b.ptr, in.size()), in.shape, codes);
  }
  input_buffer<double> b;
  b.init(in, false);
  return q.encode<double>(std::span<const double>(b.ptr, in.size()), in.shape, codes);
}

real_family_result quantize(const real_family_spec& f, const strided_view& in, const strided_view& out,
                            const quantize_options& opt, real_type t) {
  const fp_env_scope env;
  return t == real_type::f32 ? family_typed<float>(f, in, out, opt) : family_typed<double>(f, in, out, opt);
}

}  // namespace fmtsim::strided
