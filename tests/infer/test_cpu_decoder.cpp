// test_cpu_decoder.cpp — the loop decoder against Model::forward: the same logits at every
// step on the fixture models (GQA, biases, llama3 rope scaling, bf16 weights read as float32)
// and on a wide random model whose projections split across threads; the KV cache it writes
// is the one Model::forward reads.
#include <gtest/gtest.h>

#include "common/fixtures.h"
#include "infer/cpu_decoder.h"
#include "model/adapter.h"
#include "model/load.h"

namespace llamapro {
namespace {

using testing::fixture;

double rel_error(const float* out, const torch::Tensor& ref) {
  auto o = torch::from_blob(const_cast<float*>(out), {ref.numel()}, torch::kFloat);
  return ((o - ref.reshape({-1})).norm() / ref.norm()).item<double>();
}

// Prefills `prompt` with Model::forward, decodes `steps` tokens with the decoder (feeding
// pseudo-random ids), and compares every step with the last position of a full forward pass.
void expect_same_as_forward(const Model& model, int64_t steps, const std::string& what) {
  torch::NoGradGuard no_grad;
  const int64_t V = model.config().vocab_size;
  std::vector<int64_t> seq = {1, 5 % V, 9 % V, 17 % V, 33 % V};
  KVCache cache = model.new_cache(1, int64_t(seq.size()) + steps + 2);
  model.forward(torch::tensor(seq).unsqueeze(0), &cache);
  CpuDecoder decoder(model, cache);
  for (int64_t s = 0; s < steps; s++) {
    const int64_t token = (s * 37 + 11) % V;
    seq.push_back(token);
    const float* logits = decoder.step(token);
    ASSERT_EQ(cache.length(), int64_t(seq.size()));
    auto full = model.forward(torch::tensor(seq).unsqueeze(0));  // (1, T, V)
    EXPECT_LT(rel_error(logits, full.select(1, full.size(1) - 1)), 1e-5) << what << " step " << s;
  }
  // Model::forward continues from the cache the decoder wrote.
  seq.push_back(3 % V);
  auto cached = model.forward(torch::tensor(std::vector<int64_t>{seq.back()}).unsqueeze(0), &cache);
  auto full = model.forward(torch::tensor(seq).unsqueeze(0));
  EXPECT_LT(((cached.reshape({-1}) - full.select(1, full.size(1) - 1).reshape({-1})).norm() /
             full.select(1, full.size(1) - 1).norm())
                .item<double>(),
            1e-5)
      << what;
}

TEST(CpuDecoder, LogitsEqualForwardOnFixtureModels) {
  LP_REQUIRE_FIXTURES();
  for (const char* name : {"stories260K", "tiny-llama", "tiny-qwen2", "tiny-llama3", "stories260K-expanded"}) {
    Model model = load_model(fixture(std::string("models/") + name), ModelOptions{});
    ASSERT_TRUE(CpuDecoder::supports(model)) << name;
    expect_same_as_forward(model, 12, name);
  }
}

TEST(CpuDecoder, WideGqaModelSplitAcrossThreads) {
  // Heads of 128 (the widest vector path), 4 query heads per KV head, projections large enough
  // to be split between threads.
  ModelConfig c;
  c.hidden_size = 1024;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 8;
  c.num_key_value_heads = 2;
  c.head_dim = 128;
  c.intermediate_size = 2816;
  c.vocab_size = 3000;
  c.max_position_embeddings = 64;
  Model model = random_model(c, ModelOptions{}, 7);
  expect_same_as_forward(model, 6, "random 1024-wide GQA");
}

TEST(CpuDecoder, DeclinesModelsItCannotRun) {
  LP_REQUIRE_FIXTURES();
  const std::string dir = fixture("models/stories260K");
  ModelOptions bf16;
  bf16.dtype = torch::kBFloat16;
  EXPECT_FALSE(CpuDecoder::supports(load_model(dir, bf16)));
  Model adapted = load_model(dir, ModelOptions{});
  LoraSpec spec;
  spec.rank = 2;
  spec.blocks = {0, 1};
  add_lora(adapted, spec, 1);
  EXPECT_FALSE(CpuDecoder::supports(adapted));  // generate() takes the libtorch path
}

}  // namespace
}  // namespace llamapro
