// eval.cpp — `llamapro eval MODEL... --data DIR...`: the loss of each model on each data
// folder, side by side, with the change against the first model (domain gain, forgetting).
#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/options.h"
#include "data/loader.h"
#include "eval/perplexity.h"
#include "model/compat.h"
#include "model/load.h"
#include "util/check.h"

namespace llamapro::cli {

namespace {

struct EvalCliOptions {
  std::vector<std::string> models, data;
  EvalOptions eval;
  std::string device = "cpu", split = "val";
  bool json_out = false;
};

std::string short_name(const std::string& path) {
  std::filesystem::path p(path);
  if (p.filename().empty()) p = p.parent_path();
  return p.filename().string();
}

void run_eval(EvalCliOptions o) {
  o.eval.validation = o.split == "val";
  ModelOptions mo;
  mo.device = compat::parse_device(o.device);
  std::vector<std::vector<EvalResult>> results;  // [model][data]
  for (const auto& m : o.models) {
    Model model = load_model(m, mo);
    std::vector<EvalResult> row;
    for (const auto& d : o.data) {
      check_data_matches(read_data_info(d), m);
      row.push_back(evaluate_loss(model, d, o.eval));
    }
    results.push_back(row);
  }
  if (o.json_out) {
    json j = json::array();
    for (size_t i = 0; i < o.models.size(); i++)
      for (size_t k = 0; k < o.data.size(); k++)
        j.push_back({{"model", o.models[i]}, {"data", o.data[k]}, {"loss", results[i][k].loss},
                     {"perplexity", std::exp(results[i][k].loss)}, {"tokens", results[i][k].tokens}});
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::printf("%-24s", "model");
  for (const auto& d : o.data) std::printf("  %-28s", (short_name(d) + " loss (ppl)").c_str());
  std::printf("\n");
  for (size_t i = 0; i < o.models.size(); i++) {
    std::printf("%-24s", short_name(o.models[i]).c_str());
    for (size_t k = 0; k < o.data.size(); k++) {
      char cell[64];
      double loss = results[i][k].loss;
      if (i == 0) std::snprintf(cell, sizeof cell, "%.4f (%.2f)", loss, std::exp(loss));
      else std::snprintf(cell, sizeof cell, "%.4f (%.2f) %+.4f", loss, std::exp(loss), loss - results[0][k].loss);
      std::printf("  %-28s", cell);
    }
    std::printf("\n");
  }
  std::printf("(%s split, %lld-token sequences; the signed number is the change against %s: negative = better)\n",
              o.split.c_str(), (long long)o.eval.seq_len, short_name(o.models[0]).c_str());
}

}  // namespace

void add_eval(CLI::App& app) {
  auto o = std::make_shared<EvalCliOptions>();
  auto* cmd = app.add_subcommand("eval", "Loss and perplexity of models on data folders, side by side");
  cmd->add_option("models", o->models, "model folders; the first is the reference")->required()->expected(1, -1);
  cmd->add_option("--data", o->data, "data folders made by llamapro data prepare")->required()->expected(1, -1);
  cmd->add_option("--split", o->split, "val (held out) or train")->capture_default_str()->check(CLI::IsMember({"val", "train"}));
  cmd->add_option("--seq-len", o->eval.seq_len, "tokens per sequence")->capture_default_str()->check(count(2, 1 << 24));
  cmd->add_option("--batch-size", o->eval.batch_size, "sequences per batch")->capture_default_str()->check(count(1, 1 << 20));
  cmd->add_option("--batches", o->eval.max_batches, "batches per data folder (0 = all)")->capture_default_str()
      ->check(count(0, 1e12));
  cmd->add_option("--device", o->device, "cpu, cuda or cuda:N")->capture_default_str();
  cmd->add_flag("--json", o->json_out, "print as JSON");
  cmd->callback([o] { run_eval(*o); });
}

}  // namespace llamapro::cli
