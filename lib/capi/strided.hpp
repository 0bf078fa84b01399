// SPDX-License-Identifier: MIT
// Strided N-d views (C API, Python module): contiguity, overlap, C-order gather and scatter.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace fmtsim::detail::strided {

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

}  // namespace fmtsim::detail::strided
