// perplexity.h — the language-modelling loss of a model on prepared data, the measure of
// domain gain and of forgetting, shared by training (validation) and `llamapro eval`.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <string>

#include "data/loader.h"
#include "model/transformer.h"

namespace llamapro {

// A batch as tensors on the model's device: ids (B, T) int64, the mask (B, T) uint8 (left
// undefined when every token is a target), and the documents of packed rows (undefined for
// concatenated ones).
struct BatchTensors {
  torch::Tensor ids, mask;
  PackedRows rows;
};
BatchTensors batch_tensors(const Batch& batch, const torch::Device& device);
// The batch's mean next-token loss (fused_next_token_loss), packed rows kept apart.
torch::Tensor batch_loss(const Model& model, const BatchTensors& t);
// How many next-token predictions of the batch count: positions 1..T-1 whose mask is 1. A
// batch without any has no loss (its mean would read 0): callers refuse it or leave it out.
int64_t target_count(const Batch& batch);

struct EvalOptions {
  int64_t seq_len = 512, batch_size = 4;
  int64_t max_batches = 50;  // 0 = the whole split
  bool validation = true;    // the held-out split (false: the training split)
  std::optional<Packing> packing;  // unset: the data's default
  bool allow_too_small = false;    // a split without one whole batch gives NaN instead of an error
  int rank = 0, world_size = 1;
};

struct EvalResult {
  double loss = NAN;  // mean over the batches that have targets
  int64_t tokens = 0;
};

EvalResult evaluate_loss(const Model& model, const std::string& data_dir, const EvalOptions& o);

}  // namespace llamapro
