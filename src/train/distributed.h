// distributed.h — data parallelism across processes and machines: every rank holds the whole
// model, takes its own slice of the data, and the gradients are averaged before each update.
// Rendezvous follows torchrun's variables (MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE,
// LOCAL_RANK), so the same launchers work; collectives are c10d's Gloo (CPU) or NCCL (CUDA).
#pragma once

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace llamapro {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  virtual int local_rank() const = 0;
  virtual void all_reduce_mean(std::vector<torch::Tensor>& tensors) = 0;  // in place
  virtual double all_reduce_mean(double value) = 0;
  virtual void barrier() = 0;

  // ---- sharding (train/sharded_optimizer, train/parameter_shards): a flat buffer of
  // world_size() equal slices, rank r owning slice r.
  // flat: (world * n) -> this rank's slice of the sum over ranks, (n) in flat's dtype. `flat`
  // is used as scratch.
  virtual torch::Tensor reduce_scatter_sum(torch::Tensor flat) = 0;
  // slice (n) -> (world * n) every rank's slice in rank order. Started at once; the returned
  // wait() finishes it (so a block's weights can travel while another block computes).
  using Pending = std::function<torch::Tensor()>;
  virtual Pending all_gather(torch::Tensor slice) = 0;
};

// A single process stands for a world of one (comm == nullptr), so that data-parallel and
// sharded code runs the same with and without other ranks.
inline int rank_of(const Communicator* comm) { return comm ? comm->rank() : 0; }
inline int world_size_of(const Communicator* comm) { return comm ? comm->world_size() : 1; }
torch::Tensor reduce_scatter_sum(Communicator* comm, torch::Tensor flat);
Communicator::Pending all_gather(Communicator* comm, torch::Tensor slice);

// Refuses a host name or address that does not resolve, naming `what` (--master-addr): the
// ranks would otherwise retry it until the collective timeout.
void check_resolvable(const std::string& host, const std::string& what);

// A communicator from torchrun-style environment variables, or nullptr when WORLD_SIZE is
// unset or 1 (a single process). `device` picks Gloo (cpu) or NCCL (cuda). A collective that
// waits longer than `timeout_seconds` for another rank fails (a dead rank ends the job instead
// of hanging it).
std::shared_ptr<Communicator> communicator_from_env(const std::string& device, int timeout_seconds = 300);

}  // namespace llamapro
