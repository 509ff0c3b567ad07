// test_linear.cpp — linear_layer and matmul_into (model/linear, through kernels/cpu_gemm's split
// single-threaded BLAS calls) against libtorch: values and gradients, with and without bias,
// frozen weights, 3-d inputs, transposed operands, shapes split by rows and by columns.
#include <gtest/gtest.h>

#include "model/linear.h"

namespace llamapro {
namespace {

double rel(const torch::Tensor& a, const torch::Tensor& b) {
  return ((a - b).norm() / b.norm().clamp_min(1e-30)).item<double>();
}

void expect_same(std::vector<int64_t> x_shape, int64_t N, bool bias, bool weight_grad) {
  torch::manual_seed(x_shape.back() + N);
  const int64_t K = x_shape.back();
  const torch::Tensor x = torch::randn(x_shape), w = torch::randn({N, K}) * 0.1, b = torch::randn({N});
  std::vector<int64_t> y_shape = x_shape;
  y_shape.back() = N;
  const torch::Tensor grad = torch::randn(y_shape);
  auto run = [&](bool ours) {
    auto xi = x.clone().requires_grad_(true), wi = w.clone().requires_grad_(weight_grad), bi = b.clone().requires_grad_(true);
    torch::Tensor y = ours ? linear_layer(xi, wi, bias ? bi : torch::Tensor()) : torch::linear(xi, wi, bias ? bi : torch::Tensor());
    y.backward(grad);
    return std::make_tuple(y.detach(), xi.grad(), weight_grad ? wi.grad() : torch::Tensor(), bias ? bi.grad() : torch::Tensor());
  };
  auto [y1, dx1, dw1, db1] = run(true);
  auto [y2, dx2, dw2, db2] = run(false);
  EXPECT_EQ(y1.sizes(), y2.sizes());
  EXPECT_LT(rel(y1, y2), 1e-6);
  EXPECT_LT(rel(dx1, dx2), 1e-6);
  if (weight_grad) {
    EXPECT_LT(rel(dw1, dw2), 1e-6);
  }
  if (bias) {
    EXPECT_LT(rel(db1, db2), 1e-6);
  }
}

TEST(LinearLayer, MatchesTorchLinearValuesAndGradients) {
  expect_same({2, 33, 64}, 96, false, true);   // more rows than columns: split by rows
  expect_same({1, 5, 48}, 300, true, true);    // split by columns
  expect_same({70, 16}, 24, true, false);      // frozen weight: no weight gradient
  expect_same({3, 4}, 5, false, true);         // too small to split
}

TEST(MatmulInto, TransposedOperandsAndAccumulation) {
  torch::manual_seed(1);
  const torch::Tensor a = torch::randn({40, 70}), b = torch::randn({70, 90});
  torch::Tensor out = torch::randn({90, 40});
  const torch::Tensor start = out.clone();
  matmul_into(out, b.t(), a.t(), Into::Accumulate);  // both operands transposed views
  EXPECT_LT(rel(out, start + torch::mm(b.t(), a.t())), 1e-6);
  torch::Tensor fresh = torch::full({40, 90}, 7.0f);
  matmul_into(fresh, a, b, Into::Overwrite);  // overwritten, not added to
  EXPECT_LT(rel(fresh, torch::mm(a, b)), 1e-6);
  torch::Tensor strided = torch::randn({40, 140}).narrow(1, 0, 70);  // rows 140 floats apart
  matmul_into(fresh, strided, b, Into::Overwrite);
  EXPECT_LT(rel(fresh, torch::mm(strided, b)), 1e-6);
}

}  // namespace
}  // namespace llamapro
