// SPDX-License-Identifier: MIT
// Strict .npy reader and atomic writer.
#include <fmtsim/io/npy.hpp>

#include <cctype>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string_view>

namespace fmtsim::io {

namespace {

struct dtype_entry {
  dtype type;
  std::string_view descr;
  std::size_t size;
};
constexpr dtype_entry dtype_table[] = {
    {dtype::f32, "<f4", 4}, {dtype::f64, "<f8", 8}, {dtype::u8, "|u1", 1},  {dtype::u16, "<u2", 2},
    {dtype::u32, "<u4", 4}, {dtype::i8, "|i1", 1},  {dtype::i16, "<i2", 2}, {dtype::i32, "<i4", 4},
    {dtype::i64, "<i8", 8}, {dtype::u64, "<u8", 8},
};

[[noreturn]] void bad(const std::string& what, const std::string& why) {
  throw npy_error(what + ": not a valid .npy file: " + why);
}

// Minimal parser of the header dict: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
class header_parser {
 public:
  header_parser(std::string_view h, const std::string& what) : h_(h), what_(what) {}

  void skip_ws() {
    while (p_ < h_.size() && (h_[p_] == ' ' || h_[p_] == '\n')) ++p_;
  }
  void expect(char c) {
    skip_ws();
    if (p_ >= h_.size() || h_[p_] != c)
      bad(what_, std::string("header: expected '") + c + "' at offset " + std::to_string(p_));
    ++p_;
  }
  bool peek(char c) {
    skip_ws();
    return p_ < h_.size() && h_[p_] == c;
  }
  std::string quoted() {
    skip_ws();
    if (p_ >= h_.size() || (h_[p_] != '\'' && h_[p_] != '"')) bad(what_, "header: expected a quoted string");
    const char q = h_[p_++];
    const std::size_t start = p_;
    while (p_ < h_.size() && h_[p_] != q) ++p_;
    if (p_ >= h_.size()) bad(what_, "header: unterminated string");
    return std::string(h_.substr(start, p_++ - start));
  }
  std::string word() {
    skip_ws();
    const std::size_t start = p_;
    while (p_ < h_.size() && std::isalpha(static_cast<unsigned char>(h_[p_]))) ++p_;
    return std::string(h_.substr(start, p_ - start));
  }
  std::int64_t integer() {
    skip_ws();
    if (p_ >= h_.size() || !std::isdigit(static_cast<unsigned char>(h_[p_])))
      bad(what_, "header: expected a dimension");
    std::int64_t v = 0;
    while (p_ < h_.size() && std::isdigit(static_cast<unsigned char>(h_[p_]))) {
      if (v > (std::numeric_limits<std::int64_t>::max() - 9) / 10) bad(what_, "header: dimension too large");
      v = v * 10 + (h_[p_++] - '0');
    }
    if (p_ < h_.size() && h_[p_] == 'L') ++p_;
    return v;
  }
  std::size_t pos() const { return p_; }
  std::string_view rest() const { return h_.substr(p_); }

 private:
  std::string_view h_;
  const std::string& what_;
  std::size_t p_ = 0;
};

}  // namespace

std::size_t dtype_size(dtype t) {
  for (const auto& e : dtype_table)
    if (e.type == t) return e.size;
  return 0;
}

std::string dtype_descr(dtype t) {
  for (const auto& e : dtype_table)
    if (e.type == t) return std::string(e.descr);
  return "?";
}

std::size_t npy_array::size() const {
  std::size_t n = 1;
  for (auto d : shape) n *= static_cast<std::size_t>(d);
  return n;
}

npy_array parse_npy(std::span<const std::byte> bytes, const std::string& what) {
  static constexpr unsigned char magic[] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (bytes.size() < 10) bad(what, "file is shorter than the 10-byte preamble");
  if (std::memcmp(bytes.data(), magic, 6) != 0) bad(what, "missing the \\x93NUMPY magic");
  const auto major = static_cast<unsigned>(bytes[6]);
  std::size_t header_len = 0, offset = 0;
  if (major == 1) {
    header_len = static_cast<std::size_t>(bytes[8]) | (static_cast<std::size_t>(bytes[9]) << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) bad(what, "file is shorter than the 12-byte preamble of version 2/3");
    header_len = 0;
    for (int i = 0; i < 4; ++i) header_len |= static_cast<std::size_t>(bytes[8 + static_cast<unsigned>(i)]) << (8 * i);
    offset = 12;
  } else {
    bad(what, "unsupported format version " + std::to_string(major));
  }
  if (header_len > bytes.size() - offset)
    bad(what, "header length " + std::to_string(header_len) + " runs past the end of the file");
  const std::string_view header(reinterpret_cast<const char*>(bytes.data() + offset), header_len);
  header_parser hp(header, what);
  std::string descr;
  bool have_descr = false, have_order = false, have_shape = false;
  std::vector<std::int64_t> shape;
  hp.expect('{');
  while (!hp.peek('}')) {
    const std::string key = hp.quoted();
    hp.expect(':');
    if (key == "descr") {
      descr = hp.quoted();
      have_descr = true;
    } else if (key == "fortran_order") {
      const std::string w = hp.word();
      if (w == "True") bad(what, "Fortran-order arrays are not supported (save with np.ascontiguousarray)");
      if (w != "False") bad(what, "header: fortran_order must be True or False");
      have_order = true;
    } else if (key == "shape") {
      hp.expect('(');
      while (!hp.peek(')')) {
        shape.push_back(hp.integer());
        if (!hp.peek(')')) hp.expect(',');
      }
      hp.expect(')');
      have_shape = true;
    } else {
      bad(what, "header: unknown key '" + key + "'");
    }
    if (!hp.peek('}')) hp.expect(',');
  }
  hp.expect('}');
  for (char c : hp.rest())
    if (c != ' ' && c != '\n') bad(what, "header: unexpected text after the dictionary");
  if (!have_descr || !have_order || !have_shape) bad(what, "header lacks descr, fortran_order or shape");
  const dtype_entry* entry = nullptr;
  for (const auto& e : dtype_table) {
    if (e.descr == descr ||
        (e.size == 1 && descr.size() == 3 && descr[0] == '<' && descr.substr(1) == e.descr.substr(1)))
      entry = &e;
  }
  if (entry == nullptr)
    bad(what, "unsupported dtype '" + descr + "' (supported: little-endian float32/float64 and integer types)");
  std::size_t count = 1;
  for (auto d : shape) {
    if (d != 0 && count > std::numeric_limits<std::size_t>::max() / static_cast<std::size_t>(d))
      bad(what, "shape overflows");
    count *= static_cast<std::size_t>(d);
  }
  const std::size_t data_offset = offset + header_len;
  const std::size_t available = bytes.size() - data_offset;
  if (count > available / entry->size || count * entry->size != available)
    bad(what, "data holds " + std::to_string(available) + " bytes but the header declares " + std::to_string(count) +
                  " elements of " + std::to_string(entry->size) + " bytes");
  npy_array a;
  a.type = entry->type;
  a.shape = std::move(shape);
  a.data.assign(bytes.begin() + static_cast<std::ptrdiff_t>(data_offset), bytes.end());
  return a;
}

npy_array read_npy(const std::filesystem::path& path) { return parse_npy(read_file(path), path.string()); }

std::vector<std::byte> serialize_npy(const npy_array& a) {
  std::string header = "{'descr': '" + dtype_descr(a.type) + "', 'fortran_order': False, 'shape': (";
  for (std::size_t i = 0; i < a.shape.size(); ++i) {
    header += std::to_string(a.shape[i]);
    if (a.shape.size() == 1 || i + 1 < a.shape.size()) header += ",";
    if (i + 1 < a.shape.size()) header += " ";
  }
  header += "), }";
  // pad with spaces so that the data starts at a multiple of 64 bytes, newline-terminated
  const std::size_t pre = 10;
  std::size_t total = pre + header.size() + 1;
  const std::size_t padded = (total + 63) / 64 * 64;
  header.append(padded - total, ' ');
  header += '\n';
  std::vector<std::byte> out;
  out.reserve(pre + header.size() + a.data.size());
  const unsigned char magic[] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
  for (unsigned char c : magic) out.push_back(static_cast<std::byte>(c));
  out.push_back(static_cast<std::byte>(header.size() & 0xff));
  out.push_back(static_cast<std::byte>(header.size() >> 8));
  for (char c : header) out.push_back(static_cast<std::byte>(c));
  out.insert(out.end(), a.data.begin(), a.data.end());
  return out;
}

void write_npy_atomic(const std::filesystem::path& path, const npy_array& a) {
  write_file_atomic(path, serialize_npy(a));
}

}  // namespace fmtsim::io
