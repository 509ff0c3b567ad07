// compare.h — several models side by side: each model's validation loss on every data folder
// and its metrics on every task, in one Report (eval/report.h) whose results are what
// results.json holds: {"models", "data": {DIR: {MODEL: {loss, perplexity, tokens}}},
// "tasks": {TASK: {MODEL: {metrics, documents, tokens, seconds}}}, "settings"}.
#pragma once

#include <string>
#include <vector>

#include "eval/harness.h"
#include "eval/report.h"
#include "eval/tasks.h"
#include "model/adapter.h"
#include "model/data_loss.h"

namespace llamapro {

struct CompareOptions {
  std::vector<std::string> models;   // as given: the report's row names, the first the reference
  std::vector<ModelSource> sources;  // each model resolved (an adapter stands for its base)
  std::vector<std::string> data;     // prepared data folders: validation loss
  std::vector<TaskSpec> tasks;
  ModelOptions model;
  EvalOptions eval;
  TaskOptions task;
  HarnessOptions harness;
  json settings = json::object();  // recorded under results.json's "settings" with the task options
};

Report compare_models(const CompareOptions& o);

}  // namespace llamapro
