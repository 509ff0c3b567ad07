// eval.cpp — `llamapro eval MODEL... --task NAME:FILE ... | --data DIR ...`: several models side
// by side on the paper's benchmarks (multiple choice, rolling perplexity, generation, with
// lm-evaluation-harness's definitions) and on the validation loss of prepared data, each cell
// with its change against the first model: domain gain and forgetting in one table.
#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/model_options.h"
#include "model/adapter.h"
#include "eval/compare.h"
#include "model/device.h"
#include "util/check.h"
#include "util/files.h"
#include "util/output.h"

namespace llamapro::cli {

namespace {

struct EvalCliOptions {
  std::vector<std::string> models, data, tasks;
  EvalOptions eval;
  TaskOptions task;
  HarnessOptions harness;
  ComputeOptions compute{"cpu", "fp32"};
  std::string split = "val", report_dir, adapter_dir;
  bool json_out = false, force = false;
};

void run_eval(EvalCliOptions o) {
  LP_CHECK(!o.data.empty() || !o.tasks.empty(), "give --task NAME:FILE (benchmarks) or --data DIR (validation loss)");
  o.eval.validation = o.split == "val";
  const ModelOptions mo = o.compute.resolve();
  std::vector<TaskSpec> specs;
  for (const auto& t : o.tasks) specs.push_back(parse_task_spec(t));
  std::vector<ModelSource> sources;
  for (const auto& m : o.models) sources.push_back(resolve_model_source(m, o.adapter_dir));
  std::vector<std::filesystem::path> inputs(o.models.begin(), o.models.end());
  for (const auto& s : sources) for (const auto& input : s.inputs()) inputs.push_back(input);
  for (const auto& d : o.data) inputs.push_back(d);
  for (const auto& s : specs) inputs.insert(inputs.end(), {s.path, s.fewshot_path});
  if (!o.report_dir.empty())  // refused before any work
    check_output({o.report_dir, OutputKind::Folder, inputs, o.force, "-o", {"results.json"}});

  CompareOptions c;
  c.models = o.models;
  c.sources = sources;
  c.data = o.data;
  c.tasks = specs;
  c.model = mo;
  c.eval = o.eval;
  c.task = o.task;
  c.harness = o.harness;
  c.settings = {{"precision", dtype_label(mo.dtype)}, {"split", o.split}};
  const Report report = compare_models(c);
  if (o.json_out) std::cout << report.results.dump(2) << "\n";
  else std::cout << report_table(report);
  if (!o.report_dir.empty()) {
    write_report(report, o.report_dir, o.force, inputs);
    if (!o.json_out) std::printf("wrote %s (report.md, results.json, chart.png, chart.svg)\n", o.report_dir.c_str());
  }
}

}  // namespace

void add_eval(CLI::App& app) {
  auto o = std::make_shared<EvalCliOptions>();
  auto* cmd = app.add_subcommand("eval", "Benchmarks (--task) and validation loss (--data) of models, side by side");
  cmd->add_option("models", o->models, "model folders or LoRA adapter folders; the first is the reference")
      ->required()->expected(1, -1);
  add_adapter_option(*cmd, o->adapter_dir);
  cmd->add_option("--task", o->tasks,
                  "NAME:FILE.jsonl[,FEWSHOT.jsonl]; NAME: arc_easy, arc_challenge, hellaswag, mmlu, winogrande, "
                  "truthfulqa_mc2, gsm8k, choice, perplexity, generate");
  cmd->add_option("--data", o->data, "data folders made by llamapro data prepare (validation loss)");
  cmd->add_option("--fewshot", o->task.fewshot, "examples before each document")->capture_default_str()->check(count(0, 1000));
  cmd->add_option("--limit", o->task.limit, "score the first N documents of each task (0: all)")->capture_default_str()
      ->check(count(0, 1e12));
  cmd->add_option("--seed", o->task.seed, "which few-shot examples are drawn")->capture_default_str()->check(seed_value());
  cmd->add_option("--stop", o->task.stop, "generate: stop sequences (default for gsm8k: Question:, </s>, <|im_end|>)");
  cmd->add_option("--regex", o->task.regex, "generate: the answer is the last match (its first group) in the output");
  cmd->add_option("--max-new-tokens", o->harness.max_new_tokens, "generate: tokens at most")->capture_default_str()
      ->check(count(1, 1 << 20));
  cmd->add_option("--max-length", o->harness.max_length, "scoring window in tokens (0: the model's)")->capture_default_str()
      ->check(count(0, 1 << 24));
  cmd->add_option("--split", o->split, "--data: val (held out) or train")->capture_default_str()
      ->check(CLI::IsMember({"val", "train"}));
  cmd->add_option("--seq-len", o->eval.seq_len, "--data: tokens per sequence")->capture_default_str()->check(count(2, 1 << 24));
  cmd->add_option("--batch-size", o->eval.batch_size, "--data: sequences per batch")->capture_default_str()
      ->check(count(1, 1 << 20));
  cmd->add_option("--batches", o->eval.max_batches, "--data: batches per data folder (0 = all)")->capture_default_str()
      ->check(count(0, 1e12));
  add_compute_options(*cmd, o->compute, "--precision");
  cmd->add_option("-o,--output", o->report_dir, "report folder: report.md, results.json, chart.png, chart.svg")->check(non_empty_path());
  cmd->add_flag("--force", o->force, "replace an existing report folder");
  cmd->add_flag("--json", o->json_out, "print every result as JSON");
  cmd->add_flag("!--no-progress", o->harness.progress, "no progress bar");
  cmd->callback([o] { run_eval(*o); });
}

}  // namespace llamapro::cli
