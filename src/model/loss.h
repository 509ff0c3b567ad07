// loss.h — the one next-token loss, used by training, validation, `eval` and `score`.
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "data/loader.h"
#include "model/transformer.h"

namespace llamapro {

// Mean cross-entropy (float32 scalar) of the next-token predictions: logits (B, T, V) at
// position t predict ids[t + 1]. With a mask (B, T), only targets whose mask is 1 count
// (assistant tokens of chat data); without one every position does, which is exactly
// transformers' loss with labels = input_ids. Needs T >= 2.
torch::Tensor next_token_loss(const torch::Tensor& logits, const torch::Tensor& ids, const torch::Tensor& mask = {});

// The same loss from the final hidden states (B, T, C) and the output head (V, C), never
// holding the (B, T, V) logits: the target rows go through the head a chunk at a time, and
// each chunk's gradient (softmax minus one-hot) becomes the gradient of the hidden states (and
// of the head, when it trains) while it is still in cache; positions that are no target are
// left out before the head. Equals next_token_loss(linear(hidden, head), ids, mask) up to
// float summation order.
torch::Tensor fused_next_token_loss(const torch::Tensor& hidden, const torch::Tensor& head, const torch::Tensor& ids,
                                    const torch::Tensor& mask = {});

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

}  // namespace llamapro
