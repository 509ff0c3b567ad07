// cpu_decoder.h — one token at a time on the CPU without libtorch's per-op dispatch.
//
// A decoding step is ~15 small operations per block; through libtorch each costs microseconds
// of dispatch, which on small models is most of the time. This decoder runs the same math as
// Model::forward (float32, transformers' order of operations where it matters) in plain loops
// over the model's own weights, and writes keys and values in place into the model's KVCache,
// so a prompt prefilled by Model::forward (batched, fast) continues here and vice versa.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "model/transformer.h"

namespace llamapro {

class CpuDecoder {
 public:
  // True when the model can decode here: on the CPU in float32, without LoRA adapters.
  static bool supports(const Model& model);

  // `cache` (batch 1, the model's float32 cache) must outlive the decoder; positions up to
  // its capacity can be decoded.
  CpuDecoder(const Model& model, KVCache& cache);

  // Runs `token` at position cache.length(), stores its keys and values, advances the cache,
  // and returns the next-token logits (vocabulary size floats, valid until the next step).
  const float* step(int64_t token);

 private:
  struct Block {
    const float *attn_norm, *wq, *bq, *wk, *bk, *wv, *bv, *wo, *bo;
    const float *mlp_norm, *w_gate, *b_gate, *w_up, *b_up, *w_down, *b_down;
  };
  void attention(int64_t layer, int64_t pos);

  KVCache& cache_;
  int64_t dim_, ffn_, vocab_, n_head_, n_kv_head_, head_dim_;
  float eps_;
  const float *embed_, *norm_, *lm_head_;
  std::vector<Block> blocks_;
  torch::Tensor cos_, sin_;  // (capacity, HD), the very tables Model::forward uses
  // Scratch: residual stream, normed input, q/k/v, attention output, projection, MLP, logits.
  std::vector<float> x_, xn_, q_, k_, v_, att_, proj_, hidden_, scores_, logits_;
};

}  // namespace llamapro
