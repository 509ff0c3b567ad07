// sampler.h — picking the next token from logits: greedy, or temperature with top-k/top-p.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <random>

namespace llamapro {

struct SamplerConfig {
  double temperature = 0.0;  // 0: greedy (argmax); otherwise logits / temperature
  int64_t top_k = 0;         // keep the k most likely tokens; 0 keeps all
  double top_p = 1.0;        // keep the smallest set whose probability reaches top_p; 1 keeps all
  uint64_t seed = 0;         // the draw is reproducible for a given seed
};

class Sampler {
 public:
  explicit Sampler(const SamplerConfig& config);
  // logits (V), any dtype and device -> token id.
  int64_t sample(const torch::Tensor& logits);
  // The same on n float32 logits in memory (greedy picks without making a tensor).
  int64_t sample(const float* logits, int64_t n);
  bool greedy() const { return config_.temperature <= 0.0; }

 private:
  SamplerConfig config_;
  std::mt19937_64 rng_;
};

}  // namespace llamapro
