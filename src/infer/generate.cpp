// generate.cpp — prefill the prompt, then one token per step through the KV cache.
#include "infer/generate.h"

#include <algorithm>
#include <chrono>

#include "infer/cpu_decoder.h"
#include "util/check.h"

namespace llamapro {

GenerateResult generate(const Model& model, const std::vector<int64_t>& prompt, const GenerateOptions& options,
                        const std::function<void(int64_t)>& on_token, bool keep_logits) {
  LP_CHECK(!prompt.empty(), "generate needs a prompt of at least one token");
  LP_CHECK(options.max_new_tokens >= 0, "max-new-tokens must be >= 0, got ", options.max_new_tokens);
  const int64_t total = int64_t(prompt.size()) + options.max_new_tokens;
  LP_CHECK(total <= model.max_sequence_length(), "prompt of ", prompt.size(), " tokens + ", options.max_new_tokens,
           " new tokens exceeds the model's limit of ", model.max_sequence_length(), " positions");
  torch::NoGradGuard no_grad;
  Sampler sampler(options.sampler);
  const auto& eos = model.config().eos_token_ids;
  const auto device = model.options().device;
  using clock = std::chrono::steady_clock;

  GenerateResult result;
  std::vector<int64_t> seq = prompt;
  std::optional<KVCache> cache;
  if (options.use_cache) cache.emplace(model.new_cache(1, std::max<int64_t>(total, 1)));

  // One token at a time the CPU decoder skips libtorch's dispatch; the prompt is prefilled by
  // the batched forward pass either way, into the same cache.
  std::optional<CpuDecoder> decoder;
  if (cache && CpuDecoder::supports(model)) decoder.emplace(model, *cache);

  auto t0 = clock::now();
  auto as_tensor = [&](const int64_t* ids, int64_t n) {
    return torch::from_blob(const_cast<int64_t*>(ids), {1, n}, torch::kLong).to(device, /*non_blocking=*/false, /*copy=*/true);
  };
  torch::Tensor last;  // (V) float32 on the CPU: the next-token logits of a forward pass
  const float* next_logits = nullptr;  // what the sampler reads: `last`, or the decoder's buffer
  auto run_forward = [&](const int64_t* ids, int64_t n, KVCache* kv) {
    last = model.last_logits(as_tensor(ids, n), kv).squeeze(0).to(torch::kCPU, torch::kFloat).contiguous();
    next_logits = last.data_ptr<float>();
  };
  const int64_t vocab = model.config().vocab_size;
  if (options.max_new_tokens > 0) run_forward(seq.data(), int64_t(seq.size()), cache ? &*cache : nullptr);
  auto t1 = clock::now();
  result.prefill_seconds = std::chrono::duration<double>(t1 - t0).count();

  for (int64_t step = 0; step < options.max_new_tokens; step++) {
    if (keep_logits) result.logits.push_back(torch::from_blob(const_cast<float*>(next_logits), {vocab}, torch::kFloat).clone());
    const int64_t next = sampler.sample(next_logits, vocab);
    result.tokens.push_back(next);
    seq.push_back(next);
    if (on_token) on_token(next);
    if (options.stop_at_eos && std::find(eos.begin(), eos.end(), next) != eos.end()) {
      result.stopped_at_eos = true;
      break;
    }
    if (options.stop_when && options.stop_when(result.tokens)) break;
    if (step + 1 == options.max_new_tokens) break;
    if (decoder) next_logits = decoder->step(next);
    else if (cache) run_forward(&seq.back(), 1, &*cache);
    else run_forward(seq.data(), int64_t(seq.size()), nullptr);
  }
  result.decode_seconds = std::chrono::duration<double>(clock::now() - t1).count();
  return result;
}

}  // namespace llamapro
