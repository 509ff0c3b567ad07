// test_causal_attention.cpp — the attention loops (model/causal_attention) against plain
// float64 math (scores, causal mask, softmax, weighted values, autograd): outputs and the
// gradients of q, k and v, over head sizes that exercise every tile shape, lengths around the
// query blocks and key panels, grouped KV heads and strided inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "model/causal_attention.h"

namespace llamapro {
namespace {

// q (B, NH, T, HD), k and v (B, NKV, T, HD), in float64; first_key (B, T) or undefined.
torch::Tensor reference(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& first_key) {
  const int64_t T = q.size(2), n_rep = q.size(1) / k.size(1);
  auto kk = k.repeat_interleave(n_rep, 1), vv = v.repeat_interleave(n_rep, 1);
  auto scores = torch::matmul(q, kk.transpose(-2, -1)) / std::sqrt(double(q.size(3)));
  auto key = torch::arange(T, torch::kLong);
  auto hidden = (key.unsqueeze(0) > key.unsqueeze(1)).unsqueeze(0);  // (1, T, T): a later key
  if (first_key.defined()) hidden = hidden.logical_or(key.view({1, 1, T}) < first_key.unsqueeze(2));
  scores = scores.masked_fill(hidden.unsqueeze(1), -std::numeric_limits<double>::infinity());
  return torch::matmul(torch::softmax(scores, -1), vv);
}

// Relative L2 error; absolute where the reference is near zero (one position's q and k get
// no gradient at all: a softmax over one key is constant).
double rel(const torch::Tensor& a, const torch::Tensor& b) {
  return ((a.to(torch::kDouble) - b).norm() / b.norm().clamp_min(1.0)).item<double>();
}

// Output and gradients of the loops against the reference for one shape; `strided` feeds
// views of (B, T, heads, HD) tensors, as the model's projections make them.
void expect_same(int64_t B, int64_t NH, int64_t NKV, int64_t T, int64_t HD, bool strided,
                 const torch::Tensor& first_key = {}) {
  const std::string what = "B " + std::to_string(B) + " NH " + std::to_string(NH) + " NKV " + std::to_string(NKV) +
                           " T " + std::to_string(T) + " HD " + std::to_string(HD) + (strided ? " strided" : "") +
                           (first_key.defined() ? " packed" : "");
  torch::manual_seed(T * 131 + HD);
  auto make = [&](int64_t heads) {
    return strided ? torch::randn({B, T, heads, HD}).transpose(1, 2) : torch::randn({B, heads, T, HD});
  };
  const torch::Tensor q = make(NH) * 2, k = make(NKV), v = make(NKV), d_out = torch::randn({B, NH, T, HD});

  auto q1 = q.detach().clone().requires_grad_(true), k1 = k.detach().clone().requires_grad_(true),
       v1 = v.detach().clone().requires_grad_(true);
  torch::Tensor out = causal_attention(q1, k1, v1, first_key);
  out.backward(d_out);

  auto q2 = q.to(torch::kDouble).requires_grad_(true), k2 = k.to(torch::kDouble).requires_grad_(true),
       v2 = v.to(torch::kDouble).requires_grad_(true);
  torch::Tensor want = reference(q2, k2, v2, first_key);
  want.backward(d_out.to(torch::kDouble));

  EXPECT_EQ(out.sizes(), want.sizes()) << what;
  EXPECT_LT(rel(out, want), 2e-6) << what;
  EXPECT_LT(rel(q1.grad(), q2.grad()), 2e-6) << what;
  EXPECT_LT(rel(k1.grad(), k2.grad()), 2e-6) << what;
  EXPECT_LT(rel(v1.grad(), v2.grad()), 2e-6) << what;
  EXPECT_EQ(k1.grad().sizes(), k.sizes()) << what;
}

TEST(CausalAttention, MatchesPlainMathForEveryTileShape) {
  for (int64_t HD : {8, 16, 24, 64, 128}) expect_same(2, 4, 4, 37, HD, false);
}

TEST(CausalAttention, MatchesPlainMathAroundBlockAndPanelEdges) {
  for (int64_t T : {1, 2, 15, 16, 17, 63, 64, 65, 130}) expect_same(1, 2, 2, T, 16, false);
}

TEST(CausalAttention, ReadsGroupedKvHeadsAndStridedViews) {
  expect_same(2, 8, 2, 70, 32, false);  // four query heads per KV head
  expect_same(1, 6, 1, 33, 16, true);   // one KV head for all
  expect_same(2, 4, 4, 90, 64, true);
}

// Packed rows: each query sees its own document only (documents of 1, 5, 30, 64 and 100
// positions in one row, 200 positions in one document in the other).
TEST(CausalAttention, KeepsEachPackedDocumentToItself) {
  std::vector<int64_t> starts;
  for (int64_t length : {1, 5, 30, 64, 100})
    for (int64_t i = 0, start = int64_t(starts.size()); i < length; i++) starts.push_back(start);
  torch::Tensor first_key = torch::stack({torch::tensor(starts), torch::zeros({200}, torch::kLong)});
  expect_same(2, 4, 2, 200, 16, true, first_key);
  expect_same(2, 2, 2, 200, 64, false, first_key);
}

TEST(CausalAttention, TakesFloat32CpuHeadsOfEightFloats) {
  EXPECT_TRUE(causal_attention_applies(torch::kCPU, torch::kFloat, 8));
  EXPECT_FALSE(causal_attention_applies(torch::kCPU, torch::kFloat, 12));
  EXPECT_FALSE(causal_attention_applies(torch::kCPU, torch::kBFloat16, 8));
}

}  // namespace
}  // namespace llamapro
