// lora.h — low-rank adapters on the block projections (LoRA, Hu et al. 2021) as PEFT defines
// them: y = x W^T + b + dropout(x) A^T B^T * alpha / r, A (r, in) and B (out, r). B starts at
// zero, so an adapter begins as the identity change.
#pragma once

#include <torch/torch.h>

#include <array>
#include <string>

#include "model/tensor_names.h"

namespace llamapro {

enum class LoraTarget { Q, K, V, O, Gate, Up, Down };
inline constexpr std::array<LoraTarget, 7> kLoraTargets = {LoraTarget::Q,    LoraTarget::K,  LoraTarget::V,   LoraTarget::O,
                                                           LoraTarget::Gate, LoraTarget::Up, LoraTarget::Down};

// "q_proj", "gate_proj", ...: the module name PEFT's target_modules uses.
const char* lora_module_name(LoraTarget t);
// The weight a target adapts, in the one table of block tensors (model/tensor_names.h).
BlockTensor lora_weight_tensor(LoraTarget t);
// PEFT's names of the pair in a saved adapter:
// "base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight" and "...lora_B.weight".
struct LoraTensorNames {
  std::string a, b;
};
LoraTensorNames lora_tensor_names(int64_t layer, LoraTarget t);
// The block an adapter tensor (PEFT's name) or a model tensor belongs to; -1 for none.
int64_t block_of_tensor(std::string_view name);
// "q" or "q_proj" -> Q, ...; error naming the accepted names otherwise.
LoraTarget parse_lora_target(const std::string& name);

struct LoraPair {
  torch::Tensor a;  // (r, in); undefined: no adapter on this projection
  torch::Tensor b;  // (out, r)
  double scale = 0;    // alpha / r
  double dropout = 0;  // on the adapter's input, while training only
};

// x W^T + b, plus the adapter's low-rank update when it has one (with its dropout when training).
torch::Tensor project(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                      const LoraPair& lora, bool training);

}  // namespace llamapro
