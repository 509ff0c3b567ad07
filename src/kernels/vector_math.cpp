// vector_math.cpp — see vector_math.h. The hot loops are written on 8-float vectors
// (kernels/simd.h).
#include "kernels/vector_math.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/simd.h"

namespace llamapro::vec {

using namespace simd;

namespace {

float row_max(const float* x, int64_t n) {
  float max = x[0];
  for (int64_t i = 1; i < n; i++) max = std::max(max, x[i]);
  return max;
}

// x[i] = exp(x[i] - max) for every i; returns their sum.
float exp_shifted(float* x, int64_t n, float max) {
  v8 total = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const v8 e = exp8(load8(x + i) - max);
    store8(x + i, e);
    total += e;
  }
  float sum = sum8(total);
  if (i < n) {  // the tail through a padded vector
    float tail[8];
    std::fill(tail, tail + 8, -100.0f);
    std::copy(x + i, x + n, tail);
    const v8 e = exp8(load8(tail) - max);
    for (int64_t j = 0; i + j < n; j++) {
      x[i + j] = e[j];
      sum += e[j];
    }
  }
  return sum;
}

// Inlined: a call per short dot product (attention heads of 8 floats) would cost more than
// the product.
__attribute__((always_inline)) inline float dot_inline(const float* a, const float* b, int64_t n) {
  v8 acc0 = {}, acc1 = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 += load8(a + i) * load8(b + i);
    acc1 += load8(a + i + 8) * load8(b + i + 8);
  }
  if (i + 8 <= n) {
    acc0 += load8(a + i) * load8(b + i);
    i += 8;
  }
  float s = sum8(acc0 + acc1);
  for (; i < n; i++) s += a[i] * b[i];
  return s;
}

}  // namespace

float dot(const float* a, const float* b, int64_t n) { return dot_inline(a, b, n); }

// Four rows at a time share each load of x.
void matvec(const float* w, const float* x, float* y, int64_t cols, int64_t r0, int64_t r1) {
  int64_t r = r0;
  for (; r + 4 <= r1; r += 4) {
    const float* w0 = w + r * cols;
    const float *w1 = w0 + cols, *w2 = w1 + cols, *w3 = w2 + cols;
    v8 a0 = {}, a1 = {}, a2 = {}, a3 = {};
    int64_t i = 0;
    for (; i + 8 <= cols; i += 8) {
      const v8 xv = load8(x + i);
      a0 += load8(w0 + i) * xv;
      a1 += load8(w1 + i) * xv;
      a2 += load8(w2 + i) * xv;
      a3 += load8(w3 + i) * xv;
    }
    float s0 = sum8(a0), s1 = sum8(a1), s2 = sum8(a2), s3 = sum8(a3);
    for (; i < cols; i++) {
      s0 += w0[i] * x[i];
      s1 += w1[i] * x[i];
      s2 += w2[i] * x[i];
      s3 += w3[i] * x[i];
    }
    y[r] = s0;
    y[r + 1] = s1;
    y[r + 2] = s2;
    y[r + 3] = s3;
  }
  for (; r < r1; r++) y[r] = dot_inline(w + r * cols, x, cols);
}

void swiglu_rows(const float* gate, const float* gate_bias, const float* up, const float* up_bias, const float* x,
                 float* out, int64_t cols, int64_t r0, int64_t r1) {
  for (int64_t r = r0; r < r1; r += 8) {  // eight rows per vectorised silu
    const int64_t n = std::min<int64_t>(8, r1 - r);
    v8 g = {}, u = {};
    for (int64_t j = 0; j < n; j++) {
      g[j] = dot_inline(gate + (r + j) * cols, x, cols) + (gate_bias ? gate_bias[r + j] : 0.0f);
      u[j] = dot_inline(up + (r + j) * cols, x, cols) + (up_bias ? up_bias[r + j] : 0.0f);
    }
    const v8 h = g / (splat(1.0f) + exp8(-g)) * u;
    for (int64_t j = 0; j < n; j++) out[r + j] = h[j];
  }
}

void add(float* y, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] += x[i];
}

void rms_norm(const float* x, const float* weight, float* out, int64_t n, float eps) {
  const float mean_square = dot(x, x, n) / float(n);
  const float scale = 1.0f / std::sqrt(mean_square + eps);
  for (int64_t i = 0; i < n; i++) out[i] = weight[i] * (x[i] * scale);
}

void rope(float* x, const float* cos, const float* sin, int64_t head_dim) {
  const int64_t half = head_dim / 2;
  for (int64_t i = 0; i < half; i++) {
    const float a = x[i], b = x[i + half];
    x[i] = a * cos[i] - b * sin[i];
    x[i + half] = b * cos[i + half] + a * sin[i + half];
  }
}

namespace {

// Attention of one head with HD = 8 * NV: q and the running output stay in registers (an
// output accumulated in memory makes every position wait for the previous one's store).
template <int NV>
void attend_fixed(const float* q, const float* keys, const float* values, int64_t stride, int64_t n, float scale,
                  float* scores, float* out) {
  v8 qv[NV], acc[NV];
  for (int j = 0; j < NV; j++) {
    qv[j] = load8(q + 8 * j);
    acc[j] = v8{};
  }
  for (int64_t s = 0; s < n; s++) {
    v8 d = qv[0] * load8(keys + s * stride);
    for (int j = 1; j < NV; j++) d += qv[j] * load8(keys + s * stride + 8 * j);
    scores[s] = sum8(d) * scale;
  }
  softmax(scores, n);
  for (int64_t s = 0; s < n; s++) {
    const v8 a = splat(scores[s]);
    for (int j = 0; j < NV; j++) acc[j] += a * load8(values + s * stride + 8 * j);
  }
  std::memcpy(out, acc, sizeof acc);
}

}  // namespace

void attend(const float* q, const float* keys, const float* values, int64_t stride, int64_t n, int64_t head_dim,
            float scale, float* scores, float* out) {
  switch (head_dim) {
    case 8: return attend_fixed<1>(q, keys, values, stride, n, scale, scores, out);
    case 16: return attend_fixed<2>(q, keys, values, stride, n, scale, scores, out);
    case 32: return attend_fixed<4>(q, keys, values, stride, n, scale, scores, out);
    case 64: return attend_fixed<8>(q, keys, values, stride, n, scale, scores, out);
    case 128: return attend_fixed<16>(q, keys, values, stride, n, scale, scores, out);
    default: break;
  }
  for (int64_t s = 0; s < n; s++) scores[s] = dot_inline(q, keys + s * stride, head_dim) * scale;
  softmax(scores, n);
  std::fill(out, out + head_dim, 0.0f);
  for (int64_t s = 0; s < n; s++) {
    const float a = scores[s];
    const float* v = values + s * stride;
    for (int64_t i = 0; i < head_dim; i++) out[i] += a * v[i];
  }
}

float softmax(float* x, int64_t n) {
  const float max = row_max(x, n), sum = exp_shifted(x, n, max);
  const float inv = 1.0f / sum;
  for (int64_t j = 0; j < n; j++) x[j] *= inv;
  return max + std::log(sum);
}

float cross_entropy_grad(float* logits, int64_t n, int64_t target, float scale) {
  const float target_logit = logits[target], max = row_max(logits, n);
  const float sum = exp_shifted(logits, n, max);  // the row stays in cache between its passes
  const float factor = scale / sum;
  for (int64_t j = 0; j < n; j++) logits[j] *= factor;
  logits[target] -= scale;
  return std::log(sum) + max - target_logit;
}

int64_t argmax(const float* x, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; i++)
    if (x[i] > x[best]) best = i;
  return best;
}

}  // namespace llamapro::vec
