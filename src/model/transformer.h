// transformer.h — the LLaMA-family decoder (llama, mistral, qwen2): token embedding, pre-norm
// blocks of attention and SwiGLU MLP, final RMSNorm, lm_head. Per-block frozen/trainable
// marks, parameters addressed by Hugging Face tensor names.
//
// Shape letters: B batch, T positions, C hidden size, I MLP width, V vocabulary, L blocks.
// Numerics follow transformers: RMSNorm in float32, softmax in float32, rope cos/sin in float32.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "model/attention.h"
#include "model/config.h"
#include "model/lora.h"
#include "model/rope.h"

namespace llamapro {

class Checkpoint;

struct ModelOptions {
  torch::Device device = torch::kCPU;
  torch::ScalarType dtype = torch::kFloat;  // compute dtype: f32 on CPU, bf16/f16 on CUDA
};

struct BlockWeights {
  torch::Tensor attn_norm;  // (C)
  AttentionWeights attn;
  torch::Tensor mlp_norm;   // (C)
  torch::Tensor w_gate;     // (I, C)
  torch::Tensor b_gate;     // (I), undefined without mlp_bias
  torch::Tensor w_up;       // (I, C)
  torch::Tensor b_up;       // (I)
  torch::Tensor w_down;     // (C, I)
  torch::Tensor b_down;     // (C)
  LoraPair gate_lora, up_lora, down_lora;  // adapters, when attached (attention's are in attn)
};

// The block's own tensors (adapters not included; undefined biases too), in one list for
// marking, converting and searching.
std::vector<torch::Tensor*> block_weight_slots(BlockWeights& b);

// The adapter slot of one projection of a block, and the weight it adapts.
LoraPair& lora_slot(BlockWeights& b, LoraTarget t);
const LoraPair& lora_slot(const BlockWeights& b, LoraTarget t);
const torch::Tensor& lora_base_weight(const BlockWeights& b, LoraTarget t);

struct ModelWeights {
  torch::Tensor embed;              // (V, C)
  std::vector<BlockWeights> blocks;  // L
  torch::Tensor norm;               // (C)
  torch::Tensor lm_head;            // (V, C); the same tensor as embed when tied
};

struct NamedTensor {
  std::string name;  // Hugging Face name, "model.layers.3.mlp.up_proj.weight"
  torch::Tensor tensor;
};

// Rows packed with several documents: each token's position within its document and its
// document's index in the row (B, T) int64. A token attends only to earlier tokens of its
// own document, and rotary positions restart at every document.
struct PackedRows {
  torch::Tensor positions, segments;
};

// Where the blocks' weights are kept when they are not in the model (train/parameter_shards
// keeps each rank's slice and gathers a block whole only while it runs). The model asks for a
// block just before it runs it, and gives it back right after.
class BlockWeightSource {
 public:
  virtual ~BlockWeightSource() = default;
  // The block's weights, whole, until release(). `backward`: for the recomputation in backward,
  // whose trainable weights then receive gradients.
  virtual const BlockWeights& fetch(int64_t block, bool backward) = 0;
  virtual void release(int64_t block) = 0;
  // The block's backward has run: its fetched trainable weights hold their gradients.
  virtual void backward_done(int64_t block) = 0;
};

class Model {
 public:
  // Use load_model / random_model (model/load.h). `source` keeps memory-mapped weights alive.
  Model(ModelConfig config, ModelWeights weights, ModelOptions options, std::shared_ptr<const Checkpoint> source);

  const ModelConfig& config() const { return config_; }
  const ModelOptions& options() const { return options_; }
  int64_t n_layers() const { return config_.num_hidden_layers; }
  int64_t max_sequence_length() const { return max_len_; }

  // ids (B, T) int64 at positions [cache->length(), +T) (0 without cache) -> logits (B, T, V)
  // in the compute dtype. With a cache, keys/values are stored and the cache advanced by T.
  // `block_outputs`, when given, receives the hidden state (B, T, C) after each block.
  torch::Tensor forward(const torch::Tensor& ids, KVCache* cache = nullptr,
                        std::vector<torch::Tensor>* block_outputs = nullptr) const;
  // ids (B, T) of packed rows -> logits (B, T, V): each document as if it ran alone.
  torch::Tensor forward(const torch::Tensor& ids, const PackedRows& rows) const;
  // Only the last position's logits (B, V), as after a prompt: the head runs for one position
  // instead of T (for a 2000-token prompt and a 32000-word vocabulary, 1/2000 of its work).
  torch::Tensor last_logits(const torch::Tensor& ids, KVCache* cache = nullptr) const;
  // The final normed hidden states (B, T, C) that the head turns into logits, for losses that
  // apply the head themselves a chunk at a time (fused_next_token_loss).
  torch::Tensor final_hidden(const torch::Tensor& ids) const;
  torch::Tensor final_hidden(const torch::Tensor& ids, const PackedRows& rows) const;

  // A cache for `batch` sequences of up to max_len positions (default: the model's limit).
  KVCache new_cache(int64_t batch, int64_t max_len = 0) const;

  // ---- training marks: all frozen after loading.
  // A trainable block gets requires_grad on its tensors (copied out of the read-only mapping
  // first, so an optimizer may update them in place). Blocks below the lowest trainable one run
  // under NoGradGuard: no graph, no saved activations.
  void set_trainable(int64_t block, bool trainable);
  bool is_trainable(int64_t block) const { return trainable_.at(size_t(block)); }
  void set_embeddings_trainable(bool trainable);  // model.embed_tokens (and lm_head when tied)
  void set_head_trainable(bool trainable);        // model.norm and lm_head (embed_tokens when tied)
  // The first block that builds a graph: 0 when embeddings train, L when nothing in blocks does.
  int64_t first_graph_block() const;
  // Activation checkpointing: blocks that build a graph keep only their input in the forward
  // pass and recompute their activations in backward (less memory, about one more forward).
  void set_recompute_activations(bool on) { recompute_activations_ = on; }
  // Blocks' weights kept elsewhere (nullptr: in the model). Every block that builds a graph is
  // then recomputed in backward (as with activation checkpointing), so that no block's weights
  // stay alive between its forward and its backward.
  void set_block_weight_source(BlockWeightSource* source) { weight_source_ = source; }
  // Training mode turns on the adapters' dropout (evaluation and generation run without).
  void set_training(bool on) { training_ = on; }

  // ---- LoRA adapters (model/adapter.h makes, reads and writes them)
  // Attaches `pair` to one projection of a block; a pair whose tensors require grad makes the
  // block build a graph while the block's own weights stay frozen.
  void attach_lora(int64_t block, LoraTarget target, LoraPair pair);
  // The adapter tensors under PEFT's names ("base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight").
  std::vector<NamedTensor> lora_parameters() const;

  // Every tensor of the model in Hugging Face order (lm_head left out when tied).
  std::vector<NamedTensor> named_parameters() const;
  std::vector<NamedTensor> trainable_parameters() const;  // those with requires_grad, adapters included
  torch::Tensor& parameter(const std::string& name);     // throws for unknown names
  const ModelWeights& weights() const { return w_; }
  const Rope& rope() const { return rope_; }

 private:
  // -> the final normed hidden states (B, T, C)
  torch::Tensor run(const torch::Tensor& ids, KVCache* cache, std::vector<torch::Tensor>* block_outputs,
                    const PackedRows* rows) const;
  // Block l on x, with its weights fetched from the weight source when there is one (and given
  // back unless `backward`: the caller gives them back after the block's backward).
  torch::Tensor run_block(int64_t l, const torch::Tensor& x, const TokenPlacement& at, KVCache* cache,
                          bool backward = false) const;
  bool builds_graph(int64_t block) const;  // trains its weights or an adapter
  torch::Tensor graph_anchor(int64_t block) const;
  torch::Tensor* slot(const std::string& name);
  void make_trainable(torch::Tensor& t, bool trainable);

  ModelConfig config_;
  ModelWeights w_;
  ModelOptions options_;
  std::shared_ptr<const Checkpoint> source_;  // owner of zero-copy weights (may be null)
  Rope rope_;
  AttentionShape attn_shape_;
  int64_t max_len_ = 0;
  std::vector<bool> trainable_;  // L
  bool embed_trainable_ = false, head_trainable_ = false;
  bool recompute_activations_ = false, training_ = false;
  BlockWeightSource* weight_source_ = nullptr;
  friend struct CheckpointedBlock;
};

// One pre-norm block on hidden states x (B, T, C) -> (B, T, C): attention then SwiGLU MLP, each
// added to its input. Model::forward runs its blocks through this; streaming callers (verify)
// run blocks whose weights they load one at a time.
torch::Tensor block_forward(const BlockWeights& b, const AttentionShape& shape, double eps, const torch::Tensor& x,
                            const TokenPlacement& at, KVCache* cache = nullptr, int64_t layer = 0,
                            bool training = false);

// x (B, T, C) normalised in float32 and scaled: weight * (x / rms(x)).to(x.dtype).
torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps);

}  // namespace llamapro
