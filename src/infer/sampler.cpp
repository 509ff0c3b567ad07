// sampler.cpp — greedy and temperature/top-k/top-p sampling (see sampler.h).
#include "infer/sampler.h"

#include <cmath>

#include "kernels/vector_math.h"
#include "util/check.h"

namespace llamapro {

Sampler::Sampler(const SamplerConfig& config) : config_(config), rng_(config.seed) {
  LP_CHECK(config.temperature >= 0.0, "temperature must be >= 0, got ", config.temperature);
  LP_CHECK(config.top_k >= 0, "top-k must be >= 0, got ", config.top_k);
  LP_CHECK(config.top_p > 0.0 && config.top_p <= 1.0, "top-p must be in (0, 1], got ", config.top_p);
}

namespace {
// A model with NaN or inf weights would otherwise pick token 0 forever.
void check_finite_logits(const float* logits, int64_t n) {
  for (int64_t i = 0; i < n; i++)
    LP_CHECK(std::isfinite(logits[i]), "the model's logits are not finite numbers (", logits[i], " for token ", i,
             "): its weights are broken");
}
}  // namespace

int64_t Sampler::sample(const float* logits, int64_t n) {
  check_finite_logits(logits, n);
  if (greedy()) return vec::argmax(logits, n);
  return sample(torch::from_blob(const_cast<float*>(logits), {n}, torch::kFloat));
}

int64_t Sampler::sample(const torch::Tensor& logits) {
  auto x = logits.detach().to(torch::kCPU, torch::kFloat).reshape({-1}).contiguous();  // (V)
  check_finite_logits(x.data_ptr<float>(), x.numel());
  if (greedy()) return x.argmax().item<int64_t>();

  x = x / config_.temperature;
  // Candidates in descending order of probability, cut by top-k, then by top-p.
  auto [sorted, order] = x.sort(/*dim=*/0, /*descending=*/true);  // (V), (V)
  int64_t keep = sorted.size(0);
  if (config_.top_k > 0 && config_.top_k < keep) keep = config_.top_k;
  auto probs = torch::softmax(sorted.narrow(0, 0, keep), 0);      // (keep)
  if (config_.top_p < 1.0) {
    // The smallest prefix whose mass reaches top_p (always at least one token).
    auto cum = probs.cumsum(0);
    int64_t n = (cum < config_.top_p).sum().item<int64_t>() + 1;
    keep = std::min(keep, n);
    probs = probs.narrow(0, 0, keep);
    probs = probs / probs.sum();
  }
  const float* p = probs.contiguous().data_ptr<float>();
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  double r = uniform(rng_), acc = 0.0;
  int64_t pick = keep - 1;  // rounding leftovers land on the last candidate
  for (int64_t i = 0; i < keep; i++) {
    acc += p[i];
    if (r < acc) {
      pick = i;
      break;
    }
  }
  return order[pick].item<int64_t>();
}

}  // namespace llamapro
