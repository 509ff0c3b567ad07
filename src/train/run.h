// run.h — a whole training run as `llamapro train` makes it: the trainer built from the
// options (resuming what the output folder holds), a first evaluation where the curves start,
// steps with evaluation and checkpoints at their cadence, a stop requested by SIGINT/SIGTERM on
// any rank agreed by all and saved, and at the end the final evaluation, checkpoint and model.
#pragma once

#include "train/trainer.h"

namespace llamapro {

// Runs the training to its end, or to an agreed stop (a checkpoint saved, and the exit status
// of a stopped program set); rank 0 prints the plan, evaluations and what it wrote.
void run_training(const TrainOptions& options, int collective_timeout_seconds);

// --dry-run: the plan and each --shard mode's memory per rank of `world` ranks, from the config
// alone.
void print_training_plan(const TrainOptions& options, int world);

}  // namespace llamapro
