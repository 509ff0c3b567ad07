// compare.cpp — see compare.h.
#include "eval/compare.h"

#include <cmath>

#include "data/loader.h"
#include "model/data_loss.h"
#include "model/load.h"
#include "tokenizer/tokenizer.h"
#include "util/files.h"

namespace llamapro {

namespace {

// The metric a task's column shows.
std::vector<ReportColumn> task_columns(const TaskResult& r) {
  if (r.find("mc2")) return {{r.task, "mc2"}};
  if (r.find("acc_norm")) return {{r.task, "acc"}, {r.task, "acc_norm"}};
  if (r.find("acc")) return {{r.task, "acc"}};
  if (r.find("exact_match")) return {{r.task, "exact_match"}};
  return {{r.task, "word_perplexity", false}, {r.task, "bits_per_byte", false}};
}

}  // namespace

Report compare_models(const CompareOptions& o) {
  Report report;
  report.models = o.models;
  report.results["models"] = o.models;
  report.results["tasks"] = json::object();
  for (size_t i = 0; i < o.models.size(); i++) {
    const std::string& m = o.models[i];
    Model model = load_model_source(o.sources[i], o.model);
    std::vector<ReportCell> row;
    for (size_t k = 0; k < o.data.size(); k++) {
      check_data_matches(read_data_info(o.data[k]), o.sources[i].model_dir);
      const EvalResult e = evaluate_loss(model, o.data[k], o.eval);
      if (i == 0) report.columns.push_back({folder_name(o.data[k]), "loss", false});
      row.push_back({e.loss, NAN});
      report.results["data"][o.data[k]][m] = {{"loss", e.loss}, {"perplexity", std::exp(e.loss)}, {"tokens", e.tokens}};
    }
    if (!o.tasks.empty()) {
      const Tokenizer tok = Tokenizer::from_dir(o.sources[i].model_dir);
      for (const auto& spec : o.tasks) {
        const Task task = load_task(spec, o.task);
        const TaskResult r = run_task(model, tok, task, o.harness);
        if (i == 0)
          for (const auto& c : task_columns(r)) report.columns.push_back(c);
        for (const auto& c : task_columns(r)) {
          const Metric* x = r.find(c.metric);
          row.push_back({x->value, x->stderr_});
        }
        json metrics = json::object();
        for (const auto& x : r.metrics)
          metrics[x.name] = {{"value", std::isfinite(x.value) ? json(x.value) : json(nullptr)},
                             {"stderr", std::isfinite(x.stderr_) ? json(x.stderr_) : json(nullptr)}};
        report.results["tasks"][spec.name][m] = {{"metrics", metrics}, {"documents", r.documents},
                                                 {"tokens", r.tokens}, {"seconds", r.seconds}};
      }
    }
    report.cells.push_back(row);
  }
  report.results["settings"] = {{"fewshot", o.task.fewshot}, {"limit", o.task.limit}, {"seed", o.task.seed}};
  report.results["settings"].update(o.settings);
  return report;
}

}  // namespace llamapro
