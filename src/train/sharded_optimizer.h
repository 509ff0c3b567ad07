// sharded_optimizer.h — AdamW over a run's trainable tensors, with float32 masters and moments
// kept whole on every rank (--shard none) or split across the data-parallel ranks (ZeRO):
//   optimizer   each rank keeps masters and moments for its slice of each group (a block's
//               trainable tensors, or the rest), steps it, and all-gathers the new weights;
//   gradients   ... and each micro-batch's gradients are reduce-scattered into the slices and
//               freed, so no rank keeps more than its slice of the reduced gradient;
//   parameters  ... and a block's weights live sliced too (train/parameter_shards), its
//               gradients reduce-scattered as soon as its backward ends.
// The state saved is the groups' slices with their layouts (train/optimizer_state), so a run
// resumes under any mode and world size.
#pragma once

#include <torch/torch.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "train/adamw.h"
#include "train/flat_layout.h"

namespace llamapro {

class Communicator;
class ParameterShards;
class SavedOptimizerState;

// Bytes of tensor storage a rank holds, each storage counted once.
struct ResidentBytes {
  int64_t parameters = 0, gradients = 0, optimizer = 0;
};

// Counts tensor storage once however many tensors view it.
class StorageTally {
 public:
  int64_t add(const torch::Tensor& t);  // the bytes t's storage adds: 0 if undefined or seen
 private:
  std::set<const void*> seen_;
};

class ShardedOptimizer {
 public:
  // params: the model's trainable tensors. `shards` (parameters mode only) holds the blocks'
  // weights; the trainable ones among them are stepped there.
  ShardedOptimizer(std::vector<NamedTensor> params, AdamWConfig config, ShardMode mode,
                   std::shared_ptr<Communicator> comm, ParameterShards* shards = nullptr);
  ~ShardedOptimizer();

  ShardMode mode() const { return mode_; }
  // After each micro-batch's backward: gradients of tensors whose slices reduce per micro-batch
  // (gradients and parameters modes) move into this rank's slices.
  void micro_batch_done();
  // After the step's last micro-batch: the gradients averaged over the ranks into the slices.
  // Returns the global L2 norm of the gradient.
  double reduce_gradients();
  void clip_gradients(double max_norm, double norm);
  // Updates the slices, puts the new weights where the model reads them, drops the gradients.
  void step(double lr);
  int64_t steps() const { return steps_; }

  // Checkpoints: this rank's slices ("master.<group>", ...) and the layouts they follow.
  std::vector<NamedTensor> state() const;
  std::vector<FlatLayout> layouts() const;
  void load(const SavedOptimizerState& saved, int64_t steps);

  // Collective: every trainable tensor's float32 master, whole and in its shape (for the export).
  std::map<std::string, torch::Tensor> full_masters();
  const std::vector<NamedTensor>& parameters() const { return params_; }
  int64_t parameter_count() const;
  // Adds the gradients and optimizer state held now that `tally` has not seen (the caller
  // tallies the parameters first: a master that is a weight, or its slice, is no extra).
  void add_resident(StorageTally& tally, ResidentBytes& bytes) const;
  // With --shard none: parameters()[i]'s float32 master (tests read the update from it).
  torch::Tensor master(size_t i) const;

 private:
  struct Group;
  void add_gradient_slice(size_t group, const torch::Tensor& slice);  // sum of the ranks'
  void reduce_per_micro_batch(Group& g);
  void write_back();

  AdamWConfig config_;
  ShardMode mode_;
  std::shared_ptr<Communicator> comm_;
  ParameterShards* shards_;
  std::vector<NamedTensor> params_;
  std::vector<Group> groups_;
  int rank_ = 0, world_ = 1;
  int64_t steps_ = 0;
};

}  // namespace llamapro
