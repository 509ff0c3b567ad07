// test_expander.cpp — streaming expansion against the fixtures' reference expansions, the
// provenance manifest across stages, and the "nothing lost" rules.
#include <gtest/gtest.h>

#include <cstring>
#include <map>

#include "common/fixtures.h"
#include "expand/expander.h"
#include "io/checkpoint.h"
#include "model/tensor_names.h"
#include "util/check.h"

namespace llamapro {
namespace {

using testing::fixture;
using testing::TempDir;

// Expansion with a copy of block i after each i in `after`, identity zeroing, no progress bar.
ExpandOptions quiet(std::vector<int64_t> after) {
  ExpandOptions o;
  o.request.after = std::move(after);
  o.progress = false;
  return o;
}

// Every tensor of `got` equals the one of the same name in `want`, bit for bit.
void expect_same_tensors(const std::string& got_dir, const std::string& want_dir) {
  Checkpoint got = Checkpoint::open(got_dir), want = Checkpoint::open(want_dir);
  ASSERT_EQ(got.names().size(), want.names().size());
  for (const auto& name : want.names()) {
    ASSERT_TRUE(got.contains(name)) << name;
    TensorRef a = got.tensor(name), b = want.tensor(name);
    ASSERT_EQ(a.info->dtype, b.info->dtype) << name;
    ASSERT_EQ(a.info->shape, b.info->shape) << name;
    EXPECT_EQ(std::memcmp(a.data, b.data, a.info->nbytes()), 0) << name << " differs";
  }
}

struct FixtureCase {
  const char* model;
  std::vector<int64_t> after;
  std::optional<DType> dtype;  // the reference expansions are stored in float32
};

class ExpandFixture : public ::testing::TestWithParam<FixtureCase> {};

TEST_P(ExpandFixture, BitIdenticalToReferenceExpansion) {
  LP_REQUIRE_FIXTURES();
  const FixtureCase& c = GetParam();
  const std::string base = fixture(std::string("models/") + c.model);
  TempDir tmp;
  ExpandOptions o = quiet(c.after);
  o.dtype = c.dtype;
  ExpandResult r = expand_model(base, tmp.str("out"), o);
  expect_same_tensors(tmp.str("out"), base + "-expanded");

  json got = read_json_file(tmp.str("out/config.json")), want = read_json_file(base + "-expanded/config.json");
  EXPECT_EQ(got["num_hidden_layers"], want["num_hidden_layers"]);
  EXPECT_EQ(r.manifest.stages.size(), 1u);
  EXPECT_EQ(r.manifest.stages[0].name, "stage-1");
}

INSTANTIATE_TEST_SUITE_P(Models, ExpandFixture,
                         ::testing::Values(FixtureCase{"stories260K", {2, 4}, std::nullopt},
                                           FixtureCase{"tiny-llama", {1, 3}, std::nullopt},
                                           FixtureCase{"tiny-qwen2", {0, 1, 2, 3}, std::nullopt},
                                           FixtureCase{"tiny-llama3", {1, 3, 5}, DType::F32}),
                         [](const auto& info) {
                           std::string n = info.param.model;
                           for (auto& ch : n) if (ch == '-') ch = '_';
                           return n;
                         });

TEST(Expander, ShardsTheOutputAndKeepsSideFiles) {
  LP_REQUIRE_FIXTURES();
  TempDir tmp;
  ExpandOptions o = quiet({2, 4});
  o.max_shard_bytes = 100'000;
  ExpandResult r = expand_model(fixture("models/stories260K"), tmp.str("out"), o);
  EXPECT_GT(r.shards, 5u);
  EXPECT_TRUE(std::filesystem::exists(tmp.str("out/model.safetensors.index.json")));
  EXPECT_TRUE(std::filesystem::exists(tmp.str("out/tokenizer.json")));
  expect_same_tensors(tmp.str("out"), fixture("models/stories260K-expanded"));
}

TEST(Expander, TwoStagesGiveAManifestWithShiftedIndices) {
  LP_REQUIRE_FIXTURES();
  TempDir tmp;
  expand_model(fixture("models/stories260K"), tmp.str("s1"), quiet({2, 4}));  // new at 3, 6
  ExpandOptions o = quiet({0, 3});  // copies of block 0 and of stage-1's block 3
  o.stage = "math";
  ExpandResult r = expand_model(tmp.str("s1"), tmp.str("s2"), o);
  const Manifest& m = r.manifest;
  ASSERT_EQ(m.blocks.size(), 9u);
  ASSERT_EQ(m.stages.size(), 2u);
  EXPECT_EQ(m.stages[0].name, "stage-1");
  // Old: 0 1 2 [3] 4 5 [6]  ->  new: 0 [1] 2 3 [4] [5] 6 7 [8]
  EXPECT_EQ(m.stages[0].positions, (std::vector<int64_t>{4, 8}));
  EXPECT_EQ(m.stages[1].name, "math");
  EXPECT_EQ(m.stages[1].positions, (std::vector<int64_t>{1, 5}));
  EXPECT_EQ(m.blocks_of("stage-1"), (std::vector<int64_t>{4, 8}));
  EXPECT_EQ(m.blocks[4].source, 3);  // stage-1's copy of base block 2, now at 3
  EXPECT_EQ(m.blocks[5].origin, "math");
  EXPECT_EQ(m.blocks[5].source, 4);  // a copy of the stage-1 block
  EXPECT_EQ(m.blocks[7].origin, "base");
  EXPECT_EQ(m.blocks[7].source, 4);  // base index survives
  // Saved and read back the same.
  auto loaded = Manifest::load_if_present(tmp.str("s2"), 9);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->to_json(), m.to_json());
  // The stage name must be new.
  EXPECT_THROW(expand_model(tmp.str("s2"), tmp.str("s3"), o), Error);
}

TEST(Expander, RandomInitKeepsZeroedOutputs) {
  LP_REQUIRE_FIXTURES();
  TempDir tmp;
  ExpandOptions o = quiet({1});
  o.request.init = BlockInit::Random;
  o.seed = 7;
  expand_model(fixture("models/tiny-llama"), tmp.str("out"), o);
  Checkpoint ck = Checkpoint::open(tmp.str("out"));
  auto values = [&](BlockTensor t) {
    TensorRef r = ck.tensor(block_tensor_name(2, t));
    return std::vector<float>((const float*)r.data, (const float*)r.data + r.info->numel());
  };
  for (float v : values(BlockTensor::O)) ASSERT_EQ(v, 0.0f);
  for (float v : values(BlockTensor::Down)) ASSERT_EQ(v, 0.0f);
  for (float v : values(BlockTensor::AttnNorm)) ASSERT_EQ(v, 1.0f);
  auto q = values(BlockTensor::Q);
  double sum2 = 0;
  for (float v : q) sum2 += double(v) * v;
  double std = std::sqrt(sum2 / q.size());
  EXPECT_NEAR(std, 0.02, 0.002);  // initializer_range
}

TEST(Expander, RefusesExistingOutputUnlessForcedAndNeverTouchesInput) {
  LP_REQUIRE_FIXTURES();
  TempDir tmp;
  std::filesystem::create_directory(tmp.str("out"));
  auto snapshot = [](const std::string& dir) {
    std::map<std::string, std::string> files;
    for (auto& e : std::filesystem::directory_iterator(dir)) files[e.path().filename()] = testing::read_text(e.path());
    return files;
  };
  auto before = snapshot(fixture("models/tiny-llama"));
  ExpandOptions o = quiet({1});
  EXPECT_THROW(expand_model(fixture("models/tiny-llama"), tmp.str("out"), o), Error);
  o.force = true;
  expand_model(fixture("models/tiny-llama"), tmp.str("out"), o);
  EXPECT_TRUE(std::filesystem::exists(tmp.str("out/llamapro.json")));
  EXPECT_EQ(snapshot(fixture("models/tiny-llama")), before);
  // Nothing left behind next to the output.
  size_t entries = 0;
  for (auto& e : std::filesystem::directory_iterator(tmp.path())) entries += e.path().filename() == "out" ? 0 : 1;
  EXPECT_EQ(entries, 0u);
}

TEST(Expander, FailureLeavesNoOutput) {
  LP_REQUIRE_FIXTURES();
  TempDir tmp;
  ExpandOptions o = quiet({1});
  o.request.zeroed = {"mlp.no_such_proj"};
  EXPECT_THROW(expand_model(fixture("models/tiny-llama"), tmp.str("out"), o), Error);
  EXPECT_FALSE(std::filesystem::exists(tmp.str("out")));
  EXPECT_TRUE(std::filesystem::is_empty(tmp.path()));
}

}  // namespace
}  // namespace llamapro
