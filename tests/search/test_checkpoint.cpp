// SPDX-License-Identifier: MIT
// The shipped reference checkpoint (simulators/checkpoints/resnet20-fashion-mnist.safetensors):
// it loads strictly into resnet20, was made by the command documented next to it, and reaches
// >= 92% on the Fashion-MNIST test set (Debian's dataset-fashion-mnist), the accuracy that
// `fmtsim train` recorded in its metadata when it wrote the file.
#include <doctest/doctest.h>
#include <fmtsim/io/dataset.hpp>
#include <fmtsim/io/safetensors.hpp>
#include <fmtsim/sim/model.hpp>
#include <fmtsim/sim/train.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <unistd.h>

using namespace fmtsim;

namespace {

std::filesystem::path checkpoint_path() {
  const char* p = std::getenv("FMTSIM_CHECKPOINT");
  REQUIRE_MESSAGE(p != nullptr, "FMTSIM_CHECKPOINT is not set (meson sets it)");
  return p;
}

std::string meta(const io::safetensors_file& f, const std::string& key) {
  const auto it = f.metadata.find(key);
  REQUIRE_MESSAGE(it != f.metadata.end(), "metadata key missing: " << key);
  return it->second;
}

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p);
  REQUIRE_MESSAGE(in.good(), "cannot read " << p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("reference checkpoint: provenance, strict load, >= 92% Fashion-MNIST test accuracy") {
  const auto path = checkpoint_path();
  const io::safetensors_file file = io::read_safetensors(path);

  // Provenance: the settings `fmtsim train` stored are those of the command in the README next to
  // the file (8 epochs of cosine SGD, seed 0), and training ran to its last epoch.
  const std::string settings = meta(file, "fmtsim.train_settings");
  CHECK(settings ==
        "arch=resnet20 epochs=8 batch_size=128 lr=0.1 momentum=0.9 weight_decay=0.0005 schedule=cosine seed=0 "
        "crop_padding=0 flip=0");
  CHECK(meta(file, "fmtsim.epoch") == "8");
  const std::string readme = read_text(path.parent_path() / "README.md");
  CHECK(readme.find("fmtsim train --arch resnet20 --data /usr/share/datasets/fashion-mnist --epochs 8 "
                    "--batch-size 128 --lr 0.1 --schedule cosine --weight-decay 0.0005 --seed 0") != std::string::npos);

  const io::dataset train = io::load_dataset(io::default_data_dir, io::split::train);
  const io::dataset test = io::load_dataset(io::default_data_dir, io::split::test, train.norm);
  REQUIRE(test.count == 10000);
  // The normalisation stored with the weights (9 significant digits: a float round trip) is
  // exactly the one this data gives.
  REQUIRE(train.norm.mean.size() == 1);
  CHECK(static_cast<float>(std::stod(meta(file, "fmtsim.norm_mean"))) == train.norm.mean[0]);
  CHECK(static_cast<float>(std::stod(meta(file, "fmtsim.norm_std"))) == train.norm.stddev[0]);

  auto net = sim::make_model("resnet20", {train.channels, train.height, train.width, train.num_classes}, 123);
  net->load_state_dict(file);  // strict: every name, shape and dtype must match

  const sim::eval_result r = sim::evaluate(*net, test, 256);
  const double recorded = std::stod(meta(file, "fmtsim.test_accuracy"));
  MESSAGE("test accuracy " << 100.0 * r.accuracy << "% (recorded at training: " << 100.0 * recorded << "%), loss "
                           << r.loss);
  CHECK(r.count == 10000);
  CHECK(r.accuracy >= 0.92);
  // Same images right as when the file was written, up to a couple of predictions that a
  // different BLAS kernel (another CPU) may tip over a near-tie.
  const long correct = std::lround(r.accuracy * 10000.0);
  const long recorded_correct = std::lround(recorded * 10000.0);
  CHECK(std::labs(correct - recorded_correct) <= 2);
}

TEST_CASE("fmtsim eval with no model option uses the reference checkpoint") {
  const char* exe = std::getenv("FMTSIM_EXE");
  REQUIRE_MESSAGE(exe != nullptr, "FMTSIM_EXE is not set (meson sets it)");
  const auto dir = std::filesystem::temp_directory_path() / ("fmtsim_ckpt_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto json = dir / "eval.json";
  const std::string cmd = std::string("'") + exe + "' eval --max-batches 2 --batch-size 100 --json '" + json.string() +
                          "' > '" + (dir / "out.txt").string() + "' 2> '" + (dir / "err.txt").string() + "'";
  REQUIRE(std::system(cmd.c_str()) == 0);
  const std::string err = read_text(dir / "err.txt");
  CHECK(err.find("reference checkpoint") != std::string::npos);
  const std::string j = read_text(json);
  CHECK(j.find("\"arch\": \"resnet20\"") != std::string::npos);
  CHECK(j.find("resnet20-fashion-mnist.safetensors") != std::string::npos);
  CHECK(j.find("\"count\": 200") != std::string::npos);
  std::filesystem::remove_all(dir);
}
