// transformer.cpp — the decoder forward pass, training marks and named parameters (see transformer.h).
#include "model/transformer.h"

#include <optional>

#include "io/checkpoint.h"
#include "model/causal_attention.h"
#include "model/linear.h"
#include "model/tensor_names.h"
#include "util/check.h"

namespace llamapro {

torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps) {
  auto xf = x.to(torch::kFloat);
  auto variance = xf.pow(2).mean(-1, /*keepdim=*/true);  // (B, T, 1)
  xf = xf * torch::rsqrt(variance + eps);
  return weight * xf.to(x.scalar_type());
}

Model::Model(ModelConfig config, ModelWeights weights, ModelOptions options, std::shared_ptr<const Checkpoint> source)
    : config_(std::move(config)), w_(std::move(weights)), options_(options), source_(std::move(source)) {
  LP_CHECK(int64_t(w_.blocks.size()) == config_.num_hidden_layers, "model has ", w_.blocks.size(),
           " blocks, config says ", config_.num_hidden_layers);
  rope_.inv_freq = rope_inv_freq(config_).to(options_.device);
  attn_shape_ = {config_.num_attention_heads, config_.num_key_value_heads, config_.head_dim};
  max_len_ = llamapro::max_sequence_length(config_);
  trainable_.assign(size_t(config_.num_hidden_layers), false);
  for (auto& p : named_parameters()) p.tensor.set_requires_grad(false);
}

KVCache Model::new_cache(int64_t batch, int64_t max_len) const {
  if (max_len <= 0) max_len = max_len_;
  LP_CHECK(max_len <= max_len_, "cache of ", max_len, " positions exceeds the model's limit of ", max_len_);
  return KVCache(config_, batch, max_len, options_.device, options_.dtype);
}

torch::Tensor block_forward(const BlockWeights& b, const AttentionShape& shape, double eps, const torch::Tensor& x,
                            const TokenPlacement& at, KVCache* cache, int64_t layer, bool training) {
  // x = x + attn(norm(x)); x = x + mlp(norm(x))
  auto h = x + attention_forward(b.attn, shape, rms_norm(x, b.attn_norm, eps), at, cache, layer, training);
  auto n = rms_norm(h, b.mlp_norm, eps);                                              // (B, T, C)
  auto gate = torch::silu(project(n, b.w_gate, b.b_gate, b.gate_lora, training));    // (B, T, I)
  auto up = project(n, b.w_up, b.b_up, b.up_lora, training);                         // (B, T, I)
  return h + project(gate * up, b.w_down, b.b_down, b.down_lora, training);          // (B, T, C)
}

torch::Tensor Model::run_block(int64_t l, const torch::Tensor& x, const TokenPlacement& at, KVCache* cache,
                               bool backward) const {
  if (!weight_source_)
    return llamapro::block_forward(w_.blocks[size_t(l)], attn_shape_, config_.rms_norm_eps, x, at, cache, l, training_);
  const BlockWeights& w = weight_source_->fetch(l, backward);
  torch::Tensor y = llamapro::block_forward(w, attn_shape_, config_.rms_norm_eps, x, at, cache, l, training_);
  if (!backward) weight_source_->release(l);
  return y;
}

// A block whose forward keeps no activations: backward recomputes them from the saved input
// and back-propagates through the recomputation, which accumulates the weight gradients.
// `anchor`, one trainable tensor of the block, is an input only so that the output requires
// grad (and backward runs) even when x needs no gradient, as below the lowest trainable block.
// The random generator's state is kept, so adapter dropout draws the same masks twice.
struct CheckpointedBlock : public torch::autograd::Function<CheckpointedBlock> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, torch::Tensor x, torch::Tensor cos,
                               torch::Tensor sin, torch::Tensor anchor, const Model* model, int64_t layer,
                               const TokenPlacement* at) {
    ctx->save_for_backward({x, cos, sin});
    // Packed rows (never autograd inputs).
    if (at->mask.defined()) ctx->saved_data["mask"] = at->mask;
    if (at->first_key.defined()) ctx->saved_data["first_key"] = at->first_key;
    ctx->saved_data["model"] = reinterpret_cast<int64_t>(model);
    ctx->saved_data["layer"] = layer;
    ctx->saved_data["rng"] = at::globalContext().defaultGenerator(x.device()).get_state();
    torch::NoGradGuard no_grad;
    return model->run_block(layer, x, {cos, sin, 0, at->mask, at->first_key}, nullptr);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_out) {
    auto saved = ctx->get_saved_variables();
    const auto* model = reinterpret_cast<const Model*>(ctx->saved_data["model"].toInt());
    const int64_t layer = ctx->saved_data["layer"].toInt();
    torch::Tensor x = saved[0].detach().requires_grad_(saved[0].requires_grad());
    auto saved_tensor = [&](const char* name) {
      return ctx->saved_data.count(name) ? ctx->saved_data[name].toTensor() : torch::Tensor();
    };
    torch::Tensor y;
    {
      auto generator = at::globalContext().defaultGenerator(x.device());
      const torch::Tensor now = generator.get_state();
      generator.set_state(ctx->saved_data["rng"].toTensor());
      torch::AutoGradMode enable(true);
      y = model->run_block(layer, x, {saved[1], saved[2], 0, saved_tensor("mask"), saved_tensor("first_key")}, nullptr,
                           /*backward=*/true);
      generator.set_state(now);
    }
    torch::autograd::backward({y}, {grad_out[0]});
    if (model->weight_source_) {
      model->weight_source_->backward_done(layer);
      model->weight_source_->release(layer);
    }
    // x, cos, sin, anchor (its gradient was accumulated above), model, layer, placement
    return {x.requires_grad() ? x.grad() : torch::Tensor(), {}, {}, {}, {}, {}, {}};
  }
};

torch::Tensor Model::forward(const torch::Tensor& ids, KVCache* cache, std::vector<torch::Tensor>* block_outputs) const {
  return linear_layer(run(ids, cache, block_outputs, nullptr), w_.lm_head);  // (B, T, V)
}

torch::Tensor Model::forward(const torch::Tensor& ids, const PackedRows& rows) const {
  return linear_layer(final_hidden(ids, rows), w_.lm_head);
}

torch::Tensor Model::last_logits(const torch::Tensor& ids, KVCache* cache) const {
  auto hidden = run(ids, cache, nullptr, nullptr);                             // (B, T, C)
  return linear_layer(hidden.select(1, hidden.size(1) - 1), w_.lm_head);  // (B, V)
}

torch::Tensor Model::final_hidden(const torch::Tensor& ids) const { return run(ids, nullptr, nullptr, nullptr); }

torch::Tensor Model::final_hidden(const torch::Tensor& ids, const PackedRows& rows) const {
  LP_CHECK(rows.positions.sizes() == ids.sizes() && rows.segments.sizes() == ids.sizes(),
           "packed rows: positions and segments must have the shape of the ids");
  return run(ids, nullptr, nullptr, &rows);
}

torch::Tensor Model::run(const torch::Tensor& ids, KVCache* cache, std::vector<torch::Tensor>* block_outputs,
                         const PackedRows* rows) const {
  LP_CHECK(ids.dim() == 2 && ids.scalar_type() == torch::kLong, "input ids must be an int64 tensor (batch, seq), got ",
           ids.dim(), " dims of ", c10::toString(ids.scalar_type()));
  const int64_t T = ids.size(1);
  const int64_t start = cache ? cache->length() : 0;
  LP_CHECK(T >= 1, "empty input sequence");
  LP_CHECK(start + T <= max_len_, "sequence of ", start + T, " positions exceeds the model's limit of ", max_len_,
           " (max_position_embeddings ", config_.max_position_embeddings,
           config_.sliding_window ? ", sliding_window " + std::to_string(*config_.sliding_window) : std::string(), ")");
  const int64_t lo = ids.min().item<int64_t>(), hi = ids.max().item<int64_t>();
  LP_CHECK(lo >= 0 && hi < config_.vocab_size, "token id ", lo < 0 ? lo : hi, " out of range [0, ",
           config_.vocab_size, ")");

  TokenPlacement at;
  at.start = start;
  if (rows) {
    std::tie(at.cos, at.sin) = rope_.cos_sin(rows->positions.to(options_.device), options_.dtype);  // (B, 1, T, HD)
    auto positions = rows->positions.to(options_.device, torch::kLong);                               // (B, T)
    // Documents are contiguous and their positions start at 0: each one starts at i - position.
    at.first_key = torch::arange(T, positions.options()).unsqueeze(0) - positions;  // (B, T)
    if (!causal_attention_applies(options_.device, options_.dtype, config_.head_dim)) {
      auto seg = rows->segments.to(options_.device);  // (B, T)
      auto causal = torch::ones({T, T}, torch::TensorOptions().dtype(torch::kBool).device(options_.device)).tril();
      at.mask = (seg.unsqueeze(2) == seg.unsqueeze(1)).logical_and(causal).unsqueeze(1);  // (B, 1, T, T)
    }
  } else {
    std::tie(at.cos, at.sin) = rope_.cos_sin(start, T, options_.dtype);  // (T, HD)
  }
  const int64_t first_graph = first_graph_block();
  torch::Tensor x;
  {
    std::optional<torch::NoGradGuard> no_grad;
    if (first_graph > 0) no_grad.emplace();
    x = torch::embedding(w_.embed, ids.to(options_.device));  // (B, T, C)
  }
  for (int64_t l = 0; l < n_layers(); l++) {
    std::optional<torch::NoGradGuard> no_grad;  // frozen prefix: no graph, no saved activations
    if (l < first_graph) no_grad.emplace();
    if ((recompute_activations_ || weight_source_) && !cache && l >= first_graph && torch::GradMode::is_enabled()) {
      torch::Tensor anchor = graph_anchor(l);
      x = CheckpointedBlock::apply(x, at.cos, at.sin, anchor.defined() ? anchor : x, this, l, &at);
    } else {
      x = run_block(l, x, at, cache);
    }
    if (block_outputs) block_outputs->push_back(x);
  }
  if (cache) cache->advance(T);
  return rms_norm(x, w_.norm, config_.rms_norm_eps);  // (B, T, C)
}

bool Model::builds_graph(int64_t block) const {
  return trainable_[size_t(block)] || graph_anchor(block).defined();  // its weights or an adapter train
}

std::vector<torch::Tensor*> block_weight_slots(BlockWeights& b) {
  return {&b.attn_norm, &b.attn.wq, &b.attn.bq, &b.attn.wk, &b.attn.bk, &b.attn.wv,   &b.attn.bv, &b.attn.wo,
          &b.attn.bo,   &b.mlp_norm, &b.w_gate, &b.b_gate,  &b.w_up,    &b.b_up,     &b.w_down,  &b.b_down};
}

torch::Tensor Model::graph_anchor(int64_t block) const {
  const BlockWeights& b = w_.blocks[size_t(block)];
  for (torch::Tensor* t : block_weight_slots(const_cast<BlockWeights&>(b)))
    if (t->defined() && t->requires_grad()) return *t;
  for (LoraTarget t : kLoraTargets)
    if (lora_slot(b, t).a.defined() && lora_slot(b, t).a.requires_grad()) return lora_slot(b, t).a;
  return {};
}

const LoraPair& lora_slot(const BlockWeights& b, LoraTarget t) { return lora_slot(const_cast<BlockWeights&>(b), t); }

LoraPair& lora_slot(BlockWeights& b, LoraTarget t) {
  switch (t) {
    case LoraTarget::Q: return b.attn.q_lora;
    case LoraTarget::K: return b.attn.k_lora;
    case LoraTarget::V: return b.attn.v_lora;
    case LoraTarget::O: return b.attn.o_lora;
    case LoraTarget::Gate: return b.gate_lora;
    case LoraTarget::Up: return b.up_lora;
    case LoraTarget::Down: return b.down_lora;
  }
  LP_FAIL("internal: bad LoRA target");
}

const torch::Tensor& lora_base_weight(const BlockWeights& b, LoraTarget t) {
  switch (t) {
    case LoraTarget::Q: return b.attn.wq;
    case LoraTarget::K: return b.attn.wk;
    case LoraTarget::V: return b.attn.wv;
    case LoraTarget::O: return b.attn.wo;
    case LoraTarget::Gate: return b.w_gate;
    case LoraTarget::Up: return b.w_up;
    case LoraTarget::Down: return b.w_down;
  }
  LP_FAIL("internal: bad LoRA target");
}

void Model::attach_lora(int64_t block, LoraTarget target, LoraPair pair) {
  LP_CHECK(block >= 0 && block < n_layers(), "block ", block, " out of range [0, ", n_layers(), ")");
  BlockWeights& b = w_.blocks[size_t(block)];
  const torch::Tensor& w = lora_base_weight(b, target);
  const int64_t r = pair.a.size(0);
  LP_CHECK(pair.a.dim() == 2 && pair.b.dim() == 2 && pair.a.size(1) == w.size(1) && pair.b.size(0) == w.size(0) &&
               pair.b.size(1) == r,
           "LoRA pair for block ", block, " ", lora_module_name(target), " has shapes A ", pair.a.sizes(), ", B ",
           pair.b.sizes(), " but the weight is ", w.sizes());
  lora_slot(b, target) = std::move(pair);
}

std::vector<NamedTensor> Model::lora_parameters() const {
  std::vector<NamedTensor> out;
  for (int64_t l = 0; l < n_layers(); l++) {
    for (LoraTarget t : kLoraTargets) {
      const LoraPair& p = lora_slot(w_.blocks[size_t(l)], t);
      if (!p.a.defined()) continue;
      const LoraTensorNames names = lora_tensor_names(l, t);
      out.push_back({names.a, p.a});
      out.push_back({names.b, p.b});
    }
  }
  return out;
}

int64_t Model::first_graph_block() const {
  if (embed_trainable_) return 0;
  for (int64_t l = 0; l < n_layers(); l++)
    if (builds_graph(l)) return l;
  return n_layers();
}

// ---------------------------------------------------------------------------------------------
// training marks and parameters

namespace {
bool within(const void* p, const Checkpoint& ck) {
  for (const auto& s : ck.shards()) {
    const uint8_t* base = s->mapping().data();
    if (p >= base && p < base + s->mapping().size()) return true;
  }
  return false;
}
}  // namespace

void Model::make_trainable(torch::Tensor& t, bool trainable) {
  if (!t.defined()) return;
  // Weights borrowed from the read-only mapping must be owned before an optimizer writes them.
  if (trainable && source_ && within(t.data_ptr(), *source_)) t = t.detach().clone();
  t.set_requires_grad(trainable);
}

void Model::set_trainable(int64_t block, bool trainable) {
  LP_CHECK(block >= 0 && block < n_layers(), "block ", block, " out of range [0, ", n_layers(), ")");
  for (torch::Tensor* t : block_weight_slots(w_.blocks[size_t(block)])) make_trainable(*t, trainable);
  trainable_[size_t(block)] = trainable;
}

void Model::set_embeddings_trainable(bool trainable) {
  make_trainable(w_.embed, trainable);
  if (config_.tie_word_embeddings) w_.lm_head = w_.embed;
  embed_trainable_ = trainable;
}

void Model::set_head_trainable(bool trainable) {
  make_trainable(w_.norm, trainable);
  if (config_.tie_word_embeddings) {
    set_embeddings_trainable(trainable);
  } else {
    make_trainable(w_.lm_head, trainable);
  }
  head_trainable_ = trainable;
}

torch::Tensor* Model::slot(const std::string& name) {
  if (name == kEmbedTokens) return &w_.embed;
  if (name == kFinalNorm) return &w_.norm;
  if (name == kLmHead) return config_.tie_word_embeddings ? &w_.embed : &w_.lm_head;
  const int64_t l = layer_of(name);
  if (l < 0 || l >= n_layers()) return nullptr;
  BlockWeights& b = w_.blocks[size_t(l)];
  for (const auto& e : block_tensors(config_, l)) {
    if (e.name != name) continue;
    switch (e.kind) {
      case BlockTensor::AttnNorm: return &b.attn_norm;
      case BlockTensor::Q: return &b.attn.wq;
      case BlockTensor::QBias: return &b.attn.bq;
      case BlockTensor::K: return &b.attn.wk;
      case BlockTensor::KBias: return &b.attn.bk;
      case BlockTensor::V: return &b.attn.wv;
      case BlockTensor::VBias: return &b.attn.bv;
      case BlockTensor::O: return &b.attn.wo;
      case BlockTensor::OBias: return &b.attn.bo;
      case BlockTensor::MlpNorm: return &b.mlp_norm;
      case BlockTensor::Gate: return &b.w_gate;
      case BlockTensor::GateBias: return &b.b_gate;
      case BlockTensor::Up: return &b.w_up;
      case BlockTensor::UpBias: return &b.b_up;
      case BlockTensor::Down: return &b.w_down;
      case BlockTensor::DownBias: return &b.b_down;
    }
  }
  return nullptr;
}

torch::Tensor& Model::parameter(const std::string& name) {
  torch::Tensor* t = slot(name);
  LP_CHECK(t && t->defined(), "the model has no tensor \"", name, "\"");
  return *t;
}

std::vector<NamedTensor> Model::named_parameters() const {
  std::vector<NamedTensor> out;
  auto* self = const_cast<Model*>(this);  // slot() only looks up
  for (const auto& e : model_tensors(config_)) out.push_back({e.name, *self->slot(e.name)});
  return out;
}

std::vector<NamedTensor> Model::trainable_parameters() const {
  std::vector<NamedTensor> out;
  for (auto& p : named_parameters())
    if (p.tensor.requires_grad()) out.push_back(std::move(p));
  for (auto& p : lora_parameters())
    if (p.tensor.requires_grad()) out.push_back(std::move(p));
  return out;
}

}  // namespace llamapro
