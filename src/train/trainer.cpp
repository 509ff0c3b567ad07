#include "train/trainer.h"

#include <chrono>
#include <csignal>
#include <cmath>
#include <cstdio>
#include <map>

#include "eval/perplexity.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "model/compat.h"
#include "model/load.h"
#include "model/tensor_names.h"
#include "train/distributed.h"
#include "util/check.h"
#include "util/files.h"
#include "util/strings.h"

namespace llamapro {

namespace fs = std::filesystem;

std::atomic<int> g_stop_signal{0};

void install_stop_handlers() {
  auto handler = [](int sig) { g_stop_signal.store(sig); };
  std::signal(SIGINT, handler);
  std::signal(SIGTERM, handler);
}

namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// The fields of a run that must agree for a rerun to continue it.
json run_identity(const TrainOptions& o, const TrainableSpec& spec, int64_t total_steps) {
  return {{"model", fs::absolute(o.model_dir).lexically_normal().string()},
          {"data", fs::absolute(o.data_dir).lexically_normal().string()},
          {"trainable", spec.description},
          {"lr", o.lr}, {"min_lr", o.min_lr}, {"schedule", o.schedule}, {"warmup", o.warmup},
          {"betas", {o.adamw.beta1, o.adamw.beta2}}, {"eps", o.adamw.eps}, {"weight_decay", o.adamw.weight_decay},
          {"decay_all", o.adamw.decay_all}, {"grad_clip", o.grad_clip}, {"seq_len", o.seq_len},
          {"batch_size", o.batch_size}, {"grad_accum", o.grad_accum}, {"total_steps", total_steps},
          {"shuffle", o.shuffle}, {"seed", o.seed}, {"precision", o.precision}};
}

std::string step_name(int64_t step) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "step-%08lld", (long long)step);
  return buf;
}

}  // namespace

Trainer::Trainer(TrainOptions options, std::shared_ptr<Communicator> comm) : o_(std::move(options)), comm_(std::move(comm)) {
  LP_CHECK(o_.seq_len >= 2, "--seq-len must be at least 2");
  LP_CHECK(o_.batch_size >= 1 && o_.grad_accum >= 1, "--batch-size and --grad-accum must be at least 1");
  LP_CHECK(o_.lr > 0 && std::isfinite(o_.lr), "--lr must be a positive number");
  LP_CHECK(o_.steps >= 0 && o_.tokens >= 0 && o_.epochs >= 0, "--steps, --tokens and --epochs must not be negative");
  const int rank = comm_ ? comm_->rank() : 0, world = comm_ ? comm_->world_size() : 1;

  checkpoint_ = std::make_shared<const Checkpoint>(Checkpoint::open(o_.model_dir));
  ModelOptions mo;
  mo.device = compat::parse_device(o_.device);
  if (comm_ && mo.device.is_cuda()) mo.device = torch::Device(torch::kCUDA, comm_->local_rank());
  LP_CHECK(o_.precision == "fp32" || o_.precision == "bf16", "unknown --precision \"", o_.precision,
           "\" (expected fp32 or bf16)");
  mo.dtype = o_.precision == "bf16" ? torch::kBFloat16 : torch::kFloat;
  model_ = std::make_unique<Model>(load_model(checkpoint_, mo));
  const ModelConfig& c = model_->config();
  LP_CHECK(o_.seq_len <= model_->max_sequence_length(), "--seq-len ", o_.seq_len, " exceeds the model's ",
           model_->max_sequence_length(), " positions");

  data_ = read_data_info(o_.data_dir);
  check_data_matches(data_, o_.model_dir);

  manifest_ = Manifest::load_if_present(o_.model_dir, c.num_hidden_layers);
  trainable_ = resolve_trainable(o_.trainable, o_.also, manifest_, c.num_hidden_layers);
  apply_trainable(*model_, trainable_);
  model_->set_activation_checkpointing(o_.activation_checkpointing);
  optimizer_ = std::make_unique<AdamW>(model_->trainable_parameters(), o_.adamw);

  LoaderOptions lo;
  lo.batch_size = o_.batch_size;
  lo.seq_len = o_.seq_len;
  lo.shuffle = o_.shuffle;
  lo.seed = o_.seed;
  lo.rank = rank;
  lo.world_size = world;
  loader_ = std::make_unique<BatchLoader>(o_.data_dir, lo);

  const int64_t tokens_per_step = o_.batch_size * o_.seq_len * o_.grad_accum * world;
  const int64_t steps_per_epoch = std::max<int64_t>(1, loader_->sequences_per_epoch() / (o_.batch_size * o_.grad_accum));
  if (o_.steps > 0) total_steps_ = o_.steps;
  else if (o_.tokens > 0) total_steps_ = std::max<int64_t>(1, (o_.tokens + tokens_per_step - 1) / tokens_per_step);
  else total_steps_ = std::max<int64_t>(1, static_cast<int64_t>(std::ceil((o_.epochs > 0 ? o_.epochs : 1.0) * steps_per_epoch)));

  schedule_.kind = parse_schedule(o_.schedule);
  schedule_.peak_lr = o_.lr;
  schedule_.min_lr = o_.min_lr;
  schedule_.total_steps = total_steps_;
  schedule_.warmup_steps = parse_warmup(o_.warmup, total_steps_);

  prepare_output();
  resume();
}

Trainer::~Trainer() = default;

void Trainer::prepare_output() {
  const fs::path out = o_.out_dir;
  const json identity = run_identity(o_, trainable_, total_steps_);
  const bool main_rank = !comm_ || comm_->rank() == 0;
  if (fs::exists(out / "run.json")) {
    json previous = read_json_file(out / "run.json");
    if (previous != identity) {
      std::string what;
      for (const auto& [k, v] : identity.items())
        if (!previous.contains(k) || previous[k] != v) what += (what.empty() ? "" : ", ") + k;
      LP_CHECK(o_.force, o_.out_dir, " holds a different training run (", what.empty() ? "settings" : what,
               " differ); use another -o or --force to start over");
      if (main_rank) fs::remove_all(out);
    }
  } else if (fs::exists(out) && !fs::is_empty(out)) {
    LP_CHECK(o_.force, o_.out_dir, " exists and is not a llamapro training run; use another -o or --force");
    if (main_rank) fs::remove_all(out);
  }
  if (comm_) comm_->barrier();
  if (main_rank) {
    fs::create_directories(out / "checkpoints");
    write_json_file(out / "run.json", identity);
  }
  if (comm_) comm_->barrier();
  if (main_rank) metrics_.open(out / "metrics.jsonl", std::ios::app);
}

fs::path Trainer::checkpoint_dir(int64_t step) const { return fs::path(o_.out_dir) / "checkpoints" / step_name(step); }

void Trainer::resume() {
  fs::path dir = fs::path(o_.out_dir) / "checkpoints";
  std::string newest;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string name = e.path().filename().string();
    if (e.is_directory() && starts_with(name, "step-") && name.find(".partial") == std::string::npos &&
        fs::exists(e.path() / "state.json") && name > newest)
      newest = name;
  }
  if (newest.empty()) return;
  const fs::path ckpt = dir / newest;
  json state = read_json_file(ckpt / "state.json");
  SafetensorsFile file(ckpt / "optimizer.safetensors");
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& t : file.tensors()) {
    LP_CHECK(t.dtype == DType::F32, ckpt.string(), ": optimizer tensor \"", t.name, "\" is not F32");
    tensors[t.name] = torch::from_blob(const_cast<uint8_t*>(file.data(t)), t.shape, torch::kFloat).clone();
  }
  const std::string where = (ckpt / "state.json").string();
  const int64_t steps = json_get<int64_t>(state, "step", where);
  optimizer_->load_state(tensors, json_get<int64_t>(state, "optimizer_steps", where));
  step_ = resumed_from_ = steps;
  tokens_seen_ = json_get<int64_t>(state, "tokens", where);
  last_loss_ = json_get_or<double>(state, "loss", NAN, where);
  loader_->restore(LoaderState::from_json(json_get<json>(state, "loader", where)));
  last_checkpoint_ = ckpt.string();
}

std::string Trainer::describe() const {
  int64_t total = 0;
  for (const auto& p : model_->named_parameters()) total += p.tensor.numel();
  const int64_t trainable = optimizer_->parameter_count();
  const int world = comm_ ? comm_->world_size() : 1;
  const int64_t tokens_per_step = o_.batch_size * o_.seq_len * o_.grad_accum * world;
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "trainable: %s\n  %s of %s parameters (%.2f%%)\n"
                "steps: %lld x %s tokens (batch %lld x seq %lld x accum %lld x %d rank%s) = %s tokens; lr %g %s, warmup %lld\n"
                "data: %s train tokens, %s validation tokens",
                trainable_.description.c_str(), format_thousands(uint64_t(trainable)).c_str(),
                format_thousands(uint64_t(total)).c_str(), 100.0 * double(trainable) / double(total),
                (long long)total_steps_, format_count(double(tokens_per_step)).c_str(), (long long)o_.batch_size,
                (long long)o_.seq_len, (long long)o_.grad_accum, world, world == 1 ? "" : "s",
                format_count(double(tokens_per_step * total_steps_)).c_str(), o_.lr,
                schedule_name(schedule_.kind).c_str(), (long long)schedule_.warmup_steps,
                format_count(double(data_.train_tokens)).c_str(), format_count(double(data_.val_tokens)).c_str());
  std::string s = buf;
  if (resumed_from_ > 0) s += "\nresuming from " + last_checkpoint_ + " (step " + std::to_string(resumed_from_) + ")";
  return s;
}

double Trainer::forward_backward(const Batch& batch) {
  BatchTensors t = batch_tensors(batch, model_->options().device);
  torch::Tensor loss = masked_next_token_loss(model_->forward(t.ids), t.ids, t.mask);  // logits (B, T, V)
  (loss / double(o_.grad_accum)).backward();
  return loss.item<double>();
}

void Trainer::optimizer_step(double lr) { optimizer_->step(lr); }

StepResult Trainer::step() {
  const double started = now_seconds();
  StepResult r;
  r.lr = schedule_.lr_at(step_);
  double loss_sum = 0;
  int64_t tokens = 0;
  for (int64_t m = 0; m < o_.grad_accum; m++) {
    Batch batch = loader_->next();
    loss_sum += forward_backward(batch);
    tokens += batch.batch * batch.seq_len;
  }
  r.loss = loss_sum / double(o_.grad_accum);
  if (comm_) {
    std::vector<torch::Tensor> grads;
    for (const auto& p : optimizer_->parameters())
      if (p.tensor.grad().defined()) grads.push_back(p.tensor.mutable_grad());
    comm_->all_reduce_mean(grads);
    r.loss = comm_->all_reduce_mean(r.loss);
    tokens *= comm_->world_size();
  }
  r.grad_norm = optimizer_->grad_norm();
  if (!std::isfinite(r.loss) || !std::isfinite(r.grad_norm))
    LP_FAIL("training diverged at step ", step_ + 1, ": loss ", r.loss, ", gradient norm ", r.grad_norm, " (lr ", r.lr,
            "); last good checkpoint: ", last_checkpoint_.empty() ? std::string("none") : last_checkpoint_,
            " — lower --lr and rerun to resume from it");
  optimizer_->clip_grads(o_.grad_clip, r.grad_norm);
  optimizer_->step(r.lr);
  optimizer_->zero_grad();
  step_++;
  tokens_seen_ += tokens;
  last_loss_ = r.loss;
  r.step = step_;
  r.tokens_per_second = double(tokens) / std::max(1e-9, now_seconds() - started);
  log_metrics({{"step", step_}, {"tokens", tokens_seen_}, {"loss", r.loss}, {"lr", r.lr}, {"grad_norm", r.grad_norm},
               {"tokens_per_s", r.tokens_per_second}});
  return r;
}

double Trainer::evaluate() {
  if (data_.val_tokens < o_.seq_len * o_.batch_size * (comm_ ? comm_->world_size() : 1)) return NAN;
  EvalOptions eo;
  eo.seq_len = o_.seq_len;
  eo.batch_size = o_.batch_size;
  eo.max_batches = o_.eval_batches;
  eo.rank = comm_ ? comm_->rank() : 0;
  eo.world_size = comm_ ? comm_->world_size() : 1;
  double loss = evaluate_loss(*model_, o_.data_dir, eo).loss;
  if (comm_) loss = comm_->all_reduce_mean(loss);
  last_eval_loss_ = loss;
  log_metrics({{"step", step_}, {"tokens", tokens_seen_}, {"eval_loss", loss}, {"eval_ppl", std::exp(loss)}});
  return loss;
}

bool Trainer::should_eval() const { return o_.eval_every > 0 && step_ % o_.eval_every == 0; }
bool Trainer::should_save() const { return o_.save_every > 0 && step_ % o_.save_every == 0; }

void Trainer::log_metrics(const json& record) {
  if (!metrics_.is_open()) return;
  metrics_ << record.dump() << "\n";
  metrics_.flush();
}

void Trainer::save_checkpoint() {
  // Every rank holds the same weights and its loader is at the same epoch and position (the
  // ranks move in lockstep over disjoint sequences), so rank 0 saves for all.
  json state = {{"step", step_}, {"optimizer_steps", optimizer_->steps()}, {"tokens", tokens_seen_},
                {"loss", std::isfinite(last_loss_) ? json(last_loss_) : json(nullptr)},
                {"loader", loader_->state().to_json()}, {"created", utc_now()}};
  if (comm_ && comm_->rank() != 0) {
    comm_->barrier();
    return;
  }
  const fs::path dir = checkpoint_dir(step_);
  {
    StagingDir staging(dir, true);
    std::vector<NamedTensor> tensors = optimizer_->state();
    std::vector<TensorSpec> specs;
    std::vector<torch::Tensor> keep;
    std::vector<const void*> data;
    for (auto& t : tensors) {
      keep.push_back(t.tensor.contiguous());
      specs.push_back({t.name, DType::F32, keep.back().sizes().vec()});
      data.push_back(keep.back().data_ptr());
    }
    write_safetensors(staging.path() / "optimizer.safetensors", specs, data);
    write_json_file(staging.path() / "state.json", state);
    staging.commit();
  }
  last_checkpoint_ = dir.string();
  // Keep the newest keep_checkpoints.
  std::vector<fs::path> all;
  for (const auto& e : fs::directory_iterator(dir.parent_path()))
    if (e.is_directory() && starts_with(e.path().filename().string(), "step-") &&
        e.path().filename().string().find(".partial") == std::string::npos)
      all.push_back(e.path());
  std::sort(all.begin(), all.end());
  for (size_t i = 0; i + size_t(std::max<int64_t>(1, o_.keep_checkpoints)) < all.size(); i++) fs::remove_all(all[i]);
  if (comm_) comm_->barrier();
}

void Trainer::export_model() {
  if (comm_ && comm_->rank() != 0) {
    comm_->barrier();
    return;
  }
  const fs::path out = o_.out_dir;
  std::map<std::string, size_t> trained;  // HF name -> optimizer slot
  const auto& params = optimizer_->parameters();
  for (size_t i = 0; i < params.size(); i++) trained[params[i].name] = i;

  const Checkpoint& ck = *checkpoint_;
  std::vector<TensorSpec> specs;
  for (const auto& name : ck.names()) {
    const TensorInfo& t = *ck.tensor(name).info;
    specs.push_back({name, t.dtype, t.shape});
  }
  const fs::path staging_dir = out / ".model.partial";
  {
    StagingDir staging(staging_dir, true);
    uint64_t shard_bytes = 5'000'000'000;
    CheckpointWriter writer(staging.path(), specs, shard_bytes);
    for (const auto& spec : specs) {
      TensorRef ref = ck.tensor(spec.name);
      auto it = trained.find(spec.name);
      if (it == trained.end()) {  // frozen: the stored bytes, unchanged
        writer.append_from_file(ref.file->mapping().fd(), ref.file->file_offset(*ref.info), spec.nbytes());
        continue;
      }
      // Trained: the float32 master, stored in the tensor's original dtype.
      torch::Tensor master = optimizer_->master(it->second).detach().to(torch::kCPU).contiguous();
      std::vector<uint8_t> bytes(spec.nbytes());
      convert_elements(master.data_ptr(), DType::F32, bytes.data(), spec.dtype, size_t(master.numel()));
      writer.append(bytes.data(), bytes.size());
    }
    writer.finish();
    copy_side_files(o_.model_dir, staging.path());
    write_json_file(staging.path() / "config.json", ck.config());
    Manifest m = manifest_ ? *manifest_ : Manifest::for_base(model_->n_layers());
    json record = {{"data", fs::absolute(o_.data_dir).lexically_normal().string()},
                   {"data_tokenizer", data_.tokenizer_fingerprint},
                   {"data_train_tokens", data_.train_tokens},
                   {"tokens", tokens_seen_},
                   {"steps", step_},
                   {"trainable", trainable_.description},
                   {"final_loss", std::isfinite(last_loss_) ? json(last_loss_) : json(nullptr)},
                   {"final_eval_loss", std::isfinite(last_eval_loss_) ? json(last_eval_loss_) : json(nullptr)},
                   {"hyperparameters", read_json_file(out / "run.json")},
                   {"finished", utc_now()}};
    m.training.push_back(record);
    for (auto& stage : m.stages) {  // stages whose blocks trained count the tokens they saw
      bool touched = false;
      for (int64_t b : m.blocks_of(stage.name)) touched |= std::binary_search(trainable_.blocks.begin(), trainable_.blocks.end(), b);
      if (touched) stage.trained_tokens += tokens_seen_;
    }
    m.save(staging.path());
    staging.commit();
  }
  // Move the finished model's files into the output folder, config.json last: a folder with a
  // config.json is a complete model.
  std::error_code ec;
  fs::remove(out / "config.json", ec);
  for (const auto& e : fs::directory_iterator(out)) {
    const std::string n = e.path().filename().string();
    if (e.is_regular_file() && (ends_with(n, ".safetensors") || n == "model.safetensors.index.json")) fs::remove(e.path());
  }
  for (const auto& e : fs::directory_iterator(staging_dir))
    if (e.path().filename() != "config.json") fs::rename(e.path(), out / e.path().filename());
  fs::rename(staging_dir / "config.json", out / "config.json");
  fs::remove_all(staging_dir);
  if (comm_) comm_->barrier();
}

}  // namespace llamapro
