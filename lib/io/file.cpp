// SPDX-License-Identifier: MIT
// Whole-file reading with a size limit.
#include "fmtsim/io/file.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>

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
        throw format_error(path.string() + ": file larger than the limit of " +
                           std::to_string(max_bytes) + " bytes");
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

}  // namespace fmtsim::io
