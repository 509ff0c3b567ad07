#include "train/trainer.h"

#include <chrono>
#include <csignal>
#include <cmath>
#include <cstdio>
#include <map>

#include "io/safetensors.h"
#include "model/data_loss.h"
#include "model/device.h"
#include "model/load.h"
#include "model/loss.h"
#include "train/distributed.h"
#include "train/export.h"
#include "train/metrics_log.h"
#include "train/optimizer_state.h"
#include "train/parameter_shards.h"
#include "util/check.h"
#include "util/strings.h"

namespace llamapro {

namespace fs = std::filesystem;

namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// A loss for JSON: null when there is none (NaN).
json finite_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

// The fields of a run that must agree for a rerun to continue it.
std::string absolute(const std::string& path) { return fs::absolute(path).lexically_normal().string(); }

json run_identity(const TrainOptions& o, const TrainableSpec& spec, int64_t total_steps,
                  const std::vector<DataInfo>& data, const DataMixture& mixture) {
  json sources = json::array();
  for (size_t i = 0; i < data.size(); i++)
    sources.push_back({{"path", absolute(o.data[i].dir)}, {"weight", o.data[i].weight},
                       {"fingerprint", data[i].content_fingerprint},
                       {"packing", packing_name(mixture.loader(i).packing())}});
  json watched = json::array();
  for (const std::string& d : o.eval_data) watched.push_back(absolute(d));
  return {{"model", absolute(o.model_dir)},
          {"lora", o.lora ? o.lora->to_json() : json(nullptr)},
          {"data", sources},
          {"eval_data", watched},
          {"trainable", spec.description},
          {"lr", o.schedule.peak_lr}, {"min_lr", o.schedule.min_lr}, {"schedule", schedule_name(o.schedule.kind)}, {"warmup", o.warmup.text},
          {"betas", {o.adamw.beta1, o.adamw.beta2}}, {"eps", o.adamw.eps}, {"weight_decay", o.adamw.weight_decay},
          {"decay_all", o.adamw.decay_all}, {"grad_clip", o.grad_clip}, {"seq_len", o.loader.seq_len},
          {"batch_size", o.loader.batch_size}, {"grad_accum", o.grad_accum}, {"total_steps", total_steps},
          {"shuffle", o.loader.shuffle}, {"seed", o.seed}, {"precision", o.bf16 ? "bf16" : "fp32"}};
}

}  // namespace

Trainer::Trainer(TrainOptions options, std::shared_ptr<Communicator> comm) : o_(std::move(options)), comm_(std::move(comm)) {
  const int rank = rank_of(comm_.get()), world = world_size_of(comm_.get());
  std::vector<fs::path> inputs = {o_.model_dir};
  for (const DataSource& d : o_.data) inputs.push_back(d.dir);
  for (const std::string& d : o_.eval_data) inputs.push_back(d);
  check_not_an_input(o_.out_dir, inputs, "-o");  // before any work

  base_ = ModelFolder::open(o_.model_dir);
  ModelOptions mo;
  mo.device = parse_device(o_.device);
  if (comm_ && mo.device.is_cuda()) mo.device = torch::Device(torch::kCUDA, comm_->local_rank());
  mo.dtype = o_.bf16 ? torch::kBFloat16 : torch::kFloat;
  model_ = std::make_unique<Model>(load_model(base_, mo));
  LP_CHECK(o_.loader.seq_len <= model_->max_sequence_length(), "--seq-len ", o_.loader.seq_len, " exceeds the model's ",
           model_->max_sequence_length(), " positions");

  LP_CHECK(!o_.data.empty(), "give at least one --data folder");
  for (const DataSource& d : o_.data) {
    data_.push_back(read_data_info(d.dir));
    check_data_matches(data_.back(), o_.model_dir);
  }
  {  // watched sets get names distinct from the sources'
    std::vector<DataSource> all = o_.data;
    for (const std::string& d : o_.eval_data) {
      const DataInfo info = read_data_info(d);
      check_data_matches(info, o_.model_dir);
      LP_CHECK(info.val_tokens > 0, "--eval-data ", d, " has no validation split (prepare it with --val-fraction)");
      all.push_back({d});
    }
    name_sources(all);
    watched_.assign(all.begin() + std::ptrdiff_t(o_.data.size()), all.end());
  }

  trainable_ = resolve_trainable(o_.trainable, o_.also, base_);
  if (o_.lora) {
    LP_CHECK(!trainable_.embed && !trainable_.head, "--also cannot be combined with --lora: adapters go on the blocks' ",
             "projections, and the embeddings and head stay frozen");
    o_.lora->blocks = trainable_.blocks;
    add_lora(*model_, *o_.lora, o_.seed);  // the base weights stay frozen
  } else {
    apply_trainable(*model_, trainable_);
  }
  model_->set_recompute_activations(o_.recompute_activations);
  model_->set_training(true);
  for (const auto& p : model_->named_parameters()) total_parameters_ += p.tensor.numel();
  std::vector<NamedTensor> trained = model_->trainable_parameters();
  if (o_.shard == ShardMode::Parameters) shards_ = std::make_unique<ParameterShards>(*model_, comm_);
  optimizer_ = std::make_unique<ShardedOptimizer>(trained, o_.adamw, o_.shard, comm_, shards_.get());

  LoaderOptions lo = o_.loader;
  lo.seed = o_.seed;
  lo.rank = rank;
  lo.world_size = world;
  loader_ = std::make_unique<DataMixture>(o_.data, lo);

  const int64_t tokens_per_step = o_.loader.batch_size * o_.loader.seq_len * o_.grad_accum * world;
  const int64_t steps_per_epoch = std::max<int64_t>(1, loader_->sequences_per_epoch() / (o_.loader.batch_size * o_.grad_accum));
  if (o_.steps > 0) total_steps_ = o_.steps;
  else if (o_.tokens > 0) total_steps_ = std::max<int64_t>(1, (o_.tokens + tokens_per_step - 1) / tokens_per_step);
  else total_steps_ = std::max<int64_t>(1, static_cast<int64_t>(std::ceil((o_.epochs > 0 ? o_.epochs : 1.0) * steps_per_epoch)));

  schedule_ = o_.schedule;
  schedule_.total_steps = total_steps_;
  schedule_.warmup_steps = o_.warmup.steps(total_steps_);

  // Every rank checks the folder before the owner changes it, and sees it after.
  run_ = std::make_unique<RunFolder>(o_.out_dir, run_identity(o_, trainable_, total_steps_, data_, *loader_),
                                     inputs, o_.force, main_rank());
  if (comm_) comm_->barrier();
  run_->create();
  if (comm_) comm_->barrier();
  std::optional<SavedCheckpoint> saved = run_->newest_checkpoint();
  if (saved) resume(*saved);
  run_->open_metrics(saved);
}

Trainer::~Trainer() = default;

bool Trainer::main_rank() const { return rank_of(comm_.get()) == 0; }

void Trainer::resume(const SavedCheckpoint& saved) {
  const json& state = saved.state;
  const std::string where = (saved.dir / "state.json").string();
  optimizer_->load(SavedOptimizerState(saved.dir, state), json_get<int64_t>(state, "optimizer_steps", where));
  step_ = resumed_from_ = json_get<int64_t>(state, "step", where);
  tokens_seen_ = json_get<int64_t>(state, "tokens", where);
  last_loss_ = json_get_or<double>(state, "loss", NAN, where);
  last_eval_step_ = json_get_or<int64_t>(state, "eval_step", -1, where);
  last_eval_loss_ = json_get_or<double>(state, "eval_loss", NAN, where);
  const int saved_world = json_get_or<int>(state, "world_size", 1, where), world = world_size_of(comm_.get());
  if (saved_world != world)
    resume_note_ = "; saved by " + std::to_string(saved_world) + " rank" + (saved_world == 1 ? "" : "s") +
                   ", the optimizer state re-sliced for " + std::to_string(world);
  loader_->restore(json_get<json>(state, "loader", where));
  last_checkpoint_ = saved.dir.string();
}

ResidentBytes Trainer::resident() const {
  ResidentBytes r;
  StorageTally tally;
  std::vector<NamedTensor> tensors = model_->named_parameters(), adapters = model_->lora_parameters();
  tensors.insert(tensors.end(), adapters.begin(), adapters.end());
  for (const NamedTensor& p : tensors) r.parameters += tally.add(p.tensor);
  if (shards_)
    for (const ShardedBlock& b : shards_->blocks()) r.parameters += tally.add(b.frozen) + tally.add(b.trainable);
  optimizer_->add_resident(tally, r);
  return r;
}

std::string Trainer::describe() const {
  const int64_t total = total_parameters_;
  const int64_t trainable = optimizer_->parameter_count();
  const int world = world_size_of(comm_.get());
  const int64_t tokens_per_step = o_.loader.batch_size * o_.loader.seq_len * o_.grad_accum * world;
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "trainable: %s\n  %s of %s parameters (%.2f%%)\n"
                "steps: %lld x %s tokens (batch %lld x seq %lld x accum %lld x %d rank%s) = %s tokens; lr %g %s, warmup %lld",
                trainable_.description.c_str(), format_thousands(uint64_t(trainable)).c_str(),
                format_thousands(uint64_t(total)).c_str(), 100.0 * double(trainable) / double(total),
                (long long)total_steps_, format_count(double(tokens_per_step)).c_str(), (long long)o_.loader.batch_size,
                (long long)o_.loader.seq_len, (long long)o_.grad_accum, world, world == 1 ? "" : "s",
                format_count(double(tokens_per_step * total_steps_)).c_str(), o_.schedule.peak_lr,
                schedule_name(schedule_.kind).c_str(), (long long)schedule_.warmup_steps);
  std::string s = buf;
  if (o_.lora)  // under the trainable line
    s.insert(s.find("\nsteps:"), "\n  as LoRA adapters: rank " + std::to_string(o_.lora->rank) + ", alpha " +
             number(o_.lora->alpha) + ", dropout " + number(o_.lora->dropout) + " on " +
             std::to_string(o_.lora->targets.size()) + " projections per block; the base weights stay frozen");
  const bool mixed = data_.size() > 1;
  if (mixed) s += "\ndata: " + std::to_string(data_.size()) + " sources, each batch from one, in proportion to the weights";
  for (size_t i = 0; i < data_.size(); i++) {
    const BatchLoader& l = loader_->loader(i);
    s += mixed ? "\n  " + loader_->sources()[i].name + " (weight " + number(o_.data[i].weight) + ", " +
                     number(std::round(1000 * loader_->share(i)) / 10) + "% of batches): "
               : std::string("\ndata: ");
    s += format_count(double(data_[i].train_tokens)) + " train tokens, " + format_count(double(data_[i].val_tokens)) +
         " validation tokens" + (mixed ? "; packing: " : "\npacking: ") + packing_name(l.packing());
    if (l.packing() == Packing::Concat) continue;
    std::snprintf(buf, sizeof buf, " (%lld rows, %.1f%% of their tokens are documents", (long long)l.sequences_per_epoch(),
                  100.0 * l.fill());
    s += buf;
    if (l.cut_documents() > 0)
      s += "; " + std::to_string(l.cut_documents()) + " documents longer than --seq-len were " +
           (data_[i].format == "chat" ? "truncated" : "split");
    s += ")";
  }
  if (world > 1 || o_.shard != ShardMode::None)
    s += std::string("\nshard: ") + shard_mode_name(o_.shard) + " (" + std::to_string(world) + " rank" +
         (world == 1 ? "" : "s") + ")";
  if (resumed_from_ > 0)
    s += "\nresuming from " + last_checkpoint_ + " (step " + std::to_string(resumed_from_) + resume_note_ + ")";
  return s;
}

double Trainer::forward_backward(const Batch& batch) {
  BatchTensors t = batch_tensors(batch, model_->options().device);
  torch::Tensor loss = batch_loss(*model_, t);
  (loss / double(o_.grad_accum)).backward();
  optimizer_->micro_batch_done();
  return loss.item<double>();
}

StepResult Trainer::step() {
  const double started = now_seconds();
  StepResult r;
  r.lr = schedule_.lr_at(step_);
  double loss_sum = 0;
  int64_t tokens = 0, targets = 0;
  for (int64_t m = 0; m < o_.grad_accum; m++) {
    Batch batch = loader_->next();
    seed_dropout(step_ * o_.grad_accum + m);
    loss_sum += forward_backward(batch);
    tokens += batch.batch * batch.seq_len;
    targets += target_count(batch);
  }
  r.loss = loss_sum / double(o_.grad_accum);
  r.grad_norm = optimizer_->reduce_gradients();
  if (comm_) {  // one collective: the mean loss, and the targets of every rank
    std::vector<torch::Tensor> shared = {torch::tensor({r.loss, double(targets)}, torch::kDouble)};
    comm_->all_reduce_mean(shared);
    r.loss = shared[0][0].item<double>();
    targets = int64_t(std::llround(shared[0][1].item<double>() * comm_->world_size()));
    tokens *= comm_->world_size();
  }
  LP_CHECK(targets > 0, "step ", step_ + 1, ": no token of the batch is a prediction target, so there is no loss to "
           "train on", no_target_reason());
  if (!std::isfinite(r.loss) || !std::isfinite(r.grad_norm))
    LP_FAIL("training diverged at step ", step_ + 1, ": loss ", r.loss, ", gradient norm ", r.grad_norm, " (lr ", r.lr,
            "); last good checkpoint: ", last_checkpoint_.empty() ? std::string("none") : last_checkpoint_,
            " — lower --lr and rerun to resume from it");
  json held;
  if (!resident_logged_) {  // what this rank holds at its fullest: with the step's gradients
    const ResidentBytes m = resident();
    held = {{"parameters", m.parameters}, {"gradients", m.gradients}, {"optimizer", m.optimizer}};
    resident_logged_ = true;
  }
  optimizer_->clip_gradients(o_.grad_clip, r.grad_norm);
  optimizer_->step(r.lr);
  step_++;
  tokens_seen_ += tokens;
  last_loss_ = r.loss;
  r.step = step_;
  r.tokens_per_second = double(tokens) / std::max(1e-9, now_seconds() - started);
  StepMetrics m{step_, tokens_seen_, r.loss, r.lr, r.grad_norm, r.tokens_per_second, held, json()};
  if (data_.size() > 1) {  // how much of each source the run has seen
    m.source_tokens = json::object();
    for (size_t i = 0; i < data_.size(); i++) m.source_tokens[loader_->sources()[i].name] = source_tokens(i);
  }
  run_->log(step_record(m));
  return r;
}

// Why a batch can hold no target: chat examples are cut to their first --seq-len tokens.
std::string Trainer::no_target_reason() const {
  for (size_t i = 0; i < data_.size(); i++)
    if (data_[i].format == "chat" && loader_->loader(i).cut_documents() > 0)
      return " (" + o_.data[i].dir + ": examples are cut to their first --seq-len " + std::to_string(o_.loader.seq_len) +
             " tokens, and every answer token of these lies beyond it; use a longer --seq-len)";
  return " (the data's loss mask is 0 on every token of the batch)";
}

int64_t Trainer::source_tokens(size_t i) const {
  return loader_->taken()[i] * o_.loader.batch_size * o_.loader.seq_len * world_size_of(comm_.get());
}

// Dropout masks depend only on the seed, the rank and the micro-batch, so a resumed run draws
// the same ones as an uninterrupted run.
void Trainer::seed_dropout(int64_t micro_batch) const {
  if (!o_.lora || o_.lora->dropout == 0) return;
  const uint64_t rank = uint64_t(rank_of(comm_.get()));
  torch::manual_seed(o_.seed * 0x9E3779B97F4A7C15ull + rank * 0x100000001B3ull + uint64_t(micro_batch));
}

double Trainer::evaluate() {
  EvalOptions eo;
  eo.seq_len = o_.loader.seq_len;
  eo.batch_size = o_.loader.batch_size;
  eo.max_batches = o_.cadence.eval_batches;
  eo.rank = rank_of(comm_.get());
  eo.world_size = world_size_of(comm_.get());
  eo.allow_too_small = true;
  model_->set_training(false);
  // One held-out loss, the same on every rank; NaN without a whole validation batch.
  auto held_out = [&](const std::string& dir, std::optional<Packing> packing) {
    eo.packing = packing;
    double loss = evaluate_loss(*model_, dir, eo).loss;
    if (comm_ && !std::isnan(loss)) loss = comm_->all_reduce_mean(loss);
    return loss;
  };
  // Each source's loss, and their mean weighted as the batches are drawn.
  last_source_eval_.assign(data_.size(), NAN);
  double sum = 0, weights = 0;
  EvalMetrics record{step_, tokens_seen_, NAN, {}};
  for (size_t i = 0; i < data_.size(); i++) {
    if (data_[i].val_tokens == 0) continue;
    const double loss = held_out(o_.data[i].dir, loader_->loader(i).packing());
    if (std::isnan(loss)) continue;
    last_source_eval_[i] = loss;
    sum += o_.data[i].weight * loss;
    weights += o_.data[i].weight;
    if (data_.size() + watched_.size() > 1) record.per_set.push_back({loader_->sources()[i].name, loss});
  }
  last_watched_eval_.assign(watched_.size(), NAN);
  for (size_t i = 0; i < watched_.size(); i++) {  // not part of the mean: what the run should not forget
    last_watched_eval_[i] = held_out(watched_[i].dir, std::nullopt);
    if (!std::isnan(last_watched_eval_[i])) record.per_set.push_back({watched_[i].name, last_watched_eval_[i]});
  }
  model_->set_training(true);
  if (weights == 0) return NAN;
  const double loss = sum / weights;
  last_eval_loss_ = loss;
  last_eval_step_ = step_;
  record.loss = loss;
  run_->log(eval_record(record));
  return loss;
}

std::vector<std::pair<std::string, double>> Trainer::source_eval_losses() const {
  std::vector<std::pair<std::string, double>> out;
  if (data_.size() + watched_.size() > 1)
    for (size_t i = 0; i < last_source_eval_.size(); i++) out.push_back({loader_->sources()[i].name, last_source_eval_[i]});
  for (size_t i = 0; i < last_watched_eval_.size(); i++) out.push_back({watched_[i].name + " (watched)", last_watched_eval_[i]});
  return out;
}

bool Trainer::should_eval() const { return o_.cadence.eval_every > 0 && step_ % o_.cadence.eval_every == 0; }
bool Trainer::should_save() const { return o_.cadence.save_every > 0 && step_ % o_.cadence.save_every == 0; }

void Trainer::save_checkpoint() {
  // Every rank's loader is at the same epoch and position (the ranks move in lockstep over
  // disjoint sequences), so rank 0's state stands for all. The optimizer state is whole on
  // rank 0 too, unless it is sharded: then every rank writes its slice.
  const int rank = rank_of(comm_.get()), world = world_size_of(comm_.get());
  const std::vector<FlatLayout> layouts = optimizer_->layouts();
  const int files = layouts.empty() ? 1 : layouts[0].world;
  json state = {{"step", step_}, {"optimizer_steps", optimizer_->steps()}, {"tokens", tokens_seen_},
                {"loss", finite_or_null(last_loss_)}, {"eval_step", last_eval_step_},
                {"eval_loss", finite_or_null(last_eval_loss_)}, {"loader", loader_->state()},
                {"world_size", world}, {"shard", shard_mode_name(o_.shard)},
                {"optimizer_layout", optimizer_layout_json(layouts)}, {"created", utc_now()}};
  auto write_own = [&](const fs::path& file) {
    std::vector<TensorSpec> specs;
    std::vector<torch::Tensor> keep;
    std::vector<const void*> data;
    for (auto& t : optimizer_->state()) {
      keep.push_back(t.tensor.contiguous());
      specs.push_back({t.name, DType::F32, keep.back().sizes().vec()});
      data.push_back(keep.back().data_ptr());
    }
    write_safetensors(file, specs, data);
  };
  if (files > 1) {  // each rank's slice next to the others', then moved in by the owner
    run_->clear_rank_files(step_);
    comm_->barrier();
    write_own(run_->rank_files(step_) / optimizer_file_name(rank, files));
    comm_->barrier();
  }
  last_checkpoint_ = run_->save_checkpoint(step_, state, o_.cadence.keep_checkpoints, [&](const fs::path& stage) {
    if (files == 1) return write_own(stage / optimizer_file_name(0, 1));
    for (int r = 0; r < files; r++)
      fs::rename(run_->rank_files(step_) / optimizer_file_name(r, files), stage / optimizer_file_name(r, files));
  });
  if (comm_) comm_->barrier();
}

int Trainer::agree_on_stop(int local_signal) {
  if (!comm_) return local_signal;
  const bool any = comm_->all_reduce_mean(local_signal != 0 ? 1.0 : 0.0) > 0;
  return !any ? 0 : local_signal != 0 ? local_signal : SIGTERM;
}

void Trainer::export_model() {
  const std::map<std::string, torch::Tensor> masters = optimizer_->full_masters();  // every rank takes part
  if (main_rank() && o_.lora) {  // the adapter alone, under PEFT's names
    std::vector<NamedTensor> adapters = optimizer_->parameters();
    for (auto& a : adapters) a.tensor = masters.at(a.name);
    write_adapter(run_->dir(), *o_.lora, absolute(o_.model_dir), adapters);
  } else if (main_rank()) {  // the whole model, with this run in its manifest
    json sources = json::array();
    for (size_t i = 0; i < data_.size(); i++)
      sources.push_back({{"path", absolute(o_.data[i].dir)}, {"weight", o_.data[i].weight},
                         {"tokenizer", data_[i].tokenizer_fingerprint}, {"train_tokens", data_[i].train_tokens},
                         {"tokens_seen", source_tokens(i)},
                         {"final_eval_loss", finite_or_null(i < last_source_eval_.size() ? last_source_eval_[i] : NAN)}});
    json record = {{"data", sources},
                   {"tokens", tokens_seen_},
                   {"steps", step_},
                   {"trainable", trainable_.description},
                   {"final_loss", finite_or_null(last_loss_)},
                   {"final_eval_loss", finite_or_null(last_eval_loss_)},
                   {"hyperparameters", read_json_file(run_->dir() / kRunFile)},
                   {"finished", utc_now()}};
    export_trained_model(base_, masters, trainable_, record, tokens_seen_, run_->dir());
  }
  if (comm_) comm_->barrier();
}

}  // namespace llamapro
