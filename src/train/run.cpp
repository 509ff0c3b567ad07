// run.cpp — see run.h.
#include "train/run.h"

#include <cmath>
#include <csignal>
#include <cstdio>

#include "model/model_folder.h"
#include "train/distributed.h"
#include "train/memory_plan.h"
#include "util/interrupt.h"
#include "util/progress.h"
#include "util/strings.h"

namespace llamapro {

namespace {

// "validation loss 2.4512 (perplexity 11.60); domain 2.3141, general 3.0102": each set's own
// loss when several were evaluated.
std::string validation_text(double loss, const Trainer& trainer) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "validation loss %.4f (perplexity %.2f)", loss, std::exp(loss));
  std::string s = buf;
  bool first = true;
  for (const auto& [name, set_loss] : trainer.source_eval_losses()) {
    std::snprintf(buf, sizeof buf, "%.4f", set_loss);
    s += (first ? "; " : ", ") + name + " " + buf;
    first = false;
  }
  return s;
}

}  // namespace

// --dry-run: the plan and each --shard mode's memory per rank, from the config alone.
void print_training_plan(const TrainOptions& o, int world) {
  const ModelFolder folder = ModelFolder::open(o.model_dir);
  MemoryPlanInput in;
  in.config = folder.config;
  in.trainable = resolve_trainable(o.trainable, o.also, folder);
  in.lora = o.lora;
  in.world = world;
  in.batch = o.loader.batch_size;
  in.seq_len = o.loader.seq_len;
  in.bf16 = o.bf16;
  in.recompute_activations = o.recompute_activations;
  std::printf("trainable: %s\n%s\n", in.trainable.description.c_str(), memory_plan_table(in).c_str());
}

void run_training(const TrainOptions& options, int collective_timeout) {
  // From here the first SIGINT/SIGTERM asks to stop after a step with a checkpoint saved; set
  // before the setup, so that a signal forwarded to ranks still loading is a request there too.
  request_graceful_stop();
  auto comm = communicator_from_env(options.device, collective_timeout);
  const bool main_rank = !comm || comm->rank() == 0;
  Trainer trainer(options, comm);
  if (main_rank) std::printf("%s\n", trainer.describe().c_str());
  std::fflush(stdout);

  if (options.cadence.eval_every > 0 && trainer.step_count() == 0) {  // where the curves start
    const double eval = trainer.evaluate();
    if (main_rank && std::isfinite(eval))
      std::fprintf(stderr, "step 0: %s\n", validation_text(eval, trainer).c_str());
  }
  Progress bar("train", uint64_t(trainer.total_steps()), "steps");
  char note[160];
  while (!trainer.done()) {
    StepResult r = trainer.step();
    std::snprintf(note, sizeof note, "loss %.4f  lr %.3g  %s tok/s", r.loss, r.lr, format_count(r.tokens_per_second).c_str());
    if (main_rank && options.progress) bar.update(uint64_t(r.step), note);
    if (trainer.should_eval() && !trainer.done()) {
      double eval = trainer.evaluate();
      if (main_rank && std::isfinite(eval))
        std::fprintf(stderr, "\nstep %lld: %s\n", (long long)r.step, validation_text(eval, trainer).c_str());
    }
    if (trainer.should_save()) trainer.save_checkpoint();
    if (int sig = trainer.agree_on_stop(stop_requested())) {
      stop_as_if(sig);  // the exit status of a stopped run on every rank
      trainer.save_checkpoint();
      if (main_rank)
        std::fprintf(stderr, "\nstopped by %s at step %lld; checkpoint saved, rerun the same command to resume\n",
                     sig == SIGINT ? "SIGINT" : "SIGTERM", (long long)trainer.step_count());
      return;
    }
  }
  if (main_rank && options.progress) bar.finish(note);
  // The final evaluation, unless a resumed run already recorded it.
  double eval = trainer.evaluated_at_this_step() ? NAN : trainer.evaluate();
  trainer.save_checkpoint();
  trainer.export_model();
  if (main_rank) {
    if (std::isfinite(eval)) std::printf("%s\n", validation_text(eval, trainer).c_str());
    std::printf("wrote %s\n", options.out_dir.c_str());
  }
}

}  // namespace llamapro
