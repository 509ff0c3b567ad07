// io_helpers.h — shared helpers of the io tests: tiny model folders, raw file edits, snapshots.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "common/fixtures.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "model/config.h"
#include "model/tensor_names.h"
#include "util/json.h"

namespace llamapro::testing {

namespace fs = std::filesystem;

inline std::string read_bytes(const fs::path& p) { return read_text(p.string()); }

inline void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << "cannot write " << p;
}

// 64-bit FNV-1a; read_safetensors.py computes the same checksum.
inline uint64_t fnv1a(const uint8_t* p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

// Every regular file under dir (relative path -> bytes): "the input folder is unchanged".
inline std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out[fs::relative(e.path(), dir).string()] = read_bytes(e.path());
    else out[fs::relative(e.path(), dir).string()] = "<not a regular file>";
  return out;
}

// A small valid llama config: 2 layers, C=8, 2 heads, 1 KV head, F=12, V=16.
inline json tiny_config_json() {
  return json::parse(R"({
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 16,
    "hidden_size": 8, "intermediate_size": 12, "num_hidden_layers": 2,
    "num_attention_heads": 2, "num_key_value_heads": 1, "max_position_embeddings": 32,
    "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": false,
    "hidden_act": "silu", "torch_dtype": "float32", "custom_key": {"kept": true}
  })");
}

// Deterministic, distinct contents per tensor.
inline std::vector<float> tensor_values(const std::string& name, int64_t numel) {
  std::vector<float> v(static_cast<size_t>(numel));
  uint32_t seed = static_cast<uint32_t>(fnv1a(reinterpret_cast<const uint8_t*>(name.data()), name.size()));
  for (auto& x : v) {
    seed = seed * 1664525u + 1013904223u;
    x = static_cast<float>(static_cast<int32_t>(seed >> 8) % 2001 - 1000) / 997.0f;
  }
  return v;
}

// Writes config.json and F32 weights for `cfg` into dir: one model.safetensors, or shards of at
// most max_shard_bytes (0 = single file).
inline void write_model(const fs::path& dir, const json& cfg, uint64_t max_shard_bytes = 0) {
  fs::create_directories(dir);
  write_json_file(dir / "config.json", cfg);
  ModelConfig c = ModelConfig::from_json(cfg, "test config");
  std::vector<TensorSpec> specs;
  std::vector<std::vector<float>> values;
  for (const auto& e : model_tensors(c)) {
    specs.push_back({e.name, DType::F32, e.shape});
    int64_t n = 1;
    for (int64_t d : e.shape) n *= d;
    values.push_back(tensor_values(e.name, n));
  }
  CheckpointWriter w(dir, specs, max_shard_bytes ? max_shard_bytes : UINT64_MAX);
  for (size_t i = 0; i < specs.size(); i++) w.write(specs[i].name, values[i].data(), values[i].size() * 4);
  w.finish();
}

// The JSON header and data area of a safetensors file, for edits.
struct RawSafetensors {
  json header;
  std::string data;
};

inline RawSafetensors split_safetensors(const std::string& bytes) {
  uint64_t n = 0;
  for (int i = 7; i >= 0; i--) n = (n << 8) | static_cast<uint8_t>(bytes[i]);
  return {json::parse(bytes.substr(8, n)), bytes.substr(8 + n)};
}

// Reassembles a file from a header text (taken as is) and a data area.
inline std::string join_safetensors(const std::string& header_text, const std::string& data) {
  std::string out(8, '\0');
  uint64_t n = header_text.size();
  for (int i = 0; i < 8; i++) out[i] = static_cast<char>((n >> (8 * i)) & 0xFF);
  return out + header_text + data;
}

inline std::string join_safetensors(const RawSafetensors& r) { return join_safetensors(r.header.dump(), r.data); }

}  // namespace llamapro::testing
