// SPDX-License-Identifier: MIT
// safetensors reader/writer: round trip, conversions, and rejection of hostile files.
#include <doctest/doctest.h>

#include <fmtsim/io/file.hpp>
#include <fmtsim/io/safetensors.hpp>

#include <cstring>
#include <filesystem>
#include <string>

using namespace fmtsim::io;

namespace {

std::vector<std::byte> raw_file(const std::string& header, std::size_t data_bytes,
                                std::uint64_t declared = UINT64_MAX) {
  const std::uint64_t len = declared == UINT64_MAX ? header.size() : declared;
  std::vector<std::byte> out;
  for (int k = 0; k < 8; ++k) out.push_back(static_cast<std::byte>((len >> (8 * k)) & 0xFF));
  for (const char c : header) out.push_back(static_cast<std::byte>(c));
  for (std::size_t i = 0; i < data_bytes; ++i) out.push_back(static_cast<std::byte>(i & 0xFF));
  return out;
}

std::string rejection(const std::vector<std::byte>& bytes) {
  try {
    parse_safetensors(bytes, "t.safetensors");
  } catch (const format_error& e) {
    return e.what();
  }
  return "";
}

safetensors_file sample() {
  safetensors_file f;
  f.tensors.push_back(make_f32_tensor("a.weight", {2, 3}, std::vector<float>{1, -2, 3.5f, 0, 1e-30f, -0.0f}));
  f.tensors.push_back(make_i64_tensor("a.count", {}, std::vector<std::int64_t>{-5}));
  st_tensor h;
  h.name = "half";
  h.dtype = st_dtype::F16;
  h.shape = {4};
  // 1.0, -2.0, smallest subnormal 2^-24, 65504
  const std::uint16_t bits[4] = {0x3C00, 0xC000, 0x0001, 0x7BFF};
  for (auto b : bits) {
    h.data.push_back(static_cast<std::byte>(b & 0xFF));
    h.data.push_back(static_cast<std::byte>(b >> 8));
  }
  f.tensors.push_back(h);
  st_tensor bf;
  bf.name = "bf";
  bf.dtype = st_dtype::BF16;
  bf.shape = {1};
  bf.data = {std::byte{0xC0}, std::byte{0x3F}};  // 0x3FC0 = 1.5
  f.tensors.push_back(bf);
  f.tensors.push_back(make_f32_tensor("empty", {0, 4}, std::vector<float>{}));
  f.metadata["format"] = "pt";
  return f;
}

}  // namespace

TEST_CASE("safetensors round trip and float conversions") {
  const safetensors_file f = sample();
  const auto bytes = serialize_safetensors(f);
  std::uint64_t hl = 0;
  std::memcpy(&hl, bytes.data(), 8);
  CHECK(hl % 8 == 0);
  const safetensors_file g = parse_safetensors(bytes, "mem");
  REQUIRE(g.tensors.size() == f.tensors.size());
  for (const auto& t : f.tensors) {
    const st_tensor* u = g.find(t.name);
    REQUIRE(u != nullptr);
    CHECK(u->dtype == t.dtype);
    CHECK(u->shape == t.shape);
    CHECK(u->data == t.data);
  }
  CHECK(g.metadata.at("format") == "pt");
  CHECK(to_float32(*g.find("a.weight")) == std::vector<float>{1, -2, 3.5f, 0, 1e-30f, -0.0f});
  CHECK(to_float32(*g.find("half")) == std::vector<float>{1.0f, -2.0f, 0x1p-24f, 65504.0f});
  CHECK(to_float32(*g.find("bf")) == std::vector<float>{1.5f});
  CHECK_THROWS_AS(to_float32(*g.find("a.count")), format_error);
  CHECK(g.find("a.count")->numel() == 1);

  const auto path = std::filesystem::temp_directory_path() / "fmtsim_test_rt.safetensors";
  write_safetensors_atomic(path, f);
  CHECK(read_file(path) == bytes);
  CHECK(read_safetensors(path).tensors.size() == f.tensors.size());
  std::filesystem::remove(path);
  CHECK_THROWS_AS(read_safetensors(path), format_error);
}

TEST_CASE("safetensors: every truncation of a valid file is rejected") {
  const auto bytes = serialize_safetensors(sample());
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    CAPTURE(n);
    const std::vector<std::byte> cut(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
    CHECK(!rejection(cut).empty());
  }
  // One extra byte after the data is a hole at the end (not covered by any tensor).
  auto longer = bytes;
  longer.push_back(std::byte{0});
  CHECK(rejection(longer).find("trailing bytes") != std::string::npos);
}

TEST_CASE("safetensors: hostile headers are rejected with a message") {
  const std::string ok = R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  CHECK(rejection(raw_file(ok, 8)).empty());
  CHECK(rejection(raw_file(ok, 8, 1ull << 40)).find("exceeds the limit") != std::string::npos);
  CHECK(rejection(raw_file(ok, 8, ok.size() + 9)).find("beyond the end") != std::string::npos);
  CHECK(rejection(raw_file(ok, 8, UINT64_MAX - 1)).find("exceeds the limit") != std::string::npos);
  CHECK(rejection(raw_file(R"( {"x":1})", 0)).find("does not start") != std::string::npos);
  CHECK(rejection(raw_file(R"({"x":{"dtype":"F32",)", 0)).find("not valid JSON") != std::string::npos);
  CHECK(rejection(raw_file("[1,2]", 0)).find("start with '{'") != std::string::npos);
  CHECK(
      rejection(
          raw_file(
              R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
              8))
          .find("duplicate tensor name 'x'") != std::string::npos);
  CHECK(rejection(raw_file(R"({"x":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}})", 8))
            .find("unsupported dtype 'Q4'") != std::string::npos);
  CHECK(rejection(raw_file(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}})", 8))
            .find("beyond the data buffer") != std::string::npos);
  CHECK(rejection(raw_file(R"({"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8)).find("need 12") !=
        std::string::npos);
  CHECK(rejection(raw_file(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8)).find("reversed") !=
        std::string::npos);
  CHECK(rejection(raw_file(R"({"x":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8)).find("non-negative") !=
        std::string::npos);
  CHECK(rejection(raw_file(R"({"x":{"dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,8]}})", 8))
            .find("too many elements") != std::string::npos);
  CHECK(
      rejection(
          raw_file(
              R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
              8))
          .find("overlaps") != std::string::npos);
  CHECK(rejection(raw_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8)).find("hole") !=
        std::string::npos);
  CHECK(rejection(raw_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 8)).find("trailing bytes") !=
        std::string::npos);
  CHECK(rejection(raw_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":1}})", 4))
            .find("unknown field 'extra'") != std::string::npos);
  CHECK(rejection(raw_file(R"({"a":{"dtype":"F32","shape":[1]}})", 4)).find("needs the fields") != std::string::npos);
  CHECK(rejection(raw_file(R"({"__metadata__":{"k":1}})", 0)).find("not a string") != std::string::npos);
  CHECK(rejection(raw_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4.5]}})", 4)).find("data_offsets") !=
        std::string::npos);
  CHECK(rejection(raw_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}} x)", 4)).find("not valid JSON") !=
        std::string::npos);
  // Padding the header with spaces is allowed.
  CHECK(rejection(raw_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}   )", 4)).empty());
  CHECK(rejection({}).find("shorter than the 8-byte") != std::string::npos);

  safetensors_file dup;
  dup.tensors.push_back(make_f32_tensor("a", {1}, std::vector<float>{1}));
  dup.tensors.push_back(make_f32_tensor("a", {1}, std::vector<float>{2}));
  CHECK_THROWS_AS(serialize_safetensors(dup), std::invalid_argument);
}
