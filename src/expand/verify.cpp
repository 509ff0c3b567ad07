#include "expand/verify.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>

#include "io/checkpoint.h"
#include "model/device.h"
#include "model/linear.h"
#include "model/load.h"
#include "model/model_folder.h"
#include "model/rope.h"
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

// Tells the kernel the mapped bytes of `names` are done with, so pages read once do not pile up.
void release(const Checkpoint& ck, const std::vector<std::string>& names) {
  for (const auto& name : names) {
    TensorRef r = ck.tensor(name);
    r.file->mapping().advise_done(r.file->file_offset(*r.info), r.info->nbytes());
  }
}

// A model walked one block at a time: its weights stay in the mapping in their stored dtype
// and only the block being run exists in float32 (on the device), so memory stays near one
// block plus activations whatever the model's size.
class StreamedModel {
 public:
  StreamedModel(const ModelFolder& folder, torch::Device device)
      : folder_(folder), model_(load_model(folder, stored_dtype_options(folder))), device_(device) {
    const ModelConfig& c = model_.config();
    shape_ = {c.num_attention_heads, c.num_key_value_heads, c.head_dim};
    rope_.inv_freq = rope_inv_freq(c).to(device);
  }
  const Model& model() const { return model_; }

  // ids (B, T) -> float32 logits (B, T, V); `on_block(l, input, output)` sees every block.
  torch::Tensor logits(const torch::Tensor& ids,
                       const std::function<void(int64_t, const torch::Tensor&, const torch::Tensor&)>& on_block) {
    const ModelConfig& c = model_.config();
    const ModelWeights& w = model_.weights();
    torch::Tensor x = torch::embedding(w.embed, ids.cpu()).to(device_, torch::kFloat);  // (B, T, C)
    TokenPlacement at;
    std::tie(at.cos, at.sin) = rope_.cos_sin(0, ids.size(1), torch::kFloat);
    for (int64_t l = 0; l < model_.n_layers(); l++) {
      BlockWeights b = w.blocks[size_t(l)];
      for (torch::Tensor* t : block_weight_slots(b))
        if (t->defined()) *t = t->to(device_, torch::kFloat);
      torch::Tensor y = block_forward(b, shape_, c.rms_norm_eps, x, at);
      if (on_block) on_block(l, x, y);
      x = y;
      std::vector<std::string> names;
      for (const auto& e : block_tensors(c, l)) names.push_back(e.name);
      release(*folder_.checkpoint, names);
    }
    x = rms_norm(x, w.norm.to(device_, torch::kFloat), c.rms_norm_eps);
    // The head a slice of the vocabulary at a time, never whole in float32.
    auto logits = torch::empty({ids.size(0), ids.size(1), c.vocab_size}, x.options());  // (B, T, V)
    const int64_t rows = 4096;
    for (int64_t v0 = 0; v0 < c.vocab_size; v0 += rows) {
      const int64_t n = std::min(rows, c.vocab_size - v0);
      logits.narrow(-1, v0, n).copy_(linear_layer(x, w.lm_head.narrow(0, v0, n).to(device_, torch::kFloat)));
    }
    release(*folder_.checkpoint, {std::string(c.tie_word_embeddings ? kEmbedTokens : kLmHead), std::string(kFinalNorm)});
    return logits;
  }

 private:
  // Loading in the stored dtype makes every tensor a view of the mapping (no copy).
  static ModelOptions stored_dtype_options(const ModelFolder& folder) {
    ModelOptions o;
    o.dtype = torch_type(folder.checkpoint->tensor(std::string(kEmbedTokens)).info->dtype);
    return o;
  }

  const ModelFolder& folder_;
  Model model_;
  torch::Device device_;
  AttentionShape shape_;
  Rope rope_;
};

}  // namespace

VerifyResult verify_expansion(const std::filesystem::path& base_dir, const std::filesystem::path& expanded_dir,
                              const VerifyOptions& o) {
  torch::NoGradGuard no_grad;
  const torch::Device device = parse_device(o.device);  // the proof is made in float32 there
  const ModelFolder base_folder = ModelFolder::open(base_dir), exp_folder = ModelFolder::open(expanded_dir);
  StreamedModel base(base_folder, device), expanded(exp_folder, device);
  const ModelConfig &bc = base.model().config(), &ec = expanded.model().config();
  LP_CHECK(bc.vocab_size == ec.vocab_size, "cannot compare ", base_dir.string(), " and ", expanded_dir.string(),
           ": vocabularies differ (", bc.vocab_size, " vs ", ec.vocab_size, ")");

  VerifyResult r;
  const int64_t positions = std::min(base.model().max_sequence_length(), expanded.model().max_sequence_length());
  LP_CHECK(o.samples >= 1 && o.seq_len >= 0, "internal: verify needs at least one sequence");
  LP_CHECK(o.seq_len <= positions, "--verify-seq-len ", o.seq_len, " exceeds the models' ", positions, " positions");
  r.samples = o.samples;
  r.seq_len = o.seq_len > 0 ? o.seq_len : std::min<int64_t>(64, positions);
  r.compute_dtype = "f32";
  Rng rng(o.seed);
  std::vector<int64_t> ids(static_cast<size_t>(r.samples * r.seq_len));
  for (auto& id : ids) id = static_cast<int64_t>(rng.next() % static_cast<uint64_t>(bc.vocab_size));
  torch::Tensor x = torch::tensor(ids, torch::kLong).view({r.samples, r.seq_len});  // (B, T)

  // The blocks added by the newest stage must pass their input through unchanged, bit for bit.
  std::vector<int64_t> newest;
  if (exp_folder.has_manifest && !exp_folder.manifest.stages.empty()) newest = exp_folder.manifest.stages.back().positions;
  torch::Tensor a = base.logits(x, {});
  torch::Tensor b = expanded.logits(x, [&](int64_t l, const torch::Tensor& in, const torch::Tensor& out) {
    if (std::find(newest.begin(), newest.end(), l) != newest.end())
      r.new_blocks.push_back({l, (out - in).abs().max().item<double>()});
  });
  r.same_argmax = torch::equal(a.argmax(-1), b.argmax(-1));
  r.max_abs_logit = std::max(std::abs(a.max().item<double>()), std::abs(a.min().item<double>()));
  r.max_abs_diff = b.sub_(a).abs_().max().item<double>();  // in place: no third logits tensor

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
