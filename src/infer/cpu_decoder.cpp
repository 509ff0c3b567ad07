// cpu_decoder.cpp — see cpu_decoder.h.
#include "infer/cpu_decoder.h"

#include <ATen/Parallel.h>

#include <cmath>

#include "kernels/vector_math.h"
#include "util/check.h"

namespace llamapro {

namespace {

bool plain_f32(const torch::Tensor& t) {
  return !t.defined() || (t.device().is_cpu() && t.scalar_type() == torch::kFloat && t.is_contiguous());
}

const float* data(const torch::Tensor& t) { return t.defined() ? t.data_ptr<float>() : nullptr; }

// Below this many multiply-adds a parallel region costs more than it saves.
constexpr int64_t kWorkPerThread = 1 << 15;

// Rows of a (rows, cols) matrix per parallel chunk.
int64_t grain_rows(int64_t cols) { return std::max<int64_t>(4, kWorkPerThread / std::max<int64_t>(cols, 1)); }

// y = w x (+ b) over all rows of w, split across threads when large enough.
void project(const float* w, const float* b, const float* x, float* y, int64_t rows, int64_t cols) {
  at::parallel_for(0, rows, grain_rows(cols), [&](int64_t r0, int64_t r1) {
    vec::matvec(w, x, y, cols, r0, r1);
    if (b)
      for (int64_t r = r0; r < r1; r++) y[r] += b[r];
  });
}

}  // namespace

bool CpuDecoder::supports(const Model& model) {
  if (!model.options().device.is_cpu() || model.options().dtype != torch::kFloat) return false;
  if (!model.lora_parameters().empty()) return false;
  for (const auto& p : model.named_parameters())
    if (!plain_f32(p.tensor)) return false;
  return plain_f32(model.weights().lm_head);
}

CpuDecoder::CpuDecoder(const Model& model, KVCache& cache) : cache_(cache) {
  LP_CHECK(supports(model), "internal: the CPU decoder needs a float32 CPU model without adapters");
  LP_CHECK(cache.batch() == 1, "internal: the CPU decoder decodes one sequence");
  const ModelConfig& c = model.config();
  dim_ = c.hidden_size;
  ffn_ = c.intermediate_size;
  vocab_ = c.vocab_size;
  n_head_ = c.num_attention_heads;
  n_kv_head_ = c.num_key_value_heads;
  head_dim_ = c.head_dim;
  eps_ = float(c.rms_norm_eps);
  const ModelWeights& w = model.weights();
  embed_ = data(w.embed);
  norm_ = data(w.norm);
  lm_head_ = data(w.lm_head);
  for (const BlockWeights& b : w.blocks) {
    blocks_.push_back({data(b.attn_norm), data(b.attn.wq), data(b.attn.bq), data(b.attn.wk), data(b.attn.bk),
                       data(b.attn.wv), data(b.attn.bv), data(b.attn.wo), data(b.attn.bo), data(b.mlp_norm),
                       data(b.w_gate), data(b.b_gate), data(b.w_up), data(b.b_up), data(b.w_down), data(b.b_down)});
  }
  for (int64_t l = 0; l < model.n_layers(); l++)
    for (auto* t : {&cache.k(l), &cache.v(l)})
      LP_CHECK(plain_f32(*t), "internal: the CPU decoder needs a contiguous float32 KV cache");
  std::tie(cos_, sin_) = model.rope().cos_sin(0, cache.capacity(), torch::kFloat);
  cos_ = cos_.contiguous();
  sin_ = sin_.contiguous();
  x_.resize(size_t(dim_));
  xn_.resize(size_t(dim_));
  q_.resize(size_t(n_head_ * head_dim_));
  k_.resize(size_t(n_kv_head_ * head_dim_));
  v_.resize(size_t(n_kv_head_ * head_dim_));
  att_.resize(size_t(n_head_ * head_dim_));
  proj_.resize(size_t(dim_));
  hidden_.resize(size_t(ffn_));
  scores_.resize(size_t(n_head_ * cache.capacity()));
  logits_.resize(size_t(vocab_));
}

// Causal attention of the query at `pos` over positions 0..pos of `layer`'s cache, every
// query head reading the KV head it shares (GQA without copying).
void CpuDecoder::attention(int64_t layer, int64_t pos) {
  const int64_t cap = cache_.capacity(), hd = head_dim_, group = n_head_ / n_kv_head_;
  const float* keys = cache_.k(layer).data_ptr<float>();  // (NKV, capacity, HD)
  const float* values = cache_.v(layer).data_ptr<float>();
  const float scale = 1.0f / std::sqrt(float(hd));
  const int64_t grain = std::max<int64_t>(1, kWorkPerThread / ((pos + 1) * hd * 2));
  at::parallel_for(0, n_head_, grain, [&](int64_t h0, int64_t h1) {
    for (int64_t h = h0; h < h1; h++) {
      const int64_t kv = h / group;
      vec::attend(q_.data() + h * hd, keys + kv * cap * hd, values + kv * cap * hd, hd, pos + 1, hd, scale,
                  scores_.data() + h * cap, att_.data() + h * hd);
    }
  });
}

const float* CpuDecoder::step(int64_t token) {
  const int64_t pos = cache_.length();
  LP_CHECK(token >= 0 && token < vocab_, "token id ", token, " out of range [0, ", vocab_, ")");
  LP_CHECK(pos < cache_.capacity(), "KV cache full: ", pos + 1, " positions, capacity ", cache_.capacity());
  const int64_t hd = head_dim_, cap = cache_.capacity(), kv_dim = n_kv_head_ * hd;
  const float* cos = cos_.data_ptr<float>() + pos * hd;
  const float* sin = sin_.data_ptr<float>() + pos * hd;
  std::copy_n(embed_ + token * dim_, dim_, x_.data());

  for (int64_t l = 0; l < int64_t(blocks_.size()); l++) {
    const Block& b = blocks_[size_t(l)];
    vec::rms_norm(x_.data(), b.attn_norm, xn_.data(), dim_, eps_);
    project(b.wq, b.bq, xn_.data(), q_.data(), n_head_ * hd, dim_);
    project(b.wk, b.bk, xn_.data(), k_.data(), kv_dim, dim_);
    project(b.wv, b.bv, xn_.data(), v_.data(), kv_dim, dim_);
    for (int64_t h = 0; h < n_head_; h++) vec::rope(q_.data() + h * hd, cos, sin, hd);
    float* keys = cache_.k(l).data_ptr<float>();
    float* values = cache_.v(l).data_ptr<float>();
    for (int64_t h = 0; h < n_kv_head_; h++) {
      vec::rope(k_.data() + h * hd, cos, sin, hd);
      std::copy_n(k_.data() + h * hd, hd, keys + (h * cap + pos) * hd);
      std::copy_n(v_.data() + h * hd, hd, values + (h * cap + pos) * hd);
    }
    attention(l, pos);
    project(b.wo, b.bo, att_.data(), proj_.data(), dim_, n_head_ * hd);
    vec::add(x_.data(), proj_.data(), dim_);

    vec::rms_norm(x_.data(), b.mlp_norm, xn_.data(), dim_, eps_);
    at::parallel_for(0, ffn_, grain_rows(2 * dim_), [&](int64_t r0, int64_t r1) {
      vec::swiglu_rows(b.w_gate, b.b_gate, b.w_up, b.b_up, xn_.data(), hidden_.data(), dim_, r0, r1);
    });
    project(b.w_down, b.b_down, hidden_.data(), proj_.data(), dim_, ffn_);
    vec::add(x_.data(), proj_.data(), dim_);
  }
  cache_.advance(1);
  vec::rms_norm(x_.data(), norm_, xn_.data(), dim_, eps_);
  project(lm_head_, nullptr, xn_.data(), logits_.data(), vocab_, dim_);
  return logits_.data();
}

}  // namespace llamapro
