// parameter_shards.h — --shard parameters (ZeRO-3, FSDP): every block's weights, frozen and
// trainable, live on each rank as a 1/N slice of a flat buffer. A block is all-gathered whole
// just before it runs (its forward, and the recomputation of its forward in backward) and freed
// after; while one block computes the next one's gather is already under way. The gradients of
// a block's trainable weights are reduce-scattered as soon as its backward ends. Embeddings,
// the final norm and the head stay whole on every rank.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "model/transformer.h"
#include "train/distributed.h"
#include "train/flat_layout.h"

namespace llamapro {

struct ShardedBlock {
  FlatLayout frozen_layout, trainable_layout;
  torch::Tensor frozen, trainable;  // this rank's slices in the compute dtype (undefined: no such tensors)
};

class ParameterShards : public BlockWeightSource {
 public:
  // Takes the blocks' weights out of `model` (which keeps empty stand-ins) and attaches itself.
  ParameterShards(Model& model, std::shared_ptr<Communicator> comm);
  ~ParameterShards() override;

  std::vector<ShardedBlock>& blocks() { return blocks_; }
  // Where a block's reduced gradient slice (float32, summed over ranks) goes.
  void set_gradient_sink(std::function<void(int64_t block, const torch::Tensor& slice)> sink) { sink_ = std::move(sink); }

  const BlockWeights& fetch(int64_t block, bool backward) override;
  void release(int64_t block) override;
  void backward_done(int64_t block) override;

 private:
  void start_gather(int64_t block);

  Model& model_;
  std::shared_ptr<Communicator> comm_;
  std::vector<ShardedBlock> blocks_;
  struct Slots {  // where each layout's tensors go in BlockWeights (block_weight_slots order)
    std::vector<size_t> frozen, trainable;
  };
  std::vector<Slots> slots_;  // per block
  struct Gather {
    Communicator::Pending frozen, trainable;
  };
  std::map<int64_t, Gather> in_flight_;
  std::map<int64_t, BlockWeights> fetched_;
  std::function<void(int64_t, const torch::Tensor&)> sink_;
};

}  // namespace llamapro
