// SPDX-License-Identifier: MIT
// Zip reader: end-of-central-directory (and zip64) records, central directory, local headers.
#include "fmtsim/io/zip.hpp"

#include "fmtsim/io/compress.hpp"
#include "fmtsim/io/file.hpp"

#include <algorithm>
#include <cstdint>
#include <set>

namespace fmtsim::io {
namespace {

[[noreturn]] void fail(std::string_view source, const std::string& what) {
  throw format_error(std::string(source) + ": zip: " + what);
}

// Bounds-checked little-endian reads.
struct reader {
  std::span<const std::byte> bytes;
  std::string_view source;
  std::uint64_t le(std::uint64_t pos, int width, const char* what) const {
    if (pos > bytes.size() || static_cast<std::uint64_t>(width) > bytes.size() - pos) {
      fail(source, std::string(what) + " lies beyond the end of the file");
    }
    std::uint64_t v = 0;
    for (int k = width - 1; k >= 0; --k) v = (v << 8) | std::to_integer<std::uint64_t>(bytes[pos + k]);
    return v;
  }
};

constexpr std::uint32_t sig_eocd = 0x06054b50;
constexpr std::uint32_t sig_eocd64 = 0x06064b50;
constexpr std::uint32_t sig_locator64 = 0x07064b50;
constexpr std::uint32_t sig_central = 0x02014b50;
constexpr std::uint32_t sig_local = 0x04034b50;
constexpr std::uint64_t max_member_bytes = std::uint64_t{1} << 32;

}  // namespace

std::vector<zip_member> parse_zip(std::span<const std::byte> bytes, std::string_view source) {
  const reader rd{bytes, source};
  if (bytes.size() < 22) fail(source, "file too short for an end-of-central-directory record");
  // The EOCD record is the last 22 bytes plus a comment of up to 65535 bytes; its comment length
  // must reach exactly to the end of the file.
  std::uint64_t eocd = UINT64_MAX;
  const std::uint64_t lowest = bytes.size() >= 22 + 65535 ? bytes.size() - 22 - 65535 : 0;
  for (std::uint64_t p = bytes.size() - 22 + 1; p-- > lowest;) {
    if (rd.le(p, 4, "EOCD") == sig_eocd && p + 22 + rd.le(p + 20, 2, "EOCD") == bytes.size()) {
      eocd = p;
      break;
    }
  }
  if (eocd == UINT64_MAX) fail(source, "no end-of-central-directory record (not a zip file or truncated)");
  if (rd.le(eocd + 4, 2, "EOCD") != 0 || rd.le(eocd + 6, 2, "EOCD") != 0) {
    fail(source, "multi-disk archives are not supported");
  }
  std::uint64_t entries = rd.le(eocd + 10, 2, "EOCD");
  if (rd.le(eocd + 8, 2, "EOCD") != entries) fail(source, "inconsistent entry counts");
  std::uint64_t cd_size = rd.le(eocd + 12, 4, "EOCD");
  std::uint64_t cd_offset = rd.le(eocd + 16, 4, "EOCD");
  if (entries == 0xFFFF || cd_size == 0xFFFFFFFF || cd_offset == 0xFFFFFFFF) {
    if (eocd < 20 || rd.le(eocd - 20, 4, "zip64 locator") != sig_locator64) {
      fail(source, "zip64 end-of-central-directory locator missing");
    }
    const std::uint64_t z = rd.le(eocd - 20 + 8, 8, "zip64 locator");
    if (rd.le(z, 4, "zip64 EOCD") != sig_eocd64) fail(source, "bad zip64 end-of-central-directory record");
    entries = rd.le(z + 32, 8, "zip64 EOCD");
    if (rd.le(z + 24, 8, "zip64 EOCD") != entries) fail(source, "inconsistent zip64 entry counts");
    cd_size = rd.le(z + 40, 8, "zip64 EOCD");
    cd_offset = rd.le(z + 48, 8, "zip64 EOCD");
  }
  if (cd_offset > bytes.size() || cd_size > bytes.size() - cd_offset) {
    fail(source, "central directory lies outside the file");
  }
  if (entries > cd_size / 46 + 1) fail(source, "entry count " + std::to_string(entries) + " is impossible");

  std::vector<zip_member> out;
  std::set<std::string> names;
  std::uint64_t p = cd_offset;
  const std::uint64_t cd_end = cd_offset + cd_size;
  for (std::uint64_t i = 0; i < entries; ++i) {
    if (p + 46 > cd_end) fail(source, "central directory truncated");
    if (rd.le(p, 4, "central header") != sig_central) fail(source, "bad central directory signature");
    const auto flags = rd.le(p + 8, 2, "central header");
    const auto method = rd.le(p + 10, 2, "central header");
    const auto crc = static_cast<std::uint32_t>(rd.le(p + 16, 4, "central header"));
    std::uint64_t csize = rd.le(p + 20, 4, "central header");
    std::uint64_t usize = rd.le(p + 24, 4, "central header");
    const auto name_len = rd.le(p + 28, 2, "central header");
    const auto extra_len = rd.le(p + 30, 2, "central header");
    const auto comment_len = rd.le(p + 32, 2, "central header");
    const auto disk = rd.le(p + 34, 2, "central header");
    std::uint64_t local = rd.le(p + 42, 4, "central header");
    const std::uint64_t next = p + 46 + name_len + extra_len + comment_len;
    if (next > cd_end) fail(source, "central directory entry runs past the directory");
    std::string name(reinterpret_cast<const char*>(bytes.data() + p + 46), name_len);
    const std::string where = "entry '" + name + "': ";
    if (disk != 0) fail(source, where + "multi-disk archives are not supported");
    // zip64 extended information (id 1): the 0xFFFFFFFF fields, in the order usize, csize, offset.
    for (std::uint64_t e = p + 46 + name_len; e + 4 <= p + 46 + name_len + extra_len;) {
      const auto id = rd.le(e, 2, "extra field");
      const auto len = rd.le(e + 2, 2, "extra field");
      if (e + 4 + len > p + 46 + name_len + extra_len) fail(source, where + "extra field overruns its entry");
      if (id == 1) {
        std::uint64_t q = e + 4;
        auto take = [&](std::uint64_t& field) {
          if (field != 0xFFFFFFFF) return;
          if (q + 8 > e + 4 + len) fail(source, where + "zip64 extra field too short");
          field = rd.le(q, 8, "zip64 extra field");
          q += 8;
        };
        take(usize);
        take(csize);
        take(local);
      }
      e += 4 + len;
    }
    if ((flags & 1u) != 0) fail(source, where + "encrypted entries are not supported");
    if (method != 0 && method != 8) {
      fail(source,
           where + "compression method " + std::to_string(method) + " is not supported (stored or deflate only)");
    }
    if (usize > max_member_bytes) fail(source, where + "uncompressed size too large");
    if (!names.insert(name).second) fail(source, where + "duplicate name");
    if (rd.le(local, 4, "local header") != sig_local) fail(source, where + "bad local header signature");
    const auto lname_len = rd.le(local + 26, 2, "local header");
    const auto lextra_len = rd.le(local + 28, 2, "local header");
    if (lname_len != name_len ||
        !std::equal(bytes.begin() + static_cast<std::ptrdiff_t>(p + 46),
                    bytes.begin() + static_cast<std::ptrdiff_t>(p + 46 + name_len),
                    bytes.begin() + static_cast<std::ptrdiff_t>(std::min<std::uint64_t>(local + 30, bytes.size())),
                    bytes.begin() +
                        static_cast<std::ptrdiff_t>(std::min<std::uint64_t>(local + 30 + lname_len, bytes.size())))) {
      fail(source, where + "local header name does not match the central directory");
    }
    const std::uint64_t data = local + 30 + lname_len + lextra_len;
    if (data > bytes.size() || csize > bytes.size() - data) fail(source, where + "data lies outside the file");
    const auto raw = bytes.subspan(data, csize);
    zip_member m;
    m.name = std::move(name);
    if (method == 0) {
      if (csize != usize) fail(source, where + "stored entry with different sizes");
      m.data.assign(raw.begin(), raw.end());
    } else {
      m.data = inflate_raw(raw, usize, std::string(source) + ": zip: " + where);
    }
    if (crc32_of(m.data) != crc) fail(source, where + "CRC-32 mismatch");
    out.push_back(std::move(m));
    p = next;
  }
  return out;
}

}  // namespace fmtsim::io
