// SPDX-License-Identifier: MIT
// IDX (plain and gzip), CIFAR, zip/npz readers, datasets and batch order; hostile inputs.
#include <doctest/doctest.h>

#include <fmtsim/io/cifar.hpp>
#include <fmtsim/io/compress.hpp>
#include <fmtsim/io/dataset.hpp>
#include <fmtsim/io/file.hpp>
#include <fmtsim/io/idx.hpp>
#include <fmtsim/io/npz.hpp>
#include <fmtsim/io/zip.hpp>

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>

using namespace fmtsim::io;
namespace fs = std::filesystem;

namespace {

std::vector<std::byte> bytes_of(std::initializer_list<int> v) {
  std::vector<std::byte> out;
  for (int x : v) out.push_back(static_cast<std::byte>(x));
  return out;
}

std::vector<std::byte> idx_bytes(std::vector<std::uint32_t> dims, std::size_t payload, int type = 0x08) {
  std::vector<std::byte> out = bytes_of({0, 0, type, static_cast<int>(dims.size())});
  for (auto d : dims)
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<std::byte>((d >> s) & 0xFF));
  for (std::size_t i = 0; i < payload; ++i) out.push_back(static_cast<std::byte>((i * 7) & 0xFF));
  return out;
}

// zlib deflate (gzip wrapper when gzip, raw otherwise): an independent writer for the tests.
std::vector<std::byte> deflate_bytes(const std::vector<std::byte>& in, bool gzip) {
  z_stream zs{};
  REQUIRE(deflateInit2(&zs, 6, Z_DEFLATED, gzip ? 16 + MAX_WBITS : -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::vector<std::byte> out(deflateBound(&zs, in.size()) + 64);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&zs, Z_FINISH) == Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

void put_le(std::vector<std::byte>& v, std::uint64_t x, int n) {
  for (int k = 0; k < n; ++k) v.push_back(static_cast<std::byte>((x >> (8 * k)) & 0xFF));
}

// A minimal zip writer (stored or deflate entries), independent of the reader under test.
std::vector<std::byte> make_zip(const std::vector<std::pair<std::string, std::vector<std::byte>>>& members,
                                bool deflate) {
  std::vector<std::byte> out, central;
  for (const auto& [name, data] : members) {
    const auto payload = deflate ? deflate_bytes(data, false) : data;
    const auto crc = static_cast<std::uint32_t>(
        crc32(0, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
    const std::uint64_t offset = out.size();
    put_le(out, 0x04034b50, 4);
    put_le(out, 20, 2);
    put_le(out, 0, 2);
    put_le(out, deflate ? 8 : 0, 2);
    put_le(out, 0, 4);
    put_le(out, crc, 4);
    put_le(out, payload.size(), 4);
    put_le(out, data.size(), 4);
    put_le(out, name.size(), 2);
    put_le(out, 0, 2);
    for (char c : name) out.push_back(static_cast<std::byte>(c));
    out.insert(out.end(), payload.begin(), payload.end());
    put_le(central, 0x02014b50, 4);
    put_le(central, 20, 2);
    put_le(central, 20, 2);
    put_le(central, 0, 2);
    put_le(central, deflate ? 8 : 0, 2);
    put_le(central, 0, 4);
    put_le(central, crc, 4);
    put_le(central, payload.size(), 4);
    put_le(central, data.size(), 4);
    put_le(central, name.size(), 2);
    put_le(central, 0, 2);
    put_le(central, 0, 2);
    put_le(central, 0, 2);
    put_le(central, 0, 2);
    put_le(central, 0, 4);
    put_le(central, offset, 4);
    for (char c : name) central.push_back(static_cast<std::byte>(c));
  }
  const std::uint64_t cd_offset = out.size();
  out.insert(out.end(), central.begin(), central.end());
  put_le(out, 0x06054b50, 4);
  put_le(out, 0, 2);
  put_le(out, 0, 2);
  put_le(out, members.size(), 2);
  put_le(out, members.size(), 2);
  put_le(out, central.size(), 4);
  put_le(out, cd_offset, 4);
  put_le(out, 0, 2);
  return out;
}

npy_array make_npy(dtype t, std::vector<std::int64_t> shape, const void* src, std::size_t nbytes) {
  npy_array a;
  a.type = t;
  a.shape = std::move(shape);
  a.data.resize(nbytes);
  std::memcpy(a.data.data(), src, nbytes);
  return a;
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("IDX: plain and gzip round trip; every truncation rejected") {
  const auto plain = idx_bytes({3, 2, 5}, 30);
  const idx_array a = parse_idx(plain, "mem");
  CHECK(a.dims == std::vector<std::uint32_t>{3, 2, 5});
  REQUIRE(a.data.size() == 30);
  CHECK(a.data[29] == static_cast<std::uint8_t>((29 * 7) & 0xFF));
  const auto gz = deflate_bytes(plain, true);
  CHECK(is_gzip(gz));
  CHECK(parse_idx(gz, "mem.gz").data == a.data);
  for (std::size_t n = 0; n < plain.size(); ++n) {
    CAPTURE(n);
    CHECK_THROWS_AS(parse_idx(std::span(plain).first(n), "cut"), format_error);
  }
  for (std::size_t n = 0; n < gz.size(); ++n) {
    CAPTURE(n);
    CHECK_THROWS_AS(parse_idx(std::span(gz).first(n), "cut.gz"), format_error);
  }
  // Two concatenated gzip members are one stream; garbage after a member is rejected.
  auto two = deflate_bytes(std::vector<std::byte>(plain.begin(), plain.begin() + 10), true);
  const auto rest = deflate_bytes(std::vector<std::byte>(plain.begin() + 10, plain.end()), true);
  two.insert(two.end(), rest.begin(), rest.end());
  CHECK(parse_idx(two, "two.gz").data == a.data);
  auto junk = gz;
  junk.push_back(std::byte{1});
  CHECK(error_of([&] { parse_idx(junk, "junk.gz"); }).find("trailing bytes after the gzip") != std::string::npos);
}

TEST_CASE("IDX: hostile headers") {
  CHECK(error_of([] { parse_idx(bytes_of({1, 0, 8, 1, 0, 0, 0, 0}), "m"); }).find("bad magic") != std::string::npos);
  CHECK(error_of([] { parse_idx(idx_bytes({2}, 8, 0x0D), "m"); }).find("unsupported element type 0x0d") !=
        std::string::npos);
  CHECK(error_of([] { parse_idx(idx_bytes({}, 0), "m"); }).find("zero dimensions") != std::string::npos);
  CHECK(error_of([] {
          parse_idx(idx_bytes({0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, 4), "m");
        }).find("overflows") != std::string::npos);
  CHECK(error_of([] { parse_idx(idx_bytes({65536, 65537}, 4), "m"); }).find("overflows") != std::string::npos);
  CHECK(error_of([] { parse_idx(idx_bytes({4}, 5), "m"); }).find("trailing bytes") != std::string::npos);
  CHECK(error_of([] { parse_idx(idx_bytes({4}, 3), "m"); }).find("truncated") != std::string::npos);
  CHECK(error_of([] { parse_idx(bytes_of({0, 0, 8, 200, 0, 0}), "m"); }).find("200 dimensions") != std::string::npos);
  CHECK(error_of([] { parse_idx(bytes_of({0x1f, 0x8b, 8, 0, 0}), "m.gz"); }).find("gzip") != std::string::npos);
}

TEST_CASE("CIFAR records") {
  std::vector<std::byte> rec(2 * (1 + cifar_image_bytes));
  rec[0] = std::byte{3};
  rec[1 + cifar_image_bytes] = std::byte{9};
  rec[1 + cifar_image_bytes + 1] = std::byte{200};
  cifar_batch b;
  parse_cifar(rec, cifar_kind::cifar10, "c10", b);
  CHECK(b.count == 2);
  CHECK(b.labels == std::vector<std::int32_t>{3, 9});
  CHECK(b.images[cifar_image_bytes] == 200);
  cifar_batch c;
  CHECK(error_of([&] {
          parse_cifar(std::span(rec).first(rec.size() - 1), cifar_kind::cifar10, "c", c);
        }).find("not a multiple") != std::string::npos);
  rec[0] = std::byte{10};
  CHECK(error_of([&] { parse_cifar(rec, cifar_kind::cifar10, "c", c); }).find("label 10") != std::string::npos);
  std::vector<std::byte> r100(2 + cifar_image_bytes);
  r100[0] = std::byte{19};
  r100[1] = std::byte{99};
  cifar_batch d;
  parse_cifar(r100, cifar_kind::cifar100, "c100", d);
  CHECK(d.labels == std::vector<std::int32_t>{99});
  CHECK(d.coarse_labels == std::vector<std::int32_t>{19});
  r100[1] = std::byte{100};
  CHECK_THROWS_AS(parse_cifar(r100, cifar_kind::cifar100, "c", d), format_error);
  CHECK_THROWS_AS(parse_cifar({}, cifar_kind::cifar10, "c", d), format_error);
}

TEST_CASE("zip and npz: stored and deflate members, truncation, corruption") {
  const std::uint8_t pixels[2 * 2 * 3] = {0, 255, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100};
  const std::int64_t labels[2] = {1, 0};
  const auto img = serialize_npy(make_npy(dtype::u8, {2, 2, 3}, pixels, sizeof pixels));
  const auto lab = serialize_npy(make_npy(dtype::i64, {2}, labels, sizeof labels));
  for (const bool deflate : {false, true}) {
    CAPTURE(deflate);
    const auto zip = make_zip({{"images.npy", img}, {"labels.npy", lab}}, deflate);
    const npz_file npz = parse_npz(zip, "mem.npz");
    REQUIRE(npz.arrays.size() == 2);
    CHECK(npz.find("images")->shape == std::vector<std::int64_t>{2, 2, 3});
    CHECK(npy_to_u8(*npz.find("images")) == std::vector<std::uint8_t>(pixels, pixels + 12));
    CHECK(npy_to_i64(*npz.find("labels")) == std::vector<std::int64_t>{1, 0});
    for (std::size_t n = 0; n < zip.size(); ++n) {
      CAPTURE(n);
      CHECK_THROWS(parse_npz(std::span(zip).first(n), "cut.npz"));
    }
    // Flip one byte of member data: CRC (stored) or deflate/CRC (deflate) must catch it.
    auto bad = zip;
    bad[30 + 10 + 20] ^= std::byte{0x40};
    CHECK_THROWS(parse_npz(bad, "bad.npz"));
  }
  CHECK(error_of([&] { parse_npz(make_zip({{"a.txt", img}}, false), "m"); }).find("not a .npy") != std::string::npos);
  CHECK(error_of([&] {
          parse_zip(make_zip({{"a.npy", img}, {"a.npy", img}}, false), "m");
        }).find("duplicate") != std::string::npos);
  CHECK(error_of([&] { parse_zip(bytes_of({1, 2, 3}), "m"); }).find("too short") != std::string::npos);
  // A deflate member declaring ~1.5 GB of output for a few dozen bytes: rejected before any
  // allocation (the fuzzer found this as an out-of-memory).
  auto liar = make_zip({{"a.npy", img}}, true);
  const std::size_t eocd = liar.size() - 22;
  std::size_t cd = 0;
  for (int k = 0; k < 4; ++k) cd |= static_cast<std::size_t>(liar[eocd + 16 + k]) << (8 * k);
  for (const std::size_t at : {std::size_t{22}, cd + 24}) {
    for (int k = 0; k < 4; ++k) liar[at + k] = static_cast<std::byte>((1500000000u >> (8 * k)) & 0xFF);
  }
  CHECK(error_of([&] { parse_zip(liar, "m"); }).find("impossible") != std::string::npos);
}

TEST_CASE("npz dataset file, normalisation and batch order") {
  const std::uint8_t px[4 * 1 * 2 * 2] = {0, 0, 0, 0, 255, 255, 255, 255, 0, 255, 0, 255, 51, 51, 51, 51};
  const std::uint8_t lab[4] = {0, 1, 2, 1};
  const auto zip = make_zip({{"images.npy", serialize_npy(make_npy(dtype::u8, {4, 2, 2}, px, sizeof px))},
                             {"labels.npy", serialize_npy(make_npy(dtype::u8, {4}, lab, sizeof lab))}},
                            true);
  const auto path = fs::temp_directory_path() / "fmtsim_test_ds.npz";
  write_file_atomic(path, zip);
  const dataset d = load_dataset(path, split::train);
  CHECK(d.count == 4);
  CHECK(d.channels == 1);
  CHECK(d.num_classes == 3);
  // pixel mean (0 + 1 + 0.5 + 0.2) / 4 = 0.425; population variance of the 16 values
  CHECK(d.norm.mean[0] == doctest::Approx(0.425));
  const double var =
      (4 * 0.425 * 0.425 + 4 * 0.575 * 0.575 + 2 * 0.425 * 0.425 + 2 * 0.575 * 0.575 + 4 * 0.225 * 0.225) / 16.0;
  CHECK(d.norm.stddev[0] == doctest::Approx(std::sqrt(var)));
  CHECK(d.images[4] == doctest::Approx((1.0 - 0.425) / std::sqrt(var)));
  fs::remove(path);

  const auto order = sample_order(1000, 42);
  auto sorted = order;
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::int64_t> iota(1000);
  std::iota(iota.begin(), iota.end(), 0);
  CHECK(sorted == iota);
  CHECK(order != iota);
  CHECK(order == sample_order(1000, 42));
  CHECK(order != sample_order(1000, 43));
  CHECK(sample_order(5, std::nullopt) == std::vector<std::int64_t>{0, 1, 2, 3, 4});
  CHECK(batch_count(10, 4, false) == 3);
  CHECK(batch_count(10, 4, true) == 2);
  std::vector<float> imgs;
  std::vector<std::int32_t> labs;
  const std::vector<std::int64_t> ord = {3, 1, 0, 2};
  CHECK(gather_batch(d, ord, 1, 3, imgs, labs) == 1);
  CHECK(labs == std::vector<std::int32_t>{2});
  CHECK_THROWS_AS(gather_batch(d, ord, 2, 3, imgs, labs), std::out_of_range);
}

TEST_CASE("real Fashion-MNIST files (dataset-fashion-mnist)") {
  if (!fs::is_directory(default_data_dir)) {
    MESSAGE("skipped: " << default_data_dir << " not installed");
    return;
  }
  const idx_array labels = read_idx(default_data_dir / "t10k-labels-idx1-ubyte.gz");
  REQUIRE(labels.dims == std::vector<std::uint32_t>{10000});
  std::vector<int> per_class(10, 0);
  for (auto l : labels.data) {
    REQUIRE(l < 10);
    ++per_class[l];
  }
  CHECK(per_class == std::vector<int>(10, 1000));  // the test set is balanced
  const dataset test = load_dataset(default_data_dir, split::test);
  CHECK(test.count == 10000);
  CHECK(test.channels == 1);
  CHECK(test.height == 28);
  CHECK(test.width == 28);
  CHECK(test.num_classes == 10);
  // Published training-set statistics of Fashion-MNIST: mean 0.2860, std 0.3530.
  CHECK(test.norm.mean[0] == doctest::Approx(0.2860).epsilon(1e-3));
  CHECK(test.norm.stddev[0] == doctest::Approx(0.3530).epsilon(1e-3));
}
