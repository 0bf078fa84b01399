// SPDX-License-Identifier: MIT
// Strided N-d views shared by the C API and the Python module: layout checks, gather/scatter, and the
// element-format, tensor-quantizer and family calls on views of any strides (copies only where needed).
#pragma once

#include <fmtsim/core/format.hpp>
#include <fmtsim/core/rounding.hpp>
#include <fmtsim/formats/family_spec.hpp>
#include <fmtsim/formats/tensor.hpp>
#include <fmtsim/kernels/elementwise.hpp>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace fmtsim::strided {

// An N-d view: element strides (may be negative or zero), C-order logical indexing.
struct strided_view {
  char* data = nullptr;  // address of element (0, ..., 0)
  std::size_t itemsize = 0;
  std::vector<std::int64_t> shape;
  std::vector<std::int64_t> strides;  // in elements

  std::size_t size() const {
    std::size_t n = 1;
    for (auto s : shape) n *= static_cast<std::size_t>(s);
    return n;
  }

  // C order with no gaps (axes of extent 1 may have any stride).
  bool c_contiguous() const {
    std::int64_t expect = 1;
    for (std::size_t k = shape.size(); k-- > 0;) {
      if (shape[k] == 1) continue;
      if (strides[k] != expect) return false;
      expect *= shape[k];
    }
    return true;
  }

  // [lo, hi) byte range touched by the view (empty view: lo == hi).
  void byte_range(const char*& lo, const char*& hi) const {
    if (size() == 0) {
      lo = hi = data;
      return;
    }
    std::int64_t min_off = 0, max_off = 0;
    for (std::size_t k = 0; k < shape.size(); ++k) {
      const std::int64_t span = (shape[k] - 1) * strides[k];
      if (span < 0)
        min_off += span;
      else
        max_off += span;
    }
    lo = data + min_off * static_cast<std::int64_t>(itemsize);
    hi = data + (max_off + 1) * static_cast<std::int64_t>(itemsize);
  }
};

inline bool overlaps(const strided_view& a, const strided_view& b) {
  const char *alo, *ahi, *blo, *bhi;
  a.byte_range(alo, ahi);
  b.byte_range(blo, bhi);
  return alo < bhi && blo < ahi;
}

// Calls fn(linear_index, element_offset) for every element in C order.
template <class F>
void for_each_offset(const strided_view& v, F&& fn) {
  const std::size_t n = v.size();
  if (n == 0) return;
  const std::size_t nd = v.shape.size();
  std::vector<std::int64_t> idx(nd, 0);
  std::int64_t off = 0;
  for (std::size_t i = 0; i < n; ++i) {
    fn(i, off);
    for (std::size_t k = nd; k-- > 0;) {
      if (++idx[k] < v.shape[k]) {
        off += v.strides[k];
        break;
      }
      off -= (v.shape[k] - 1) * v.strides[k];
      idx[k] = 0;
    }
  }
}

template <class T>
void gather(const strided_view& v, T* dst) {
  const T* base = reinterpret_cast<const T*>(v.data);
  for_each_offset(v, [&](std::size_t i, std::int64_t off) { dst[i] = base[off]; });
}

template <class T>
void scatter(const T* src, const strided_view& v) {
  T* base = reinterpret_cast<T*>(v.data);
  for_each_offset(v, [&](std::size_t i, std::int64_t off) { base[off] = src[i]; });
}

inline std::string shape_text(const std::vector<std::int64_t>& s) {
  std::string t = "(";
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i) t += ", ";
    t += std::to_string(s[i]);
  }
  if (s.size() == 1) t += ",";
  return t + ")";
}

// A C-order copy of the view's elements.
template <class T>
std::vector<T> c_order_copy(const strided_view& v) {
  std::vector<T> buf(v.size());
  gather(v, buf.data());
  return buf;
}

// Throws std::invalid_argument "<what> has shape (..), the input has shape (..)" unless the shapes agree.
void check_same_shape(const strided_view& input, const strided_view& other, const std::string& what);

enum class real_type : std::uint8_t { f32, f64 };
// Code element types; encode writes u8, u16 or u32; decode reads any (negative or > 32-bit codes are an
// element_error naming the element).
enum class code_type : std::uint8_t { u8, u16, u32, u64, i8, i16, i32, i64 };
int code_type_bits(code_type c);

// Element format on views: out = quantize(in) (out may be in, or overlap it: the input is copied then),
// prev = the previous quantized values for hysteresis (nullptr otherwise). Validates the call
// (check_array_call) before touching memory.
void quantize(const element_format& f, const strided_view& in, const strided_view& out, const strided_view* prev,
              const quantize_options& opt, kernels::backend b, real_type t);
void encode(const element_format& f, const strided_view& in, const strided_view& codes, code_type c,
            const strided_view* prev, const quantize_options& opt, real_type t);
void decode(const element_format& f, const strided_view& codes, code_type c, const strided_view& out, real_type t);

// Tensor quantizer on views: non-negative strides are passed through, other layouts go through C-order
// copies.
quantize_stats quantize(tensor_quantizer& q, const strided_view& in, const strided_view& out, real_type t);
// Codes (C order) of the tensor quantizer.
quantize_stats encode(tensor_quantizer& q, const strided_view& in, std::vector<std::uint32_t>& codes, real_type t);

// Real-scaled family on views (the families work on C-order buffers: strided views are gathered/scattered).
real_family_result quantize(const real_family_spec& f, const strided_view& in, const strided_view& out,
                            const quantize_options& opt, real_type t);

}  // namespace fmtsim::strided
