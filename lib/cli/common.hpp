// SPDX-License-Identifier: MIT
// Shared CLI helpers: tensor input/output (.npy or raw '-'), format options, errors.
#pragma once

#include <fmtsim/core/format.hpp>
#include <fmtsim/core/rounding.hpp>
#include <fmtsim/io/npy.hpp>
#include <fmtsim/kernels/elementwise.hpp>

#include <CLI/CLI.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace fmtsim::cli {

// An error the CLI reports as one line on stderr with exit status 1.
class failure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Options shared by quantize/encode/decode: the format and its modifiers, rounding, seed.
struct format_options {
  std::string spec;
  std::string rounding = "rne";
  std::uint64_t seed = 0;
  bool saturate = false;
  bool ftz = false;
  std::string previous;  // .npy with the previous quantized values (hys)
  std::string backend_name = "auto";
  unsigned threads = 0;  // 0: all cores

  // The backend chosen with --backend; also applies --threads to the kernels.
  kernels::backend backend() const;

  void add_to(CLI::App& cmd, bool with_rounding);
  element_format format() const;  // spec + --sat/--ftz, errors as failure
  round_mode mode() const;
};

// Read a float tensor: a .npy file (float32 or float64), or '-' = raw little-endian float32 on stdin.
io::npy_array read_float_input(const std::string& path);
// Read codes: a .npy of unsigned integers, or '-' = raw little-endian codes of `code_bytes` bytes on stdin.
io::npy_array read_code_input(const std::string& path, int code_bytes);
// Write a tensor: .npy written atomically, or '-' = raw little-endian data on stdout.
void write_output(const std::string& path, const io::npy_array& a);

// Smallest unsigned dtype that holds `bits` bits.
io::dtype code_dtype(int bits);

}  // namespace fmtsim::cli
