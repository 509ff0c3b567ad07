// generate.h — autoregressive decoding of one sequence with the KV cache.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "infer/sampler.h"
#include "model/transformer.h"

namespace llamapro {

struct GenerateOptions {
  int64_t max_new_tokens = 64;
  SamplerConfig sampler;   // greedy by default
  bool stop_at_eos = true;  // stop after any of the config's eos_token_ids
  bool use_cache = true;    // false: recompute the whole sequence each step (reference path)
  // Asked after each new token with all new tokens so far; true ends the generation there
  // (stop sequences).
  std::function<bool(const std::vector<int64_t>& generated)> stop_when;
};

struct GenerateResult {
  std::vector<int64_t> tokens;  // the new tokens, the EOS included when it stopped there
  std::vector<torch::Tensor> logits;  // (V) float32 per step, only when asked for
  bool stopped_at_eos = false;
  double prefill_seconds = 0.0, decode_seconds = 0.0;
};

// Generates after `prompt` (non-empty). `on_token` sees each new token as it comes.
// keep_logits stores each step's next-token logits (tests, debugging).
GenerateResult generate(const Model& model, const std::vector<int64_t>& prompt, const GenerateOptions& options,
                        const std::function<void(int64_t)>& on_token = {}, bool keep_logits = false);

}  // namespace llamapro
