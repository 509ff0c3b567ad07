// lora.cpp — the adapter's projection and target names (see lora.h).
#include "model/lora.h"

#include "util/check.h"

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

std::string lora_module_path(LoraTarget t) {
  const bool attention = t == LoraTarget::Q || t == LoraTarget::K || t == LoraTarget::V || t == LoraTarget::O;
  return std::string(attention ? "self_attn." : "mlp.") + lora_module_name(t);
}

std::string lora_tensor_prefix(int64_t layer, LoraTarget t) {
  return "base_model.model.model.layers." + std::to_string(layer) + "." + lora_module_path(t);
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
  auto y = torch::linear(x, weight, bias);
  if (!lora.a.defined()) return y;
  auto in = training && lora.dropout > 0 ? torch::dropout(x, lora.dropout, /*train=*/true) : x;
  return y + torch::linear(torch::linear(in, lora.a), lora.b) * lora.scale;
}

}  // namespace llamapro
