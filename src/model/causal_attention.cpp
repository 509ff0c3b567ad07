// causal_attention.cpp — see causal_attention.h.
#include "model/causal_attention.h"

#include <ATen/Parallel.h>

#include <cmath>

#include "kernels/attention_loops.h"
#include "util/check.h"

namespace llamapro {

namespace {

// Head h of batch row b of a (B, heads, T, HD) tensor whose last dimension is contiguous.
attn::Rows head_of(const torch::Tensor& x, int64_t b, int64_t h) {
  return {x.data_ptr<float>() + b * x.stride(0) + h * x.stride(1), x.stride(2)};
}
attn::MutableRows mutable_head_of(torch::Tensor& x, int64_t b, int64_t h) {
  return {x.data_ptr<float>() + b * x.stride(0) + h * x.stride(1), x.stride(2)};
}

const int64_t* starts_of(const torch::Tensor& first_key, int64_t b, int64_t T) {
  return first_key.defined() ? first_key.data_ptr<int64_t>() + b * T : nullptr;
}

torch::Tensor with_contiguous_rows(const torch::Tensor& x) { return x.stride(3) == 1 ? x : x.contiguous(); }

// (B, NH, T, HD) in the memory order (B, T, NH, HD).
torch::Tensor empty_heads(int64_t B, int64_t NH, int64_t T, int64_t HD, const torch::TensorOptions& options) {
  return torch::empty({B, T, NH, HD}, options).transpose(1, 2);
}

struct CausalAttention : public torch::autograd::Function<CausalAttention> {
  // first_key: (B, T) int64 or undefined (passed by pointer: an undefined tensor cannot be an
  // input of this libtorch's autograd functions).
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, torch::Tensor q, torch::Tensor k,
                               torch::Tensor v, const torch::Tensor* first_key) {
    q = with_contiguous_rows(q), k = with_contiguous_rows(k), v = with_contiguous_rows(v);
    const torch::Tensor starts = first_key->defined() ? first_key->contiguous() : torch::Tensor();
    if (starts.defined()) ctx->saved_data["first_key"] = starts;
    const int64_t B = q.size(0), NH = q.size(1), T = q.size(2), HD = q.size(3), n_rep = NH / k.size(1);
    const float scale = float(1.0 / std::sqrt(double(HD)));
    torch::Tensor out = empty_heads(B, NH, T, HD, q.options());
    torch::Tensor lse = torch::empty({B, NH, T}, q.options());
    at::parallel_for(0, B * NH, 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; i++) {
        const int64_t b = i / NH, h = i % NH;
        attn::causal_forward(head_of(q, b, h), head_of(k, b, h / n_rep), head_of(v, b, h / n_rep),
                             starts_of(starts, b, T), T, HD, scale, mutable_head_of(out, b, h),
                             lse.data_ptr<float>() + i * T);
      }
    });
    ctx->save_for_backward({q, k, v, out, lse});
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor &q = saved[0], &k = saved[1], &v = saved[2], &out = saved[3], &lse = saved[4];
    const torch::Tensor d_out = with_contiguous_rows(grads[0]);
    const torch::Tensor starts =
        ctx->saved_data.count("first_key") ? ctx->saved_data["first_key"].toTensor() : torch::Tensor();
    const int64_t B = q.size(0), NH = q.size(1), T = q.size(2), HD = q.size(3), NKV = k.size(1), n_rep = NH / NKV;
    const float scale = float(1.0 / std::sqrt(double(HD)));
    torch::Tensor d_q = empty_heads(B, NH, T, HD, q.options());
    // Per query head; the heads sharing a KV head are summed after.
    torch::Tensor d_k = empty_heads(B, NH, T, HD, q.options()), d_v = empty_heads(B, NH, T, HD, q.options());
    at::parallel_for(0, B * NH, 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; i++) {
        const int64_t b = i / NH, h = i % NH;
        attn::causal_backward(head_of(q, b, h), head_of(k, b, h / n_rep), head_of(v, b, h / n_rep),
                              starts_of(starts, b, T), head_of(out, b, h), lse.data_ptr<float>() + i * T,
                              head_of(d_out, b, h), T, HD, scale,
                              mutable_head_of(d_q, b, h), mutable_head_of(d_k, b, h), mutable_head_of(d_v, b, h));
      }
    });
    if (n_rep > 1) {  // (B, T, NH, HD) memory -> the sum over each KV head's group -> (B, NKV, T, HD)
      auto group_sum = [&](const torch::Tensor& x) {
        return x.transpose(1, 2).view({B, T, NKV, n_rep, HD}).sum(3).transpose(1, 2);
      };
      d_k = group_sum(d_k);
      d_v = group_sum(d_v);
    }
    return {d_q, d_k, d_v, {}};
  }
};

}  // namespace

bool causal_attention_applies(torch::Device device, torch::ScalarType dtype, int64_t head_dim) {
  return device.is_cpu() && dtype == torch::kFloat && head_dim % 8 == 0;
}

torch::Tensor causal_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                               const torch::Tensor& first_key) {
  LP_CHECK(q.dim() == 4 && causal_attention_applies(q.device(), q.scalar_type(), q.size(3)) && k.dim() == 4 && v.sizes() == k.sizes() && q.size(0) == k.size(0) &&
               q.size(2) == k.size(2) && q.size(3) == k.size(3) && q.size(1) % k.size(1) == 0 &&
               k.scalar_type() == torch::kFloat && v.scalar_type() == torch::kFloat,
           "internal: causal_attention got q ", q.sizes(), ", k ", k.sizes(), ", v ", v.sizes());
  LP_CHECK(!first_key.defined() || (first_key.scalar_type() == torch::kLong && first_key.dim() == 2 &&
                                    first_key.size(0) == q.size(0) && first_key.size(1) == q.size(2)),
           "internal: causal_attention's first keys must be (B, T) int64");
  return CausalAttention::apply(q, k, v, &first_key);
}

}  // namespace llamapro
