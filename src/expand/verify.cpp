#include "expand/verify.h"

#include <torch/torch.h>

#include <algorithm>
#include <cstdio>

#include "io/checkpoint.h"
#include "model/compat.h"
#include "model/load.h"
#include "model/model_folder.h"
#include "model/tensor_names.h"
#include "util/check.h"
#include "util/random.h"

namespace llamapro {

namespace {

// Whether the expanded folder stores its kept tensors in another dtype than the base (then
// logits can only agree up to that rounding).
bool storage_dtype_changed(const Checkpoint& base, const Checkpoint& expanded) {
  for (auto name : {kEmbedTokens, kFinalNorm})
    if (base.tensor(std::string(name)).info->dtype != expanded.tensor(std::string(name)).info->dtype) return true;
  return false;
}

}  // namespace

VerifyResult verify_expansion(const std::filesystem::path& base_dir, const std::filesystem::path& expanded_dir,
                              const VerifyOptions& o) {
  torch::NoGradGuard no_grad;
  ModelOptions mo;
  mo.device = compat::parse_device(o.device);
  mo.dtype = torch::kFloat;  // the proof is made in float32 whatever the storage dtype
  const ModelFolder base_folder = ModelFolder::open(base_dir), exp_folder = ModelFolder::open(expanded_dir);
  Model base = load_model(base_folder, mo), expanded = load_model(exp_folder, mo);
  LP_CHECK(base.config().vocab_size == expanded.config().vocab_size, "cannot compare ", base_dir.string(), " and ",
           expanded_dir.string(), ": vocabularies differ (", base.config().vocab_size, " vs ",
           expanded.config().vocab_size, ")");

  VerifyResult r;
  const int64_t positions = std::min(base.max_sequence_length(), expanded.max_sequence_length());
  LP_CHECK(o.samples >= 1 && o.seq_len >= 0, "internal: verify needs at least one sequence");
  LP_CHECK(o.seq_len <= positions, "--verify-seq-len ", o.seq_len, " exceeds the models' ", positions, " positions");
  r.samples = o.samples;
  r.seq_len = o.seq_len > 0 ? o.seq_len : std::min<int64_t>(64, positions);
  r.compute_dtype = "f32";
  Rng rng(o.seed);
  std::vector<int64_t> ids(static_cast<size_t>(r.samples * r.seq_len));
  for (auto& id : ids) id = static_cast<int64_t>(rng.next() % static_cast<uint64_t>(base.config().vocab_size));
  torch::Tensor x = torch::tensor(ids, torch::kLong).view({r.samples, r.seq_len}).to(mo.device);  // (B, T)

  std::vector<torch::Tensor> hidden;  // after each block of the expanded model
  torch::Tensor a = base.forward(x).to(torch::kFloat), b = expanded.forward(x, nullptr, &hidden).to(torch::kFloat);
  r.max_abs_diff = (a - b).abs().max().item<double>();
  r.max_abs_logit = a.abs().max().item<double>();
  r.same_argmax = torch::equal(a.argmax(-1), b.argmax(-1));

  // The blocks added by the newest stage must pass their input through unchanged, bit for bit.
  const Manifest* manifest = exp_folder.has_manifest ? &exp_folder.manifest : nullptr;
  if (manifest && !manifest->stages.empty()) {
    for (int64_t j : manifest->stages.back().positions) {
      torch::Tensor in = j == 0 ? torch::embedding(expanded.weights().embed, x) : hidden[size_t(j - 1)];
      double d = (hidden[size_t(j)].to(torch::kFloat) - in.to(torch::kFloat)).abs().max().item<double>();
      r.new_blocks.push_back({j, d});
    }
  }
  // Same weights, same kernels: the logits agree to the last bit up to float32 rounding of the
  // scale. Rounded storage (e.g. --dtype bf16) moves them by about that dtype's epsilon.
  bool rounded = storage_dtype_changed(*base_folder.checkpoint, *exp_folder.checkpoint);
  r.tolerance = (rounded ? 5e-2 : 1e-6) * std::max(1.0, r.max_abs_logit);
  r.passed = r.max_abs_diff <= r.tolerance;
  for (const auto& nb : r.new_blocks) r.passed = r.passed && nb.max_abs_change == 0.0;
  return r;
}

void print_verify(const VerifyResult& r) {
  std::printf("verify: %lld sequences x %lld tokens in %s: max |logit difference| %.3g (logits up to %.3g, allowed %.3g), "
              "greedy choices %s\n",
              (long long)r.samples, (long long)r.seq_len, r.compute_dtype.c_str(), r.max_abs_diff, r.max_abs_logit,
              r.tolerance, r.same_argmax ? "identical" : "DIFFER");
  for (const auto& nb : r.new_blocks)
    std::printf("verify: new block %lld changes its input by %.3g (must be 0)\n", (long long)nb.index, nb.max_abs_change);
  std::printf("verify: %s\n", r.passed ? "PASSED, the expanded model computes the same function" : "FAILED");
}

}  // namespace llamapro
