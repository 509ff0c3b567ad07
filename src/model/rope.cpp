// rope.cpp — rotary position embeddings (see rope.h).
#include "model/rope.h"

#include <algorithm>
#include <cmath>

namespace llamapro {

torch::Tensor rope_inv_freq(const ModelConfig& c) {
  const int64_t dim = c.head_dim;
  // 1 / theta^(2i/dim), the exponent in float32 as transformers computes it.
  auto exponent = torch::arange(0, dim, 2, torch::TensorOptions().dtype(torch::kLong)).to(torch::kFloat) / double(dim);
  auto inv_freq = 1.0 / torch::pow(torch::scalar_tensor(c.rope_theta, torch::TensorOptions().dtype(torch::kDouble)).to(torch::kFloat), exponent);
  const RopeScaling& s = c.rope_scaling;
  switch (s.kind) {
    case RopeScaling::Kind::None:
      return inv_freq;
    case RopeScaling::Kind::Linear:
      return inv_freq / s.factor;
    case RopeScaling::Kind::Llama3: {
      // Long wavelengths (beyond the pretraining context / low_freq_factor) are slowed by
      // `factor`, short ones (below context / high_freq_factor) kept, those between blended.
      const double old_len = double(s.original_max_position_embeddings);
      const double low_freq_wavelen = old_len / s.low_freq_factor;
      const double high_freq_wavelen = old_len / s.high_freq_factor;
      auto wavelen = 2 * M_PI / inv_freq;
      auto scaled = torch::where(wavelen > low_freq_wavelen, inv_freq / s.factor, inv_freq);
      auto smooth = (old_len / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
      auto smoothed = (1 - smooth) * scaled / s.factor + smooth * scaled;
      auto medium = (wavelen >= high_freq_wavelen).logical_and(wavelen <= low_freq_wavelen);
      return torch::where(medium, smoothed, scaled);
    }
  }
  return inv_freq;
}

int64_t max_sequence_length(const ModelConfig& c) {
  int64_t n = c.max_position_embeddings;
  const RopeScaling& s = c.rope_scaling;
  if (s.kind == RopeScaling::Kind::Linear) n = int64_t(double(n) * s.factor);
  if (s.kind == RopeScaling::Kind::Llama3)
    n = std::max(n, int64_t(double(s.original_max_position_embeddings) * s.factor));
  if (c.sliding_window) n = std::min(n, *c.sliding_window);
  return n;
}

std::pair<torch::Tensor, torch::Tensor> Rope::cos_sin(int64_t start, int64_t T, torch::ScalarType dtype) const {
  return cos_sin(torch::arange(start, start + T, torch::TensorOptions().dtype(torch::kLong).device(inv_freq.device())),
                 dtype);  // (T, HD)
}

std::pair<torch::Tensor, torch::Tensor> Rope::cos_sin(const torch::Tensor& positions, torch::ScalarType dtype) const {
  // One product per element, as transformers' matmul of (HD/2, 1) by (1, T) computes it.
  auto freqs = positions.to(inv_freq.device(), torch::kFloat).unsqueeze(-1) * inv_freq;  // (..., T, HD/2)
  auto emb = torch::cat({freqs, freqs}, -1);                                            // (..., T, HD)
  if (positions.dim() == 2) emb = emb.unsqueeze(1);                                     // (B, 1, T, HD)
  return {emb.cos().to(dtype), emb.sin().to(dtype)};
}

torch::Tensor apply_rope(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
  const int64_t half = x.size(-1) / 2;
  auto x1 = x.narrow(-1, 0, half);
  auto x2 = x.narrow(-1, half, half);
  auto rotated = torch::cat({-x2, x1}, -1);  // (B, H, T, HD)
  return x * cos + rotated * sin;
}

}  // namespace llamapro
