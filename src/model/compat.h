// compat.h — the few places where libtorch 1.13 (Debian, CPU) and 2.x (CUDA machines) differ.
#pragma once

#include <torch/torch.h>

#include <string>

namespace llamapro::compat {

// Attention over heads: q (B, NH, T, HD), k and v (B, NH, S, HD). `mask` is a bool tensor
// broadcastable to (B, NH, T, S) with true = may attend, or undefined for none; `causal`
// asks for the plain lower-triangular mask with T == S. Uses the fused kernel of libtorch 2.x
// where it exists, else the textbook softmax(q k^T / sqrt(HD)) v with the softmax in float32.
torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& mask, bool causal);

// "1.13.1" etc.: which libtorch the binary was built against.
std::string torch_version();

}  // namespace llamapro::compat
