// score.cpp — `llamapro score MODEL --ids FILE.json`: mean next-token cross-entropy of token
// sequences, optionally writing the float32 logits.
#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdio>
#include <optional>

#include "cli/commands.h"
#include "cli/model_options.h"
#include "model/adapter.h"
#include "io/safetensors.h"
#include "model/load.h"
#include "model/loss.h"
#include "util/json.h"
#include "util/output.h"

namespace llamapro::cli {

namespace {

struct ScoreOptions {
  std::string model_dir;
  std::string ids_file;
  std::string logits_out;
  std::string adapter_dir;
  ComputeOptions compute;
  int64_t batch = 8;
  bool force = false;
};

// FILE.json: [[1, 2, 3], [4, 5, 6]] — sequences of equal length, at least two tokens each.
torch::Tensor read_ids(const std::string& path) {
  json j = read_json_file(path);
  LP_CHECK(j.is_array() && !j.empty(), path, ": expected a non-empty JSON list of token-id lists");
  std::vector<int64_t> flat;
  size_t T = 0;
  for (size_t i = 0; i < j.size(); i++) {
    LP_CHECK(j[i].is_array(), path, ": sequence ", i, " is not a list of token ids");
    if (i == 0) T = j[i].size();
    LP_CHECK(j[i].size() == T, path, ": sequence ", i, " has ", j[i].size(), " tokens, sequence 0 has ", T,
             " (all sequences must have equal length)");
    for (const auto& v : j[i]) {
      LP_CHECK(v.is_number_integer(), path, ": sequence ", i, " holds a non-integer token id ", v.dump());
      flat.push_back(v.get<int64_t>());
    }
  }
  LP_CHECK(T >= 2, path, ": sequences need at least 2 tokens to score, got ", T);
  return torch::tensor(flat, torch::kLong).view({int64_t(j.size()), int64_t(T)});
}

void run_score(const ScoreOptions& o) {
  const ModelOptions mo = o.compute.resolve();
  const ModelSource source = resolve_model_source(o.model_dir, o.adapter_dir);
  // Claimed before any work: refused when it is an input or exists without --force.
  std::optional<Output> logits_out;
  if (!o.logits_out.empty()) {
    std::vector<std::filesystem::path> inputs = source.inputs();
    inputs.push_back(o.ids_file);
    logits_out.emplace(OutputSpec{o.logits_out, OutputKind::File, inputs, o.force, "--logits-out"});
  }
  torch::Tensor ids = read_ids(o.ids_file);  // (B, T)
  Model model = load_model_source(source, mo);
  torch::NoGradGuard no_grad;

  const int64_t B = ids.size(0), T = ids.size(1);
  double loss_sum = 0.0;
  std::vector<torch::Tensor> all_logits;
  for (int64_t s = 0; s < B; s += o.batch) {
    const int64_t n = std::min(o.batch, B - s);
    auto chunk = ids.narrow(0, s, n);
    auto logits = model.forward(chunk);  // (n, T, V)
    loss_sum += next_token_loss(logits, chunk.to(logits.device())).item<double>() * double(n);
    if (!o.logits_out.empty()) all_logits.push_back(logits.to(torch::kCPU, torch::kFloat));
  }
  const double loss = loss_sum / double(B);
  LP_CHECK(std::isfinite(loss), o.model_dir, ": the model's loss on ", o.ids_file, " is ", loss,
           " (its weights or logits are not finite numbers)");
  std::printf("loss %.6f\nperplexity %.4f\npredictions %lld\n", loss, std::exp(loss), (long long)(B * (T - 1)));

  if (logits_out) {
    auto logits = torch::cat(all_logits, 0).contiguous();  // (B, T, V)
    TensorSpec spec{"logits", DType::F32, {B, T, logits.size(2)}};
    write_safetensors(logits_out->path(), {spec}, {logits.data_ptr()});
    logits_out->commit();
  }
}

}  // namespace

void add_score(CLI::App& app) {
  auto o = std::make_shared<ScoreOptions>();
  auto* cmd = app.add_subcommand("score", "Mean next-token cross-entropy of token-id sequences");
  cmd->add_option("model_dir", o->model_dir, "model folder (config.json + safetensors), or a LoRA adapter folder")->required();
  add_adapter_option(*cmd, o->adapter_dir);
  cmd->add_option("--ids", o->ids_file, "JSON file: a list of equal-length token-id lists")->required();
  cmd->add_option("--logits-out", o->logits_out, "write float32 logits [batch, seq, vocab] as tensor \"logits\"")
      ->check(non_empty_path());
  cmd->add_flag("--force", o->force, "replace an existing --logits-out file");
  add_compute_options(*cmd, o->compute);
  cmd->add_option("--batch", o->batch, "sequences per forward pass")->capture_default_str()->check(count(1, 1 << 20));
  cmd->callback([o] { run_score(*o); });
}

}  // namespace llamapro::cli
