// init.cpp — `llamapro init -o DIR --preset NAME`: a random-initialised model folder of a
// known shape, for demos, benchmarks and experiments without a download.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "cli/commands.h"
#include "cli/options.h"
#include "model/random_model.h"
#include "util/strings.h"

namespace llamapro::cli {

namespace {

struct InitOptions {
  std::string out_dir, preset = "tiny", config_file, dtype = "f32", shard_size = "5GB";
  int64_t layers = 0;
  uint64_t seed = 0;
  bool force = false, list = false, progress = true;
};

void run_init(const InitOptions& o) {
  if (o.list) {
    for (const auto& p : model_presets()) std::printf("%-16s %s\n", p.name.c_str(), p.description.c_str());
    return;
  }
  LP_CHECK(!o.out_dir.empty(), "missing -o/--output folder");
  json j = o.config_file.empty() ? preset_config(o.preset) : read_json_file(o.config_file);
  if (o.layers > 0) j["num_hidden_layers"] = o.layers;
  ModelConfig config = ModelConfig::from_json(j, o.config_file.empty() ? "preset " + o.preset : o.config_file);
  RandomModelOptions r;
  r.dtype = parse_weight_dtype(o.dtype);
  r.seed = o.seed;
  r.force = o.force;
  r.progress = o.progress;
  r.max_shard_bytes = parse_size(o.shard_size);
  write_random_model(config, o.out_dir, r);
  std::printf("wrote %s: random %s, %lld layers, seed %llu\n", o.out_dir.c_str(), config.architecture.c_str(),
              (long long)config.num_hidden_layers, (unsigned long long)o.seed);
}

}  // namespace

void add_init(CLI::App& app) {
  auto o = std::make_shared<InitOptions>();
  auto* cmd = app.add_subcommand("init", "Create a random-initialised model folder (presets of real shapes)");
  cmd->add_option("-o,--output", o->out_dir, "output model folder")->check(non_empty_path());
  cmd->add_option("--preset", o->preset, "shape to create (see --list)")->capture_default_str();
  cmd->add_option("--config", o->config_file, "use this config.json instead of a preset");
  cmd->add_option("--layers", o->layers, "override the number of layers")->check(count(1, 4096));
  cmd->add_option("--dtype", o->dtype, "weight dtype: f32, bf16 or f16")->capture_default_str();
  cmd->add_option("--seed", o->seed, "random seed")->capture_default_str()->check(seed_value());
  cmd->add_option("--shard-size", o->shard_size, "maximum shard size")->capture_default_str();
  cmd->add_flag("--force", o->force, "replace an existing output folder");
  cmd->add_flag("--list", o->list, "list the presets");
  cmd->add_flag("!--no-progress", o->progress, "no progress bar");
  cmd->callback([o] { run_init(*o); });
}

}  // namespace llamapro::cli
