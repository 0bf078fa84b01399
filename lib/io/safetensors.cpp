// SPDX-License-Identifier: MIT
// Strict safetensors parser and serialiser (8-byte LE header length, JSON header, byte buffer).
#include "fmtsim/io/safetensors.hpp"

#include "fmtsim/io/file.hpp"
#include "fmtsim/io/npy.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <limits>
#include <set>
#include <stdexcept>

namespace fmtsim::io {
namespace {

struct dtype_info {
  st_dtype dtype;
  std::string_view name;
  std::size_t size;
};

constexpr std::array<dtype_info, 15> dtype_table{{
    {st_dtype::BOOL, "BOOL", 1},
    {st_dtype::U8, "U8", 1},
    {st_dtype::I8, "I8", 1},
    {st_dtype::F8_E5M2, "F8_E5M2", 1},
    {st_dtype::F8_E4M3, "F8_E4M3", 1},
    {st_dtype::I16, "I16", 2},
    {st_dtype::U16, "U16", 2},
    {st_dtype::F16, "F16", 2},
    {st_dtype::BF16, "BF16", 2},
    {st_dtype::I32, "I32", 4},
    {st_dtype::U32, "U32", 4},
    {st_dtype::F32, "F32", 4},
    {st_dtype::F64, "F64", 8},
    {st_dtype::I64, "I64", 8},
    {st_dtype::U64, "U64", 8},
}};

struct duplicate_key : std::exception {
  std::string key;
  explicit duplicate_key(std::string k) : key(std::move(k)) {}
};

[[noreturn]] void fail(std::string_view source, const std::string& what) {
  throw format_error(std::string(source) + ": safetensors: " + what);
}

// Product of dims with overflow checks; nullopt on overflow beyond 2^62.
std::optional<std::uint64_t> checked_product(const std::vector<std::int64_t>& shape) {
  std::uint64_t n = 1;
  for (const std::int64_t d : shape) {
    if (d < 0) return std::nullopt;
    const auto ud = static_cast<std::uint64_t>(d);
    if (ud != 0 && n > (std::uint64_t{1} << 62) / ud) return std::nullopt;
    n *= ud;
  }
  return n;
}

std::uint64_t read_u64_le(const std::byte* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | std::to_integer<std::uint64_t>(p[i]);
  return v;
}

float half_bits_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  std::uint32_t exp = (h >> 10) & 0x1Fu;
  std::uint32_t mant = h & 0x3FFu;
  std::uint32_t bits = 0;
  if (exp == 0x1F) {
    bits = sign | 0x7F800000u | (mant << 13);
  } else if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal half: normalise into a float32 normal
      std::uint32_t e = 127 - 15 + 1;
      while ((mant & 0x400u) == 0) {
        mant <<= 1;
        --e;
      }
      bits = sign | (e << 23) | ((mant & 0x3FFu) << 13);
    }
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  return std::bit_cast<float>(bits);
}

}  // namespace

std::string_view to_string(st_dtype dtype) noexcept {
  for (const auto& d : dtype_table)
    if (d.dtype == dtype) return d.name;
  return "?";
}

std::optional<st_dtype> parse_st_dtype(std::string_view name) noexcept {
  for (const auto& d : dtype_table)
    if (d.name == name) return d.dtype;
  return std::nullopt;
}

std::size_t element_size(st_dtype dtype) noexcept {
  for (const auto& d : dtype_table)
    if (d.dtype == dtype) return d.size;
  return 0;
}

std::int64_t st_tensor::numel() const noexcept {
  std::int64_t n = 1;
  for (const auto d : shape) n *= d;
  return n;
}

const st_tensor* safetensors_file::find(std::string_view name) const noexcept {
  for (const auto& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

safetensors_file parse_safetensors(std::span<const std::byte> bytes, std::string_view source) {
  if (bytes.size() < 8) {
    fail(source, "file is " + std::to_string(bytes.size()) + " bytes, shorter than the 8-byte header length");
  }
  const std::uint64_t header_len = read_u64_le(bytes.data());
  const std::uint64_t rest = bytes.size() - 8;
  if (header_len > safetensors_max_header_bytes) {
    fail(source, "header length " + std::to_string(header_len) + " exceeds the limit of " +
                     std::to_string(safetensors_max_header_bytes) + " bytes");
  }
  if (header_len > rest) {
    fail(source, "header length " + std::to_string(header_len) + " is beyond the end of the file (" +
                     std::to_string(rest) + " bytes after the length field)");
  }
  if (header_len < 2) fail(source, "header length " + std::to_string(header_len) + " is too small");
  const char* hdr = reinterpret_cast<const char*>(bytes.data() + 8);
  if (hdr[0] != '{') fail(source, "header does not start with '{'");

  nlohmann::json header;
  try {
    std::set<std::string> seen;
    nlohmann::json::parser_callback_t cb = [&seen](int depth, nlohmann::json::parse_event_t event,
                                                   nlohmann::json& parsed) {
      if (event == nlohmann::json::parse_event_t::key && depth == 1) {
        std::string key = parsed.get<std::string>();
        if (!seen.insert(key).second) throw duplicate_key(std::move(key));
      }
      return true;
    };
    header = nlohmann::json::parse(hdr, hdr + header_len, cb, /*allow_exceptions=*/true);
  } catch (const duplicate_key& e) {
    fail(source, "duplicate tensor name '" + e.key + "' in the header");
  } catch (const nlohmann::json::exception& e) {
    fail(source, std::string("header is not valid JSON: ") + e.what());
  }
  if (!header.is_object()) fail(source, "header is not a JSON object");

  const std::byte* buffer = bytes.data() + 8 + header_len;
  const std::uint64_t buffer_len = rest - header_len;

  safetensors_file out;
  struct span_entry {
    std::uint64_t begin, end;
    std::size_t index;
  };
  std::vector<span_entry> spans;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const nlohmann::json& value = it.value();
    if (name == "__metadata__") {
      if (!value.is_object()) fail(source, "__metadata__ is not an object");
      for (auto m = value.begin(); m != value.end(); ++m) {
        if (!m.value().is_string()) {
          fail(source, "__metadata__ entry '" + m.key() + "' is not a string");
        }
        out.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string where = "tensor '" + name + "': ";
    if (!value.is_object()) fail(source, where + "entry is not an object");
    for (auto f = value.begin(); f != value.end(); ++f) {
      if (f.key() != "dtype" && f.key() != "shape" && f.key() != "data_offsets") {
        fail(source, where + "unknown field '" + f.key() + "'");
      }
    }
    if (!value.contains("dtype") || !value.contains("shape") || !value.contains("data_offsets")) {
      fail(source, where + "needs the fields dtype, shape and data_offsets");
    }
    const auto& jd = value["dtype"];
    if (!jd.is_string()) fail(source, where + "dtype is not a string");
    const auto dtype = parse_st_dtype(jd.get<std::string>());
    if (!dtype) fail(source, where + "unsupported dtype '" + jd.get<std::string>() + "'");
    const auto& js = value["shape"];
    if (!js.is_array()) fail(source, where + "shape is not an array");
    std::vector<std::int64_t> shape;
    for (const auto& d : js) {
      if (!d.is_number_unsigned() ||
          d.get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        fail(source, where + "shape entry " + d.dump() + " is not a non-negative integer");
      }
      shape.push_back(static_cast<std::int64_t>(d.get<std::uint64_t>()));
    }
    const auto count = checked_product(shape);
    if (!count) fail(source, where + "shape " + js.dump() + " has too many elements");
    const std::uint64_t esize = element_size(*dtype);
    if (*count > (std::uint64_t{1} << 62) / esize) fail(source, where + "tensor too large");
    const std::uint64_t nbytes = *count * esize;
    const auto& jo = value["data_offsets"];
    if (!jo.is_array() || jo.size() != 2 || !jo[0].is_number_unsigned() || !jo[1].is_number_unsigned()) {
      fail(source, where + "data_offsets must be two non-negative integers");
    }
    const std::uint64_t begin = jo[0].get<std::uint64_t>();
    const std::uint64_t end = jo[1].get<std::uint64_t>();
    if (end < begin) fail(source, where + "data_offsets " + jo.dump() + " are reversed");
    if (end > buffer_len) {
      fail(source, where + "data_offsets " + jo.dump() + " go beyond the data buffer of " + std::to_string(buffer_len) +
                       " bytes");
    }
    if (end - begin != nbytes) {
      fail(source, where + "data_offsets " + jo.dump() + " span " + std::to_string(end - begin) + " bytes but dtype " +
                       std::string(to_string(*dtype)) + " and shape " + js.dump() + " need " + std::to_string(nbytes));
    }
    st_tensor t;
    t.name = name;
    t.dtype = *dtype;
    t.shape = std::move(shape);
    spans.push_back({begin, end, out.tensors.size()});
    out.tensors.push_back(std::move(t));
  }
  // The data buffer must be covered exactly: sorted spans, each starting where the last ended.
  std::sort(spans.begin(), spans.end(), [](const span_entry& a, const span_entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  std::uint64_t pos = 0;
  for (const auto& s : spans) {
    const std::string& nm = out.tensors[s.index].name;
    if (s.begin < pos) fail(source, "tensor '" + nm + "' overlaps the previous tensor's data");
    if (s.begin > pos) {
      fail(source, "hole in the data buffer before tensor '" + nm + "' (bytes " + std::to_string(pos) + ".." +
                       std::to_string(s.begin) + " unused)");
    }
    pos = s.end;
  }
  if (pos != buffer_len) {
    fail(source, "data buffer has " + std::to_string(buffer_len - pos) + " trailing bytes not covered by any tensor");
  }
  std::vector<st_tensor> ordered;
  ordered.reserve(spans.size());
  for (const auto& s : spans) {
    st_tensor& t = out.tensors[s.index];
    t.data.assign(buffer + s.begin, buffer + s.end);
    ordered.push_back(std::move(t));
  }
  out.tensors = std::move(ordered);
  return out;
}

safetensors_file read_safetensors(const std::filesystem::path& path) {
  const auto bytes = read_file(path);
  return parse_safetensors(bytes, path.string());
}

st_tensor make_f32_tensor(std::string name, std::vector<std::int64_t> shape, std::span<const float> values) {
  st_tensor t;
  t.name = std::move(name);
  t.dtype = st_dtype::F32;
  t.shape = std::move(shape);
  if (static_cast<std::uint64_t>(t.numel()) != values.size()) {
    throw std::invalid_argument("make_f32_tensor: '" + t.name + "': shape does not match the value count");
  }
  t.data.resize(values.size() * 4);
  for (std::size_t i = 0; i < values.size(); ++i) {
    const std::uint32_t b = std::bit_cast<std::uint32_t>(values[i]);
    for (int k = 0; k < 4; ++k) t.data[i * 4 + k] = static_cast<std::byte>((b >> (8 * k)) & 0xFF);
  }
  return t;
}

st_tensor make_i64_tensor(std::string name, std::vector<std::int64_t> shape, std::span<const std::int64_t> values) {
  st_tensor t;
  t.name = std::move(name);
  t.dtype = st_dtype::I64;
  t.shape = std::move(shape);
  if (static_cast<std::uint64_t>(t.numel()) != values.size()) {
    throw std::invalid_argument("make_i64_tensor: '" + t.name + "': shape does not match the value count");
  }
  t.data.resize(values.size() * 8);
  for (std::size_t i = 0; i < values.size(); ++i) {
    const auto b = static_cast<std::uint64_t>(values[i]);
    for (int k = 0; k < 8; ++k) t.data[i * 8 + k] = static_cast<std::byte>((b >> (8 * k)) & 0xFF);
  }
  return t;
}

std::vector<float> to_float32(const st_tensor& t) {
  const std::size_t n = static_cast<std::size_t>(t.numel());
  const std::size_t es = element_size(t.dtype);
  if (t.data.size() != n * es) {
    throw format_error("tensor '" + t.name + "': data size does not match dtype and shape");
  }
  std::vector<float> out(n);
  auto le = [&](std::size_t i, int bytes_per) {
    std::uint64_t v = 0;
    for (int k = bytes_per - 1; k >= 0; --k) v = (v << 8) | std::to_integer<std::uint64_t>(t.data[i * bytes_per + k]);
    return v;
  };
  switch (t.dtype) {
    case st_dtype::F32:
      for (std::size_t i = 0; i < n; ++i) out[i] = std::bit_cast<float>(static_cast<std::uint32_t>(le(i, 4)));
      break;
    case st_dtype::F64:
      for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<float>(std::bit_cast<double>(le(i, 8)));
      break;
    case st_dtype::F16:
      for (std::size_t i = 0; i < n; ++i) out[i] = half_bits_to_float(static_cast<std::uint16_t>(le(i, 2)));
      break;
    case st_dtype::BF16:
      for (std::size_t i = 0; i < n; ++i) out[i] = std::bit_cast<float>(static_cast<std::uint32_t>(le(i, 2) << 16));
      break;
    default:
      throw format_error("tensor '" + t.name + "': dtype " + std::string(to_string(t.dtype)) +
                         " is not a floating-point type (F32, F64, F16 or BF16 expected)");
  }
  return out;
}

std::vector<std::byte> serialize_safetensors(const safetensors_file& file) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!file.metadata.empty()) {
    nlohmann::ordered_json meta = nlohmann::ordered_json::object();
    for (const auto& [k, v] : file.metadata) meta[k] = v;
    header["__metadata__"] = std::move(meta);
  }
  std::set<std::string> names;
  std::uint64_t offset = 0;
  for (const auto& t : file.tensors) {
    if (t.name == "__metadata__" || !names.insert(t.name).second) {
      throw std::invalid_argument("serialize_safetensors: duplicate or reserved name '" + t.name + "'");
    }
    const auto count = checked_product(t.shape);
    if (!count || *count * element_size(t.dtype) != t.data.size()) {
      throw std::invalid_argument("serialize_safetensors: '" + t.name + "': data size does not match dtype and shape");
    }
    nlohmann::ordered_json entry;
    entry["dtype"] = std::string(to_string(t.dtype));
    entry["shape"] = t.shape;
    entry["data_offsets"] = {offset, offset + t.data.size()};
    header[t.name] = std::move(entry);
    offset += t.data.size();
  }
  std::string text = header.dump();
  while (text.size() % 8 != 0) text.push_back(' ');
  std::vector<std::byte> out;
  out.reserve(8 + text.size() + offset);
  const std::uint64_t hl = text.size();
  for (int k = 0; k < 8; ++k) out.push_back(static_cast<std::byte>((hl >> (8 * k)) & 0xFF));
  for (const char c : text) out.push_back(static_cast<std::byte>(c));
  for (const auto& t : file.tensors) out.insert(out.end(), t.data.begin(), t.data.end());
  return out;
}

void write_safetensors_atomic(const std::filesystem::path& path, const safetensors_file& file) {
  const auto bytes = serialize_safetensors(file);
  write_file_atomic(path, bytes);
}

}  // namespace fmtsim::io
