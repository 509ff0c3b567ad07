// config.h — ModelConfig: what a Hugging Face config.json says about a LLaMA-family model,
// and the table of supported architectures.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "util/json.h"

namespace llamapro {

// RoPE frequency scaling (config "rope_scaling"). Only the kinds the model implements exist
// here; others are refused when parsing.
struct RopeScaling {
  enum class Kind { None, Linear, Llama3 };
  Kind kind = Kind::None;
  double factor = 1.0;
  double low_freq_factor = 1.0;               // llama3: wavelengths above orig/low are scaled
  double high_freq_factor = 4.0;              // llama3: wavelengths below orig/high are kept
  int64_t original_max_position_embeddings = 8192;  // llama3: the pretraining context
  std::string kind_name() const;
};

struct ModelConfig {
  std::string architecture;  // "LlamaForCausalLM"
  std::string model_type;    // "llama"
  int64_t hidden_size = 0;        // C
  int64_t num_hidden_layers = 0;  // L
  int64_t num_attention_heads = 0;  // NH
  int64_t num_key_value_heads = 0;  // NKV (GQA: NH % NKV == 0)
  int64_t head_dim = 0;             // HD, usually C / NH
  int64_t intermediate_size = 0;    // MLP width
  int64_t vocab_size = 0;           // V
  int64_t max_position_embeddings = 2048;
  std::optional<int64_t> sliding_window;  // attention window when the model uses one
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  double initializer_range = 0.02;  // std of the normal used to initialise weights
  bool tie_word_embeddings = false;  // lm_head shares model.embed_tokens.weight
  bool qkv_bias = false;             // q/k/v projections have biases (qwen2, llama attention_bias)
  bool o_bias = false;               // o_proj has a bias (llama attention_bias)
  bool mlp_bias = false;             // gate/up/down have biases (llama mlp_bias)
  std::string torch_dtype = "float32";
  std::optional<int64_t> bos_token_id;
  std::vector<int64_t> eos_token_ids;
  json raw;  // config.json as read, so keys we do not interpret survive a rewrite

  // Parses and validates; `where` names the file in errors.
  static ModelConfig from_json(const json& j, const std::string& where);
  // raw with the interpreted fields written back (e.g. a new num_hidden_layers).
  json to_json() const;
  int64_t kv_dim() const { return num_key_value_heads * head_dim; }
  int64_t q_dim() const { return num_attention_heads * head_dim; }
};

// The Hugging Face classes llamapro supports, e.g. "LlamaForCausalLM, MistralForCausalLM, ...".
std::string supported_architectures();

}  // namespace llamapro
