#include "model/loss.h"

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

}  // namespace llamapro
