// attention.h — causal self-attention with grouped KV heads (MHA, GQA, MQA), optional
// biases, rotary positions, and the KV cache that incremental decoding appends to.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "model/config.h"
#include "model/lora.h"

namespace llamapro {

// Shape letters: B batch, T new positions, S attended positions (cache + new), C hidden size,
// NH query heads, NKV key/value heads, HD head dim.
struct AttentionWeights {
  torch::Tensor wq;  // (NH*HD, C)
  torch::Tensor bq;  // (NH*HD), undefined without qkv_bias
  torch::Tensor wk;  // (NKV*HD, C)
  torch::Tensor bk;  // (NKV*HD)
  torch::Tensor wv;  // (NKV*HD, C)
  torch::Tensor bv;  // (NKV*HD)
  torch::Tensor wo;  // (C, NH*HD)
  torch::Tensor bo;  // (C), undefined without o_bias
  LoraPair q_lora, k_lora, v_lora, o_lora;  // adapters, when attached
};

// Keys and values of earlier positions, per layer, preallocated to max_len positions.
class KVCache {
 public:
  KVCache(const ModelConfig& c, int64_t batch, int64_t max_len, torch::Device device, torch::ScalarType dtype);

  int64_t length() const { return length_; }     // positions already stored
  int64_t capacity() const { return capacity_; }
  int64_t batch() const { return batch_; }
  void advance(int64_t n) { length_ += n; }       // after every layer stored n more positions
  void clear() { length_ = 0; }
  // `n` sequences that all start with this cache's sequence `row` (its first length()
  // positions), with room for `capacity` positions: one shared prompt, several continuations.
  KVCache fan_out(int64_t row, int64_t n, int64_t capacity) const;
  torch::Tensor& k(int64_t layer) { return k_[size_t(layer)]; }  // (B, NKV, max_len, HD)
  torch::Tensor& v(int64_t layer) { return v_[size_t(layer)]; }  // (B, NKV, max_len, HD)

 private:
  KVCache() = default;
  int64_t length_ = 0, capacity_ = 0, batch_ = 0;
  std::vector<torch::Tensor> k_, v_;
};

struct AttentionShape {
  int64_t n_head = 0;     // NH
  int64_t n_kv_head = 0;  // NKV
  int64_t head_dim = 0;   // HD
};

// Where the tokens of one forward pass sit.
struct TokenPlacement {
  torch::Tensor cos, sin;  // rotary tables: (T, HD), or (B, 1, T, HD) for a position per token
  int64_t start = 0;       // position of the first token (after the cached ones)
  // Packed rows: the causal mask within each document, as (B, 1, T, T) bool (true = may attend)
  // where model/causal_attention does not apply, and as each query's document start (B, T) int64.
  torch::Tensor mask;
  torch::Tensor first_key;
};

// x (B, T, C) -> (B, T, C). With a cache, the new keys/values are stored at [start, start + T)
// of `layer` and all earlier ones attended. `training` turns on the adapters' dropout.
torch::Tensor attention_forward(const AttentionWeights& w, const AttentionShape& s, const torch::Tensor& x,
                                const TokenPlacement& at, KVCache* cache, int64_t layer, bool training);

}  // namespace llamapro
