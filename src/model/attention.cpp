// attention.cpp — grouped-query causal self-attention and its KV cache (see attention.h).
#include "model/attention.h"

#include "model/causal_attention.h"
#include "model/compat.h"
#include "model/rope.h"
#include "util/check.h"

namespace llamapro {

KVCache::KVCache(const ModelConfig& c, int64_t batch, int64_t max_len, torch::Device device, torch::ScalarType dtype)
    : capacity_(max_len), batch_(batch) {
  auto opts = torch::TensorOptions().dtype(dtype).device(device);
  for (int64_t l = 0; l < c.num_hidden_layers; l++) {
    k_.push_back(torch::zeros({batch, c.num_key_value_heads, max_len, c.head_dim}, opts));
    v_.push_back(torch::zeros({batch, c.num_key_value_heads, max_len, c.head_dim}, opts));
  }
}

KVCache KVCache::fan_out(int64_t row, int64_t n, int64_t capacity) const {
  LP_CHECK(row >= 0 && row < batch_ && n >= 1 && capacity >= length_, "internal: bad KV cache fan-out");
  KVCache out;
  out.length_ = length_;
  out.capacity_ = capacity;
  out.batch_ = n;
  for (size_t l = 0; l < k_.size(); l++) {
    for (const auto* src : {&k_[l], &v_[l]}) {
      auto t = torch::zeros({n, src->size(1), capacity, src->size(3)}, src->options());  // (n, NKV, capacity, HD)
      t.narrow(2, 0, length_).copy_(src->narrow(0, row, 1).narrow(2, 0, length_).expand({n, -1, -1, -1}));
      (src == &k_[l] ? out.k_ : out.v_).push_back(t);
    }
  }
  return out;
}

namespace {

// (B, NKV, S, HD) -> (B, NH, S, HD): each KV head serves NH/NKV consecutive query heads,
// as transformers' repeat_kv does.
torch::Tensor repeat_kv(const torch::Tensor& x, int64_t n_rep) {
  if (n_rep == 1) return x;
  const int64_t B = x.size(0), NKV = x.size(1), S = x.size(2), HD = x.size(3);
  return x.unsqueeze(2).expand({B, NKV, n_rep, S, HD}).reshape({B, NKV * n_rep, S, HD});
}

}  // namespace

torch::Tensor attention_forward(const AttentionWeights& w, const AttentionShape& s, const torch::Tensor& x,
                                const TokenPlacement& at, KVCache* cache, int64_t layer, bool training) {
  const int64_t B = x.size(0), T = x.size(1), start = at.start;
  auto q = project(x, w.wq, w.bq, w.q_lora, training).view({B, T, s.n_head, s.head_dim}).transpose(1, 2);  // (B, NH, T, HD)
  auto k = project(x, w.wk, w.bk, w.k_lora, training).view({B, T, s.n_kv_head, s.head_dim}).transpose(1, 2);  // (B, NKV, T, HD)
  auto v = project(x, w.wv, w.bv, w.v_lora, training).view({B, T, s.n_kv_head, s.head_dim}).transpose(1, 2);  // (B, NKV, T, HD)
  q = apply_rope(q, at.cos, at.sin);
  k = apply_rope(k, at.cos, at.sin);

  int64_t S = T;
  LP_CHECK(!(cache && (at.mask.defined() || at.first_key.defined())), "internal: packed rows cannot use a KV cache");
  if (cache) {
    LP_CHECK(start + T <= cache->capacity(), "KV cache full: ", start + T, " positions, capacity ", cache->capacity());
    LP_CHECK(cache->batch() == B, "KV cache was made for batch ", cache->batch(), ", got ", B);
    cache->k(layer).narrow(2, start, T).copy_(k);
    cache->v(layer).narrow(2, start, T).copy_(v);
    S = start + T;
    k = cache->k(layer).narrow(2, 0, S);  // (B, NKV, S, HD)
    v = cache->v(layer).narrow(2, 0, S);
  }
  torch::Tensor y;  // (B, NH, T, HD)
  if (S == T && causal_attention_applies(q.device(), q.scalar_type(), s.head_dim)) {
    y = causal_attention(q, k, v, at.first_key);
  } else {
    // Query i sits at position start + i and may see keys 0 .. start + i (packed rows: the
    // caller's mask, which also keeps each document to itself).
    torch::Tensor mask = at.mask;
    bool causal = false;
    if (!mask.defined() && S == T) {
      causal = T > 1;
    } else if (!mask.defined() && T > 1) {
      auto qpos = torch::arange(start, start + T, torch::TensorOptions().dtype(torch::kLong).device(x.device()));
      auto kpos = torch::arange(0, S, torch::TensorOptions().dtype(torch::kLong).device(x.device()));
      mask = kpos.unsqueeze(0) <= qpos.unsqueeze(1);  // (T, S) bool
    }
    const int64_t n_rep = s.n_head / s.n_kv_head;
    y = compat::attention(q, repeat_kv(k, n_rep), repeat_kv(v, n_rep), mask, causal);
  }
  y = y.transpose(1, 2).contiguous().view({B, T, s.n_head * s.head_dim});  // (B, T, NH*HD)
  return project(y, w.wo, w.bo, w.o_lora, training);                    // (B, T, C)
}

}  // namespace llamapro
