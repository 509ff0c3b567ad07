// rope.h — rotary position embeddings in the Hugging Face rotate-half layout, with the
// frequency scalings of config.json (none, linear, llama3).
#pragma once

#include <torch/torch.h>

#include "model/config.h"

namespace llamapro {

// Inverse frequencies (HD/2) in float32, computed in the same order of operations as
// transformers (`_compute_default_rope_parameters`, linear: / factor, `_compute_llama3_parameters`)
// so that cos/sin agree bit for bit in float32.
torch::Tensor rope_inv_freq(const ModelConfig& c);

// The longest sequence the model may see: max_position_embeddings, stretched by linear/llama3
// scaling, and never beyond a sliding window (which this model does not implement as a mask).
int64_t max_sequence_length(const ModelConfig& c);

struct Rope {
  torch::Tensor inv_freq;  // (HD/2) float32, on the model's device

  // cos and sin for positions [start, start + T): each (T, HD) in dtype.
  std::pair<torch::Tensor, torch::Tensor> cos_sin(int64_t start, int64_t T, torch::ScalarType dtype) const;
  // cos and sin for a position per token: positions (B, T) int64 -> each (B, 1, T, HD), which
  // broadcasts over the heads of (B, H, T, HD).
  std::pair<torch::Tensor, torch::Tensor> cos_sin(const torch::Tensor& positions, torch::ScalarType dtype) const;
};

// x (B, H, T, HD) rotated: x * cos + rotate_half(x) * sin, rotate_half(x) = cat(-x2, x1).
torch::Tensor apply_rope(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin);

}  // namespace llamapro
