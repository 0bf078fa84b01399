// SPDX-License-Identifier: MIT
// Packed tensor container (version 1): magic, JSON header, scales, bit-packed codes, CRC-32.
#include <fmtsim/core/fp_env.hpp>
#include <fmtsim/core/quantize.hpp>
#include <fmtsim/core/spec.hpp>
#include <fmtsim/formats/packed.hpp>

#include <nlohmann/json.hpp>

#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

namespace fmtsim {

namespace {

constexpr char magic[8] = {'F', 'M', 'T', 'S', 'P', 'A', 'C', 'K'};
constexpr std::uint32_t version = 1;
constexpr std::int16_t nan_scale = std::numeric_limits<std::int16_t>::max();

std::uint32_t crc32(std::span<const std::byte> data) {
  static const std::array<std::uint32_t, 256> table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::byte b : data) c = table[(c ^ static_cast<std::uint32_t>(b)) & 0xFFu] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

void put_u32(std::vector<std::byte>& out, std::uint32_t v) {
  for (int k = 0; k < 4; ++k) out.push_back(static_cast<std::byte>((v >> (8 * k)) & 0xFFu));
}

std::uint32_t get_u32(std::span<const std::byte> b, std::size_t at) {
  std::uint32_t v = 0;
  for (int k = 0; k < 4; ++k) v |= static_cast<std::uint32_t>(b[at + static_cast<std::size_t>(k)]) << (8 * k);
  return v;
}

std::size_t element_count(std::span<const std::int64_t> shape, const std::string& what) {
  std::size_t n = 1;
  for (auto d : shape) {
    if (d < 0) throw packed_error(what + ": negative extent in the shape");
    if (d > 0 && n > (std::size_t{1} << 40) / static_cast<std::size_t>(d))
      throw packed_error(what + ": shape too large");
    n *= static_cast<std::size_t>(d);
  }
  return n;
}

bool uses_scales(const tensor_format& f) { return f.rule != scale_rule::none; }

}  // namespace

std::vector<std::byte> bit_pack(std::span<const std::uint32_t> codes, int bits) {
  if (bits < 1 || bits > 32) throw std::invalid_argument("bit_pack: bits must be 1..32");
  std::vector<std::byte> out((codes.size() * static_cast<std::size_t>(bits) + 7) / 8, std::byte{0});
  std::size_t pos = 0;
  for (std::uint32_t c : codes) {
    if (bits < 32 && (c >> bits) != 0)
      throw std::invalid_argument("bit_pack: code wider than " + std::to_string(bits) + " bits");
    for (int k = 0; k < bits; ++k, ++pos)
      if ((c >> k) & 1u) out[pos / 8] |= static_cast<std::byte>(1u << (pos % 8));
  }
  return out;
}

std::vector<std::uint32_t> bit_unpack(std::span<const std::byte> bytes, int bits, std::size_t count) {
  if (bits < 1 || bits > 32) throw std::invalid_argument("bit_unpack: bits must be 1..32");
  if (bytes.size() * 8 < count * static_cast<std::size_t>(bits))
    throw std::invalid_argument("bit_unpack: not enough bytes");
  std::vector<std::uint32_t> out(count, 0);
  std::size_t pos = 0;
  for (auto& c : out)
    for (int k = 0; k < bits; ++k, ++pos)
      if ((static_cast<unsigned>(bytes[pos / 8]) >> (pos % 8)) & 1u) c |= std::uint32_t{1} << k;
  return out;
}

template <class T>
packed_tensor pack_tensor(const tensor_format& f, std::span<const T> in, std::span<const std::int64_t> shape,
                          const quantize_options& opt) {
  const fp_env_scope env;
  if (code_bits(f.element) > 32) throw std::invalid_argument("pack: codes wider than 32 bits");
  packed_tensor p;
  p.kind = packed_kind::scaled;
  p.format = f;
  p.format.tracking = false;  // decoding needs the scales only
  p.shape.assign(shape.begin(), shape.end());
  p.float64 = sizeof(T) == 8;
  tensor_quantizer q(f, opt);
  q.encode<T>(in, shape, p.codes);
  if (uses_scales(f)) p.scales = q.last_scales();
  return p;
}

template <class T>
packed_tensor pack_smaq(std::span<const T> in, std::span<const std::int64_t> shape, const smaq_config& cfg) {
  const fp_env_scope env;
  packed_tensor p;
  p.kind = packed_kind::smaq;
  p.smaq = cfg;
  p.shape.assign(shape.begin(), shape.end());
  p.float64 = sizeof(T) == 8;
  if (element_count(shape, "pack") != in.size()) throw std::invalid_argument("pack: the data does not match the shape");
  const smaq_encoded e = smaq_encode<T>(in, cfg);
  p.mu = e.mu;
  p.sigma = e.sigma;
  p.outlier = e.outlier;
  p.codes.resize(e.code.size());
  for (std::size_t i = 0; i < e.code.size(); ++i) p.codes[i] = static_cast<std::uint32_t>(e.code[i]);
  return p;
}

std::vector<std::byte> serialize_packed(const packed_tensor& p) {
  nlohmann::ordered_json h;
  const std::size_t n = element_count(p.shape, "pack");
  h["shape"] = p.shape;
  h["dtype"] = p.float64 ? "float64" : "float32";
  std::vector<std::byte> payload;
  if (p.kind == packed_kind::scaled) {
    const tensor_format& f = p.format;
    element_format e = f.element;
    if (f.rule != scale_rule::none) e.scale_exp = 0;
    h["kind"] = "scaled";
    h["element"] = format_name(e);
    h["element_scale_exp"] = e.scale_exp;
    h["code_bits"] = code_bits(e);
    h["groups"] = groups_name(f.groups);
    h["rule"] = std::string(scale_rule_name(f.rule));
    h["room"] = f.room;
    h["stored_offset"] = f.stored_offset;
    h["stored_min"] = f.stored_min;
    h["stored_max"] = f.stored_max;
    h["scale_bits"] = f.scale_bits;
    h["preset"] = f.preset;
    h["num_scales"] = p.scales.size();
    if (p.codes.size() != n) throw std::invalid_argument("pack: code count does not match the shape");
    for (const group_scale& s : p.scales) {
      if (f.rule == scale_rule::fp32) {
        put_u32(payload, std::bit_cast<std::uint32_t>(s.nan ? std::numeric_limits<float>::quiet_NaN() : s.real_scale));
      } else {
        const int stored = s.scale_exp + f.stored_offset;
        if (!s.nan && (stored <= -32768 || stored >= nan_scale))
          throw std::invalid_argument("pack: scale exponent out of the 16-bit range");
        const auto v = static_cast<std::uint16_t>(s.nan ? nan_scale : static_cast<std::int16_t>(stored));
        payload.push_back(static_cast<std::byte>(v & 0xFFu));
        payload.push_back(static_cast<std::byte>(v >> 8));
      }
    }
    const auto packed = bit_pack(p.codes, code_bits(e));
    payload.insert(payload.end(), packed.begin(), packed.end());
  } else {
    h["kind"] = "smaq";
    h["main_bits"] = p.smaq.main_bits;
    h["outlier_bits"] = p.smaq.outlier_bits;
    h["mu_bits"] = std::bit_cast<std::uint32_t>(p.mu);
    h["sigma_bits"] = std::bit_cast<std::uint32_t>(p.sigma);
    // variable-length stream: flag bit, then main_bits - 1 bits (two's complement code) or
    // outlier_bits - 1 bits (side bit: 1 = below, then |code|)
    std::vector<std::byte> bitsv;
    std::size_t pos = 0;
    auto put = [&](std::uint32_t v, int nb) {
      for (int k = 0; k < nb; ++k, ++pos) {
        if (pos / 8 >= bitsv.size()) bitsv.push_back(std::byte{0});
        if ((v >> k) & 1u) bitsv[pos / 8] |= static_cast<std::byte>(1u << (pos % 8));
      }
    };
    if (p.outlier.size() != n || p.codes.size() != n)
      throw std::invalid_argument("pack: SmaQ sizes do not match the shape");
    const int mb = p.smaq.main_bits - 1, ob = p.smaq.outlier_bits - 1;
    for (std::size_t i = 0; i < n; ++i) {
      const auto c = static_cast<std::int32_t>(p.codes[i]);
      if (!p.outlier[i]) {
        put(0, 1);
        put(static_cast<std::uint32_t>(c) & ((1u << mb) - 1), mb);
      } else {
        put(1, 1);
        put(p.outlier[i] == 2 ? 1u : 0u, 1);
        put(static_cast<std::uint32_t>(c < 0 ? -c : c), ob - 1);
      }
    }
    h["stream_bits"] = pos;
    payload.insert(payload.end(), bitsv.begin(), bitsv.end());
  }
  const std::string hs = h.dump();
  std::vector<std::byte> out;
  for (char c : magic) out.push_back(static_cast<std::byte>(c));
  put_u32(out, version);
  put_u32(out, static_cast<std::uint32_t>(hs.size()));
  for (char c : hs) out.push_back(static_cast<std::byte>(c));
  put_u32(out, static_cast<std::uint32_t>(payload.size()));
  out.insert(out.end(), payload.begin(), payload.end());
  put_u32(out, crc32(out));
  return out;
}

packed_tensor parse_packed(std::span<const std::byte> b, const std::string& what) {
  auto bad = [&](const std::string& m) -> packed_error { return packed_error(what + ": " + m); };
  if (b.size() < 8 || std::memcmp(b.data(), magic, 8) != 0) throw bad("not an fmtsim packed tensor (bad magic)");
  if (b.size() < 16) throw bad("truncated header");
  const std::uint32_t ver = get_u32(b, 8);
  if (ver != version) throw bad("unsupported container version " + std::to_string(ver) + " (this build reads 1)");
  const std::size_t hlen = get_u32(b, 12);
  if (b.size() < 16 + hlen + 8) throw bad("truncated header (declares " + std::to_string(hlen) + " header bytes)");
  const std::size_t plen = get_u32(b, 16 + hlen);
  const std::size_t total = 16 + hlen + 4 + plen + 4;
  if (b.size() < total)
    throw bad("truncated: " + std::to_string(b.size()) + " bytes, the header declares " + std::to_string(total));
  if (b.size() > total) throw bad("trailing data after the checksum (" + std::to_string(b.size() - total) + " bytes)");
  if (crc32(b.subspan(0, total - 4)) != get_u32(b, total - 4)) throw bad("checksum mismatch (corrupted file)");
  nlohmann::json h;
  try {
    h = nlohmann::json::parse(std::string(reinterpret_cast<const char*>(b.data() + 16), hlen));
  } catch (const std::exception& e) {
    throw bad(std::string("header is not JSON: ") + e.what());
  }
  const auto payload = b.subspan(16 + hlen + 4, plen);
  packed_tensor p;
  try {
    p.shape = h.at("shape").get<std::vector<std::int64_t>>();
    const std::string dt = h.at("dtype").get<std::string>();
    if (dt != "float32" && dt != "float64") throw bad("unknown dtype '" + dt + "'");
    p.float64 = dt == "float64";
    const std::size_t n = element_count(p.shape, what);
    const std::string kind = h.at("kind").get<std::string>();
    if (kind == "scaled") {
      p.kind = packed_kind::scaled;
      tensor_format& f = p.format;
      try {
        f.element = parse_format(h.at("element").get<std::string>());
        f.groups = parse_groups(h.at("groups").get<std::string>());
      } catch (const std::invalid_argument& e) {
        throw bad(std::string("bad format in header: ") + e.what());
      }
      f.element.scale_exp = h.at("element_scale_exp").get<int>();
      const auto rule = parse_scale_rule(h.at("rule").get<std::string>());
      if (!rule) throw bad("unknown scale rule in header");
      f.rule = *rule;
      f.room = h.at("room").get<int>();
      f.stored_offset = h.at("stored_offset").get<int>();
      f.stored_min = h.at("stored_min").get<int>();
      f.stored_max = h.at("stored_max").get<int>();
      f.scale_bits = h.at("scale_bits").get<int>();
      f.preset = h.at("preset").get<std::string>();
      const int cb = h.at("code_bits").get<int>();
      if (cb != code_bits(f.element))
        throw bad("header says " + std::to_string(cb) + "-bit codes but " + format_name(f.element) + " has " +
                  std::to_string(code_bits(f.element)) + "-bit codes");
      const std::size_t ns = h.at("num_scales").get<std::size_t>();
      std::size_t want_scales = 0;
      if (uses_scales(f) && n > 0) {
        try {
          want_scales = make_geometry(f.groups, p.shape).count();
        } catch (const std::invalid_argument& e) {
          throw bad(std::string("groups do not fit the shape: ") + e.what());
        }
      }
      if (ns != want_scales)
        throw bad("header declares " + std::to_string(ns) + " scales, the groups need " + std::to_string(want_scales));
      const std::size_t sbytes = ns * (f.rule == scale_rule::fp32 ? 4 : 2);
      const std::size_t cbytes = (n * static_cast<std::size_t>(cb) + 7) / 8;
      if (plen != sbytes + cbytes)
        throw bad("payload holds " + std::to_string(plen) + " bytes, scales and codes need " +
                  std::to_string(sbytes + cbytes));
      p.scales.resize(ns);
      for (std::size_t g = 0; g < ns; ++g) {
        if (f.rule == scale_rule::fp32) {
          const float s = std::bit_cast<float>(get_u32(payload, 4 * g));
          if (std::isnan(s))
            p.scales[g].nan = true;
          else if (!(s > 0) || std::isinf(s))
            throw bad("scale " + std::to_string(g) + " is not a positive finite float");
          p.scales[g].real_scale = s;
        } else {
          const auto raw = static_cast<std::int16_t>(static_cast<std::uint16_t>(
              static_cast<unsigned>(payload[2 * g]) | (static_cast<unsigned>(payload[2 * g + 1]) << 8)));
          if (raw == nan_scale) {
            p.scales[g].nan = true;
            continue;
          }
          if (raw < f.stored_min || raw > f.stored_max)
            throw bad("scale " + std::to_string(g) + " has stored exponent " + std::to_string(raw) + " outside [" +
                      std::to_string(f.stored_min) + ", " + std::to_string(f.stored_max) + "]");
          p.scales[g].scale_exp = raw - f.stored_offset;
        }
      }
      p.codes = bit_unpack(payload.subspan(sbytes), cb, n);
      for (std::size_t i = 0; i < n; ++i)
        if (!code_in_range(f.element, p.codes[i]))
          throw bad("element " + std::to_string(i) + ": code " + std::to_string(p.codes[i]) + " is not a code of " +
                    format_name(f.element));
    } else if (kind == "smaq") {
      p.kind = packed_kind::smaq;
      p.smaq.main_bits = h.at("main_bits").get<int>();
      p.smaq.outlier_bits = h.at("outlier_bits").get<int>();
      if (p.smaq.main_bits < 3 || p.smaq.main_bits > 16 || p.smaq.outlier_bits < 3 || p.smaq.outlier_bits > 16)
        throw bad("SmaQ bit widths out of range");
      p.mu = std::bit_cast<float>(h.at("mu_bits").get<std::uint32_t>());
      p.sigma = std::bit_cast<float>(h.at("sigma_bits").get<std::uint32_t>());
      const std::size_t sbits = h.at("stream_bits").get<std::size_t>();
      if (plen != (sbits + 7) / 8) throw bad("payload size does not match the declared SmaQ stream");
      std::size_t pos = 0;
      auto get = [&](int nb) {
        if (pos + static_cast<std::size_t>(nb) > sbits) throw bad("SmaQ stream ends early");
        std::uint32_t v = 0;
        for (int k = 0; k < nb; ++k, ++pos)
          if ((static_cast<unsigned>(payload[pos / 8]) >> (pos % 8)) & 1u) v |= 1u << k;
        return v;
      };
      const int mb = p.smaq.main_bits - 1, ob = p.smaq.outlier_bits - 1;
      const std::int32_t K = (1 << (p.smaq.main_bits - 2)) - 1, Ko = (1 << (p.smaq.outlier_bits - 2)) - 1;
      p.codes.resize(n);
      p.outlier.resize(n);
      for (std::size_t i = 0; i < n; ++i) {
        if (get(1) == 0) {
          std::int32_t c = static_cast<std::int32_t>(get(mb));
          if (c >= (1 << (mb - 1))) c -= 1 << mb;
          if (c > K || c < -K) throw bad("element " + std::to_string(i) + ": main code out of range");
          p.codes[i] = static_cast<std::uint32_t>(c);
        } else {
          const bool below = get(1) != 0;
          const auto m = static_cast<std::int32_t>(get(ob - 1));
          if (m > Ko) throw bad("element " + std::to_string(i) + ": outlier code out of range");
          p.outlier[i] = below ? 2 : 1;
          p.codes[i] = static_cast<std::uint32_t>(below ? -m : m);
        }
      }
      if (pos != sbits) throw bad("SmaQ stream holds more bits than the elements use");
    } else {
      throw bad("unknown kind '" + kind + "'");
    }
  } catch (const nlohmann::json::exception& e) {
    throw bad(std::string("malformed header: ") + e.what());
  }
  return p;
}

template <class T>
std::vector<T> unpack_values(const packed_tensor& p) {
  const fp_env_scope env;
  const std::size_t n = element_count(p.shape, "unpack");
  std::vector<T> out(n);
  if (p.kind == packed_kind::smaq) {
    smaq_encoded e;
    e.mu = p.mu;
    e.sigma = p.sigma;
    e.outlier = p.outlier;
    e.code.resize(n);
    for (std::size_t i = 0; i < n; ++i) e.code[i] = static_cast<std::int32_t>(p.codes[i]);
    smaq_decode<T>(e, p.smaq, out);
    return out;
  }
  const tensor_format& f = p.format;
  if (n == 0) return out;
  const group_geometry geo = make_geometry(f.groups, p.shape);
  std::vector<std::int64_t> idx(geo.shape.size(), 0);
  for (std::size_t i = 0; i < n; ++i) {
    element_format e = f.element;
    double S = 1.0;
    bool nan = false;
    if (uses_scales(f)) {
      const group_scale& gs = p.scales[geo.group_of(idx)];
      nan = gs.nan;
      if (f.rule == scale_rule::fp32) {
        e.scale_exp = 0;
        S = gs.real_scale;
      } else {
        e.scale_exp = gs.scale_exp;
      }
    }
    if (nan) {
      out[i] = quiet_nan<T>(false);
    } else if (f.rule == scale_rule::fp32) {
      out[i] = static_cast<T>(decode<double>(e, p.codes[i]) * S);  // exact product, one rounding
    } else if (representable_in<T>(e)) {
      out[i] = decode<T>(e, p.codes[i]);
    } else {
      out[i] = static_cast<T>(decode<double>(e, p.codes[i]));  // the values that occur are exact in T
    }
    for (std::size_t k = idx.size(); k-- > 0;) {
      if (++idx[k] < geo.shape[k]) break;
      idx[k] = 0;
    }
  }
  return out;
}

template packed_tensor pack_tensor<float>(const tensor_format&, std::span<const float>, std::span<const std::int64_t>,
                                          const quantize_options&);
template packed_tensor pack_tensor<double>(const tensor_format&, std::span<const double>, std::span<const std::int64_t>,
                                           const quantize_options&);
template packed_tensor pack_smaq<float>(std::span<const float>, std::span<const std::int64_t>, const smaq_config&);
template packed_tensor pack_smaq<double>(std::span<const double>, std::span<const std::int64_t>, const smaq_config&);
template std::vector<float> unpack_values<float>(const packed_tensor&);
template std::vector<double> unpack_values<double>(const packed_tensor&);

}  // namespace fmtsim
