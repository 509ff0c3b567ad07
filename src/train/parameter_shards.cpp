#include "train/parameter_shards.h"

#include "model/lora.h"
#include "util/check.h"

namespace llamapro {

namespace {

// A slot of BlockWeights (its index in block_weight_slots) for each named tensor of block l.
std::vector<std::pair<size_t, NamedTensor>> block_tensors(Model& model, int64_t l) {
  std::map<const void*, std::string> names;
  for (const NamedTensor& p : model.named_parameters())
    if (block_of_tensor(p.name) == l) names[p.tensor.unsafeGetTensorImpl()] = p.name;
  std::vector<std::pair<size_t, NamedTensor>> out;
  BlockWeights& b = const_cast<BlockWeights&>(model.weights().blocks[size_t(l)]);
  std::vector<torch::Tensor*> slots = block_weight_slots(b);
  for (size_t k = 0; k < slots.size(); k++)
    if (slots[k]->defined()) out.push_back({k, {names.at(slots[k]->unsafeGetTensorImpl()), *slots[k]}});
  return out;
}

}  // namespace

ParameterShards::ParameterShards(Model& model, std::shared_ptr<Communicator> comm)
    : model_(model), comm_(std::move(comm)) {
  torch::NoGradGuard no_grad;
  const int rank = rank_of(comm_.get()), world = world_size_of(comm_.get());
  for (int64_t l = 0; l < model.n_layers(); l++) {
    std::vector<NamedTensor> frozen, trainable;
    std::vector<size_t> frozen_slots, trainable_slots;
    for (auto& [slot, t] : block_tensors(model, l)) {
      (t.tensor.requires_grad() ? trainable : frozen).push_back(t);
      (t.tensor.requires_grad() ? trainable_slots : frozen_slots).push_back(slot);
    }
    ShardedBlock b;
    const torch::ScalarType dtype = model.options().dtype;
    auto slice_of = [&](const FlatLayout& layout, const std::vector<NamedTensor>& tensors) {
      std::vector<torch::Tensor> ts;
      for (const auto& t : tensors) ts.push_back(t.tensor);
      return flatten_padded(ts, layout, dtype).narrow(0, rank * layout.slice, layout.slice).clone();
    };
    b.frozen_layout = make_layout("frozen." + std::to_string(l), frozen, world);
    if (!frozen.empty()) b.frozen = slice_of(b.frozen_layout, frozen);
    if (!trainable.empty()) {
      b.trainable_layout = make_layout("block." + std::to_string(l), trainable, world);
      b.trainable = slice_of(b.trainable_layout, trainable);
    }
    slots_.push_back({frozen_slots, trainable_slots});
    // The model keeps empty stand-ins: they still say which tensors train.
    for (auto* list : {&frozen, &trainable})
      for (const NamedTensor& t : *list)
        model.parameter(t.name) = torch::empty({0}, t.tensor.options()).requires_grad_(t.tensor.requires_grad());
    blocks_.push_back(std::move(b));
  }
  model.set_block_weight_source(this);
}

ParameterShards::~ParameterShards() { model_.set_block_weight_source(nullptr); }

void ParameterShards::start_gather(int64_t block) {
  const ShardedBlock& b = blocks_[size_t(block)];
  Gather g;
  if (b.frozen.defined()) g.frozen = all_gather(comm_.get(), b.frozen);
  if (b.trainable.defined()) g.trainable = all_gather(comm_.get(), b.trainable);
  in_flight_[block] = std::move(g);
}

const BlockWeights& ParameterShards::fetch(int64_t block, bool backward) {
  if (!in_flight_.count(block)) start_gather(block);
  Gather g = std::move(in_flight_[block]);
  in_flight_.erase(block);
  // While this block computes, the next one to run travels: forward goes up, backward down to
  // the lowest block that builds a graph.
  const int64_t next = backward ? block - 1 : block + 1;
  if (backward ? next >= model_.first_graph_block() : next < model_.n_layers())
    if (!in_flight_.count(next)) start_gather(next);

  torch::NoGradGuard no_grad;
  const ShardedBlock& b = blocks_[size_t(block)];
  BlockWeights w = model_.weights().blocks[size_t(block)];  // adapters, and the stand-ins
  std::vector<torch::Tensor*> slots = block_weight_slots(w);
  auto place = [&](const FlatLayout& layout, const torch::Tensor& flat, const std::vector<size_t>& where, bool train) {
    for (size_t i = 0; i < layout.tensors.size(); i++) {
      torch::Tensor t = flat.narrow(0, layout.offsets[i], layout.numel_of(i)).view(layout.shapes[i]);
      *slots[where[i]] = train ? t.detach().requires_grad_(true) : t;
    }
  };
  if (g.frozen) place(b.frozen_layout, g.frozen(), slots_[size_t(block)].frozen, false);
  if (g.trainable) place(b.trainable_layout, g.trainable(), slots_[size_t(block)].trainable, true);
  return fetched_[block] = std::move(w);
}

void ParameterShards::release(int64_t block) { fetched_.erase(block); }

void ParameterShards::backward_done(int64_t block) {
  const ShardedBlock& b = blocks_[size_t(block)];
  if (!b.trainable.defined()) return;
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor*> slots = block_weight_slots(fetched_.at(block));
  std::vector<torch::Tensor> grads;
  for (size_t k : slots_[size_t(block)].trainable) grads.push_back(slots[k]->grad());
  sink_(block, reduce_scatter_sum(comm_.get(), flatten_padded(grads, b.trainable_layout, torch::kFloat)));
}

}  // namespace llamapro
