// adamw.h — AdamW with float32 master weights and moments, the same arithmetic as
// torch.optim.AdamW (decoupled weight decay, bias correction), for the trainable tensors only.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model/transformer.h"

namespace llamapro {

struct AdamWConfig {
  double beta1 = 0.9, beta2 = 0.95;  // the paper's (and LLaMA's) betas
  double eps = 1e-8;
  double weight_decay = 0.1;
  bool decay_all = false;  // by default norms and biases (1-D tensors) are not decayed
};

class AdamW {
 public:
  // params: the model's trainable tensors (requires_grad). Non-float32 ones (bf16 compute)
  // get a float32 master copy; float32 ones are their own master.
  AdamW(std::vector<NamedTensor> params, AdamWConfig config);

  void step(double lr);  // one update from the current .grad() of every parameter
  void zero_grad();
  int64_t steps() const { return steps_; }

  // Global L2 norm of all gradients (float32), and scaling them down to max_norm.
  double grad_norm() const;
  void clip_grads(double max_norm, double norm);

  // Checkpoint state: "master.<name>", "exp_avg.<name>", "exp_avg_sq.<name>" (float32, CPU).
  std::vector<NamedTensor> state() const;
  void load_state(const std::map<std::string, torch::Tensor>& tensors, int64_t steps);

  int64_t parameter_count() const;
  const std::vector<NamedTensor>& parameters() const { return params_; }
  // The float32 master of a parameter (what gets saved as the trained weights).
  const torch::Tensor& master(size_t i) const { return masters_[i]; }

 private:
  AdamWConfig config_;
  std::vector<NamedTensor> params_;
  std::vector<torch::Tensor> masters_, exp_avg_, exp_avg_sq_;
  std::vector<bool> decay_;
  int64_t steps_ = 0;
};

}  // namespace llamapro
