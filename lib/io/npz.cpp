// SPDX-License-Identifier: MIT
// .npz reader (zip members parsed as .npy) and npy element conversions.
#include "fmtsim/io/npz.hpp"

#include "fmtsim/io/file.hpp"
#include "fmtsim/io/zip.hpp"

#include <cstring>
#include <limits>

namespace fmtsim::io {

const npy_array* npz_file::find(std::string_view name) const noexcept {
  for (const auto& [n, a] : arrays)
    if (n == name) return &a;
  return nullptr;
}

npz_file parse_npz(std::span<const std::byte> bytes, std::string_view source) {
  npz_file out;
  for (zip_member& m : parse_zip(bytes, source)) {
    if (m.name.size() < 4 || !m.name.ends_with(".npy")) {
      throw format_error(std::string(source) + ": npz member '" + m.name + "' is not a .npy file");
    }
    npy_array a = parse_npy(m.data, std::string(source) + ": " + m.name);
    out.arrays.emplace_back(m.name.substr(0, m.name.size() - 4), std::move(a));
  }
  return out;
}

npz_file read_npz(const std::filesystem::path& path) {
  const auto bytes = read_file(path);
  return parse_npz(bytes, path.string());
}

namespace {
template <class T>
T load(const npy_array& a, std::size_t i) {
  T v;
  std::memcpy(&v, a.data.data() + i * sizeof(T), sizeof(T));
  return v;
}
}  // namespace

std::vector<float> npy_to_f32(const npy_array& a) {
  const std::size_t n = a.size();
  std::vector<float> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    switch (a.type) {
      case dtype::f32:
        out[i] = load<float>(a, i);
        break;
      case dtype::f64:
        out[i] = static_cast<float>(load<double>(a, i));
        break;
      case dtype::u8:
        out[i] = static_cast<float>(load<std::uint8_t>(a, i));
        break;
      case dtype::u16:
        out[i] = static_cast<float>(load<std::uint16_t>(a, i));
        break;
      case dtype::u32:
        out[i] = static_cast<float>(load<std::uint32_t>(a, i));
        break;
      case dtype::u64:
        out[i] = static_cast<float>(load<std::uint64_t>(a, i));
        break;
      case dtype::i8:
        out[i] = static_cast<float>(load<std::int8_t>(a, i));
        break;
      case dtype::i16:
        out[i] = static_cast<float>(load<std::int16_t>(a, i));
        break;
      case dtype::i32:
        out[i] = static_cast<float>(load<std::int32_t>(a, i));
        break;
      case dtype::i64:
        out[i] = static_cast<float>(load<std::int64_t>(a, i));
        break;
    }
  }
  return out;
}

std::vector<std::uint8_t> npy_to_u8(const npy_array& a) {
  if (a.type != dtype::u8)
    throw format_error("npy array of dtype " + dtype_descr(a.type) + " where uint8 was expected");
  std::vector<std::uint8_t> out(a.size());
  std::memcpy(out.data(), a.data.data(), out.size());
  return out;
}

std::vector<std::int64_t> npy_to_i64(const npy_array& a) {
  const std::size_t n = a.size();
  std::vector<std::int64_t> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    switch (a.type) {
      case dtype::u8:
        out[i] = load<std::uint8_t>(a, i);
        break;
      case dtype::u16:
        out[i] = load<std::uint16_t>(a, i);
        break;
      case dtype::u32:
        out[i] = load<std::uint32_t>(a, i);
        break;
      case dtype::u64: {
        const auto v = load<std::uint64_t>(a, i);
        if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
          throw format_error("npy integer value out of the int64 range");
        }
        out[i] = static_cast<std::int64_t>(v);
        break;
      }
      case dtype::i8:
        out[i] = load<std::int8_t>(a, i);
        break;
      case dtype::i16:
        out[i] = load<std::int16_t>(a, i);
        break;
      case dtype::i32:
        out[i] = load<std::int32_t>(a, i);
        break;
      case dtype::i64:
        out[i] = load<std::int64_t>(a, i);
        break;
      default:
        throw format_error("npy array of dtype " + dtype_descr(a.type) + " where an integer type was expected");
    }
  }
  return out;
}

}  // namespace fmtsim::io
