// test_schedule.cpp — learning-rate schedules and warmup parsing against closed forms.
#include <gtest/gtest.h>

#include <cmath>

#include "train/schedule.h"
#include "util/check.h"

namespace llamapro {
namespace {

TEST(Schedule, WarmupThenCosineToTheFloor) {
  Schedule s;
  s.kind = Schedule::Kind::Cosine;
  s.peak_lr = 1.0;
  s.min_lr = 0.1;
  s.warmup_steps = 4;
  s.total_steps = 14;
  EXPECT_DOUBLE_EQ(s.lr_at(0), 0.25);
  EXPECT_DOUBLE_EQ(s.lr_at(3), 1.0);
  EXPECT_DOUBLE_EQ(s.lr_at(4), 1.0);  // decay starts at the peak
  EXPECT_NEAR(s.lr_at(8), 0.1 + 0.9 * 0.5 * (1 + std::cos(M_PI * 0.4)), 1e-12);
  EXPECT_NEAR(s.lr_at(13), 0.1 + 0.9 * 0.5 * (1 + std::cos(M_PI * 0.9)), 1e-12);  // the last step still moves
  EXPECT_NEAR(s.lr_at(14), 0.1, 1e-12);
}

TEST(Schedule, LinearAndConstant) {
  Schedule s;
  s.kind = Schedule::Kind::Linear;
  s.peak_lr = 2.0;
  s.total_steps = 5;
  EXPECT_DOUBLE_EQ(s.lr_at(0), 2.0);
  EXPECT_DOUBLE_EQ(s.lr_at(1), 1.6);
  EXPECT_DOUBLE_EQ(s.lr_at(4), 0.4);
  s.kind = Schedule::Kind::Constant;
  EXPECT_DOUBLE_EQ(s.lr_at(4), 2.0);
}

TEST(Schedule, WarmupAsStepsOrFraction) {
  EXPECT_EQ(parse_warmup("100").steps(1000), 100);
  EXPECT_EQ(parse_warmup("0.06").steps(1000), 60);
  EXPECT_EQ(parse_warmup("0").steps(1000), 0);
  EXPECT_THROW(parse_warmup("-1"), Error);
  EXPECT_THROW(parse_warmup("abc"), Error);
  EXPECT_THROW(parse_warmup("2.5"), Error);  // neither steps nor a fraction
  EXPECT_THROW(parse_schedule("step"), Error);
}

}  // namespace
}  // namespace llamapro
