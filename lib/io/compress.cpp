// SPDX-License-Identifier: MIT
// gzip / raw-deflate decompression through zlib, bounded in output size.
#include "fmtsim/io/compress.hpp"

#include "fmtsim/io/file.hpp"

#include <zlib.h>

#include <algorithm>
#include <limits>
#include <string>

namespace fmtsim::io {
namespace {

[[noreturn]] void fail(std::string_view source, const std::string& what) {
  throw format_error(std::string(source) + ": " + what);
}

struct inflater {
  z_stream zs{};
  bool live = false;
  explicit inflater(int window_bits, std::string_view source) {
    if (inflateInit2(&zs, window_bits) != Z_OK) fail(source, "zlib inflateInit2 failed");
    live = true;
  }
  ~inflater() {
    if (live) inflateEnd(&zs);
  }
  inflater(const inflater&) = delete;
  inflater& operator=(const inflater&) = delete;
};

constexpr uInt chunk_limit = std::numeric_limits<uInt>::max() / 2;
constexpr std::uint64_t max_inflate_ratio = 1032;

}  // namespace

bool is_gzip(std::span<const std::byte> bytes) noexcept {
  return bytes.size() >= 2 && bytes[0] == std::byte{0x1f} && bytes[1] == std::byte{0x8b};
}

std::vector<std::byte> gunzip(std::span<const std::byte> bytes, std::string_view source, std::uint64_t max_output) {
  if (bytes.size() > chunk_limit) fail(source, "compressed input too large");
  std::vector<std::byte> out;
  std::size_t pos = 0;
  do {
    if (!is_gzip(bytes.subspan(pos))) {
      fail(source, pos == 0 ? std::string("not a gzip stream (bad magic)")
                            : "trailing bytes after the gzip stream at offset " + std::to_string(pos));
    }
    inflater inf(16 + MAX_WBITS, source);
    inf.zs.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(bytes.data() + pos));
    inf.zs.avail_in = static_cast<uInt>(bytes.size() - pos);
    for (;;) {
      if (out.size() >= max_output) {
        fail(source, "gzip stream expands beyond the limit of " + std::to_string(max_output) + " bytes");
      }
      const std::size_t grow = static_cast<std::size_t>(std::min<std::uint64_t>(
          {std::max<std::uint64_t>(out.size(), 1 << 16), max_output - out.size(), chunk_limit}));
      const std::size_t old = out.size();
      out.resize(old + grow);
      inf.zs.next_out = reinterpret_cast<Bytef*>(out.data() + old);
      inf.zs.avail_out = static_cast<uInt>(grow);
      const int rc = inflate(&inf.zs, Z_NO_FLUSH);
      out.resize(old + (grow - inf.zs.avail_out));
      if (rc == Z_STREAM_END) break;
      if (rc == Z_BUF_ERROR && inf.zs.avail_in == 0) fail(source, "gzip stream is truncated");
      if (rc != Z_OK && rc != Z_BUF_ERROR) {
        fail(source, std::string("corrupt gzip stream: ") + (inf.zs.msg ? inf.zs.msg : "zlib error"));
      }
    }
    pos = bytes.size() - inf.zs.avail_in;
  } while (pos < bytes.size());
  return out;
}

std::vector<std::byte> inflate_raw(std::span<const std::byte> bytes, std::uint64_t expected_size,
                                   std::string_view source) {
  if (bytes.size() > chunk_limit || expected_size > chunk_limit) {
    fail(source, "compressed entry too large");
  }
  // Deflate cannot expand beyond 1032:1 (a 258-byte match per code of at least two bits), so a
  // declared size above that bound is a lie; checking it first keeps a hostile header from making
  // us allocate gigabytes for a few bytes of input.
  if (expected_size > max_inflate_ratio * bytes.size() + max_inflate_ratio) {
    fail(source, "declared size " + std::to_string(expected_size) + " is impossible for " +
                     std::to_string(bytes.size()) + " bytes of deflate data");
  }
  std::vector<std::byte> out(expected_size);
  inflater inf(-MAX_WBITS, source);
  inf.zs.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(bytes.data()));
  inf.zs.avail_in = static_cast<uInt>(bytes.size());
  // One spare byte of output space detects streams that produce more than expected.
  std::byte spare{};
  inf.zs.next_out = reinterpret_cast<Bytef*>(out.data());
  inf.zs.avail_out = static_cast<uInt>(expected_size);
  int rc = inflate(&inf.zs, Z_FINISH);
  if (rc == Z_BUF_ERROR && inf.zs.avail_out == 0 && inf.zs.avail_in > 0) {
    inf.zs.next_out = reinterpret_cast<Bytef*>(&spare);
    inf.zs.avail_out = 1;
    rc = inflate(&inf.zs, Z_FINISH);
    if (inf.zs.avail_out == 0) fail(source, "deflate entry expands beyond its declared size");
  }
  if (rc != Z_STREAM_END) {
    fail(source, std::string("corrupt or truncated deflate entry") +
                     (inf.zs.msg ? std::string(": ") + inf.zs.msg : std::string()));
  }
  if (inf.zs.total_out != expected_size) {
    fail(source,
         "deflate entry has " + std::to_string(inf.zs.total_out) + " bytes, declared " + std::to_string(expected_size));
  }
  if (inf.zs.avail_in != 0) fail(source, "trailing bytes after the deflate stream");
  return out;
}

std::uint32_t crc32_of(std::span<const std::byte> bytes) noexcept {
  uLong crc = crc32(0L, Z_NULL, 0);
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    const uInt n = static_cast<uInt>(std::min<std::size_t>(bytes.size() - pos, chunk_limit));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(bytes.data() + pos), n);
    pos += n;
  }
  return static_cast<std::uint32_t>(crc);
}

}  // namespace fmtsim::io
