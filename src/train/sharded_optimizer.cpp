#include "train/sharded_optimizer.h"

#include <cmath>

#include "train/distributed.h"
#include "train/optimizer_state.h"
#include "train/parameter_shards.h"
#include "model/lora.h"
#include "util/check.h"

namespace llamapro {

struct ShardedOptimizer::Group {
  FlatLayout layout;
  std::vector<torch::Tensor> params;  // the model's tensors, whole (none for a sharded block)
  torch::Tensor flat;                 // split modes: the buffer the params are views of
  torch::Tensor* shard = nullptr;     // a sharded block's trainable slice (parameters mode)
  torch::Tensor master, exp_avg, exp_avg_sq;  // (slice) float32
  torch::Tensor grad;                         // (slice) float32; undefined until one arrives
  bool per_micro_batch = false;               // reduce-scattered after every micro-batch
  std::vector<AdamWSlot> slots;               // each tensor's part of the slice
  std::vector<std::pair<int64_t, int64_t>> ranges;  // each slot's (offset in slice, length)
  std::vector<std::pair<size_t, int64_t>> origin;   // each slot's (tensor, offset in tensor)
};

namespace {

bool aliases(const torch::Tensor& a, const torch::Tensor& b) {
  return a.defined() && b.defined() && a.storage().is_alias_of(b.storage());
}

}  // namespace

ShardedOptimizer::ShardedOptimizer(std::vector<NamedTensor> params, AdamWConfig config, ShardMode mode,
                                   std::shared_ptr<Communicator> comm, ParameterShards* shards)
    : config_(config), mode_(mode), comm_(std::move(comm)), shards_(shards), params_(std::move(params)) {
  torch::NoGradGuard no_grad;
  LP_CHECK((mode == ShardMode::Parameters) == (shards != nullptr), "internal: parameter shards without their mode");
  rank_ = rank_of(comm_.get());
  world_ = world_size_of(comm_.get());
  const int layout_world = mode_ == ShardMode::None ? 1 : world_;

  auto add_group = [&](FlatLayout layout, std::vector<torch::Tensor> tensors, torch::Tensor* shard) {
    Group g;
    g.layout = std::move(layout);
    g.params = std::move(tensors);
    g.shard = shard;
    g.per_micro_batch = mode_ == ShardMode::Gradients || mode_ == ShardMode::Parameters;
    for (const auto& p : g.params)
      LP_CHECK(p.scalar_type() == g.params[0].scalar_type(), "internal: group ", g.layout.name, " mixes dtypes");
    const int r = g.layout.world == 1 ? 0 : rank_;
    if (shard) {
      g.master = shard->scalar_type() == torch::kFloat ? *shard : shard->to(torch::kFloat);
    } else if (mode_ == ShardMode::None) {  // a float32 tensor is its own master
      const torch::Tensor& p = g.params[0];
      g.master = p.scalar_type() == torch::kFloat && p.is_contiguous() ? p.detach().view({-1})
                                                                        : p.detach().to(torch::kFloat).reshape({-1}).clone();
    } else {
      // The params become views of one flat buffer (as FSDP's flat parameter): the new weights
      // arrive there in one gather, and a float32 master is this rank's slice of it.
      g.flat = flatten_padded(g.params, g.layout, g.params[0].scalar_type());
      for (size_t i = 0; i < g.params.size(); i++)
        g.params[i].set_data(g.flat.narrow(0, g.layout.offsets[i], g.params[i].numel()).view_as(g.params[i]));
      g.master = g.flat.narrow(0, r * g.layout.slice, g.layout.slice);
      if (g.master.scalar_type() != torch::kFloat) g.master = g.master.to(torch::kFloat);
    }
    g.exp_avg = torch::zeros_like(g.master);
    g.exp_avg_sq = torch::zeros_like(g.master);
    const int64_t lo = r * g.layout.slice, hi = lo + g.layout.slice;
    for (size_t i = 0; i < g.layout.tensors.size(); i++) {
      const int64_t begin = std::max(lo, g.layout.offsets[i]);
      const int64_t end = std::min(hi, g.layout.offsets[i] + g.layout.numel_of(i));
      if (begin >= end) continue;
      const int64_t at = begin - lo, n = end - begin;
      g.slots.push_back({g.master.narrow(0, at, n), g.exp_avg.narrow(0, at, n), g.exp_avg_sq.narrow(0, at, n),
                         config_.decay_all || g.layout.shapes[i].size() >= 2});
      g.ranges.push_back({at, n});
      g.origin.push_back({i, begin - g.layout.offsets[i]});
    }
    groups_.push_back(std::move(g));
  };

  std::set<std::string> in_shards;
  if (shards_) {
    auto& blocks = shards_->blocks();
    std::map<int64_t, size_t> group_of_block;
    for (size_t b = 0; b < blocks.size(); b++) {
      if (!blocks[b].trainable.defined()) continue;
      group_of_block[int64_t(b)] = groups_.size();
      FlatLayout l = blocks[b].trainable_layout;
      for (const std::string& n : l.tensors) in_shards.insert(n);
      add_group(l, {}, &blocks[b].trainable);
    }
    shards_->set_gradient_sink([this, group_of_block](int64_t block, const torch::Tensor& slice) {
      add_gradient_slice(group_of_block.at(block), slice);
    });
  }
  if (mode_ == ShardMode::None) {
    for (const NamedTensor& p : params_) add_group(make_layout(p.name, {p}, 1), {p.tensor}, nullptr);
  } else {  // a group per block, then the rest (embeddings, head; adapters beside sharded blocks)
    std::map<int64_t, std::vector<NamedTensor>> by_block;
    for (const NamedTensor& p : params_)
      if (!in_shards.count(p.name)) by_block[shards_ ? -1 : block_of_tensor(p.name)].push_back(p);
    for (auto& [block, tensors] : by_block) {
      std::vector<torch::Tensor> ts;
      for (const auto& t : tensors) ts.push_back(t.tensor);
      add_group(make_layout(block < 0 ? "rest" : "block." + std::to_string(block), tensors, layout_world), ts, nullptr);
    }
  }
}

ShardedOptimizer::~ShardedOptimizer() = default;

void ShardedOptimizer::add_gradient_slice(size_t group, const torch::Tensor& slice) {
  Group& g = groups_[group];
  if (g.grad.defined()) g.grad.add_(slice);
  else g.grad = slice.to(torch::kFloat).clone();
}

void ShardedOptimizer::reduce_per_micro_batch(Group& g) {
  std::vector<torch::Tensor> grads;
  bool any = false;
  for (auto& p : g.params) {
    grads.push_back(p.grad());
    any |= p.grad().defined();
    p.mutable_grad() = torch::Tensor();
  }
  if (!any) return;
  add_gradient_slice(size_t(&g - groups_.data()),
                     reduce_scatter_sum(comm_.get(), flatten_padded(grads, g.layout, torch::kFloat)));
}

void ShardedOptimizer::micro_batch_done() {
  torch::NoGradGuard no_grad;
  for (Group& g : groups_)
    if (g.per_micro_batch && !g.params.empty()) reduce_per_micro_batch(g);
}

double ShardedOptimizer::reduce_gradients() {
  torch::NoGradGuard no_grad;
  if (mode_ == ShardMode::None) {  // every rank holds every gradient: average them in place
    std::vector<torch::Tensor> grads;
    for (Group& g : groups_)
      if (g.params[0].grad().defined()) grads.push_back(g.params[0].mutable_grad());
    if (comm_) comm_->all_reduce_mean(grads);
    for (Group& g : groups_)
      if (g.params[0].grad().defined()) g.grad = g.params[0].grad().to(torch::kFloat).reshape({-1});
  } else if (mode_ == ShardMode::Optimizer) {  // all-reduced whole, each rank reads its slice
    std::vector<torch::Tensor> flats;
    for (Group& g : groups_) {
      std::vector<torch::Tensor> grads;
      for (auto& p : g.params) grads.push_back(p.grad()), p.mutable_grad() = torch::Tensor();
      flats.push_back(flatten_padded(grads, g.layout, torch::kFloat));
    }
    if (comm_) comm_->all_reduce_mean(flats);
    for (size_t i = 0; i < groups_.size(); i++)
      groups_[i].grad = flats[i].narrow(0, rank_ * groups_[i].layout.slice, groups_[i].layout.slice);
  } else {  // the slices hold sums over the ranks
    for (Group& g : groups_)
      if (g.grad.defined()) g.grad.div_(world_);
  }
  double sum = 0;
  for (const Group& g : groups_)
    if (g.grad.defined()) sum += g.grad.pow(2).sum().item<double>();
  if (comm_ && mode_ != ShardMode::None) sum = comm_->all_reduce_mean(sum) * world_;
  return std::sqrt(sum);
}

void ShardedOptimizer::clip_gradients(double max_norm, double norm) {
  torch::NoGradGuard no_grad;
  if (max_norm <= 0 || norm <= max_norm) return;
  const double scale = max_norm / (norm + 1e-6);  // as torch.nn.utils.clip_grad_norm_
  for (Group& g : groups_)
    if (g.grad.defined()) g.grad.mul_(scale);
}

void ShardedOptimizer::step(double lr) {
  torch::NoGradGuard no_grad;
  steps_++;
  for (Group& g : groups_) {
    if (g.grad.defined())
      for (size_t s = 0; s < g.slots.size(); s++)
        adamw_update(config_, g.slots[s], g.grad.narrow(0, g.ranges[s].first, g.ranges[s].second), lr, steps_);
    g.grad = torch::Tensor();
    for (auto& p : g.params) p.mutable_grad() = torch::Tensor();
  }
  write_back();
}

// The new weights where the model reads them: a sharded block's slice, or the whole tensors.
void ShardedOptimizer::write_back() {
  torch::NoGradGuard no_grad;
  for (Group& g : groups_) {
    if (g.shard) {
      if (!aliases(g.master, *g.shard)) g.shard->copy_(g.master);
    } else if (g.flat.defined()) {
      g.flat.copy_(all_gather(comm_.get(), g.master.to(g.flat.scalar_type()))());
    } else if (!aliases(g.master, g.params[0])) {  // --shard none: a tensor per group
      g.params[0].copy_(g.master.view_as(g.params[0]));
    }
  }
}

std::vector<NamedTensor> ShardedOptimizer::state() const {
  std::vector<NamedTensor> out;
  for (const Group& g : groups_) {
    out.push_back({"master." + g.layout.name, g.master.detach().cpu()});
    out.push_back({"exp_avg." + g.layout.name, g.exp_avg.cpu()});
    out.push_back({"exp_avg_sq." + g.layout.name, g.exp_avg_sq.cpu()});
  }
  return out;
}

std::vector<FlatLayout> ShardedOptimizer::layouts() const {
  std::vector<FlatLayout> out;
  for (const Group& g : groups_) out.push_back(g.layout);
  return out;
}

void ShardedOptimizer::load(const SavedOptimizerState& saved, int64_t steps) {
  torch::NoGradGuard no_grad;
  for (Group& g : groups_) {
    for (size_t s = 0; s < g.slots.size(); s++) {
      const std::string& name = g.layout.tensors[g.origin[s].first];
      const int64_t offset = g.origin[s].second, n = g.ranges[s].second;
      AdamWSlot& slot = g.slots[s];
      for (auto [kind, t] : {std::pair{"master", &slot.master}, {"exp_avg", &slot.exp_avg}, {"exp_avg_sq", &slot.exp_avg_sq}}) {
        torch::Tensor cpu = torch::empty({n}, torch::kFloat);
        saved.read(kind, name, offset, n, cpu.data_ptr<float>());
        t->copy_(cpu);
      }
    }
  }
  steps_ = steps;
  write_back();
}

std::map<std::string, torch::Tensor> ShardedOptimizer::full_masters() {
  torch::NoGradGuard no_grad;
  std::map<std::string, torch::Tensor> out;
  for (const Group& g : groups_) {
    const torch::Tensor flat = g.layout.world == 1 ? g.master : all_gather(comm_.get(), g.master)();
    for (size_t i = 0; i < g.layout.tensors.size(); i++) {
      out[g.layout.tensors[i]] = flat.narrow(0, g.layout.offsets[i], g.layout.numel_of(i)).view(g.layout.shapes[i]);
    }
  }
  return out;
}

int64_t ShardedOptimizer::parameter_count() const {
  int64_t n = 0;
  for (const Group& g : groups_) n += g.layout.numel;
  return n;
}

int64_t StorageTally::add(const torch::Tensor& t) {
  if (!t.defined() || !seen_.insert(t.storage().data()).second) return 0;
  return int64_t(t.storage().nbytes());
}

void ShardedOptimizer::add_resident(StorageTally& tally, ResidentBytes& bytes) const {
  for (const Group& g : groups_) {
    for (const auto& p : g.params) bytes.gradients += tally.add(p.grad());
    bytes.gradients += tally.add(g.grad);
    bytes.optimizer += tally.add(g.master) + tally.add(g.exp_avg) + tally.add(g.exp_avg_sq);
  }
}

torch::Tensor ShardedOptimizer::master(size_t i) const {
  LP_CHECK(mode_ == ShardMode::None, "internal: a whole master is only at hand with --shard none");
  return groups_.at(i).master.view(groups_.at(i).params[0].sizes());
}

}  // namespace llamapro
