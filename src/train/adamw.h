// adamw.h — one AdamW update with the same arithmetic as torch.optim.AdamW (decoupled weight
// decay, bias correction), on a float32 master and its two moments. The tensors may be whole
// parameters or any slice of them (train/sharded_optimizer decides which): every operation is
// elementwise, so a slice updates exactly as it would inside the whole tensor.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace llamapro {

struct AdamWConfig {
  double beta1 = 0.9, beta2 = 0.95;  // the paper's (and LLaMA's) betas
  double eps = 1e-8;
  double weight_decay = 0.1;
  bool decay_all = false;  // by default norms and biases (1-D tensors) are not decayed
};

struct AdamWSlot {
  torch::Tensor master, exp_avg, exp_avg_sq;  // float32, the same shape, updated in place
  bool decay = true;                          // weight decay applies to it
};

// Update number `step` (1-based) of `slot` from its float32 gradient `grad` at learning rate `lr`.
void adamw_update(const AdamWConfig& config, AdamWSlot& slot, const torch::Tensor& grad, double lr, int64_t step);

}  // namespace llamapro
