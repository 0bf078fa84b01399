// SPDX-License-Identifier: MIT
// Dataset loading (IDX directory, CIFAR binary directory, .npz file), normalisation, batching.
#include "fmtsim/io/dataset.hpp"

#include "fmtsim/io/cifar.hpp"
#include "fmtsim/io/file.hpp"
#include "fmtsim/io/idx.hpp"
#include "fmtsim/io/npz.hpp"

#include <algorithm>
#include <cmath>
#include <string>

namespace fmtsim::io {
namespace {

namespace fs = std::filesystem;

// Pixels before normalisation: bytes (scaled by 1/255) or floats (used as given).
struct raw_split {
  std::int64_t count = 0, channels = 0, height = 0, width = 0;
  std::vector<std::uint8_t> bytes;
  std::vector<float> floats;
  std::vector<std::int32_t> labels;
  std::int32_t num_classes = 0;
  std::string source;

  float pixel(std::size_t i) const { return bytes.empty() ? floats[i] : static_cast<float>(bytes[i]) / 255.0f; }
};

std::optional<fs::path> find_file(const fs::path& dir, const std::string& base) {
  for (const std::string& name : {base, base + ".gz"}) {
    if (fs::is_regular_file(dir / name)) return dir / name;
  }
  return std::nullopt;
}

raw_split load_idx_split(const fs::path& dir, split which) {
  const std::string prefix = which == split::train ? "train" : "t10k";
  const auto images_path = find_file(dir, prefix + "-images-idx3-ubyte");
  const auto labels_path = find_file(dir, prefix + "-labels-idx1-ubyte");
  if (!images_path || !labels_path) {
    throw format_error(dir.string() + ": missing " + prefix + "-images-idx3-ubyte[.gz] or " + prefix +
                       "-labels-idx1-ubyte[.gz]");
  }
  idx_array images = read_idx(*images_path);
  const idx_array labels = read_idx(*labels_path);
  if (images.dims.size() != 3) {
    throw format_error(images_path->string() + ": expected 3 dimensions (N, H, W), got " +
                       std::to_string(images.dims.size()));
  }
  if (labels.dims.size() != 1 || labels.dims[0] != images.dims[0]) {
    throw format_error(labels_path->string() + ": expected 1 dimension of " + std::to_string(images.dims[0]) +
                       " labels");
  }
  raw_split r;
  r.count = images.dims[0];
  r.channels = 1;
  r.height = images.dims[1];
  r.width = images.dims[2];
  r.bytes = std::move(images.data);
  r.labels.assign(labels.data.begin(), labels.data.end());
  r.source = "idx:" + dir.string();
  return r;
}

raw_split load_cifar_split(const fs::path& dir, cifar_kind kind, split which) {
  std::vector<fs::path> files;
  if (kind == cifar_kind::cifar10) {
    if (which == split::train) {
      for (int i = 1; i <= 5; ++i) files.push_back(dir / ("data_batch_" + std::to_string(i) + ".bin"));
    } else {
      files.push_back(dir / "test_batch.bin");
    }
  } else {
    files.push_back(dir / (which == split::train ? "train.bin" : "test.bin"));
  }
  for (const auto& f : files) {
    if (!fs::is_regular_file(f)) throw format_error(f.string() + ": CIFAR batch file missing");
  }
  cifar_batch b = read_cifar(files, kind);
  raw_split r;
  r.count = b.count;
  r.channels = 3;
  r.height = 32;
  r.width = 32;
  r.bytes = std::move(b.images);
  r.labels = std::move(b.labels);
  r.num_classes = kind == cifar_kind::cifar10 ? 10 : 100;
  r.source = std::string(kind == cifar_kind::cifar10 ? "cifar10:" : "cifar100:") + dir.string();
  return r;
}

raw_split load_npz_split(const fs::path& file, split which) {
  const npz_file npz = read_npz(file);
  const std::string suffix = which == split::train ? "_train" : "_test";
  const npy_array* images = npz.find("x" + suffix);
  const npy_array* labels = npz.find("y" + suffix);
  if (images == nullptr && labels == nullptr) {
    images = npz.find("images");
    labels = npz.find("labels");
  }
  if (images == nullptr || labels == nullptr) {
    throw format_error(file.string() + ": npz needs arrays x_train/y_train/x_test/y_test or images/labels");
  }
  const std::string where = file.string() + ": ";
  const auto& s = images->shape;
  raw_split r;
  bool nhwc = false;
  if (s.size() == 3) {
    r.count = s[0], r.channels = 1, r.height = s[1], r.width = s[2];
  } else if (s.size() == 4 && (s[3] == 1 || s[3] == 3)) {
    r.count = s[0], r.height = s[1], r.width = s[2], r.channels = s[3];
    nhwc = true;
  } else if (s.size() == 4) {
    r.count = s[0], r.channels = s[1], r.height = s[2], r.width = s[3];
  } else {
    throw format_error(where + "images must have 3 or 4 dimensions");
  }
  if (r.count <= 0 || r.channels <= 0 || r.height <= 0 || r.width <= 0) {
    throw format_error(where + "images array is empty");
  }
  const std::size_t n = static_cast<std::size_t>(r.count * r.channels * r.height * r.width);
  std::vector<float> values;
  std::vector<std::uint8_t> bytes;
  if (images->type == dtype::u8) {
    bytes = npy_to_u8(*images);
  } else {
    values = npy_to_f32(*images);
  }
  auto reorder = [&](auto& v) {
    if (!nhwc) return;
    auto copy = v;
    const std::int64_t hw = r.height * r.width;
    for (std::int64_t i = 0; i < r.count; ++i)
      for (std::int64_t p = 0; p < hw; ++p)
        for (std::int64_t c = 0; c < r.channels; ++c)
          v[(i * r.channels + c) * hw + p] = copy[(i * hw + p) * r.channels + c];
  };
  if (!bytes.empty()) {
    reorder(bytes);
    r.bytes = std::move(bytes);
  } else {
    reorder(values);
    r.floats = std::move(values);
  }
  (void)n;
  if (labels->shape.size() != 1 || labels->shape[0] != r.count) {
    throw format_error(where + "labels must be a vector of " + std::to_string(r.count) + " entries");
  }
  for (const std::int64_t v : npy_to_i64(*labels)) {
    if (v < 0 || v > 1'000'000) throw format_error(where + "label " + std::to_string(v) + " out of range");
    r.labels.push_back(static_cast<std::int32_t>(v));
  }
  r.source = "npz:" + file.string();
  return r;
}

raw_split load_raw(const fs::path& path, split which) {
  if (fs::is_regular_file(path)) return load_npz_split(path, which);
  if (!fs::is_directory(path)) throw format_error(path.string() + ": no such file or directory");
  if (find_file(path, "train-images-idx3-ubyte") || find_file(path, "t10k-images-idx3-ubyte")) {
    return load_idx_split(path, which);
  }
  for (const fs::path& dir : {path, path / "cifar-10-batches-bin"}) {
    if (fs::is_regular_file(dir / "test_batch.bin") || fs::is_regular_file(dir / "data_batch_1.bin")) {
      return load_cifar_split(dir, cifar_kind::cifar10, which);
    }
  }
  for (const fs::path& dir : {path, path / "cifar-100-binary"}) {
    if (fs::is_regular_file(dir / "train.bin") || fs::is_regular_file(dir / "test.bin")) {
      return load_cifar_split(dir, cifar_kind::cifar100, which);
    }
  }
  throw format_error(path.string() +
                     ": no dataset found (expected IDX files train-images-idx3-ubyte[.gz] ..., CIFAR "
                     "batches data_batch_N.bin / test_batch.bin or train.bin / test.bin)");
}

normalisation compute_norm(const raw_split& r) {
  normalisation n;
  const std::int64_t hw = r.height * r.width;
  for (std::int64_t c = 0; c < r.channels; ++c) {
    double sum = 0, sum2 = 0;
    for (std::int64_t i = 0; i < r.count; ++i) {
      const std::size_t base = static_cast<std::size_t>((i * r.channels + c) * hw);
      double s1 = 0, s2 = 0;
      for (std::int64_t p = 0; p < hw; ++p) {
        const double v = r.pixel(base + static_cast<std::size_t>(p));
        s1 += v;
        s2 += v * v;
      }
      sum += s1;
      sum2 += s2;
    }
    const double m = static_cast<double>(r.count * hw);
    const double mean = sum / m;
    const double var = std::max(0.0, sum2 / m - mean * mean);
    n.mean.push_back(static_cast<float>(mean));
    n.stddev.push_back(static_cast<float>(std::sqrt(var) > 0 ? std::sqrt(var) : 1.0));
  }
  return n;
}

}  // namespace

dataset load_dataset(const fs::path& path, split which, const std::optional<normalisation>& norm) {
  raw_split r = load_raw(path, which);
  normalisation n;
  if (norm) {
    n = *norm;
  } else {
    n = compute_norm(which == split::train ? r : load_raw(path, split::train));
  }
  if (n.mean.size() != static_cast<std::size_t>(r.channels) || n.stddev.size() != n.mean.size()) {
    throw std::invalid_argument(path.string() + ": normalisation has " + std::to_string(n.mean.size()) +
                                " channels, the data has " + std::to_string(r.channels));
  }
  for (const float s : n.stddev) {
    if (!(s > 0.0f)) throw std::invalid_argument("normalisation standard deviation must be positive");
  }
  dataset d;
  d.source = r.source + (which == split::train ? " (train)" : " (test)");
  d.count = r.count;
  d.channels = r.channels;
  d.height = r.height;
  d.width = r.width;
  d.labels = std::move(r.labels);
  std::int32_t max_label = -1;
  for (const auto l : d.labels) max_label = std::max(max_label, l);
  d.num_classes = r.num_classes > 0 ? r.num_classes : max_label + 1;
  const std::int64_t hw = r.height * r.width;
  d.images.resize(static_cast<std::size_t>(r.count * r.channels * hw));
  for (std::int64_t i = 0; i < r.count; ++i) {
    for (std::int64_t c = 0; c < r.channels; ++c) {
      const float m = n.mean[c], inv = 1.0f / n.stddev[c];
      const std::size_t base = static_cast<std::size_t>((i * r.channels + c) * hw);
      for (std::int64_t p = 0; p < hw; ++p) d.images[base + p] = (r.pixel(base + p) - m) * inv;
    }
  }
  d.norm = std::move(n);
  return d;
}

std::vector<std::int64_t> sample_order(std::int64_t count, std::optional<std::uint64_t> seed) {
  std::vector<std::int64_t> order(static_cast<std::size_t>(std::max<std::int64_t>(count, 0)));
  for (std::int64_t i = 0; i < count; ++i) order[i] = i;
  if (!seed) return order;
  std::uint64_t state = *seed;
  auto next = [&state]() {  // splitmix64
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  for (std::int64_t i = count - 1; i > 0; --i) {
    // Unbiased integer in [0, i] by rejection.
    const std::uint64_t bound = static_cast<std::uint64_t>(i) + 1;
    const std::uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
    std::uint64_t x = next();
    while (x >= limit) x = next();
    std::swap(order[i], order[x % bound]);
  }
  return order;
}

std::int64_t batch_count(std::int64_t count, std::int64_t batch_size, bool drop_last) noexcept {
  if (batch_size <= 0 || count <= 0) return 0;
  return drop_last ? count / batch_size : (count + batch_size - 1) / batch_size;
}

std::int64_t gather_batch(const dataset& data, std::span<const std::int64_t> order, std::int64_t b,
                          std::int64_t batch_size, std::vector<float>& images, std::vector<std::int32_t>& labels) {
  const auto total = static_cast<std::int64_t>(order.size());
  const std::int64_t begin = b * batch_size;
  if (b < 0 || batch_size <= 0 || begin >= total) throw std::out_of_range("gather_batch: batch index out of range");
  const std::int64_t n = std::min(batch_size, total - begin);
  const std::int64_t elems = data.image_elems();
  images.resize(static_cast<std::size_t>(n * elems));
  labels.resize(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t s = order[begin + i];
    if (s < 0 || s >= data.count) throw std::out_of_range("gather_batch: sample index out of range");
    std::copy_n(data.images.begin() + s * elems, elems, images.begin() + i * elems);
    labels[i] = data.labels[s];
  }
  return n;
}

}  // namespace fmtsim::io
