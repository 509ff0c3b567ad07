// test_vector_math.cpp — the decoding loops against double-precision sums, on lengths that
// exercise the vector bodies and the tails.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/vector_math.h"

namespace llamapro {
namespace {

std::vector<float> random_vector(int64_t n, std::mt19937& rng, float scale = 1.0f) {
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = normal(rng);
  return v;
}

double dot_double(const float* a, const float* b, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; i++) s += double(a[i]) * double(b[i]);
  return s;
}

TEST(VectorMath, MatvecOverRowRangesMatchesDoubleSums) {
  std::mt19937 rng(1);
  for (int64_t cols : {1, 7, 8, 15, 16, 17, 64, 100, 2048}) {
    const int64_t rows = 13;
    auto w = random_vector(rows * cols, rng), x = random_vector(cols, rng);
    std::vector<float> y(static_cast<size_t>(rows), -1.0f);
    vec::matvec(w.data(), x.data(), y.data(), cols, 0, 6);  // two ranges, one of 4 + 2 rows
    vec::matvec(w.data(), x.data(), y.data(), cols, 6, rows);
    for (int64_t r = 0; r < rows; r++) {
      const double ref = dot_double(w.data() + r * cols, x.data(), cols);
      EXPECT_NEAR(y[size_t(r)], ref, 1e-5 * std::sqrt(double(cols)) + 1e-6) << "cols " << cols << " row " << r;
      EXPECT_NEAR(vec::dot(w.data() + r * cols, x.data(), cols), ref, 1e-5 * std::sqrt(double(cols)) + 1e-6);
    }
  }
}

TEST(VectorMath, SoftmaxIsAccurateOverTheFloatRange) {
  // The vector exp against std::exp in double, over scores as far apart as float allows. The
  // float difference x - max is rounded (half an ulp of |x - max|), which any float softmax
  // shares; beyond that the error stays within 1e-6.
  std::mt19937 rng(2);
  for (int64_t n : {1, 5, 8, 9, 31, 300}) {
    for (float spread : {0.1f, 5.0f, 40.0f}) {
      auto x = random_vector(n, rng, spread);
      std::vector<double> ref(static_cast<size_t>(n));
      double max = x[0], sum = 0;
      for (float v : x) max = std::max(max, double(v));
      for (int64_t i = 0; i < n; i++) sum += ref[size_t(i)] = std::exp(double(x[size_t(i)]) - max);
      std::vector<double> rounding(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; i++) rounding[size_t(i)] = 6e-8 * std::abs(double(x[size_t(i)]) - max);
      vec::softmax(x.data(), n);
      for (int64_t i = 0; i < n; i++) {
        const double p = ref[size_t(i)] / sum;
        EXPECT_NEAR(x[size_t(i)], p, (1e-6 + rounding[size_t(i)]) * p + 1e-30) << n << " " << spread;
      }
    }
  }
  float extremes[] = {-1000.0f, 0.0f, 1000.0f};  // far below exp's range: the smallest normal float
  vec::softmax(extremes, 3);
  EXPECT_LT(extremes[0], 1e-37f);
  EXPECT_EQ(extremes[2], 1.0f);
}

TEST(VectorMath, SwigluMatchesItsDefinition) {
  std::mt19937 rng(3);
  const int64_t cols = 24, rows = 19;  // rows: two groups of 8 and a tail of 3
  auto gate = random_vector(rows * cols, rng), up = random_vector(rows * cols, rng), x = random_vector(cols, rng);
  auto gate_bias = random_vector(rows, rng), up_bias = random_vector(rows, rng);
  std::vector<float> out(static_cast<size_t>(rows));
  vec::swiglu_rows(gate.data(), gate_bias.data(), up.data(), up_bias.data(), x.data(), out.data(), cols, 0, rows);
  for (int64_t r = 0; r < rows; r++) {
    const double g = dot_double(gate.data() + r * cols, x.data(), cols) + gate_bias[size_t(r)];
    const double u = dot_double(up.data() + r * cols, x.data(), cols) + up_bias[size_t(r)];
    EXPECT_NEAR(out[size_t(r)], g / (1 + std::exp(-g)) * u, 1e-5 * (1 + std::abs(g * u)));
  }
}

TEST(VectorMath, AttendMatchesSoftmaxWeightedValues) {
  std::mt19937 rng(4);
  for (int64_t hd : {8, 12, 16, 32, 64, 128}) {  // 12: the general path
    const int64_t n = 37, stride = 3 * hd;       // keys of other heads in between
    auto q = random_vector(hd, rng), keys = random_vector(n * stride, rng), values = random_vector(n * stride, rng);
    std::vector<float> scores(static_cast<size_t>(n)), out(static_cast<size_t>(hd));
    const float scale = 1.0f / std::sqrt(float(hd));
    vec::attend(q.data(), keys.data(), values.data(), stride, n, hd, scale, scores.data(), out.data());
    std::vector<double> p(static_cast<size_t>(n));
    double max = -1e300, sum = 0;
    for (int64_t s = 0; s < n; s++) max = std::max(max, p[size_t(s)] = dot_double(q.data(), keys.data() + s * stride, hd) * scale);
    for (auto& v : p) sum += v = std::exp(v - max);
    for (int64_t i = 0; i < hd; i++) {
      double ref = 0;
      for (int64_t s = 0; s < n; s++) ref += p[size_t(s)] / sum * values[size_t(s * stride + i)];
      EXPECT_NEAR(out[size_t(i)], ref, 1e-5) << "head dim " << hd << " element " << i;
    }
  }
}

TEST(VectorMath, RmsNormRopeAndArgmax) {
  std::mt19937 rng(5);
  auto x = random_vector(70, rng), w = random_vector(70, rng);
  std::vector<float> out(70);
  vec::rms_norm(x.data(), w.data(), out.data(), 70, 1e-5f);
  const double scale = 1 / std::sqrt(dot_double(x.data(), x.data(), 70) / 70 + 1e-5);
  for (size_t i = 0; i < 70; i++) EXPECT_NEAR(out[i], w[i] * x[i] * scale, 1e-5);

  float head[4] = {1, 2, 3, 4}, cos[4] = {0.5f, 0.25f, 0.5f, 0.25f}, sin[4] = {0.1f, 0.2f, 0.1f, 0.2f};
  vec::rope(head, cos, sin, 4);  // rotate_half(x) = (-3, -4, 1, 2)
  EXPECT_FLOAT_EQ(head[0], 1 * 0.5f - 3 * 0.1f);
  EXPECT_FLOAT_EQ(head[1], 2 * 0.25f - 4 * 0.2f);
  EXPECT_FLOAT_EQ(head[2], 3 * 0.5f + 1 * 0.1f);
  EXPECT_FLOAT_EQ(head[3], 4 * 0.25f + 2 * 0.2f);

  const float v[] = {1, 7, 3, 7, 2};
  EXPECT_EQ(vec::argmax(v, 5), 1);  // the first of equal maxima, as torch's argmax
}

}  // namespace
}  // namespace llamapro
