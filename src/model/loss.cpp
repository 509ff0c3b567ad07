// loss.cpp — see loss.h.
#include "model/loss.h"

#include <ATen/Parallel.h>

#include <algorithm>

#include "kernels/vector_math.h"
#include "model/linear.h"
#include "util/check.h"

namespace llamapro {

torch::Tensor next_token_loss(const torch::Tensor& logits, const torch::Tensor& ids, const torch::Tensor& mask) {
  LP_CHECK(logits.dim() == 3 && ids.dim() == 2 && logits.size(0) == ids.size(0) && logits.size(1) == ids.size(1),
           "next_token_loss: logits (B, T, V) and ids (B, T) do not match");
  const int64_t T = ids.size(1), V = logits.size(2);
  LP_CHECK(T >= 2, "next_token_loss needs sequences of at least 2 tokens, got ", T);
  auto pred = logits.narrow(1, 0, T - 1).reshape({-1, V}).to(torch::kFloat);  // (B*(T-1), V)
  auto target = ids.narrow(1, 1, T - 1).reshape({-1}).to(pred.device());     // (B*(T-1))
  if (!mask.defined()) return torch::nn::functional::cross_entropy(pred, target);
  auto weight = mask.narrow(1, 1, T - 1).reshape({-1}).to(pred.device(), torch::kFloat);  // (B*(T-1))
  auto nll = torch::nn::functional::cross_entropy(
      pred, target, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
  return (nll * weight).sum() / weight.sum().clamp_min(1.0);
}

namespace {

// Logits per chunk: 32 MB in float32, small enough to be read back from cache.
constexpr int64_t kChunkLogits = int64_t(1) << 23;

// Rows (R, V) of float32 logits -> each row's cross-entropy (R); the rows are overwritten
// with scale * (softmax - onehot(target)).
torch::Tensor cross_entropy_grad_rows(torch::Tensor& logits, const torch::Tensor& target, const torch::Tensor& scale) {
  const int64_t R = logits.size(0), V = logits.size(1);
  if (logits.device().is_cpu()) {
    auto loss = torch::empty({R}, logits.options());
    auto t = target.contiguous(), s = scale.contiguous();
    float* rows = logits.data_ptr<float>();
    const int64_t* targets = t.data_ptr<int64_t>();
    const float* scales = s.data_ptr<float>();
    float* out = loss.data_ptr<float>();
    at::parallel_for(0, R, 1, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; r++) out[r] = vec::cross_entropy_grad(rows + r * V, V, targets[r], scales[r]);
    });
    return loss;
  }
  auto lse = logits.logsumexp(1, /*keepdim=*/true);                         // (R, 1)
  auto loss = (lse - logits.gather(1, target.unsqueeze(1))).squeeze(1);     // (R)
  logits.sub_(lse).exp_().mul_(scale.unsqueeze(1));
  logits.scatter_add_(1, target.unsqueeze(1), -scale.unsqueeze(1));
  return loss;
}

// sum_i scale_i * cross_entropy(hidden_i head^T, target_i) over rows hidden (N, C); the
// gradients are computed in the forward pass, chunk by chunk, and only scaled in backward.
struct FusedHeadLoss : public torch::autograd::Function<FusedHeadLoss> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, torch::Tensor hidden, torch::Tensor head,
                               torch::Tensor target, torch::Tensor scale) {
    const int64_t N = hidden.size(0), V = head.size(0);
    const bool grad_hidden = hidden.requires_grad(), grad_head = head.requires_grad();
    torch::Tensor d_hidden = grad_hidden ? torch::empty_like(hidden) : torch::Tensor();
    torch::Tensor d_head = grad_head ? torch::zeros_like(head) : torch::Tensor();
    auto total = torch::zeros({}, hidden.options().dtype(torch::kFloat));
    const int64_t chunk = std::max<int64_t>(1, kChunkLogits / V);
    for (int64_t r0 = 0; r0 < N; r0 += chunk) {
      const int64_t R = std::min(chunk, N - r0);
      auto h = hidden.narrow(0, r0, R);                                         // (R, C)
      auto logits = linear_layer(h, head).to(torch::kFloat).contiguous();       // (R, V)
      auto s = scale.narrow(0, r0, R);
      total += (cross_entropy_grad_rows(logits, target.narrow(0, r0, R), s) * s).sum();
      if (!grad_hidden && !grad_head) continue;  // evaluation: the loss is all
      auto grad = logits.to(head.scalar_type());  // now d loss / d logits
      if (grad_hidden) {
        torch::Tensor rows = d_hidden.narrow(0, r0, R);
        matmul_into(rows, grad, head, Into::Overwrite);
      }
      if (grad_head) matmul_into(d_head, grad.t(), h, Into::Accumulate);
    }
    ctx->saved_data["d_hidden"] = d_hidden;
    ctx->saved_data["d_head"] = d_head;
    return total;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_out) {
    auto scaled = [&](const char* name) {
      torch::Tensor d = ctx->saved_data[name].toTensor();
      return d.defined() ? d * grad_out[0].to(d.scalar_type()) : torch::Tensor();
    };
    return {scaled("d_hidden"), scaled("d_head"), {}, {}};
  }
};

}  // namespace

torch::Tensor fused_next_token_loss(const torch::Tensor& hidden, const torch::Tensor& head, const torch::Tensor& ids,
                                    const torch::Tensor& mask) {
  LP_CHECK(hidden.dim() == 3 && ids.dim() == 2 && hidden.size(0) == ids.size(0) && hidden.size(1) == ids.size(1) &&
               head.dim() == 2 && head.size(1) == hidden.size(2),
           "fused_next_token_loss: hidden (B, T, C), head (V, C) and ids (B, T) do not match");
  const int64_t T = ids.size(1), C = hidden.size(2);
  LP_CHECK(T >= 2, "next_token_loss needs sequences of at least 2 tokens, got ", T);
  auto rows = hidden.narrow(1, 0, T - 1).reshape({-1, C});               // (N, C)
  auto target = ids.narrow(1, 1, T - 1).reshape({-1}).to(hidden.device());  // (N)
  torch::Tensor scale;
  if (!mask.defined()) {
    scale = torch::full({rows.size(0)}, 1.0 / double(rows.size(0)), hidden.options().dtype(torch::kFloat));
  } else {
    auto weight = mask.narrow(1, 1, T - 1).reshape({-1}).to(hidden.device(), torch::kFloat);  // (N)
    auto keep = weight.nonzero().squeeze(1);  // only targets go through the head
    scale = weight.index_select(0, keep) / weight.sum().clamp_min(1.0);
    rows = rows.index_select(0, keep);
    target = target.index_select(0, keep);
    if (keep.numel() == 0) return rows.sum().to(torch::kFloat) * 0.0;  // nothing to predict: 0, in the graph
  }
  return FusedHeadLoss::apply(rows, head, target, scale);
}

BatchTensors batch_tensors(const Batch& b, const torch::Device& device) {
  BatchTensors t;
  t.ids = torch::from_blob(const_cast<int32_t*>(b.ids.data()), {b.batch, b.seq_len}, torch::kInt)
              .to(torch::kLong)
              .to(device);  // (B, T)
  bool all_targets = std::all_of(b.loss_mask.begin(), b.loss_mask.end(), [](uint8_t m) { return m == 1; });
  if (!all_targets)
    t.mask = torch::from_blob(const_cast<uint8_t*>(b.loss_mask.data()), {b.batch, b.seq_len}, torch::kUInt8)
                 .to(device);  // (B, T)
  if (!b.positions.empty()) {
    auto table = [&](const std::vector<int32_t>& v) {
      return torch::from_blob(const_cast<int32_t*>(v.data()), {b.batch, b.seq_len}, torch::kInt).to(device, torch::kLong);
    };
    t.rows = {table(b.positions), table(b.segments)};  // (B, T) each
  }
  return t;
}

torch::Tensor batch_loss(const Model& model, const BatchTensors& t) {
  auto hidden = t.rows.positions.defined() ? model.final_hidden(t.ids, t.rows) : model.final_hidden(t.ids);
  return fused_next_token_loss(hidden, model.weights().lm_head, t.ids, t.mask);
}

int64_t target_count(const Batch& b) {
  int64_t n = 0;
  for (int64_t row = 0; row < b.batch; row++)
    for (int64_t t = 1; t < b.seq_len; t++) n += b.loss_mask[size_t(row * b.seq_len + t)] != 0;
  return n;
}

}  // namespace llamapro
