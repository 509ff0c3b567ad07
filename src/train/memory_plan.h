// memory_plan.h — what one rank of a run holds under each --shard mode, worked out from the
// config alone (train --dry-run), before any GPU is rented: parameters, gradients and optimizer
// state by the same rules the run follows (the run records the measured bytes at its first
// step as "resident_bytes" in metrics.jsonl, and the tests hold the two equal), plus an
// estimate of the activations. docs/training.md gives the formulas.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "model/adapter.h"
#include "model/config.h"
#include "train/flat_layout.h"
#include "train/trainable.h"

namespace llamapro {

struct MemoryPlanInput {
  ModelConfig config;
  TrainableSpec trainable;
  std::optional<LoraSpec> lora;  // adapters train instead of the blocks' weights
  int world = 1;
  int64_t batch = 1, seq_len = 2048;
  bool bf16 = false, recompute_activations = false;
};

struct RankMemory {
  int64_t parameters = 0, gradients = 0, optimizer = 0;  // as the run measures them
  int64_t activations = 0;                               // estimated
  int64_t total() const { return parameters + gradients + optimizer + activations; }
};

RankMemory plan_rank_memory(const MemoryPlanInput& in, ShardMode mode);
// A table of every mode, for --dry-run.
std::string memory_plan_table(const MemoryPlanInput& in);

}  // namespace llamapro
