// attention_loops.h — causal self-attention of one float32 head in plain loops, forward and
// backward, for training and scoring on the CPU. The scores are made for a block of queries
// at a time and only up to the block's last position (about half the products of the full
// T x T matrix), never stored whole; backward recomputes them from the saved log-sum-exp of
// each query, as FlashAttention does. model/attention runs one head per thread.
//
// A matrix is (T, head_dim) float32 rows, `ld` floats apart (heads of one position may sit
// side by side); head_dim must be a multiple of 8.
#pragma once

#include <cstdint>

namespace llamapro::attn {

struct Rows {
  const float* data;
  int64_t ld;
};
struct MutableRows {
  float* data;
  int64_t ld;
};

// out_i = sum_{f_i <= j <= i} softmax_j(scale q_i . k_j) v_j, and lse_i the log-sum-exp of
// query i's scaled scores. f_i = first_key[i] (the start of query i's document in a packed row,
// non-decreasing), or 0 for every query when first_key is null.
void causal_forward(Rows q, Rows k, Rows v, const int64_t* first_key, int64_t T, int64_t head_dim, float scale,
                    MutableRows out, float* lse);

// The gradients of causal_forward's output given d_out: d_q, d_k and d_v are written (not
// accumulated into).
void causal_backward(Rows q, Rows k, Rows v, const int64_t* first_key, Rows out, const float* lse, Rows d_out,
                     int64_t T, int64_t head_dim, float scale, MutableRows d_q, MutableRows d_k, MutableRows d_v);

}  // namespace llamapro::attn
