// causal_attention.h — causal self-attention of float32 CPU tensors through the loops of
// kernels/attention_loops, one head per thread, as an autograd function: no (T, T) score or
// probability tensor is ever made, and grouped KV heads are read in place, not repeated.
#pragma once

#include <torch/torch.h>

namespace llamapro {

// Whether causal_attention takes a model's heads: float32 on the CPU, head size a multiple of 8.
bool causal_attention_applies(torch::Device device, torch::ScalarType dtype, int64_t head_dim);

// q (B, NH, T, HD), k and v (B, NKV, T, HD) with NH a multiple of NKV (each KV head serves
// NH/NKV consecutive query heads) -> (B, NH, T, HD): query i attends to keys first_key[b, i]
// .. i (first_key (B, T) int64, non-decreasing along T: the start of each query's document in
// packed rows; undefined: 0). The inputs may be strided views as long as the last dimension is
// contiguous; the output is a (B, NH, T, HD) view of a (B, T, NH, HD) tensor, the layout the
// output projection reads.
torch::Tensor causal_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                               const torch::Tensor& first_key = {});

}  // namespace llamapro
