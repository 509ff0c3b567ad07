// expand.cpp — `llamapro expand MODEL_DIR -o OUT_DIR`: LLaMA Pro block expansion.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "cli/commands.h"
#include "cli/options.h"
#include "expand/expander.h"
#include "expand/verify.h"
#include "io/checkpoint.h"
#include "model/device.h"
#include "model/model_folder.h"
#include "model/rope.h"
#include "util/check.h"
#include "util/strings.h"

namespace llamapro::cli {

namespace {

struct ExpandCliOptions {
  std::string model_dir, out_dir;
  int64_t add = 0;
  std::string after, placement = "interleave", zero = join(PlanRequest().zeroed, ","), init = "copy";
  std::string stage, shard_size = "5GB", dtype = "keep";
  uint64_t seed = 0;
  bool verify = false, dry_run = false, force = false, progress = true;
  VerifyOptions verify_options;
};

// The request as typed; make_plan checks it against the model (--add/--after, --zero names).
PlanRequest plan_request(const ExpandCliOptions& o) {
  PlanRequest r;
  r.add = o.add;
  if (!o.after.empty()) r.after = parse_int_list(o.after, "--after position");
  r.placement = parse_placement(o.placement);
  r.init = parse_init(o.init);
  r.zeroed = o.zero.empty() ? std::vector<std::string>{} : split(o.zero, ',');
  return r;
}

void print_plan(const ExpansionPlan& plan) {
  std::printf("%5s  %-6s  %6s  %s\n", "block", "origin", "source", "init");
  for (size_t j = 0; j < plan.blocks.size(); j++) {
    const auto& b = plan.blocks[j];
    std::printf("%5zu  %-6s  %6lld  %s\n", j, b.added ? "new" : "kept", (long long)b.source,
                b.added ? init_name(plan.init).c_str() : "unchanged");
  }
}


void run_expand(const ExpandCliOptions& o) {
  ExpandOptions e;
  e.request = plan_request(o);
  if (o.verify) parse_device(o.verify_options.device);  // a missing GPU is refused before any work
  // Before any work; a dry run refuses what the real run would refuse.
  check_output({o.out_dir, OutputKind::Folder, {o.model_dir}, o.force});
  const ModelFolder in = ModelFolder::open(o.model_dir);
  const ExpansionPlan plan = make_plan(e.request, in.config.num_hidden_layers);
  if (o.verify)  // refused before the expansion is written, not after
    LP_CHECK(o.verify_options.seq_len <= max_sequence_length(in.config), "--verify-seq-len ", o.verify_options.seq_len,
             " exceeds the model's ", max_sequence_length(in.config), " positions");
  e.stage = o.stage;
  e.max_shard_bytes = parse_size(o.shard_size);
  if (o.dtype != "keep") e.dtype = parse_weight_dtype(o.dtype);
  e.seed = o.seed;
  e.force = o.force;
  e.progress = o.progress;
  if (!plan.preserves_output())
    std::fprintf(stderr, "warning: with --zero %s the new blocks do not compute the identity; the expanded model's "
                 "outputs will differ from the base\n", o.zero.c_str());

  std::printf("%lld -> %lld blocks; new blocks at %s\n", (long long)plan.layers_before,
              (long long)plan.layers_after(), join_numbers(plan.added_positions()).c_str());
  if (o.dry_run) {
    print_plan(plan);
    std::printf("would write %s of tensor data to %s\n", format_bytes(expanded_bytes(in, e)).c_str(),
                o.out_dir.c_str());
    return;
  }
  if (o.verify)  // prove identity on the staged output, so a failed proof leaves nothing behind
    e.before_commit = [&](const std::filesystem::path& staged) {
      VerifyResult v = verify_expansion(o.model_dir, staged, o.verify_options);
      print_verify(v);
      LP_CHECK(v.passed, "verification failed: the expanded model's logits differ from the base by up to ",
               v.max_abs_diff, " (allowed ", v.tolerance, "); nothing was written");
    };
  ExpandResult r = expand_model(in, o.out_dir, e);
  const StageRecord& stage = r.manifest.stages.back();
  std::printf("wrote %s: stage \"%s\", %s in %zu shard%s, %.1f s (%s/s)\n", o.out_dir.c_str(), stage.name.c_str(),
              format_bytes(r.bytes_written).c_str(), r.shards, r.shards == 1 ? "" : "s", r.seconds,
              format_bytes(uint64_t(r.bytes_written / std::max(r.seconds, 1e-9))).c_str());
}

void add_verify_options(CLI::App& cmd, VerifyOptions& v) {
  cmd.add_option("--verify-device", v.device, "device for verification (cpu, cuda, cuda:N)")->capture_default_str();
  cmd.add_option("--verify-samples", v.samples, "number of random token sequences to compare")->capture_default_str()
      ->check(count(1, 1 << 16));
  cmd.add_option("--verify-seq-len", v.seq_len, "length of each sequence (default 64, or the model's positions)")
      ->check(count(2, 1 << 24));
}
}  // namespace

void add_expand(CLI::App& app) {
  auto o = std::make_shared<ExpandCliOptions>();
  auto* cmd = app.add_subcommand("expand", "Add identity-initialised blocks to a model (LLaMA Pro block expansion)");
  cmd->add_option("model_dir", o->model_dir, "input model folder (never modified)")->required();
  cmd->add_option("-o,--output", o->out_dir, "output model folder (must not exist unless --force)")
      ->required()->check(non_empty_path());
  cmd->add_option("--add", o->add, "number of new blocks, placed by --placement")->check(count(1, 4096));
  cmd->add_option("--after", o->after, "explicit positions: a copy of block i right after block i (e.g. 3,7,11; repeats allowed)");
  cmd->add_option("--placement", o->placement, "interleave (the paper's rule), top or bottom")->capture_default_str();
  cmd->add_option("--zero", o->zero, "sub-modules of new blocks set to zero")->capture_default_str();
  cmd->add_option("--init", o->init, "new blocks start as a copy of their source block, or random (HF initializer_range)")
      ->capture_default_str();
  cmd->add_option("--seed", o->seed, "seed for --init random")->capture_default_str()->check(seed_value());
  cmd->add_option("--stage", o->stage, "name of this expansion stage (default stage-K)");
  cmd->add_option("--shard-size", o->shard_size, "maximum shard size, e.g. 5GB, 500MB")->capture_default_str();
  cmd->add_option("--dtype", o->dtype, "weight dtype of the output: keep, bf16, f16 or f32")->capture_default_str();
  cmd->add_flag("--verify", o->verify, "after writing, check that the expanded model's logits equal the base's");
  add_verify_options(*cmd, o->verify_options);
  cmd->add_flag("--dry-run", o->dry_run, "print the plan and the size, write nothing");
  cmd->add_flag("--force", o->force, "replace an existing output folder (never an input)");
  cmd->add_flag("!--no-progress", o->progress, "no progress bar");
  cmd->callback([o] { run_expand(*o); });
}

void add_verify(CLI::App& app) {
  struct Options {
    std::string base, expanded;
    VerifyOptions verify;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("verify", "Check that an expanded model computes the same function as its base");
  cmd->add_option("base", o->base, "the model before expansion")->required();
  cmd->add_option("expanded", o->expanded, "the expanded model")->required();
  add_verify_options(*cmd, o->verify);
  cmd->callback([o] {
    VerifyResult v = verify_expansion(o->base, o->expanded, o->verify);
    print_verify(v);
    LP_CHECK(v.passed, "verification failed: ", o->expanded, " does not compute the same function as ", o->base);
  });
}

}  // namespace llamapro::cli
