// attention_loops.cpp — see attention_loops.h. Every product is one small matrix product,
// C (+)= A B, done by register tiles of 6 rows x 16 columns (12 accumulators, the classic
// AVX2 shape): A's element broadcast, B's row loaded as vectors.
#include "kernels/attention_loops.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/vector_math.h"
#include "kernels/simd.h"

namespace llamapro::attn {

using namespace simd;

namespace {

constexpr int64_t kQueries = 64;  // queries per block: their scores stay in cache
constexpr int kTileRows = 6;
constexpr int64_t kPanel = 16;    // keys per packed panel

int64_t round_up(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

// A matrix whose element (m, k) is data[m * m_step + k * k_step]: rows or columns of a
// row-major array, so one tile serves both A B and A^T B.
struct Operand {
  const float* data;
  int64_t m_step, k_step;
};

// C[m, 0:8*NV] (+)= sum_k A(m, k) B[k, 0:8*NV] for m < MR.
template <int MR, int NV>
__attribute__((always_inline)) inline void tile(int64_t K, Operand a, const float* b, int64_t ldb, float* c,
                                                int64_t ldc, bool accumulate) {
  v8 sum[MR][NV];
#pragma GCC unroll 8
  for (int m = 0; m < MR; m++)
#pragma GCC unroll 2
    for (int n = 0; n < NV; n++) sum[m][n] = v8{};
  for (int64_t k = 0; k < K; k++) {
    v8 bv[NV];
#pragma GCC unroll 2
    for (int n = 0; n < NV; n++) bv[n] = load8(b + k * ldb + 8 * n);
#pragma GCC unroll 8
    for (int m = 0; m < MR; m++) {
      const v8 x = splat(a.data[m * a.m_step + k * a.k_step]);
#pragma GCC unroll 2
      for (int n = 0; n < NV; n++) sum[m][n] += x * bv[n];
    }
  }
#pragma GCC unroll 8
  for (int m = 0; m < MR; m++)
#pragma GCC unroll 2
    for (int n = 0; n < NV; n++) {
      float* p = c + m * ldc + 8 * n;
      store8(p, accumulate ? sum[m][n] + load8(p) : sum[m][n]);
    }
}

template <int NV>
void tile_rows(int rows, int64_t K, Operand a, const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  switch (rows) {
    case 6: return tile<6, NV>(K, a, b, ldb, c, ldc, accumulate);
    case 5: return tile<5, NV>(K, a, b, ldb, c, ldc, accumulate);
    case 4: return tile<4, NV>(K, a, b, ldb, c, ldc, accumulate);
    case 3: return tile<3, NV>(K, a, b, ldb, c, ldc, accumulate);
    case 2: return tile<2, NV>(K, a, b, ldb, c, ldc, accumulate);
    default: return tile<1, NV>(K, a, b, ldb, c, ldc, accumulate);
  }
}

// C (M, N) (+)= A (M, K) B (K, N), B and C row-major; N a multiple of 8.
void matmul(int64_t M, int64_t N, int64_t K, Operand a, const float* b, int64_t ldb, float* c, int64_t ldc,
            bool accumulate) {
  for (int64_t n = 0; n < N; n += 16) {
    for (int64_t m = 0; m < M; m += kTileRows) {
      const int rows = int(std::min<int64_t>(kTileRows, M - m));
      const Operand am{a.data + m * a.m_step, a.m_step, a.k_step};
      if (n + 16 <= N) tile_rows<2>(rows, K, am, b + n, ldb, c + m * ldc + n, ldc, accumulate);
      else tile_rows<1>(rows, K, am, b + n, ldb, c + m * ldc + n, ldc, accumulate);
    }
  }
}

Operand rows_of(const float* data, int64_t ld) { return {data, ld, 1}; }
Operand columns_of(const float* data, int64_t ld) { return {data, 1, ld}; }  // the transpose

// x (T, HD) -> panels of 16 positions, each (HD, 16): a row of a panel holds one feature of 16
// positions, so scores against 16 keys are one tile. Positions past T are zero.
std::vector<float> pack_panels(Rows x, int64_t T, int64_t HD) {
  std::vector<float> out(size_t(round_up(T, kPanel) * HD), 0.0f);
  for (int64_t j = 0; j < T; j++)
    for (int64_t d = 0; d < HD; d++) out[size_t((j / kPanel) * HD * kPanel + d * kPanel + j % kPanel)] = x.data[j * x.ld + d];
  return out;
}

// scores (R, ld) = queries (R, HD) . keys^T for keys lo .. n (lo a multiple of the panel, n
// rounded up to one): column c holds key lo + c.
void scores_of(Rows queries, int64_t R, const std::vector<float>& panels, int64_t lo, int64_t n, int64_t HD,
               float* scores, int64_t ld) {
  for (int64_t p = lo / kPanel; p * kPanel < n; p++)
    matmul(R, kPanel, HD, rows_of(queries.data, queries.ld), panels.data() + p * HD * kPanel, kPanel,
           scores + p * kPanel - lo, ld, false);
}

void zero_rows(MutableRows x, int64_t T, int64_t HD) {
  for (int64_t i = 0; i < T; i++) std::fill(x.data + i * x.ld, x.data + i * x.ld + HD, 0.0f);
}

// The keys a block of queries [i0, i0 + R) sees: from `lo` (its first query's first key,
// rounded down to a panel) to n, and for each query the columns [first, last] of its row.
struct Block {
  int64_t i0, R, lo, n;
  int64_t first(const int64_t* first_key, int64_t r) const { return (first_key ? first_key[i0 + r] : 0) - lo; }
  int64_t last(int64_t r) const { return i0 + r - lo; }
};

Block block_at(int64_t i0, int64_t T, const int64_t* first_key) {
  const int64_t R = std::min(kQueries, T - i0);
  return {i0, R, first_key ? first_key[i0] / kPanel * kPanel : 0, i0 + R};
}

}  // namespace

void causal_forward(Rows q, Rows k, Rows v, const int64_t* first_key, int64_t T, int64_t HD, float scale,
                    MutableRows out, float* lse) {
  const int64_t ld = round_up(T, kPanel);
  const std::vector<float> k_panels = pack_panels(k, T, HD);
  std::vector<float> scores(size_t(kQueries * ld));
  for (int64_t i0 = 0; i0 < T; i0 += kQueries) {
    const Block b = block_at(i0, T, first_key);
    scores_of({q.data + i0 * q.ld, q.ld}, b.R, k_panels, b.lo, b.n, HD, scores.data(), ld);
    for (int64_t r = 0; r < b.R; r++) {
      float* row = scores.data() + r * ld;
      const int64_t first = b.first(first_key, r), last = b.last(r);
      for (int64_t j = first; j <= last; j++) row[j] *= scale;
      lse[i0 + r] = vec::softmax(row + first, last - first + 1);
      std::fill(row, row + first, 0.0f);
      std::fill(row + last + 1, row + (b.n - b.lo), 0.0f);
    }
    matmul(b.R, HD, b.n - b.lo, rows_of(scores.data(), ld), v.data + b.lo * v.ld, v.ld, out.data + i0 * out.ld,
           out.ld, false);
  }
}

void causal_backward(Rows q, Rows k, Rows v, const int64_t* first_key, Rows out, const float* lse, Rows d_out,
                     int64_t T, int64_t HD, float scale, MutableRows d_q, MutableRows d_k, MutableRows d_v) {
  const int64_t ld = round_up(T, kPanel);
  const std::vector<float> k_panels = pack_panels(k, T, HD), v_panels = pack_panels(v, T, HD);
  std::vector<float> probs(size_t(kQueries * ld)), d_scores(size_t(kQueries * ld));
  zero_rows(d_k, T, HD);
  zero_rows(d_v, T, HD);
  for (int64_t i0 = 0; i0 < T; i0 += kQueries) {
    const Block b = block_at(i0, T, first_key);
    const int64_t width = b.n - b.lo;
    const Rows q_block{q.data + i0 * q.ld, q.ld}, d_out_block{d_out.data + i0 * d_out.ld, d_out.ld};
    scores_of(q_block, b.R, k_panels, b.lo, b.n, HD, probs.data(), ld);       // the forward's scores again
    scores_of(d_out_block, b.R, v_panels, b.lo, b.n, HD, d_scores.data(), ld);  // d_probs = d_out . v^T
    for (int64_t r = 0; r < b.R; r++) {
      const int64_t i = i0 + r, first = b.first(first_key, r), last = b.last(r);
      float* p = probs.data() + r * ld;
      float* ds = d_scores.data() + r * ld;
      // softmax backward: d_score_j = p_j (d_p_j - sum_l p_l d_p_l), and sum_l p_l d_p_l = d_out_i . out_i.
      const float d_dot = vec::dot(d_out.data + i * d_out.ld, out.data + i * out.ld, HD);
      int64_t j = first;
      for (; j + 8 <= last + 1; j += 8) {
        const v8 pj = exp8(load8(p + j) * scale - lse[i]);
        store8(p + j, pj);
        store8(ds + j, pj * (load8(ds + j) - d_dot) * scale);
      }
      for (; j <= last; j++) {
        p[j] = std::exp(p[j] * scale - lse[i]);
        ds[j] = p[j] * (ds[j] - d_dot) * scale;
      }
      for (float* row : {p, ds}) {
        std::fill(row, row + first, 0.0f);
        std::fill(row + last + 1, row + width, 0.0f);
      }
    }
    matmul(b.R, HD, width, rows_of(d_scores.data(), ld), k.data + b.lo * k.ld, k.ld, d_q.data + i0 * d_q.ld,
           d_q.ld, false);
    matmul(width, HD, b.R, columns_of(probs.data(), ld), d_out_block.data, d_out_block.ld, d_v.data + b.lo * d_v.ld,
           d_v.ld, true);
    matmul(width, HD, b.R, columns_of(d_scores.data(), ld), q_block.data, q_block.ld, d_k.data + b.lo * d_k.ld,
           d_k.ld, true);
  }
}

}  // namespace llamapro::attn
