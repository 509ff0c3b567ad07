// train.cpp — `llamapro train MODEL_DIR --data DATA_DIR -o OUT_DIR`: post-pretraining of the
// new blocks (or any chosen ones), resumable, on CPU, a GPU, or several processes.
#include <CLI/CLI.hpp>

#include <cstdlib>

#include "cli/commands.h"
#include "cli/model_options.h"
#include "cli/options.h"
#include "train/run.h"
#include "util/strings.h"

namespace llamapro::cli {

namespace {

// What the flags say as typed options; the checks that need two flags at once.
struct TrainCliOptions {
  TrainOptions train;
  std::string schedule = "cosine", warmup = "0", packing, shard = "none";
  ComputeOptions compute{"cpu", "fp32"};
  int collective_timeout = 300;  // seconds
  bool dry_run = false;
  int world_size = 0;  // --dry-run: ranks to plan for (0: WORLD_SIZE, or 1)
  std::vector<std::string> data;  // DIR or DIR:WEIGHT
  int64_t lora_rank = 0;  // 0: no adapters
  std::optional<double> lora_alpha;
  double lora_dropout = 0;
  std::string lora_targets = "all";
};

TrainOptions typed(const TrainCliOptions& cli) {
  TrainOptions o = cli.train;
  o.schedule.kind = parse_schedule(cli.schedule);
  o.warmup = parse_warmup(cli.warmup);
  const ModelOptions compute = cli.compute.resolve();  // a missing GPU is refused before any work
  LP_CHECK(compute.dtype != torch::kHalf, "--precision ", cli.compute.dtype,
           ": training computes in fp32 or bf16 (with fp32 master weights)");
  o.device = cli.compute.device;
  o.bf16 = compute.dtype == torch::kBFloat16;
  o.shard = parse_shard_mode(cli.shard);
  for (const auto& d : cli.data) o.data.push_back(parse_data_source(d));
  if (!cli.packing.empty()) o.loader.packing = parse_packing(cli.packing);
  if (cli.lora_rank > 0) {
    LoraSpec lora;
    lora.rank = cli.lora_rank;
    lora.alpha = cli.lora_alpha.value_or(2.0 * double(cli.lora_rank));
    lora.dropout = cli.lora_dropout;
    lora.targets = parse_lora_targets(cli.lora_targets);
    o.lora = lora;
  }
  LP_CHECK(o.schedule.min_lr <= o.schedule.peak_lr, "--min-lr: ", o.schedule.min_lr, " is above --lr ", o.schedule.peak_lr);
  return o;
}

}  // namespace

void add_train(CLI::App& app) {
  auto cli = std::make_shared<TrainCliOptions>();
  TrainOptions* o = &cli->train;
  auto* cmd = app.add_subcommand("train", "Train the new blocks (or any chosen ones) on prepared data");
  cmd->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);  // later flags override
  cmd->add_option("model_dir", o->model_dir, "model folder (usually made by llamapro expand)")->required();
  cmd->add_option("--data", cli->data, "data folder made by llamapro data prepare; several, each as DIR:WEIGHT, "
                  "are drawn in proportion to their weights (e.g. domain:0.9 general:0.1)")
      ->required()->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)->expected(1, -1);
  cmd->add_option("-o,--output", o->out_dir, "output folder: checkpoints, metrics, and the trained model")
      ->required()->check(non_empty_path());
  cmd->add_option("--trainable", o->trainable, "newest (default with a manifest), stage:NAME, blocks:I,J,..., or all");
  cmd->add_option("--also", o->also, "also train: embed, head (final norm + lm_head)");
  auto* lora = cmd->add_option("--lora", cli->lora_rank, "train rank-R LoRA adapters on the trainable blocks instead of their weights")
                   ->check(count(1, 65536));
  cmd->add_option_function<double>("--lora-alpha", [cli](double v) { cli->lora_alpha = v; },
                                   "LoRA scale numerator: updates are scaled by alpha / rank (default 2 x rank)")
      ->needs(lora)->check(in(excl(0), incl(1e6)));
  cmd->add_option("--lora-dropout", cli->lora_dropout, "dropout on the adapters' input while training")
      ->needs(lora)->check(in(incl(0), excl(1)));
  cmd->add_option("--lora-targets", cli->lora_targets, "projections to adapt: all, or a list of q,k,v,o,gate,up,down")
      ->needs(lora)->capture_default_str();
  cmd->add_option("--eval-data", o->eval_data, "data folders only evaluated, at every evaluation, each on its own "
                  "(e.g. general text, to watch forgetting)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)->expected(1, -1);
  cmd->add_option("--packing", cli->packing,
                  "concat (default for text), doc (default for chat: documents packed, each attending only to itself) "
                  "or none (one document per row)")
      ->check(CLI::IsMember({"concat", "doc", "none"}));
  cmd->add_option("--lr", o->schedule.peak_lr, "peak learning rate")->capture_default_str()->check(positive());
  cmd->add_option("--min-lr", o->schedule.min_lr, "learning rate at the end of the decay")->capture_default_str()->check(non_negative());
  cmd->add_option("--schedule", cli->schedule, "cosine, linear or constant")->capture_default_str()
      ->check(CLI::IsMember({"cosine", "linear", "constant"}));
  cmd->add_option("--warmup", cli->warmup, "warmup steps (e.g. 100) or fraction of all steps (e.g. 0.06)")->capture_default_str();
  cmd->add_option("--betas", [o](const std::vector<std::string>& v) {
       auto parts = v.size() == 1 ? split(v[0], ',') : v;
       if (parts.size() != 2) throw CLI::ValidationError("--betas", "expected two numbers, e.g. 0.9,0.95");
       double* betas[2] = {&o->adamw.beta1, &o->adamw.beta2};
       for (int i = 0; i < 2; i++) {
         std::string why;
         if (!check_in(parts[size_t(i)], incl(0), excl(1), why)) throw CLI::ValidationError("--betas", why);
         *betas[i] = std::stod(parts[size_t(i)]);
       }
       return true;
     }, "AdamW betas, e.g. 0.9,0.95")->expected(1, 2);
  cmd->add_option("--eps", o->adamw.eps, "AdamW epsilon")->capture_default_str()->check(in(excl(0), incl(1)));
  cmd->add_option("--weight-decay", o->adamw.weight_decay, "decoupled weight decay")->capture_default_str()
      ->check(in(incl(0), incl(10)));
  cmd->add_flag("--decay-all", o->adamw.decay_all, "decay every trainable tensor (default: not norms and biases)");
  cmd->add_option("--grad-clip", o->grad_clip, "clip the global gradient norm (0 = off)")->capture_default_str()
      ->check(non_negative());
  cmd->add_option("--seq-len", o->loader.seq_len, "tokens per sequence")->capture_default_str()->check(count(2, 1 << 24));
  cmd->add_option("--batch-size", o->loader.batch_size, "sequences per micro-batch (per process)")->capture_default_str()
      ->check(count(1, 1 << 20));
  cmd->add_option("--grad-accum", o->grad_accum, "micro-batches per optimizer step")->capture_default_str()
      ->check(count(1, 1 << 20));
  auto* steps = cmd->add_option("--steps", o->steps, "optimizer steps")->check(count(1, 1e12));
  auto* tokens = cmd->add_option_function<double>(
      "--tokens", [o](double v) { o->tokens = static_cast<int64_t>(v); }, "train on this many tokens (e.g. 2e9)")
      ->check(count(1, 1e15));
  cmd->add_option("--epochs", o->epochs, "passes over the data (default 1)")->excludes(steps)->excludes(tokens)
      ->check(in(excl(0), incl(1e6)));
  steps->excludes(tokens);
  cmd->add_flag("!--no-shuffle", o->loader.shuffle, "read sequences in order");
  cmd->add_option("--seed", o->seed, "the run's seed: the shuffle, LoRA's initialisation, dropout")->capture_default_str()->check(seed_value());
  add_compute_options(*cmd, cli->compute, "--precision");  // bf16 computes with fp32 master weights
  cmd->add_flag("--activation-checkpointing,--recompute-activations", o->recompute_activations,
                "recompute block activations in backward instead of keeping them");
  cmd->add_option("--eval-every", o->cadence.eval_every, "validation loss before the first step and every N steps (0: only at the end)")->capture_default_str()
      ->check(count(0, 1e12));
  cmd->add_option("--eval-batches", o->cadence.eval_batches, "validation batches per evaluation")->capture_default_str()
      ->check(count(1, 1e9));
  cmd->add_option("--save-every", o->cadence.save_every, "checkpoint every N steps (0: at the end)")->capture_default_str()
      ->check(count(0, 1e12));
  cmd->add_option("--keep-checkpoints", o->cadence.keep_checkpoints, "how many checkpoints to keep")->capture_default_str()
      ->check(count(1, 1e6));
  cmd->add_flag("--force", o->force, "start over in an output folder that holds another run");
  cmd->add_flag("!--no-progress", o->progress, "no progress bar");
  cmd->add_option("--shard", cli->shard, "what data-parallel ranks split among themselves: none, optimizer "
                  "(masters and moments), gradients (and gradients), parameters (and the blocks' weights)")
      ->capture_default_str()->check(CLI::IsMember({"none", "optimizer", "gradients", "parameters"}));
  cmd->add_option("--collective-timeout", cli->collective_timeout, "seconds a rank waits for the others in a "
                  "collective before the run fails")->capture_default_str()->check(count(1, 86400));
  cmd->add_flag("--dry-run", cli->dry_run, "print the memory one rank needs under each --shard mode, and stop");
  cmd->add_option("--world-size", cli->world_size, "with --dry-run: the number of ranks to plan for "
                  "(default: WORLD_SIZE, or 1)")->check(count(1, 1 << 20));
  cmd->callback([cli] {
    const TrainOptions o = typed(*cli);
    LP_CHECK(cli->world_size == 0 || cli->dry_run, "--world-size plans a run with --dry-run; a run's ranks come from "
             "llamapro launch (or torchrun's WORLD_SIZE)");
    if (!cli->dry_run) return run_training(o, cli->collective_timeout);
    const char* env = std::getenv("WORLD_SIZE");
    print_training_plan(o, cli->world_size > 0 ? cli->world_size : env && *env ? int(parse_int(env, "WORLD_SIZE")) : 1);
  });
}

}  // namespace llamapro::cli
