#include "train/distributed.h"

#include <torch/version.h>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <chrono>
#include <cstdlib>

#include "util/check.h"
#include "util/strings.h"

namespace llamapro {

namespace {

// libtorch 2.x moved the collectives from ProcessGroup into Backend; both have the same calls.
#if TORCH_VERSION_MAJOR >= 2
using CollectiveGroup = c10d::Backend;
#else
using CollectiveGroup = c10d::ProcessGroup;
#endif

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? static_cast<int>(parse_int(v, name)) : fallback;
}

class ProcessGroupCommunicator : public Communicator {
 public:
  ProcessGroupCommunicator(c10::intrusive_ptr<CollectiveGroup> pg, int local_rank)
      : pg_(std::move(pg)), local_rank_(local_rank) {}
  int rank() const override { return pg_->getRank(); }
  int world_size() const override { return pg_->getSize(); }
  int local_rank() const override { return local_rank_; }

  void all_reduce_mean(std::vector<torch::Tensor>& tensors) override {
    if (tensors.empty()) return;
    // One flat buffer: one collective per step instead of one per tensor.
    std::vector<torch::Tensor> flat = {torch::cat(flatten(tensors))};
    pg_->allreduce(flat)->wait();
    flat[0].div_(world_size());
    int64_t offset = 0;
    for (auto& t : tensors) {
      t.copy_(flat[0].narrow(0, offset, t.numel()).view_as(t));
      offset += t.numel();
    }
  }

  double all_reduce_mean(double value) override {
    std::vector<torch::Tensor> t = {torch::tensor({value}, torch::kDouble)};
    pg_->allreduce(t)->wait();
    return t[0].item<double>() / world_size();
  }

  void barrier() override { pg_->barrier()->wait(); }

 private:
  static std::vector<torch::Tensor> flatten(const std::vector<torch::Tensor>& tensors) {
    std::vector<torch::Tensor> out;
    for (const auto& t : tensors) out.push_back(t.reshape({-1}));
    return out;
  }
  c10::intrusive_ptr<CollectiveGroup> pg_;
  int local_rank_;
};

}  // namespace

std::shared_ptr<Communicator> communicator_from_env(const std::string& device) {
  const int world = env_int("WORLD_SIZE", 1);
  if (world <= 1) return nullptr;
  const int rank = env_int("RANK", 0), local_rank = env_int("LOCAL_RANK", rank);
  LP_CHECK(rank >= 0 && rank < world, "RANK ", rank, " is outside WORLD_SIZE ", world);
  const char* addr = std::getenv("MASTER_ADDR");
  const int port = env_int("MASTER_PORT", 29500);
  LP_CHECK(addr && *addr, "WORLD_SIZE is ", world, " but MASTER_ADDR is not set (use torchrun-style variables)");

  c10d::TCPStoreOptions so;
  so.port = static_cast<uint16_t>(port);
  so.isServer = rank == 0;
  so.numWorkers = world;
  so.waitWorkers = true;
  so.timeout = std::chrono::seconds(300);
  auto store = c10::make_intrusive<c10d::TCPStore>(addr, so);

  c10::intrusive_ptr<CollectiveGroup> pg;
  if (starts_with(device, "cuda")) {
#ifdef USE_C10D_NCCL
    pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, world);
#else
    LP_FAIL("this libtorch has no NCCL: multi-process CUDA training needs a CUDA build of libtorch");
#endif
  } else {
    auto opts = c10d::ProcessGroupGloo::Options::create();
    opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    opts->timeout = std::chrono::seconds(300);
    pg = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, world, opts);
  }
  return std::make_shared<ProcessGroupCommunicator>(pg, local_rank);
}

}  // namespace llamapro
