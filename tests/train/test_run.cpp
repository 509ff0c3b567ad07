// test_run.cpp — the training run loop in the library (train/run), without the binary, and the
// metrics log it writes read back through the one reader plot uses (train/metrics_log).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "train/metrics_log.h"
#include "train/run.h"
#include "train_helpers.h"

namespace llamapro {
namespace {

using testing::fixture;
using testing::TempDir;

TEST(MetricsLog, WhatTheWriterWritesTheReaderReads) {
  TempDir tmp;
  StepMetrics step{3, 96, 2.5, 1e-3, 0.7, 1000.0, json(), json{{"domain", 64}, {"general", 32}}};
  EvalMetrics eval{3, 96, 2.25, {{"domain", 2.0}, {"general", 3.0}}};
  {
    std::ofstream f(tmp.path() / kMetricsFile);
    f << step_record(step).dump() << "\n" << eval_record(eval).dump() << "\n{\"note\": \"other shapes are skipped\"}\n";
  }
  const std::vector<MetricsPoint> points = read_metrics_log(tmp.path());
  ASSERT_EQ(points.size(), 2u);
  EXPECT_EQ(points[0].tokens, 96);
  EXPECT_EQ(points[0].loss, 2.5);
  EXPECT_FALSE(points[0].eval_loss);
  EXPECT_EQ(points[1].eval_loss, 2.25);
  EXPECT_FALSE(points[1].loss);
  EXPECT_EQ(points[1].eval_loss_of.at("domain"), 2.0);
  EXPECT_EQ(points[1].eval_loss_of.at("general"), 3.0);
  EXPECT_NEAR(eval_record(eval)["eval_ppl"].get<double>(), std::exp(2.25), 1e-12);

  std::ofstream(tmp.path() / kMetricsFile, std::ios::app) << "{not json\n";
  EXPECT_THROW(read_metrics_log(tmp.path()), Error);
}

// The whole loop in one process: evaluations at their cadence, checkpoints, the final model.
TEST(TrainRun, RunsToTheEndInProcessAndLogsEveryStep) {
  LP_REQUIRE_FIXTURES();
  TempDir tmp;
  const std::string model = fixture("models/stories260K-expanded");
  std::vector<std::vector<int64_t>> docs;
  for (int d = 0; d < 24; d++) {
    std::vector<int64_t> ids;
    for (int t = 0; t < 40; t++) ids.push_back(1 + (d * 7 + t * 3) % 500);
    docs.push_back(ids);
  }
  TrainOptions o;
  o.model_dir = model;
  o.trainable = "blocks:3,6";  // the reference expansion's new blocks (the fixture has no manifest)
  o.out_dir = tmp.str("run");
  o.data = {{testing::prepare_ids(tmp, model, docs), 1.0, "data"}};
  o.loader.seq_len = 32;
  o.loader.batch_size = 2;
  o.steps = 4;
  o.cadence.eval_every = 2;
  o.cadence.save_every = 2;
  o.progress = false;
  run_training(o, 60);

  EXPECT_TRUE(std::filesystem::exists(tmp.str("run/config.json")));
  EXPECT_TRUE(std::filesystem::exists(tmp.str("run/checkpoints/step-00000004/state.json")));
  int steps = 0;
  for (const MetricsPoint& p : read_metrics_log(tmp.str("run"))) steps += p.loss.has_value();
  EXPECT_EQ(steps, 4);
}

}  // namespace
}  // namespace llamapro
