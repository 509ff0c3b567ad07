// test_optimizer_state.cpp — the optimizer state of a checkpoint read back by tensor and range,
// whatever layout wrote it: one file of whole tensors (as unsharded runs and earlier versions
// write it) or one slice per rank of padded flat groups.
#include <gtest/gtest.h>

#include "common/fixtures.h"
#include "io/safetensors.h"
#include "train/optimizer_state.h"

namespace llamapro {
namespace {

using namespace testing;
namespace fs = std::filesystem;

std::vector<float> iota(int64_t n, float start) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; i++) v[size_t(i)] = start + float(i);
  return v;
}

TEST(OptimizerState, WholeTensorsWithoutALayout) {
  TempDir tmp;
  const std::vector<float> a = iota(6, 0), b = iota(3, 100);
  write_safetensors(tmp.path() / "optimizer.safetensors",
                    {{"master.w", DType::F32, {2, 3}}, {"exp_avg.w", DType::F32, {2, 3}}, {"master.n", DType::F32, {3}}},
                    {a.data(), a.data(), b.data()});
  SavedOptimizerState saved(tmp.path(), json{{"step", 1}});
  EXPECT_TRUE(saved.has("w"));
  EXPECT_FALSE(saved.has("x"));
  std::vector<float> got(4);
  saved.read("master", "w", 2, 4, got.data());
  EXPECT_EQ(got, std::vector<float>({2, 3, 4, 5}));
  saved.read("master", "n", 0, 3, got.data());
  EXPECT_EQ(std::vector<float>(got.begin(), got.begin() + 3), b);
}

TEST(OptimizerState, RangesAcrossThreeRanksSlices) {
  TempDir tmp;
  // Group "block.1": tensors a (5 elements) and b (6): 11 elements padded to 12, slices of 4.
  FlatLayout layout;
  layout.name = "block.1";
  layout.tensors = {"a", "b"};
  layout.shapes = {{5}, {6}};
  layout.offsets = {0, 5};
  layout.numel = 11;
  layout.slice = 4;
  layout.world = 3;
  const std::vector<float> flat = iota(12, 0);
  for (int r = 0; r < 3; r++)
    write_safetensors(tmp.path() / optimizer_file_name(r, 3), {{"master.block.1", DType::F32, {4}}},
                      {flat.data() + 4 * r});
  SavedOptimizerState saved(tmp.path(), json{{"optimizer_layout", optimizer_layout_json({layout})}});
  std::vector<float> got(6);
  saved.read("master", "b", 0, 6, got.data());  // elements 5..10: the end of rank 1, all of rank 2 but padding
  EXPECT_EQ(got, iota(6, 5));
  saved.read("master", "a", 3, 2, got.data());  // elements 3, 4: across ranks 0 and 1
  EXPECT_EQ(std::vector<float>(got.begin(), got.begin() + 2), std::vector<float>({3, 4}));
  EXPECT_THROW(saved.read("master", "b", 4, 3, got.data()), std::exception);  // past the tensor's end
  EXPECT_THROW(saved.read("exp_avg", "a", 0, 1, got.data()), std::exception);  // not saved

  fs::remove(tmp.path() / optimizer_file_name(2, 3));  // a missing rank file is named
  try {
    SavedOptimizerState missing(tmp.path(), json{{"optimizer_layout", optimizer_layout_json({layout})}});
    FAIL() << "a missing rank file was not noticed";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("optimizer-rank-00002-of-00003.safetensors"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace llamapro
