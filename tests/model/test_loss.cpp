// test_loss.cpp — the fused head + cross-entropy against the plain loss on materialised
// logits: values and gradients (hidden states and head), over several chunks, with masks.
#include <gtest/gtest.h>

#include "model/loss.h"

namespace llamapro {
namespace {

struct Case {
  torch::Tensor hidden, head, ids, mask;
};

// Loss and gradients of both paths on fresh leaves.
void expect_same(const Case& c, const std::string& what) {
  auto run = [&](bool fused) {
    auto h = c.hidden.detach().clone().requires_grad_(true);
    auto w = c.head.detach().clone().requires_grad_(true);
    auto loss = fused ? fused_next_token_loss(h, w, c.ids, c.mask)
                      : next_token_loss(torch::linear(h, w), c.ids, c.mask);
    loss.backward();
    return std::make_tuple(loss.item<double>(), h.grad(), w.grad());
  };
  auto [fused_loss, fused_dh, fused_dw] = run(true);
  auto [plain_loss, plain_dh, plain_dw] = run(false);
  EXPECT_NEAR(fused_loss, plain_loss, 1e-6 * std::abs(plain_loss) + 1e-7) << what;
  auto rel = [](const torch::Tensor& a, const torch::Tensor& b) {
    return ((a - b).norm() / b.norm().clamp_min(1e-30)).item<double>();
  };
  EXPECT_LT(rel(fused_dh, plain_dh), 1e-5) << what;
  EXPECT_LT(rel(fused_dw, plain_dw), 1e-5) << what;
}

Case random_case(int64_t B, int64_t T, int64_t C, int64_t V) {
  torch::manual_seed(3);
  return {torch::randn({B, T, C}), torch::randn({V, C}) * 0.3, torch::randint(0, V, {B, T}, torch::kLong), {}};
}

TEST(FusedLoss, EqualsTheLossOnMaterialisedLogits) {
  expect_same(random_case(2, 9, 8, 50), "one chunk");
  // 2^23 logits per chunk: a vocabulary of 100,000 makes chunks of 83 rows, so 3 x 63 rows run
  // in three chunks, the last one partial.
  expect_same(random_case(3, 64, 16, 100000), "several chunks");
}

TEST(FusedLoss, MaskedTargetsOnly) {
  Case c = random_case(2, 12, 8, 70);
  c.mask = torch::randint(0, 2, {2, 12}, torch::kLong).to(torch::kUInt8);
  expect_same(c, "random mask");
  c.mask = torch::zeros({2, 12}, torch::kUInt8);  // nothing to predict: 0, zero gradients
  auto h = c.hidden.clone().requires_grad_(true);
  auto loss = fused_next_token_loss(h, c.head, c.ids, c.mask);
  loss.backward();
  EXPECT_EQ(loss.item<double>(), 0.0);
  EXPECT_EQ(h.grad().abs().max().item<double>(), 0.0);
}

TEST(FusedLoss, FrozenHeadGetsNoGradientAndEvaluationNeedsNone) {
  Case c = random_case(2, 10, 8, 60);
  auto h = c.hidden.clone().requires_grad_(true);
  auto loss = fused_next_token_loss(h, c.head, c.ids);  // the head is frozen (LLaMA Pro)
  loss.backward();
  EXPECT_FALSE(c.head.grad().defined());
  EXPECT_TRUE(h.grad().defined());
  torch::NoGradGuard no_grad;
  EXPECT_NEAR(fused_next_token_loss(c.hidden, c.head, c.ids).item<double>(),
              next_token_loss(torch::linear(c.hidden, c.head), c.ids).item<double>(), 1e-5);
}

}  // namespace
}  // namespace llamapro
