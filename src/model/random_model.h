// random_model.h — random-initialised model folders of known shapes (presets), for demos,
// benchmarks and tests that need a model of a given size without any download.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "io/dtype.h"
#include "model/config.h"

namespace llamapro {

struct ModelPreset {
  std::string name;
  std::string description;
  json config;  // a complete Hugging Face config.json
};

const std::vector<ModelPreset>& model_presets();
json preset_config(const std::string& name);  // throws naming the presets for unknown names

struct RandomModelOptions {
  DType dtype = DType::F32;
  uint64_t seed = 0;
  uint64_t max_shard_bytes = 5'000'000'000;
  bool force = false;
  bool progress = true;
};

// Writes config.json, generation_config.json, a byte-level tokenizer (tokenizer.json) and
// HF-initialised weights to `out`, atomically.
void write_random_model(const ModelConfig& config, const std::filesystem::path& out, const RandomModelOptions& o);

// A byte-level BPE tokenizer.json without merges: one token per byte, plus <s>, </s>, <unk>
// at ids 256, 257, 258. Small, complete and loadable by Hugging Face tokenizers.
json byte_level_tokenizer_json();

}  // namespace llamapro
