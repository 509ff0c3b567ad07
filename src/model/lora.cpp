// lora.cpp — the adapter's projection and target names (see lora.h).
#include "model/lora.h"

#include "model/linear.h"
#include "model/tensor_names.h"
#include "util/check.h"
#include "util/strings.h"

namespace llamapro {

const char* lora_module_name(LoraTarget t) {
  switch (t) {
    case LoraTarget::Q: return "q_proj";
    case LoraTarget::K: return "k_proj";
    case LoraTarget::V: return "v_proj";
    case LoraTarget::O: return "o_proj";
    case LoraTarget::Gate: return "gate_proj";
    case LoraTarget::Up: return "up_proj";
    case LoraTarget::Down: return "down_proj";
  }
  return "?";
}

BlockTensor lora_weight_tensor(LoraTarget t) {
  switch (t) {
    case LoraTarget::Q: return BlockTensor::Q;
    case LoraTarget::K: return BlockTensor::K;
    case LoraTarget::V: return BlockTensor::V;
    case LoraTarget::O: return BlockTensor::O;
    case LoraTarget::Gate: return BlockTensor::Gate;
    case LoraTarget::Up: return BlockTensor::Up;
    case LoraTarget::Down: return BlockTensor::Down;
  }
  LP_FAIL("internal: bad LoRA target");
}

namespace {
constexpr std::string_view kPeftPrefix = "base_model.model.";  // PEFT's wrapper around the model's names
}  // namespace

LoraTensorNames lora_tensor_names(int64_t layer, LoraTarget t) {
  // "model.layers.3.self_attn.q_proj.weight" -> "base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight"
  std::string module = block_tensor_name(layer, lora_weight_tensor(t));
  module = std::string(kPeftPrefix) + module.substr(0, module.size() - std::string(".weight").size());
  return {module + ".lora_A.weight", module + ".lora_B.weight"};
}

int64_t block_of_tensor(std::string_view name) {
  if (starts_with(name, kPeftPrefix)) name.remove_prefix(kPeftPrefix.size());
  return layer_of(name);
}

LoraTarget parse_lora_target(const std::string& name) {
  for (LoraTarget t : kLoraTargets) {
    const std::string module = lora_module_name(t);
    if (name == module || name == module.substr(0, module.size() - 5)) return t;  // "q_proj" or "q"
  }
  LP_FAIL("unknown LoRA target \"", name, "\" (expected q, k, v, o, gate, up, down, their *_proj names, or all)");
}

torch::Tensor project(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                      const LoraPair& lora, bool training) {
  auto y = linear_layer(x, weight, bias);
  if (!lora.a.defined()) return y;
  auto in = training && lora.dropout > 0 ? torch::dropout(x, lora.dropout, /*train=*/true) : x;
  return y + linear_layer(linear_layer(in, lora.a), lora.b) * lora.scale;
}

}  // namespace llamapro
