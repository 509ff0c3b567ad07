// metrics_log.h — metrics.jsonl, the training run's log: one JSON object per line, written by
// the trainer and read by `plot`. Its schema lives here once:
//   a step:        {"step", "tokens", "loss", "lr", "grad_norm", "tokens_per_s",
//                   "resident_bytes": {...} (a process's first step), "source_tokens": {...} (mixed data)}
//   an evaluation: {"step", "tokens", "eval_loss/NAME"... (several sets), "eval_loss", "eval_ppl"}
// "tokens" counts the training tokens seen after that step, over all ranks.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "util/json.h"

namespace llamapro {

struct StepMetrics {
  int64_t step = 0, tokens = 0;
  double loss = 0, lr = 0, grad_norm = 0, tokens_per_second = 0;
  json resident_bytes;  // {"parameters", "gradients", "optimizer"}, or null
  json source_tokens;   // {NAME: tokens} of mixed data, or null
};
json step_record(const StepMetrics& m);

struct EvalMetrics {
  int64_t step = 0, tokens = 0;
  double loss = 0;                                      // the sources' weighted mean
  std::vector<std::pair<std::string, double>> per_set;  // each set's loss when there are several
};
json eval_record(const EvalMetrics& m);

// One line of the log as plot reads it.
struct MetricsPoint {
  double tokens = 0;
  std::optional<double> loss, eval_loss;
  std::map<std::string, double> eval_loss_of;  // per evaluated set
};
// RUN_DIR/metrics.jsonl; lines of other shapes are skipped, a line that is no JSON is an error
// naming it.
std::vector<MetricsPoint> read_metrics_log(const std::filesystem::path& run_dir);

}  // namespace llamapro
