#include "train/memory_plan.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "model/lora.h"
#include "model/tensor_names.h"
#include "util/strings.h"

namespace llamapro {

namespace {

int64_t slice(int64_t n, int world) { return (n + world - 1) / world; }

}  // namespace

RankMemory plan_rank_memory(const MemoryPlanInput& in, ShardMode mode) {
  const ModelConfig& c = in.config;
  const int64_t d = in.bf16 ? 2 : 4;  // bytes per weight in the compute dtype
  const int n = mode == ShardMode::None ? 1 : in.world;
  auto trains_block = [&](int64_t l) {
    return std::binary_search(in.trainable.blocks.begin(), in.trainable.blocks.end(), l);
  };

  // Element counts: each block's frozen and trained weights, adapters, and the rest.
  std::map<int64_t, int64_t> frozen, trained, adapters;  // by block
  int64_t rest_frozen = 0, rest_trained = 0, largest_block = 0;
  std::vector<int64_t> trained_tensors;  // --shard none: a group each
  for (const ExpectedTensor& t : model_tensors(c)) {
    const int64_t l = layer_of(t.name), size = c10::multiply_integers(t.shape);
    const bool is_head = t.name == kFinalNorm || t.name == kLmHead || (c.tie_word_embeddings && t.name == kEmbedTokens);
    const bool is_embed = t.name == kEmbedTokens;
    const bool trains = l >= 0 ? trains_block(l) && !in.lora : (is_embed && in.trainable.embed) || (is_head && in.trainable.head);
    if (l >= 0) (trains ? trained : frozen)[l] += size;
    else (trains ? rest_trained : rest_frozen) += size;
    if (trains) trained_tensors.push_back(size);
  }
  for (int64_t l = 0; l < c.num_hidden_layers; l++) largest_block = std::max(largest_block, frozen[l] + trained[l]);
  if (in.lora)
    for (int64_t l : in.trainable.blocks)
      for (LoraTarget target : in.lora->targets)
        for (const ExpectedTensor& t : block_tensors(c, l))
          if (t.kind == lora_weight_tensor(target)) {
            const int64_t a = in.lora->rank * t.shape[1], b = t.shape[0] * in.lora->rank;
            adapters[l] += a + b;
            trained_tensors.push_back(a), trained_tensors.push_back(b);
          }

  // The optimizer's groups: a tensor each unsharded; otherwise a block's trained tensors (with
  // its adapters, unless the blocks are sharded: then adapters join the rest).
  std::vector<int64_t> groups;
  const bool blocks_sharded = mode == ShardMode::Parameters;
  int64_t rest_group = rest_trained;
  if (mode == ShardMode::None) {
    groups = trained_tensors;
  } else {
    for (int64_t l = 0; l < c.num_hidden_layers; l++) {
      int64_t g = trained[l] + (blocks_sharded ? 0 : adapters[l]);
      if (blocks_sharded) rest_group += adapters[l];
      if (g > 0) groups.push_back(g);
    }
    if (rest_group > 0) groups.push_back(rest_group);
  }
  int64_t trained_total = 0, held = 0, padded = 0;  // elements: all, this rank's slices, slices x world
  for (int64_t g : groups) trained_total += g, held += slice(g, n), padded += slice(g, n) * n;

  RankMemory m;
  // Parameters: the whole model (split modes: the trained tensors padded in their flat
  // buffers), or with blocks sharded: the rest whole, each block's frozen and trained slices.
  int64_t adapter_total = 0;
  for (auto& [l, a] : adapters) adapter_total += a;
  if (mode == ShardMode::None) {
    m.parameters = (rest_frozen + rest_trained + adapter_total) * d;
    for (int64_t l = 0; l < c.num_hidden_layers; l++) m.parameters += (frozen[l] + trained[l]) * d;
  } else if (!blocks_sharded) {
    m.parameters = (rest_frozen + padded) * d;
    for (int64_t l = 0; l < c.num_hidden_layers; l++) m.parameters += frozen[l] * d;
  } else {
    m.parameters = (rest_frozen + (rest_group > 0 ? slice(rest_group, n) * n : 0)) * d;
    for (int64_t l = 0; l < c.num_hidden_layers; l++)
      m.parameters += ((frozen[l] > 0 ? slice(frozen[l], n) : 0) + (trained[l] > 0 ? slice(trained[l], n) : 0)) * d;
  }
  // Gradients at the step, after the reduction: whole in the compute dtype (none), whole in
  // float32 (optimizer: all-reduced), or this rank's float32 slices.
  if (mode == ShardMode::None) m.gradients = trained_total * d;
  else if (mode == ShardMode::Optimizer) m.gradients = padded * 4;
  else m.gradients = held * 4;
  // Optimizer: two float32 moments, and a float32 master unless the weights are float32
  // themselves (then the master is the weight, or this rank's slice of its flat buffer).
  m.optimizer = (mode == ShardMode::None ? trained_total : held) * (in.bf16 ? 12 : 8);

  // Activations (estimate): blocks from the lowest that trains keep their inputs and, without
  // recomputation, their inner activations; one block's worth while it recomputes; the head's
  // chunked loss. Blocks are always recomputed with sharded parameters.
  int64_t lowest = c.num_hidden_layers;
  if (in.trainable.embed) lowest = 0;
  else if (!in.trainable.blocks.empty()) lowest = in.trainable.blocks.front();
  const int64_t graph_blocks = c.num_hidden_layers - lowest, tokens = in.batch * in.seq_len;
  const int64_t inner = tokens * (12 * c.hidden_size + 4 * c.intermediate_size) * d +
                        in.batch * c.num_attention_heads * in.seq_len * in.seq_len * 2 * d;
  const bool recompute = in.recompute_activations || blocks_sharded;
  m.activations = graph_blocks > 0 ? (recompute ? graph_blocks * tokens * c.hidden_size * d + inner : graph_blocks * inner) : 0;
  m.activations += tokens * c.hidden_size * 4 * 2 + std::min(int64_t(1) << 23, tokens * c.vocab_size) * 4 * 2;
  if (blocks_sharded) m.activations += 2 * largest_block * d;  // the running block, gathered, and the next
  return m;
}

std::string memory_plan_table(const MemoryPlanInput& in) {
  char line[256];
  std::snprintf(line, sizeof line, "memory per rank, %d rank%s (batch %lld x seq %lld, %s%s):\n", in.world,
                in.world == 1 ? "" : "s", (long long)in.batch, (long long)in.seq_len, in.bf16 ? "bf16" : "fp32",
                in.recompute_activations ? ", activation checkpointing" : "");
  std::string s = line;
  std::snprintf(line, sizeof line, "  %-12s %12s %12s %12s %14s %12s\n", "--shard", "parameters", "gradients",
                "optimizer", "activations*", "total");
  s += line;
  for (ShardMode mode : {ShardMode::None, ShardMode::Optimizer, ShardMode::Gradients, ShardMode::Parameters}) {
    const RankMemory m = plan_rank_memory(in, mode);
    std::snprintf(line, sizeof line, "  %-12s %12s %12s %12s %14s %12s\n", shard_mode_name(mode),
                  format_bytes(uint64_t(m.parameters)).c_str(), format_bytes(uint64_t(m.gradients)).c_str(),
                  format_bytes(uint64_t(m.optimizer)).c_str(), format_bytes(uint64_t(m.activations)).c_str(),
                  format_bytes(uint64_t(m.total())).c_str());
    s += line;
  }
  s += "  * estimated; parameters, gradients and optimizer state are what the run holds at its step";
  return s;
}

}  // namespace llamapro
