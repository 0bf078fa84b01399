// SPDX-License-Identifier: MIT
// Shared CLI helpers: tensor input/output and format options.
#include "common.hpp"

#include <fmtsim/core/spec.hpp>

#include <cstdio>
#include <iostream>
#include <iterator>
#include <vector>

namespace fmtsim::cli {

void format_options::add_to(CLI::App& cmd, bool with_rounding) {
  cmd.add_option("-f,--format", spec,
                 "format spec (e.g. e4m3fn, e5m2:sat, int8, bp:5x7,4,3,2,1,0); see `fmtsim formats`")
      ->required();
  if (with_rounding) {
    cmd.add_option("-r,--rounding", rounding, std::string("rounding mode: ") + std::string(rounding_names_help()))
        ->capture_default_str();
    cmd.add_option("--seed", seed, "seed of the stochastic-rounding stream (Philox, keyed by seed and element index)")
        ->capture_default_str();
    cmd.add_option("--previous", previous, ".npy of the previous quantized values (required by -r hys)");
    cmd.add_option("--backend", backend_name, "auto (best available), scalar (the reference), simd, cuda")
        ->check(CLI::IsMember({"auto", "scalar", "simd", "cuda"}))
        ->capture_default_str();
    cmd.add_option("--threads", threads, "worker threads of the kernels (0: all cores); results never depend on it");
  }
  cmd.add_flag("--sat", saturate, "saturate: overflow gives +-max in every mode (same as the :sat modifier)");
  cmd.add_flag("--ftz", ftz, "flush subnormals to zero (same as the :ftz modifier)");
}

element_format format_options::format() const {
  element_format f;
  try {
    f = parse_format(spec);
  } catch (const spec_error& e) {
    throw failure(e.what());
  }
  if (saturate) f.saturate = true;
  if (ftz) {
    if (f.kind != family::minifloat) throw failure("--ftz applies to minifloat formats only");
    f.ftz = true;
  }
  return f;
}

kernels::backend format_options::backend() const {
  kernels::set_thread_count(threads);
  return *kernels::parse_backend(backend_name);
}

round_mode format_options::mode() const {
  const auto m = parse_rounding(rounding);
  if (!m) throw failure("unknown rounding mode '" + rounding + "'; expected " + std::string(rounding_names_help()));
  return *m;
}

namespace {

std::vector<std::byte> read_stdin() {
  std::vector<std::byte> bytes;
  char buf[1 << 16];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, stdin)) > 0) {
    const auto* p = reinterpret_cast<const std::byte*>(buf);
    bytes.insert(bytes.end(), p, p + n);
  }
  if (std::ferror(stdin)) throw failure("reading standard input failed");
  return bytes;
}

io::npy_array load_npy(const std::string& path) {
  try {
    return io::read_npy(path);
  } catch (const io::npy_error& e) {
    throw failure(e.what());
  }
}

}  // namespace

io::npy_array read_float_input(const std::string& path) {
  if (path == "-") {
    io::npy_array a;
    a.type = io::dtype::f32;
    a.data = read_stdin();
    if (a.data.size() % 4 != 0)
      throw failure("standard input holds " + std::to_string(a.data.size()) +
                    " bytes, not a whole number of float32 values");
    a.shape = {static_cast<std::int64_t>(a.data.size() / 4)};
    return a;
  }
  io::npy_array a = load_npy(path);
  if (a.type != io::dtype::f32 && a.type != io::dtype::f64)
    throw failure(path + ": expected float32 or float64 data, got " + io::dtype_descr(a.type));
  return a;
}

io::npy_array read_code_input(const std::string& path, int code_bytes) {
  if (path == "-") {
    io::npy_array a;
    a.type = code_bytes == 1 ? io::dtype::u8 : (code_bytes == 2 ? io::dtype::u16 : io::dtype::u32);
    a.data = read_stdin();
    if (a.data.size() % static_cast<std::size_t>(code_bytes) != 0)
      throw failure("standard input holds " + std::to_string(a.data.size()) + " bytes, not a whole number of " +
                    std::to_string(code_bytes) + "-byte codes");
    a.shape = {static_cast<std::int64_t>(a.data.size() / static_cast<std::size_t>(code_bytes))};
    return a;
  }
  io::npy_array a = load_npy(path);
  if (a.type != io::dtype::u8 && a.type != io::dtype::u16 && a.type != io::dtype::u32)
    throw failure(path + ": expected codes as uint8, uint16 or uint32, got " + io::dtype_descr(a.type));
  return a;
}

void write_output(const std::string& path, const io::npy_array& a) {
  if (path == "-") {
    if (!a.data.empty() && std::fwrite(a.data.data(), 1, a.data.size(), stdout) != a.data.size())
      throw failure("writing standard output failed");
    if (std::fflush(stdout) != 0) throw failure("writing standard output failed");
    return;
  }
  try {
    io::write_npy_atomic(path, a);
  } catch (const io::npy_error& e) {
    throw failure(e.what());
  }
}

io::dtype code_dtype(int bits) {
  if (bits <= 8) return io::dtype::u8;
  if (bits <= 16) return io::dtype::u16;
  return io::dtype::u32;
}

}  // namespace fmtsim::cli
