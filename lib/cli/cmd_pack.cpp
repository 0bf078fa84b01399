// SPDX-License-Identifier: MIT
// CLI: pack / unpack (packed tensor container, docs/packed.md).
#include "cmd_scaled.hpp"

#include "registry.hpp"

#include <fmtsim/formats/packed.hpp>
#include <fmtsim/io/file.hpp>
#include <fmtsim/io/npy.hpp>

#include <cstring>
#include <memory>

namespace fmtsim::cli {
namespace {

const registrar pack_cmd{
    "pack", [](CLI::App& app) {
      auto* cmd = app.add_subcommand("pack", "quantize and store bit-packed codes + scales in a packed tensor file");
      auto fo = std::make_shared<format_options>();
      auto so = std::make_shared<scaled_options>();
      auto in = std::make_shared<std::string>(), out = std::make_shared<std::string>();
      auto main_bits = std::make_shared<int>(6), outlier_bits = std::make_shared<int>(8);
      fo->add_to(*cmd, true);
      so->add_to(*cmd);
      cmd->add_option("--main-bits", *main_bits, "SmaQ (-f smaq): bits of a main code incl. the flag")
          ->capture_default_str();
      cmd->add_option("--outlier-bits", *outlier_bits, "SmaQ (-f smaq): bits of an outlier code incl. the flag")
          ->capture_default_str();
      cmd->add_option("input", *in, ".npy (float32/float64) or '-' for raw float32 on stdin")->required();
      cmd->add_option("output", *out, "packed tensor file")->required();
      cmd->callback([fo, so, in, out, main_bits, outlier_bits] {
        const io::npy_array a = read_float_input(*in);
        packed_tensor p;
        try {
          if (fo->spec == "smaq") {
            smaq_config cfg;
            cfg.main_bits = *main_bits;
            cfg.outlier_bits = *outlier_bits;
            cfg.mode = fo->mode();
            cfg.seed = fo->seed;
            p = a.type == io::dtype::f32 ? pack_smaq<float>(a.as<float>(), a.shape, cfg)
                                         : pack_smaq<double>(a.as<double>(), a.shape, cfg);
          } else {
            const tensor_format f = so->build(*fo);
            const quantize_options opt{fo->mode(), fo->seed, 0};
            if (opt.mode.kind == rounding::hys) throw failure("pack does not take -r hys (no previous tensor)");
            p = a.type == io::dtype::f32 ? pack_tensor<float>(f, a.as<float>(), a.shape, opt)
                                         : pack_tensor<double>(f, a.as<double>(), a.shape, opt);
          }
          io::write_file_atomic(*out, serialize_packed(p));
        } catch (const std::invalid_argument& e) {
          throw failure(e.what());
        } catch (const io::npy_error& e) {
          throw failure(e.what());
        }
      });
    }};

const registrar unpack_cmd{
    "unpack", [](CLI::App& app) {
      auto* cmd = app.add_subcommand("unpack", "decode a packed tensor file to values (or its codes with --codes)");
      auto in = std::make_shared<std::string>(), out = std::make_shared<std::string>();
      auto dtype = std::make_shared<std::string>();
      auto codes = std::make_shared<bool>(false);
      cmd->add_option("input", *in, "packed tensor file")->required();
      cmd->add_option("output", *out, ".npy of values (or codes), or '-' for raw data on stdout")->required();
      cmd->add_option("--dtype", *dtype, "output dtype (default: the packed tensor's)")
          ->check(CLI::IsMember({"float32", "float64"}));
      cmd->add_flag("--codes", *codes, "write the element codes (uint32) instead of values");
      cmd->callback([in, out, dtype, codes] {
        packed_tensor p;
        try {
          const auto bytes = io::read_file(*in);
          p = parse_packed(bytes, *in);
        } catch (const io::npy_error& e) {
          throw failure(e.what());
        } catch (const packed_error& e) {
          throw failure(e.what());
        }
        io::npy_array r;
        r.shape = p.shape;
        if (*codes) {
          r.type = io::dtype::u32;
          r.data.resize(p.codes.size() * 4);
          std::memcpy(r.data.data(), p.codes.data(), r.data.size());
        } else {
          const bool f64 = dtype->empty() ? p.float64 : *dtype == "float64";
          r.type = f64 ? io::dtype::f64 : io::dtype::f32;
          try {
            if (f64) {
              const auto v = unpack_values<double>(p);
              r.data.resize(v.size() * 8);
              std::memcpy(r.data.data(), v.data(), r.data.size());
            } else {
              const auto v = unpack_values<float>(p);
              r.data.resize(v.size() * 4);
              std::memcpy(r.data.data(), v.data(), r.data.size());
            }
          } catch (const std::invalid_argument& e) {
            throw failure(e.what());
          }
        }
        write_output(*out, r);
      });
    }};

}  // namespace
}  // namespace fmtsim::cli
