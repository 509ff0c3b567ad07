// vector_math.h — the float32 loops of one-token decoding: matrix-vector products over a range
// of rows, RMSNorm, rotary positions, SwiGLU, softmax, attention of one head. Plain C++ on
// 8-float vectors, built for the building machine's instructions (LLAMAPRO_NATIVE, on by
// default, as llama.cpp builds), so no libtorch op is dispatched per token.
#pragma once

#include <cstdint>

namespace llamapro::vec {

float dot(const float* a, const float* b, int64_t n);
// y[r] = w[r, :] . x for rows [r0, r1) of the row-major (rows, cols) matrix w.
void matvec(const float* w, const float* x, float* y, int64_t cols, int64_t r0, int64_t r1);
// out[r] = silu(gate[r, :] . x) * (up[r, :] . x) for rows [r0, r1), biases added when given.
void swiglu_rows(const float* gate, const float* gate_bias, const float* up, const float* up_bias, const float* x,
                 float* out, int64_t cols, int64_t r0, int64_t r1);
void add(float* y, const float* x, int64_t n);  // y += x
// out = weight * (x / sqrt(mean(x^2) + eps)), as transformers' LlamaRMSNorm in float32.
void rms_norm(const float* x, const float* weight, float* out, int64_t n, float eps);
// Rotate-half rotary embedding of one head in place: x[i] * cos[i] + rotate_half(x)[i] * sin[i].
void rope(float* x, const float* cos, const float* sin, int64_t head_dim);
// One query head attending to n positions: scores = softmax(q . key_s * scale), out = sum
// scores_s value_s. Keys and values of consecutive positions are `stride` floats apart.
void attend(const float* q, const float* keys, const float* values, int64_t stride, int64_t n, int64_t head_dim,
            float scale, float* scores, float* out);
// In-place softmax of n scores; returns their log-sum-exp.
float softmax(float* x, int64_t n);
// Cross-entropy of one row of logits against `target`, returned (log-sum-exp minus the
// target's logit), and the row overwritten with its gradient times `scale`:
// scale * (softmax(logits) - onehot(target)).
float cross_entropy_grad(float* logits, int64_t n, int64_t target, float scale);
// The index of the first largest value.
int64_t argmax(const float* x, int64_t n);

}  // namespace llamapro::vec
