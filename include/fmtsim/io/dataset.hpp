// SPDX-License-Identifier: MIT
// Image-classification datasets (IDX, CIFAR binary, .npz) as normalised float32 NCHW tensors.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace fmtsim::io {

enum class split { train, test };

// Per-channel normalisation x' = (x / 255 - mean[c]) / stddev[c] for byte pixels (float pixels
// from .npz files are used as given, without the / 255).
struct normalisation {
  std::vector<float> mean;
  std::vector<float> stddev;
};

struct dataset {
  std::string source;  // e.g. "idx:/usr/share/datasets/fashion-mnist (train)"
  std::int64_t count = 0, channels = 0, height = 0, width = 0;
  std::int32_t num_classes = 0;
  std::vector<float> images;         // count * channels * height * width, NCHW, normalised
  std::vector<std::int32_t> labels;  // count, each in [0, num_classes)
  normalisation norm;                // what was applied

  std::int64_t image_elems() const noexcept { return channels * height * width; }
};

// Loads one split. `path` is either a directory holding
//   IDX:       train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
//              t10k-labels-idx1-ubyte (each optionally with .gz), e.g. (Fashion-)MNIST;
//   CIFAR-10:  data_batch_1.bin .. data_batch_5.bin and test_batch.bin (or the subdirectory
//              cifar-10-batches-bin);
//   CIFAR-100: train.bin and test.bin (or the subdirectory cifar-100-binary);
// or an .npz file with arrays x_train, y_train, x_test, y_test (the Keras layout) or images and
// labels (then both splits are that one set). npz images are (N,H,W), (N,H,W,C) with C in {1,3}
// (converted to NCHW) or (N,C,H,W); uint8 (divided by 255) or float32/float64 (used as given);
// labels any integer dtype.
// Normalisation: if `norm` is not given, the per-channel mean and (population) standard
// deviation of the TRAINING split's pixels (after / 255) are computed in double and used for
// whichever split is loaded, so train and test are normalised identically.
dataset load_dataset(const std::filesystem::path& path, split which,
                     const std::optional<normalisation>& norm = std::nullopt);

// The default data directory (Debian's dataset-fashion-mnist package).
inline const std::filesystem::path default_data_dir{"/usr/share/datasets/fashion-mnist"};

// Deterministic order of sample indices: identity when seed is nullopt, otherwise a Fisher-Yates
// shuffle driven by splitmix64(seed) (the same on every platform and library).
std::vector<std::int64_t> sample_order(std::int64_t count, std::optional<std::uint64_t> seed);

// Number of batches of size batch_size over count samples (the last partial batch counts unless
// drop_last).
std::int64_t batch_count(std::int64_t count, std::int64_t batch_size, bool drop_last) noexcept;

// Copies batch `b` (samples order[b*batch_size ...]) into images (n*C*H*W) and labels (n);
// returns n (batch_size, or less for the last partial batch).
std::int64_t gather_batch(const dataset& data, std::span<const std::int64_t> order, std::int64_t b,
                          std::int64_t batch_size, std::vector<float>& images, std::vector<std::int32_t>& labels);

}  // namespace fmtsim::io
