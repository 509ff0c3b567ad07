// trainer.h — post-pretraining and fine-tuning: a model with some blocks trainable, AdamW on
// float32 masters (split across data-parallel ranks with --shard), a learning-rate schedule,
// gradient accumulation and clipping, evaluation on the validation split, checkpoints with
// exact resumption, and the final HF folder.
//
// The output folder (train/run_folder.h) holds run.json, metrics.jsonl, checkpoints/, and at
// the end the trained model as a complete Hugging Face folder (train/export.h).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "data/loader.h"
#include "data/mixture.h"
#include "model/adapter.h"
#include "model/model_folder.h"
#include "model/transformer.h"
#include "train/adamw.h"
#include "train/flat_layout.h"
#include "train/run_folder.h"
#include "train/schedule.h"
#include "train/sharded_optimizer.h"
#include "train/trainable.h"

namespace llamapro {

class Communicator;
class ParameterShards;

// How often a run evaluates and saves.
struct TrainCadence {
  int64_t eval_every = 0, eval_batches = 20;  // 0 = only at the end
  int64_t save_every = 0, keep_checkpoints = 2;
};

// Parsed and range-checked by the command; the library only checks how they fit the model and
// the data. Each component's options travel whole, as the component takes them.
struct TrainOptions {
  std::string model_dir, out_dir;
  std::vector<DataSource> data;  // one or more data folders, drawn in proportion to their weights
  std::vector<std::string> eval_data;  // validation only: watched at every evaluation (forgetting)
  std::string trainable;  // "" (newest stage), newest, stage:NAME, blocks:I,J, all
  std::string also;       // embed, head
  std::optional<LoraSpec> lora;     // adapters on the trainable blocks instead of their weights
  // batch_size, seq_len, shuffle, packing (unset: doc for chat data, concat for text); the
  // trainer sets its seed, rank and world size.
  LoaderOptions loader;
  AdamWConfig adamw;
  Schedule schedule;  // kind, peak_lr (--lr), min_lr; the trainer sets its steps
  Warmup warmup;
  double grad_clip = 1.0;  // global norm; 0 = off
  int64_t grad_accum = 1;
  int64_t steps = 0, tokens = 0;  // stop after this many (0 = unset)
  double epochs = 0;              // or this many passes over the data (default 1)
  uint64_t seed = 0;              // the run's: the shuffle, LoRA's initialisation, dropout
  std::string device = "cpu";
  bool bf16 = false;  // bf16 compute (float32 masters either way)
  bool recompute_activations = false;
  ShardMode shard = ShardMode::None;  // what the data-parallel ranks split among themselves
  TrainCadence cadence;
  bool force = false;  // start over in an output folder that holds another run
  bool progress = true;
};

struct StepResult {
  int64_t step = 0;    // steps done after this one
  double loss = 0;     // mean over the step's micro-batches
  double lr = 0, grad_norm = 0, tokens_per_second = 0;
};

class Trainer {
 public:
  // Opens model and data, checks that they fit together, prepares the output folder and
  // resumes from its newest checkpoint when it holds the same run.
  Trainer(TrainOptions options, std::shared_ptr<Communicator> comm = nullptr);
  ~Trainer();

  std::string describe() const;  // the plan: trainable share, steps, tokens, batch
  bool done() const { return step_ >= total_steps_; }
  int64_t step_count() const { return step_; }
  int64_t total_steps() const { return total_steps_; }

  StepResult step();          // one optimizer step (grad_accum micro-batches)
  // Loss on the validation splits: each source's, and their weighted mean (NaN when none has one).
  double evaluate();
  bool evaluated_at_this_step() const { return last_eval_step_ == step_; }
  // Each evaluated set's validation loss at the last evaluation (NaN: none): the sources when
  // there are several sets, and the --eval-data sets.
  std::vector<std::pair<std::string, double>> source_eval_losses() const;
  void save_checkpoint();     // atomic; keeps the newest keep_checkpoints
  void export_model();        // the trained model as a complete HF folder in out_dir
  bool should_eval() const;
  bool should_save() const;
  // The stop signal every rank acts on after this step (0: go on): any rank's request stops
  // them all at the same step, even when a forwarded signal reached them on either side of it.
  int agree_on_stop(int local_signal);

  // Loss of one micro-batch with its gradients accumulated (scaled by 1/grad_accum): the first
  // half of a step, which conformance tests compare gradient by gradient.
  double forward_backward(const Batch& batch);
  Model& model() { return *model_; }
  ShardedOptimizer& optimizer() { return *optimizer_; }
  // Tensor storage this rank holds now: parameters, gradients, optimizer state.
  ResidentBytes resident() const;

 private:
  void resume(const SavedCheckpoint& saved);
  void seed_dropout(int64_t micro_batch) const;
  int64_t source_tokens(size_t i) const;  // tokens drawn from data source i, all ranks
  std::string no_target_reason() const;
  bool main_rank() const;

  TrainOptions o_;
  std::shared_ptr<Communicator> comm_;
  ModelFolder base_;
  std::unique_ptr<Model> model_;
  TrainableSpec trainable_;
  std::unique_ptr<ParameterShards> shards_;  // --shard parameters
  std::unique_ptr<ShardedOptimizer> optimizer_;
  std::unique_ptr<DataMixture> loader_;
  std::vector<DataInfo> data_;  // per source
  std::vector<DataSource> watched_;  // --eval-data, named apart from the sources
  Schedule schedule_;
  std::unique_ptr<RunFolder> run_;
  int64_t total_parameters_ = 0;
  bool resident_logged_ = false;  // the first step of this process records what it holds
  std::string resume_note_;
  int64_t step_ = 0, total_steps_ = 0, tokens_seen_ = 0, resumed_from_ = 0, last_eval_step_ = -1;
  double last_loss_ = NAN, last_eval_loss_ = NAN;
  std::vector<double> last_source_eval_, last_watched_eval_;  // per set, at the last evaluation
  std::string last_checkpoint_;
};

}  // namespace llamapro
