// distributed.h — data parallelism across processes and machines: every rank holds the whole
// model, takes its own slice of the data, and the gradients are averaged before each update.
// Rendezvous follows torchrun's variables (MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE,
// LOCAL_RANK), so the same launchers work; collectives are c10d's Gloo (CPU) or NCCL (CUDA).
#pragma once

#include <torch/torch.h>

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
};

// A communicator from torchrun-style environment variables, or nullptr when WORLD_SIZE is
// unset or 1 (a single process). `device` picks Gloo (cpu) or NCCL (cuda).
std::shared_ptr<Communicator> communicator_from_env(const std::string& device);

}  // namespace llamapro
