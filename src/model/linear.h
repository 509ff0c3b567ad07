// linear.h — the model's matrix products: linear_layer(x, W, b) = x W^T + b as torch::linear, and out (+)= a b,
// with float32 CPU products (forward and backward) through kernels/cpu_gemm; other devices and
// dtypes go to libtorch.
#pragma once

#include <torch/torch.h>

namespace llamapro {

// x (..., K), weight (N, K), bias (N) or undefined -> (..., N).
torch::Tensor linear_layer(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias = {});

// out (M, N) = a (M, K) b (K, N) (Overwrite), or out += a b (Accumulate). a and b may be
// transposed views of contiguous matrices; out is contiguous.
enum class Into { Overwrite, Accumulate };
void matmul_into(torch::Tensor& out, const torch::Tensor& a, const torch::Tensor& b, Into into);

}  // namespace llamapro
