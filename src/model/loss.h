// loss.h — the one next-token loss, used by training, validation, `eval` and `score`.
#pragma once

#include <torch/torch.h>

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

}  // namespace llamapro
