#include "train/adamw.h"

#include <cmath>

#include "util/check.h"

namespace llamapro {

AdamW::AdamW(std::vector<NamedTensor> params, AdamWConfig config) : config_(config), params_(std::move(params)) {
  torch::NoGradGuard no_grad;
  for (const auto& p : params_) {
    LP_CHECK(p.tensor.requires_grad(), "internal: ", p.name, " is not trainable");
    masters_.push_back(p.tensor.scalar_type() == torch::kFloat ? p.tensor : p.tensor.detach().to(torch::kFloat).clone());
    exp_avg_.push_back(torch::zeros_like(masters_.back()));
    exp_avg_sq_.push_back(torch::zeros_like(masters_.back()));
    decay_.push_back(config_.decay_all || p.tensor.dim() >= 2);
  }
}

void AdamW::step(double lr) {
  torch::NoGradGuard no_grad;
  steps_++;
  const double bias1 = 1.0 - std::pow(config_.beta1, double(steps_));
  const double bias2_sqrt = std::sqrt(1.0 - std::pow(config_.beta2, double(steps_)));
  const double step_size = lr / bias1;
  for (size_t i = 0; i < params_.size(); i++) {
    torch::Tensor& p = params_[i].tensor;
    torch::Tensor& master = masters_[i];
    torch::Tensor grad = p.grad();
    if (!grad.defined()) continue;  // no gradient reached it this step (e.g. unused)
    grad = grad.to(torch::kFloat);
    // The order of operations follows torch.optim.AdamW's single-tensor path.
    if (decay_[i] && config_.weight_decay != 0) master.mul_(1.0 - lr * config_.weight_decay);
    exp_avg_[i].lerp_(grad, 1.0 - config_.beta1);
    exp_avg_sq_[i].mul_(config_.beta2).addcmul_(grad, grad, 1.0 - config_.beta2);
    torch::Tensor denom = (exp_avg_sq_[i].sqrt() / bias2_sqrt).add_(config_.eps);
    master.addcdiv_(exp_avg_[i], denom, -step_size);
    if (!master.is_same(p)) p.copy_(master);
  }
}

void AdamW::zero_grad() {
  for (auto& p : params_)
    if (p.tensor.grad().defined()) p.tensor.mutable_grad() = torch::Tensor();
}

double AdamW::grad_norm() const {
  torch::NoGradGuard no_grad;
  double sum = 0;
  for (const auto& p : params_)
    if (p.tensor.grad().defined()) sum += p.tensor.grad().to(torch::kFloat).pow(2).sum().item<double>();
  return std::sqrt(sum);
}

void AdamW::clip_grads(double max_norm, double norm) {
  torch::NoGradGuard no_grad;
  if (max_norm <= 0 || norm <= max_norm) return;
  const double scale = max_norm / (norm + 1e-6);  // as torch.nn.utils.clip_grad_norm_
  for (auto& p : params_)
    if (p.tensor.grad().defined()) p.tensor.mutable_grad().mul_(scale);
}

std::vector<NamedTensor> AdamW::state() const {
  std::vector<NamedTensor> out;
  for (size_t i = 0; i < params_.size(); i++) {
    const std::string& n = params_[i].name;
    out.push_back({"master." + n, masters_[i].detach().cpu()});
    out.push_back({"exp_avg." + n, exp_avg_[i].cpu()});
    out.push_back({"exp_avg_sq." + n, exp_avg_sq_[i].cpu()});
  }
  return out;
}

void AdamW::load_state(const std::map<std::string, torch::Tensor>& tensors, int64_t steps) {
  torch::NoGradGuard no_grad;
  auto get = [&](const std::string& key, const torch::Tensor& like) {
    auto it = tensors.find(key);
    LP_CHECK(it != tensors.end(), "checkpoint lacks optimizer tensor \"", key, "\"");
    LP_CHECK(it->second.sizes() == like.sizes(), "checkpoint tensor \"", key, "\" has the wrong shape");
    return it->second;
  };
  for (size_t i = 0; i < params_.size(); i++) {
    const std::string& n = params_[i].name;
    masters_[i].copy_(get("master." + n, masters_[i]));
    exp_avg_[i].copy_(get("exp_avg." + n, exp_avg_[i]));
    exp_avg_sq_[i].copy_(get("exp_avg_sq." + n, exp_avg_sq_[i]));
    if (!masters_[i].is_same(params_[i].tensor)) params_[i].tensor.copy_(masters_[i]);
  }
  steps_ = steps;
}

int64_t AdamW::parameter_count() const {
  int64_t n = 0;
  for (const auto& p : params_) n += p.tensor.numel();
  return n;
}

}  // namespace llamapro
