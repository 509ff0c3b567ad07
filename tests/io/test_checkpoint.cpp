// test_checkpoint.cpp — conformance of Checkpoint, ModelConfig and validate_checkpoint (and of
// `llamapro inspect`) on every model folder of $LLAMAPRO_FIXTURES/models.
#include <gtest/gtest.h>

#include <algorithm>

#include "io_helpers.h"
#include "model/summary.h"
#include "util/check.h"
#include "util/strings.h"

namespace llamapro::testing {
namespace {

// What the fixtures README says about each base model, and the expansions made of it.
struct Expected {
  std::string name;
  int64_t layers;
  bool tied;
  DType dtype;                      // of the base folder
  std::vector<int64_t> new_blocks;  // in the -expanded variant
  int64_t parameters;               // as transformers counts them (tied weights once); 0: unchecked
};

const std::vector<Expected>& expectations() {
  static const std::vector<Expected> e = {
      {"stories260K", 5, true, DType::F32, {3, 6}, 260032},
      {"tiny-llama", 4, false, DType::F32, {2, 5}, 221760},
      {"tiny-qwen2", 4, true, DType::F32, {1, 3, 5, 7}, 0},
      {"tiny-llama3", 6, true, DType::BF16, {2, 5, 8}, 0},
  };
  return e;
}

std::vector<std::string> model_folders() {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(fixture("models")))
    if (e.is_directory()) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(FixtureCheckpoints, EveryFolderOpensAndMatchesItsConfig) {
  LP_REQUIRE_FIXTURES();
  auto folders = model_folders();
  ASSERT_GE(folders.size(), 12u) << "4 models x {base, expanded, expanded-perturbed}";
  for (const auto& name : folders) {
    SCOPED_TRACE(name);
    const fs::path dir = fixture("models/" + name);
    Checkpoint ck = Checkpoint::open(dir);
    ModelConfig c = ModelConfig::from_json(ck.config(), "config.json");
    EXPECT_NO_THROW(validate_checkpoint(c, ck));
    // Every expected tensor has the shape the table derives from the config.
    for (const auto& e : model_tensors(c)) EXPECT_EQ(ck.tensor(e.name).info->shape, e.shape) << e.name;
    // Pointers stay inside their mapped shard.
    for (const auto& n : ck.names()) {
      TensorRef r = ck.tensor(n);
      const uint8_t* begin = r.file->mapping().data();
      EXPECT_GE(r.data, begin);
      EXPECT_LE(r.data + r.info->nbytes(), begin + r.file->mapping().size());
    }
    uint64_t sum = 0;
    for (const auto& n : ck.names()) sum += ck.tensor(n).info->nbytes();
    EXPECT_EQ(ck.tensor_bytes(), sum);

    const Expected* base = nullptr;
    for (const auto& e : expectations())
      if (name == e.name || starts_with(name, e.name + "-expanded")) base = &e;
    if (!base) continue;  // a folder added later: the generic checks above only
    bool expanded = name != base->name;
    EXPECT_EQ(c.num_hidden_layers, base->layers + (expanded ? int64_t(base->new_blocks.size()) : 0));
    EXPECT_EQ(c.tie_word_embeddings, base->tied);
    EXPECT_EQ(ck.contains("lm_head.weight"), !base->tied);
    // Tensors are stored in the dtype config.json declares (the expanded tiny-llama3 is F32).
    for (const auto& n : ck.names()) EXPECT_EQ(ck.tensor(n).info->dtype, parse_weight_dtype(c.torch_dtype)) << n;
    if (!expanded) {
      EXPECT_EQ(parse_weight_dtype(c.torch_dtype), base->dtype);
      if (base->parameters) {
        EXPECT_EQ(parameter_count(c, ck), base->parameters);
      }
      EXPECT_EQ(ck.stored_elements(), parameter_count(c, ck)) << "no extra tensors stored";
    }
  }
}

TEST(FixtureCheckpoints, ExpandedModelsAddZeroedCopies) {
  LP_REQUIRE_FIXTURES();
  for (const auto& e : expectations()) {
    SCOPED_TRACE(e.name);
    Checkpoint base = Checkpoint::open(fixture("models/" + e.name));
    Checkpoint ex = Checkpoint::open(fixture("models/" + e.name + "-expanded"));
    ModelConfig bc = ModelConfig::from_json(base.config(), "base"), xc = ModelConfig::from_json(ex.config(), "expanded");
    // Each added block has |block| parameters more.
    int64_t per_block = 0;
    for (const auto& t : block_tensors(bc, 0)) per_block += base.tensor(t.name).info->numel();
    EXPECT_EQ(parameter_count(xc, ex), parameter_count(bc, base) + per_block * int64_t(e.new_blocks.size()));
    for (int64_t l : e.new_blocks) {
      for (BlockTensor t : {BlockTensor::O, BlockTensor::Down}) {
        TensorRef r = ex.tensor(block_tensor_name(l, t));
        EXPECT_TRUE(std::all_of(r.data, r.data + r.info->nbytes(), [](uint8_t b) { return b == 0; }))
            << block_tensor_name(l, t) << " of a new block must be zero";
      }
      // The copy's other tensors equal those of the block it copies (the one just before).
      TensorRef q = ex.tensor(block_tensor_name(l, BlockTensor::Q));
      TensorRef q_src = ex.tensor(block_tensor_name(l - 1, BlockTensor::Q));
      EXPECT_EQ(std::memcmp(q.data, q_src.data, q.info->nbytes()), 0) << "layer " << l;
    }
  }
}

TEST(FixtureCheckpoints, TinyLlamaIs22ShardsAgreeingWithItsIndex) {
  LP_REQUIRE_FIXTURES();
  const fs::path dir = fixture("models/tiny-llama");
  Checkpoint ck = Checkpoint::open(dir);
  EXPECT_TRUE(ck.is_sharded());
  EXPECT_EQ(ck.shards().size(), 22u);
  json index = read_json_file(dir / "model.safetensors.index.json");
  ModelConfig c = ModelConfig::from_json(ck.config(), "config.json");
  EXPECT_EQ(parameter_count(c, ck), index["metadata"]["total_parameters"].get<int64_t>());
  EXPECT_EQ(parameter_count(c, ck), 221760);
  EXPECT_EQ(ck.tensor_bytes(), index["metadata"]["total_size"].get<uint64_t>());
  EXPECT_EQ(ck.names().size(), index["weight_map"].size());
  for (const auto& [name, shard] : index["weight_map"].items())
    EXPECT_EQ(ck.tensor(name).file->path().filename().string(), shard.get<std::string>()) << name;
  EXPECT_EQ(c.architecture, "LlamaForCausalLM");
  EXPECT_EQ(c.num_key_value_heads, c.num_attention_heads) << "MHA";
}

TEST(FixtureCheckpoints, Stories260KIsGqaWithTiedEmbeddings) {
  LP_REQUIRE_FIXTURES();
  Checkpoint ck = Checkpoint::open(fixture("models/stories260K"));
  ModelConfig c = ModelConfig::from_json(ck.config(), "config.json");
  EXPECT_FALSE(ck.is_sharded());
  EXPECT_EQ(parameter_count(c, ck), 260032);
  EXPECT_EQ(c.num_hidden_layers, 5);
  EXPECT_EQ(c.hidden_size, 64);
  EXPECT_EQ(c.num_attention_heads, 8);
  EXPECT_EQ(c.num_key_value_heads, 4);
  EXPECT_EQ(c.head_dim, 8);
  EXPECT_EQ(c.vocab_size, 512);
  EXPECT_EQ(ck.tensor(block_tensor_name(0, BlockTensor::K)).info->shape, (std::vector<int64_t>{32, 64}));
}

TEST(FixtureCheckpoints, TinyLlama3IsBf16WithLlama3Rope) {
  LP_REQUIRE_FIXTURES();
  Checkpoint ck = Checkpoint::open(fixture("models/tiny-llama3"));
  ModelConfig c = ModelConfig::from_json(ck.config(), "config.json");
  EXPECT_EQ(c.torch_dtype, "bfloat16");
  for (const auto& n : ck.names()) EXPECT_EQ(ck.tensor(n).info->dtype, DType::BF16) << n;
  EXPECT_EQ(c.rope_scaling.kind, RopeScaling::Kind::Llama3);
  EXPECT_EQ(c.rope_scaling.factor, 8.0);
  EXPECT_EQ(c.rope_scaling.low_freq_factor, 1.0);
  EXPECT_EQ(c.rope_scaling.high_freq_factor, 4.0);
  EXPECT_EQ(c.rope_scaling.original_max_position_embeddings, 64);
  EXPECT_EQ(c.rope_theta, 500000.0);
  EXPECT_EQ(c.num_attention_heads / c.num_key_value_heads, 3);
  // BF16 weights widen exactly: a value read through bf16_to_f32 is finite and equals the bits.
  TensorRef norm = ck.tensor("model.norm.weight");
  uint16_t h;
  std::memcpy(&h, norm.data, 2);
  float f = bf16_to_f32(h);
  EXPECT_TRUE(std::isfinite(f));
  EXPECT_EQ(f32_to_bf16(f), h);
}

TEST(FixtureCheckpoints, TinyQwen2HasQkvBiases) {
  LP_REQUIRE_FIXTURES();
  Checkpoint ck = Checkpoint::open(fixture("models/tiny-qwen2"));
  ModelConfig c = ModelConfig::from_json(ck.config(), "config.json");
  EXPECT_EQ(c.architecture, "Qwen2ForCausalLM");
  EXPECT_TRUE(c.qkv_bias);
  EXPECT_FALSE(c.o_bias);
  EXPECT_EQ(c.rope_theta, 1e6);
  EXPECT_FALSE(c.sliding_window.has_value()) << "use_sliding_window is false";
  EXPECT_TRUE(ck.contains(block_tensor_name(3, BlockTensor::KBias)));
  EXPECT_EQ(ck.tensor(block_tensor_name(0, BlockTensor::KBias)).info->shape, (std::vector<int64_t>{32}));
}

TEST(FixtureCheckpoints, InspectReportsEveryFolder) {
  LP_REQUIRE_FIXTURES();
  for (const auto& name : model_folders()) {
    SCOPED_TRACE(name);
    const fs::path dir = fixture("models/" + name);
    CliResult r = run_cli("inspect --json --layers '" + dir.string() + "'");
    ASSERT_EQ(r.status, 0) << r.err;
    json s = json::parse(r.out);
    Checkpoint ck = Checkpoint::open(dir);
    ModelConfig c = ModelConfig::from_json(ck.config(), "config.json");
    EXPECT_EQ(s["parameters"].get<int64_t>(), parameter_count(c, ck));
    EXPECT_EQ(s["layers"].get<int64_t>(), c.num_hidden_layers);
    EXPECT_EQ(s["layer_table"].size(), size_t(c.num_hidden_layers));
    EXPECT_EQ(s["shards"].size(), ck.shards().size());
    EXPECT_EQ(s["tensor_bytes"].get<uint64_t>(), ck.tensor_bytes());
  }
  CliResult text = run_cli("inspect '" + fixture("models/tiny-llama") + "'");
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_NE(text.out.find("221,760"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("22 safetensors shards"), std::string::npos) << text.out;
  CliResult l3 = run_cli("inspect '" + fixture("models/tiny-llama3") + "'");
  ASSERT_EQ(l3.status, 0) << l3.err;
  EXPECT_NE(l3.out.find("scaling llama3 (factor 8, low 1, high 4, original 64)"), std::string::npos) << l3.out;
}

}  // namespace
}  // namespace llamapro::testing
