// SPDX-License-Identifier: MIT
// Core CLI commands: quantize, encode, decode, describe, formats.
#include "cmd_scaled.hpp"
#include "common.hpp"
#include "registry.hpp"

#include <fmtsim/core/array.hpp>
#include <fmtsim/core/quantize.hpp>
#include <fmtsim/core/spec.hpp>
#include <fmtsim/formats/catalog.hpp>
#include <fmtsim/kernels/elementwise.hpp>

#include <nlohmann/json.hpp>

#include <charconv>
#include <cstdio>
#include <iostream>
#include <memory>

namespace fmtsim::cli {
namespace {

template <class T>
std::span<const T> previous_values(const format_options& opt, const io::npy_array& in, io::npy_array& holder) {
  if (opt.previous.empty()) return {};
  holder = read_float_input(opt.previous);
  if (holder.type != in.type) throw failure(opt.previous + ": previous values must have the input's dtype");
  if (holder.size() != in.size()) throw failure(opt.previous + ": previous values must have the input's shape");
  return holder.as<T>();
}

template <class T>
void run_quantize(const format_options& opt, const io::npy_array& in, io::npy_array& out) {
  const element_format f = opt.format();
  quantize_options q{opt.mode(), opt.seed, 0};
  io::npy_array prev_holder;
  const auto prev = previous_values<T>(opt, in, prev_holder);
  try {
    kernels::quantize<T>(opt.backend(), f, in.as<T>(), out.as<T>(), q, prev);
  } catch (const std::invalid_argument& e) {
    throw failure(e.what());
  }
}

template <class T>
void run_encode(const format_options& opt, const io::npy_array& in, io::npy_array& out) {
  const element_format f = opt.format();
  quantize_options q{opt.mode(), opt.seed, 0};
  io::npy_array prev_holder;
  const auto prev = previous_values<T>(opt, in, prev_holder);
  try {
    switch (out.type) {
      case io::dtype::u8:
        encode_array<T, std::uint8_t>(f, in.as<T>(), out.as<std::uint8_t>(), q, prev);
        break;
      case io::dtype::u16:
        encode_array<T, std::uint16_t>(f, in.as<T>(), out.as<std::uint16_t>(), q, prev);
        break;
      default:
        encode_array<T, std::uint32_t>(f, in.as<T>(), out.as<std::uint32_t>(), q, prev);
        break;
    }
  } catch (const std::invalid_argument& e) {
    throw failure(e.what());
  }
}

template <class T>
void run_decode(const element_format& f, const io::npy_array& in, io::npy_array& out) {
  try {
    switch (in.type) {
      case io::dtype::u8:
        decode_array<T, std::uint8_t>(f, in.as<std::uint8_t>(), out.as<T>());
        break;
      case io::dtype::u16:
        decode_array<T, std::uint16_t>(f, in.as<std::uint16_t>(), out.as<T>());
        break;
      default:
        decode_array<T, std::uint32_t>(f, in.as<std::uint32_t>(), out.as<T>());
        break;
    }
  } catch (const std::invalid_argument& e) {
    throw failure(e.what());
  }
}

// Shortest decimal that reads back as exactly v.
std::string shortest(double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

double dyadic_value(const dyadic& d) { return compose<double>(false, d.significand, d.exponent); }

struct description {
  element_format f;
  nlohmann::ordered_json json;
};

description describe(const std::string& spec_text, const element_format& f) {
  if (!representable_in<double>(f))
    throw failure("format " + format_name(f) + " has values outside float64's exact range");
  nlohmann::ordered_json j;
  j["spec"] = spec_text;
  j["name"] = format_name(f);
  j["family"] = std::string(family_name(f));
  j["bits"] = code_bits(f);
  j["exponent_bits"] = f.kind == family::minifloat ? f.exponent_bits : 0;
  j["mantissa_bits"] = f.kind == family::minifloat ? f.mantissa_bits : precision_bits(f) - 1;
  j["bias"] = f.kind == family::minifloat ? f.bias : 0;
  j["max"] = dyadic_value(max_finite(f));
  j["min_normal"] = dyadic_value(min_normal(f));
  j["min_subnormal"] = dyadic_value(min_subnormal(f));
  j["has_inf"] = has_inf(f);
  j["has_nan"] = has_nan(f);
  j["finite_values"] = finite_values(f);
  j["signed"] = has_sign(f);
  j["negative_zero"] = has_negative_zero(f);
  if (f.kind == family::integer && f.int_signed) j["min"] = -dyadic_value(max_finite_negative(f));
  if (f.kind == family::profile) {
    std::vector<int> prof(f.profile.begin(), f.profile.begin() + f.profile_len);
    j["profile"] = prof;
  }
  for (const auto& n : named_formats()) {
    if (n.name == spec_text) j["alias_of"] = std::string(n.canonical);
  }
  return {f, j};
}

void print_table(const element_format& f, bool json_out, nlohmann::ordered_json& j) {
  const int bits = code_bits(f);
  if (bits > 20)
    throw failure("--table lists every code; " + format_name(f) + " has 2^" + std::to_string(bits) +
                  " codes (at most 2^20)");
  const std::uint32_t n = std::uint32_t{1} << bits;
  const int hex_digits = (bits + 3) / 4;
  if (json_out)
    j["table"] = nlohmann::ordered_json::array();
  else
    std::printf("%-*s  %-*s  %s\n", hex_digits + 2, "code", bits, "bits", "value");
  for (std::uint32_t c = 0; c < n; ++c) {
    std::string value;
    if (!code_in_range(f, c)) {
      value = "unused";
    } else {
      const double v = decode<double>(f, c);
      value = v != v ? "nan" : (v == 1.0 / 0.0 ? "inf" : (v == -1.0 / 0.0 ? "-inf" : shortest(v)));
      if (v == 0 && std::signbit(v)) value = "-0";
    }
    std::string binary(static_cast<std::size_t>(bits), '0');
    for (int b = 0; b < bits; ++b)
      if ((c >> (bits - 1 - b)) & 1u) binary[static_cast<std::size_t>(b)] = '1';
    if (json_out) {
      j["table"].push_back({{"code", c}, {"bits", binary}, {"value", value}});
    } else {
      std::printf("0x%0*X  %s  %s\n", hex_digits, c, binary.c_str(), value.c_str());
    }
  }
}

// Scale options, a tensor preset (mxfp8_e4m3, bm8, ...) or a profile (bp/log: per-tensor scale, room 0 by
// default) take the tensor-quantizer path; plain element formats are quantized as they are.
bool is_scaled(const format_options& opt, const scaled_options& so) {
  if (so.any_set()) return true;
  try {
    return parse_format(opt.spec).kind == family::profile;
  } catch (const spec_error& e) {
    try {
      return parse_tensor_format(opt.spec).rule != scale_rule::none;
    } catch (const std::invalid_argument&) {
      throw failure(e.what());  // the element parser's message names the position
    }
  }
}

const registrar quantize_cmd{
    "quantize", [](CLI::App& app) {
      auto* cmd = app.add_subcommand("quantize",
                                     "fake-quantize a tensor: every element becomes its value in the format (element "
                                     "formats, tensor formats with scale groups: MX, bm, bp/log with room, ..., or "
                                     "the families asym<B>, scq<B>:dx|dw, sign, sbin, agp<B>, smaq, s2fp8)");
      auto opt = std::make_shared<format_options>();
      auto so = std::make_shared<scaled_options>();
      auto in = std::make_shared<std::string>(), out = std::make_shared<std::string>();
      opt->add_to(*cmd, true);
      so->add_to(*cmd);
      cmd->add_option("input", *in, ".npy (float32/float64, any shape, C order) or '-' for raw float32 on stdin")
          ->required();
      cmd->add_option("output", *out, ".npy of the input's dtype and shape, or '-' for raw data on stdout")->required();
      cmd->callback([opt, so, in, out] {
        std::optional<real_family_spec> fam;
        try {
          fam = parse_real_family(opt->spec);
        } catch (const std::invalid_argument& e) {
          throw failure(e.what());
        }
        if (fam) {
          run_family_quantize(*opt, *so, *fam, *in, *out);
          return;
        }
        if (is_scaled(*opt, *so)) {
          run_scaled_quantize(*opt, *so, *in, *out);
          return;
        }
        const io::npy_array a = read_float_input(*in);
        io::npy_array r = a;
        if (a.type == io::dtype::f32)
          run_quantize<float>(*opt, a, r);
        else
          run_quantize<double>(*opt, a, r);
        write_output(*out, r);
      });
    }};

const registrar encode_cmd{
    "encode", [](CLI::App& app) {
      auto* cmd = app.add_subcommand("encode", "quantize and store the codes (uint8/uint16/uint32 by code width)");
      auto opt = std::make_shared<format_options>();
      auto in = std::make_shared<std::string>(), out = std::make_shared<std::string>();
      opt->add_to(*cmd, true);
      cmd->add_option("input", *in, ".npy (float32/float64) or '-' for raw float32 on stdin")->required();
      cmd->add_option("output", *out, ".npy of codes, or '-' for raw little-endian codes on stdout")->required();
      cmd->callback([opt, in, out] {
        const element_format f = opt->format();
        const io::npy_array a = read_float_input(*in);
        io::npy_array r;
        r.type = code_dtype(code_bits(f));
        r.shape = a.shape;
        r.data.resize(a.size() * io::dtype_size(r.type));
        if (a.type == io::dtype::f32)
          run_encode<float>(*opt, a, r);
        else
          run_encode<double>(*opt, a, r);
        write_output(*out, r);
      });
    }};

const registrar decode_cmd{
    "decode", [](CLI::App& app) {
      auto* cmd = app.add_subcommand("decode", "turn codes back into values");
      auto opt = std::make_shared<format_options>();
      auto in = std::make_shared<std::string>(), out = std::make_shared<std::string>();
      auto dtype = std::make_shared<std::string>("float32");
      opt->add_to(*cmd, false);
      cmd->add_option("input", *in, ".npy of codes (uint8/uint16/uint32) or '-' for raw codes on stdin")->required();
      cmd->add_option("output", *out, ".npy of values, or '-' for raw values on stdout")->required();
      cmd->add_option("--dtype", *dtype, "output dtype")
          ->check(CLI::IsMember({"float32", "float64"}))
          ->capture_default_str();
      cmd->callback([opt, in, out, dtype] {
        const element_format f = opt->format();
        const int bytes = static_cast<int>(io::dtype_size(code_dtype(code_bits(f))));
        const io::npy_array a = read_code_input(*in, bytes);
        io::npy_array r;
        r.type = *dtype == "float64" ? io::dtype::f64 : io::dtype::f32;
        r.shape = a.shape;
        r.data.resize(a.size() * io::dtype_size(r.type));
        if (r.type == io::dtype::f32)
          run_decode<float>(f, a, r);
        else
          run_decode<double>(f, a, r);
        write_output(*out, r);
      });
    }};

const registrar describe_cmd{
    "describe", [](CLI::App& app) {
      auto* cmd =
          app.add_subcommand("describe", "print the parameters and limits of a format (and every code with --table)");
      auto spec = std::make_shared<std::string>();
      auto table = std::make_shared<bool>(false), json_out = std::make_shared<bool>(false);
      auto sat = std::make_shared<bool>(false), ftz = std::make_shared<bool>(false);
      cmd->add_option("spec", *spec, "format spec")->required();
      cmd->add_flag("--table", *table, "list every code with its value");
      cmd->add_flag("--json", *json_out, "JSON output");
      cmd->add_flag("--sat", *sat, "as the :sat modifier");
      cmd->add_flag("--ftz", *ftz, "as the :ftz modifier");
      cmd->callback([spec, table, json_out, sat, ftz] {
        format_options o;
        o.spec = *spec;
        o.saturate = *sat;
        o.ftz = *ftz;
        try {
          (void)parse_format(*spec);
        } catch (const spec_error& e) {
          // a tensor format (MX, bm): its groups and scale rule, or with --table its element at scale 1
          tensor_format tf;
          try {
            tf = parse_tensor_format(*spec);
          } catch (const std::invalid_argument&) {
            throw failure(e.what());
          }
          if (!*table) {
            std::cout << describe_scaled_json(*spec) << '\n';
            return;
          }
          tf.element.scale_exp = 0;
          o.spec = format_name(tf.element);
        }
        auto d = describe(*spec, o.format());
        if (*table) print_table(d.f, *json_out, d.json);
        if (*json_out) {
          std::cout << d.json.dump(2) << '\n';
          return;
        }
        if (*table) return;
        for (auto it = d.json.begin(); it != d.json.end(); ++it) {
          std::string v;
          if (it.value().is_number_float())
            v = shortest(it.value().get<double>());
          else if (it.value().is_string())
            v = it.value().get<std::string>();
          else
            v = it.value().dump();
          std::printf("%-14s %s\n", it.key().c_str(), v.c_str());
        }
      });
    }};

void list_catalog(const std::string& name, int bits, bool json_out) {
  std::span<const catalog_entry> entries;
  try {
    entries = catalog(name);
  } catch (const std::invalid_argument& e) {
    throw failure(e.what());
  }
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const auto& e : entries) {
    if (bits != 0 && e.bits != bits) continue;
    const element_format f = parse_format(e.id);
    nlohmann::ordered_json j;
    j["id"] = std::string(e.id);
    j["name"] = std::string(e.name);
    j["bits"] = e.bits;
    j["binades"] = e.binades;
    j["codes"] = finite_values(f);
    j["max"] = dyadic_value(max_finite(f));
    j["min_positive"] = dyadic_value(min_normal(f));
    list.push_back(j);
  }
  if (json_out) {
    std::cout << list.dump(2) << '\n';
    return;
  }
  std::printf("%-34s %-8s %4s %7s %6s\n", "id", "name", "bits", "binades", "codes");
  for (const auto& j : list)
    std::printf("%-34s %-8s %4d %7d %6llu\n", j["id"].get<std::string>().c_str(), j["name"].get<std::string>().c_str(),
                j["bits"].get<int>(), j["binades"].get<int>(),
                static_cast<unsigned long long>(j["codes"].get<std::uint64_t>()));
  std::printf("%zu formats\n", list.size());
}

const registrar formats_cmd{
    "formats", [](CLI::App& app) {
      auto* cmd = app.add_subcommand("formats", "list every named format and alias, or the entries of a catalog");
      auto json_out = std::make_shared<bool>(false);
      auto cat = std::make_shared<std::string>();
      auto bits = std::make_shared<int>(0);
      cmd->add_flag("--json", *json_out, "JSON output");
      cmd->add_option("--catalog", *cat,
                      "list a format catalog: lee22 (the 498 candidates of Lee et al. 2022) or lee22-extra");
      cmd->add_option("--bits", *bits, "with --catalog: only entries of this width (6, 7 or 8)");
      cmd->callback([json_out, cat, bits] {
        if (!cat->empty()) {
          list_catalog(*cat, *bits, *json_out);
          return;
        }
        if (*bits != 0) throw failure("--bits needs --catalog");
        nlohmann::ordered_json list = nlohmann::ordered_json::array();
        for (const auto& n : named_formats()) {
          auto d = describe(std::string(n.name), parse_format(n.canonical));
          d.json["note"] = std::string(n.note);
          list.push_back(d.json);
        }
        if (*json_out) {
          std::cout << list.dump(2) << '\n';
          return;
        }
        std::printf("%-19s %-19s %4s %23s %23s %23s %3s %3s  %s\n", "name", "spec", "bits", "max", "min_normal",
                    "min_subnormal", "inf", "nan", "note");
        for (const auto& j : list) {
          std::printf("%-19s %-19s %4d %23s %23s %23s %3s %3s  %s\n", j["spec"].get<std::string>().c_str(),
                      j["name"].get<std::string>().c_str(), j["bits"].get<int>(),
                      shortest(j["max"].get<double>()).c_str(), shortest(j["min_normal"].get<double>()).c_str(),
                      shortest(j["min_subnormal"].get<double>()).c_str(), j["has_inf"].get<bool>() ? "yes" : "no",
                      j["has_nan"].get<bool>() ? "yes" : "no", j["note"].get<std::string>().c_str());
        }
      });
    }};

}  // namespace
}  // namespace fmtsim::cli
