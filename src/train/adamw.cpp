#include "train/adamw.h"

#include <cmath>

namespace llamapro {

void adamw_update(const AdamWConfig& config, AdamWSlot& slot, const torch::Tensor& grad, double lr, int64_t step) {
  torch::NoGradGuard no_grad;
  const double bias1 = 1.0 - std::pow(config.beta1, double(step));
  const double bias2_sqrt = std::sqrt(1.0 - std::pow(config.beta2, double(step)));
  const double step_size = lr / bias1;
  // The order of operations follows torch.optim.AdamW's single-tensor path.
  if (slot.decay && config.weight_decay != 0) slot.master.mul_(1.0 - lr * config.weight_decay);
  slot.exp_avg.lerp_(grad, 1.0 - config.beta1);
  slot.exp_avg_sq.mul_(config.beta2).addcmul_(grad, grad, 1.0 - config.beta2);
  torch::Tensor denom = (slot.exp_avg_sq.sqrt() / bias2_sqrt).add_(config.eps);
  slot.master.addcdiv_(slot.exp_avg, denom, -step_size);
}

}  // namespace llamapro
