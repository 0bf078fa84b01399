// SPDX-License-Identifier: MIT
// Whole-file reading with a size limit.
#include "fmtsim/io/file.hpp"

#include <unistd.h>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>
#include <system_error>

namespace fmtsim::io {

std::vector<std::byte> read_file(const std::filesystem::path& path, std::uint64_t max_bytes) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    throw format_error(path.string() + ": cannot open: " + std::strerror(errno));
  }
  std::vector<std::byte> out;
  std::byte buf[1 << 16];
  for (;;) {
    const std::size_t got = std::fread(buf, 1, sizeof buf, f);
    if (got > 0) {
      if (out.size() + got > max_bytes) {
        std::fclose(f);
        throw format_error(path.string() + ": file larger than the limit of " + std::to_string(max_bytes) + " bytes");
      }
      out.insert(out.end(), buf, buf + got);
    }
    if (got < sizeof buf) {
      const bool err = std::ferror(f) != 0;
      std::fclose(f);
      if (err) throw format_error(path.string() + ": read error");
      break;
    }
  }
  return out;
}

void write_file_atomic(const std::filesystem::path& path, std::span<const std::byte> bytes) {
  std::filesystem::path tmp = path;
  tmp += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(std::random_device{}());
  {
    std::FILE* fp = std::fopen(tmp.c_str(), "wb");
    if (fp == nullptr) throw format_error(path.string() + ": cannot open a temporary file for writing");
    const bool ok = bytes.empty() || std::fwrite(bytes.data(), 1, bytes.size(), fp) == bytes.size();
    const bool flushed = std::fflush(fp) == 0 && ::fsync(::fileno(fp)) == 0;
    const bool closed = std::fclose(fp) == 0;
    if (!ok || !flushed || !closed) {
      std::remove(tmp.c_str());
      throw format_error(path.string() + ": write failed");
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    throw format_error(path.string() + ": cannot rename the temporary file into place: " + ec.message());
  }
}

}  // namespace fmtsim::io
