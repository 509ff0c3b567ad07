// merge.cpp — `llamapro merge MODEL ADAPTER -o OUT`: a LoRA adapter folded into the weights
// (W + B A * alpha / r), written as a plain Hugging Face folder that needs no adapter support.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "cli/commands.h"
#include "cli/options.h"
#include "model/adapter.h"

namespace llamapro::cli {

namespace {

struct MergeOptions {
  std::string model_dir, adapter_dir, out_dir;
  bool force = false;
};

void run_merge(const MergeOptions& o) {
  const OutputSpec out{o.out_dir, OutputKind::Folder, {o.model_dir, o.adapter_dir}, o.force, "-o"};
  check_output(out);  // before any work
  const Adapter adapter = read_adapter(o.adapter_dir);
  merge_adapter(ModelFolder::open(o.model_dir), adapter, out);
  std::printf("wrote %s: rank-%lld adapter on %zu block(s) x %zu projection(s) merged\n", o.out_dir.c_str(),
              (long long)adapter.spec.rank, adapter.spec.blocks.size(), adapter.spec.targets.size());
}

}  // namespace

void add_merge(CLI::App& app) {
  auto o = std::make_shared<MergeOptions>();
  auto* cmd = app.add_subcommand("merge", "Fold a LoRA adapter into a model's weights (a plain HF folder)");
  cmd->add_option("model_dir", o->model_dir, "the base model folder the adapter was trained on")->required();
  cmd->add_option("adapter_dir", o->adapter_dir, "the adapter folder (adapter_config.json + adapter_model.safetensors)")
      ->required();
  cmd->add_option("-o,--output", o->out_dir, "output model folder")->required()->check(non_empty_path());
  cmd->add_flag("--force", o->force, "replace an existing output folder");
  cmd->callback([o] { run_merge(*o); });
}

}  // namespace llamapro::cli
