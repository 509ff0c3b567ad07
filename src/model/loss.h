// loss.h — the one next-token loss, used by training, validation, `eval` and `score`.
#pragma once

#include <torch/torch.h>

namespace llamapro {

// Mean cross-entropy (float32 scalar) of the next-token predictions: logits (B, T, V) at
// position t predict ids[t + 1]. With a mask (B, T), only targets whose mask is 1 count
// (assistant tokens of chat data); without one every position does, which is exactly
// transformers' loss with labels = input_ids. Needs T >= 2.
torch::Tensor next_token_loss(const torch::Tensor& logits, const torch::Tensor& ids, const torch::Tensor& mask = {});

}  // namespace llamapro
