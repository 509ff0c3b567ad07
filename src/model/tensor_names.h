// tensor_names.h — the one table of Hugging Face tensor names and shapes of a LLaMA-family
// checkpoint, and the check of a checkpoint against its config.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model/config.h"

namespace llamapro {

class Checkpoint;

inline constexpr std::string_view kEmbedTokens = "model.embed_tokens.weight";  // (V, C)
inline constexpr std::string_view kFinalNorm = "model.norm.weight";            // (C)
inline constexpr std::string_view kLmHead = "lm_head.weight";                  // (V, C)

// The tensors of one transformer block, in Hugging Face order.
enum class BlockTensor {
  AttnNorm, Q, QBias, K, KBias, V, VBias, O, OBias, MlpNorm, Gate, GateBias, Up, UpBias, Down, DownBias
};

// "self_attn.q_proj.weight"
std::string_view block_tensor_suffix(BlockTensor t);
// "model.layers.7.self_attn.q_proj.weight"
std::string block_tensor_name(int64_t layer, BlockTensor t);
// "model.layers.7." -> 7 for block tensors, -1 for anything else.
int64_t layer_of(std::string_view name);
// The same tensor name in another layer: ("model.layers.7.mlp.up_proj.weight", 9).
std::string with_layer(std::string_view name, int64_t layer);

// "model.layers.7.mlp.up_proj.weight" -> "mlp.up_proj.weight"; "" for non-block tensors.
std::string_view block_module_of(std::string_view name);
// The sub-modules of a block in Hugging Face order: "input_layernorm", "self_attn.q_proj", ...
const std::vector<std::string>& block_modules();
// Rotary inv_freq buffers that some checkpoints store: not weights, derived from the config.
bool is_rotary_buffer(std::string_view name);

struct ExpectedTensor {
  std::string name;
  std::vector<int64_t> shape;
  BlockTensor kind{};  // meaningful for block tensors only
};

// The tensors a block of this config has (biases only where the config has them).
std::vector<ExpectedTensor> block_tensors(const ModelConfig& c, int64_t layer);
// All tensors of the model: embeddings, every block, final norm, lm_head unless tied.
std::vector<ExpectedTensor> model_tensors(const ModelConfig& c);

// Checks that a checkpoint holds exactly the tensors its config implies, with the right
// shapes and float dtypes; the error names the first mismatch. Tolerated extras: rotary
// inv_freq buffers and a stored lm_head of a tied model.
void validate_checkpoint(const ModelConfig& c, const Checkpoint& ck);

}  // namespace llamapro
