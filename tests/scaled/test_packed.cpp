// SPDX-License-Identifier: MIT
// Packed tensors: bit packing, pack/unpack round trips for every family, corrupted-file rejection.
#include <fmtsim/core/quantize.hpp>
#include <fmtsim/formats/packed.hpp>

#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace fmtsim;

namespace {

std::vector<float> randv(std::mt19937_64& rng, std::size_t n) {
  std::normal_distribution<double> d(0, 1);
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(d(rng) * std::ldexp(1.0, static_cast<int>(rng() % 9) - 4));
  return v;
}

bool same(float a, float b) {
  return (std::isnan(a) && std::isnan(b)) || std::bit_cast<std::uint32_t>(a) == std::bit_cast<std::uint32_t>(b);
}

void fix_crc(std::vector<std::byte>& b) {
  // recompute the trailing CRC-32 (IEEE, reflected) after a deliberate header edit
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::size_t i = 0; i + 4 < b.size(); ++i) {
    c ^= static_cast<std::uint32_t>(b[i]);
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
  }
  c ^= 0xFFFFFFFFu;
  for (int k = 0; k < 4; ++k)
    b[b.size() - 4 + static_cast<std::size_t>(k)] = static_cast<std::byte>((c >> (8 * k)) & 0xFFu);
}

std::string error_of(const std::vector<std::byte>& b) {
  try {
    parse_packed(b, "t.fmtp");
  } catch (const packed_error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("bit packing: LSB first, round trip, 4 and 6 bits per element") {
  const std::vector<std::uint32_t> c{0x5, 0xA, 0xF, 0x0, 0x3};
  const auto b = bit_pack(c, 4);
  REQUIRE(b.size() == 3);
  CHECK(b[0] == std::byte{0xA5});  // element 0 in the low nibble
  CHECK(b[1] == std::byte{0x0F});
  CHECK(b[2] == std::byte{0x03});
  CHECK(bit_unpack(b, 4, 5) == c);
  const std::vector<std::uint32_t> s{63, 1, 32, 5};
  const auto b6 = bit_pack(s, 6);
  CHECK(b6.size() == 3);  // 24 bits
  CHECK(bit_unpack(b6, 6, 4) == s);
  CHECK_THROWS(bit_pack(std::vector<std::uint32_t>{16}, 4));
}

TEST_CASE("pack/unpack is the identity on codes and reproduces quantize bit for bit") {
  std::mt19937_64 rng(21);
  for (const char* spec : {"mxfp4_e2m1", "mxfp6_e2m3", "mxfp6_e3m2", "mxfp8_e4m3", "mxint8", "bm6", "bm4:bwd", "fp134",
                           "log4", "e4m3fn", "int4"}) {
    tensor_format f = parse_tensor_format(spec);
    if (std::string(spec) == "int4") {
      f.rule = scale_rule::fp32;
      f.scale_bits = 32;
      f.groups = parse_groups("channel:0");
    }
    const std::vector<std::int64_t> shape{5, 70};
    auto x = randv(rng, 350);
    x[100] = 0.0f;
    std::vector<float> q(350);
    tensor_quantizer(f).quantize<float>(x, q, shape);
    const packed_tensor p = pack_tensor<float>(f, x, shape);
    const auto bytes = serialize_packed(p);
    const packed_tensor r = parse_packed(bytes, spec);
    CHECK(r.codes == p.codes);
    const auto v = unpack_values<float>(r);
    for (std::size_t i = 0; i < 350; ++i)
      if (!same(v[i], q[i])) FAIL_CHECK(spec << " element " << i << ": " << v[i] << " vs " << q[i]);
    // code storage: exactly code_bits per element
    const int cb = code_bits(f.element);
    CHECK(bytes.size() < 400 + (350 * static_cast<std::size_t>(cb) + 7) / 8 + 4 * p.scales.size());
    // re-packing the decoded values gives the same codes
    const packed_tensor p2 = pack_tensor<float>(f, v, shape);
    CHECK(p2.codes == p.codes);
  }
}

TEST_CASE("MX NaN blocks survive packing through the NaN scale") {
  std::vector<float> x(64, 1.0f);
  x[2] = std::nanf("");
  const std::vector<std::int64_t> shape{64};
  const auto p = parse_packed(serialize_packed(pack_tensor<float>(parse_tensor_format("mxfp4_e2m1"), x, shape)), "nan");
  const auto v = unpack_values<float>(p);
  CHECK(std::isnan(v[0]));
  CHECK(std::isnan(v[31]));
  CHECK(v[32] == 1.0f);
}

TEST_CASE("SmaQ packs flag + data codes at 6 / 8 bits") {
  std::mt19937_64 rng(3);
  auto x = randv(rng, 200);
  x[7] = 100.0f;
  smaq_config cfg;
  cfg.mode = round_mode{rounding::rne, 0};
  const std::vector<std::int64_t> shape{200};
  const auto p = pack_smaq<float>(x, shape, cfg);
  std::size_t outl = 0;
  for (auto o : p.outlier) outl += o != 0;
  const auto bytes = serialize_packed(p);
  const auto r = parse_packed(bytes, "smaq");
  CHECK(r.codes == p.codes);
  CHECK(r.outlier == p.outlier);
  std::vector<float> q(200);
  smaq_quantize<float>(x, q, cfg);
  const auto v = unpack_values<float>(r);
  for (std::size_t i = 0; i < 200; ++i) CHECK(same(v[i], q[i]));
  // the stream is exactly 6 bits per main element and 8 per outlier
  const std::size_t stream = 6 * (200 - outl) + 8 * outl;
  const std::string header(reinterpret_cast<const char*>(bytes.data() + 16), 200);
  CHECK(header.find("\"stream_bits\":" + std::to_string(stream)) != std::string::npos);
}

TEST_CASE("truncated, corrupted and inconsistent packed files are rejected with clear errors") {
  std::vector<float> x(40, 0.5f);
  x[3] = -3.0f;
  const std::vector<std::int64_t> shape{40};
  const auto good = serialize_packed(pack_tensor<float>(parse_tensor_format("mxfp4_e2m1"), x, shape));
  REQUIRE(error_of(good).empty());
  auto t = good;
  t.resize(t.size() - 1);
  CHECK(error_of(t).find("truncated") != std::string::npos);
  t.resize(10);
  CHECK(error_of(t).find("truncated") != std::string::npos);
  auto c = good;
  c[c.size() - 8] ^= std::byte{0x10};
  CHECK(error_of(c).find("checksum") != std::string::npos);
  auto m = good;
  m[0] = std::byte{'X'};
  CHECK(error_of(m).find("magic") != std::string::npos);
  auto v = good;
  v[8] = std::byte{2};
  CHECK(error_of(v).find("version 2") != std::string::npos);
  auto extra = good;
  extra.push_back(std::byte{0});
  CHECK(error_of(extra).find("trailing") != std::string::npos);
  // a consistent checksum over an inconsistent header: 4-bit codes declared as 5
  auto h = good;
  const std::string text(reinterpret_cast<const char*>(h.data()), h.size());
  const auto pos = text.find("\"code_bits\":4");
  REQUIRE(pos != std::string::npos);
  h[pos + 12] = std::byte{'5'};
  fix_crc(h);
  CHECK(error_of(h).find("4-bit") != std::string::npos);
  // shape that disagrees with the number of scales
  auto s = good;
  const auto sp = text.find("\"shape\":[40]");
  REQUIRE(sp != std::string::npos);
  s[sp + 9] = std::byte{'9'};  // [90]
  fix_crc(s);
  CHECK(error_of(s).find("scales") != std::string::npos);
}
