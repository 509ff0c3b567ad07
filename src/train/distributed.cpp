#include "train/distributed.h"

#include <torch/version.h>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <netdb.h>

#include <c10/util/Logging.h>

#include <chrono>
#include <cstdlib>
#include <cstring>

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

// The first line of a c10d/Gloo error without its C++ backtrace, to quote inside our message.
std::string library_reason(const std::exception& e) {
  const auto* c10_error = dynamic_cast<const c10::Error*>(&e);
  std::string what = c10_error ? c10_error->what_without_backtrace() : e.what();
  if (auto nl = what.find('\n'); nl != std::string::npos) what.resize(nl);
  return what;
}

// Waits for a collective; a peer that died, closed its connection or went silent past the
// timeout is one error of ours instead of Gloo's text.
void wait_for(const c10::intrusive_ptr<c10d::Work>& work, int rank, const char* what) {
  try {
    work->wait();
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    LP_FAIL("rank ", rank, ": the ", what, " with the other ranks failed, a rank died or stopped answering (",
            library_reason(e), ")");
  }
}

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
    // One flat buffer: one collective per step instead of one per tensor. Summed in float32
    // (Gloo has no bf16 sums, and a sum of bf16 values loses their low bits).
    std::vector<torch::Tensor> flat = {carried(torch::cat(flatten(tensors)))};
    wait_for(pg_->allreduce(flat), rank(), "gradient all-reduce");
    flat[0].div_(world_size());
    int64_t offset = 0;
    for (auto& t : tensors) {
      t.copy_(flat[0].narrow(0, offset, t.numel()).view_as(t));
      offset += t.numel();
    }
  }

  double all_reduce_mean(double value) override {
    std::vector<torch::Tensor> t = {torch::tensor({value}, torch::kDouble)};
    wait_for(pg_->allreduce(t), rank(), "all-reduce");
    return t[0].item<double>() / world_size();
  }

  void barrier() override { wait_for(pg_->barrier(), rank(), "barrier"); }

  // A reduce to each rank in turn: Gloo has no reduce-scatter, and the reduces move the same
  // bytes. Every chunk but this rank's own is scratch.
  torch::Tensor reduce_scatter_sum(torch::Tensor flat) override {
    const int world = world_size();
    const int64_t n = flat.numel() / world;
    std::vector<c10::intrusive_ptr<c10d::Work>> pending;
    std::vector<std::vector<torch::Tensor>> chunks;
    for (int r = 0; r < world; r++) {
      chunks.push_back({flat.narrow(0, r * n, n)});
      c10d::ReduceOptions opts;
      opts.rootRank = r;
      pending.push_back(pg_->reduce(chunks.back(), opts));
    }
    for (auto& w : pending) wait_for(w, rank(), "reduce-scatter");
    return chunks[size_t(rank())][0];
  }

  Pending all_gather(torch::Tensor slice) override {
    const torch::ScalarType dtype = slice.scalar_type();
    slice = carried(slice).contiguous();  // bf16 travels as float32: exact both ways
    auto outputs = std::make_shared<std::vector<std::vector<torch::Tensor>>>(1);
    for (int r = 0; r < world_size(); r++) (*outputs)[0].push_back(torch::empty_like(slice));
    auto inputs = std::make_shared<std::vector<torch::Tensor>>(std::vector<torch::Tensor>{slice});
    c10::intrusive_ptr<c10d::Work> work = pg_->allgather(*outputs, *inputs);
    return [work, outputs, inputs, dtype, rank = rank()] {
      wait_for(work, rank, "all-gather");
      return torch::cat((*outputs)[0]).to(dtype);
    };
  }

 private:
  // What a tensor travels as: float32 for the 16-bit floats Gloo cannot sum or gather.
  static torch::Tensor carried(const torch::Tensor& t) {
    const bool narrow_float = t.scalar_type() == torch::kBFloat16 || t.scalar_type() == torch::kHalf;
    return narrow_float && t.device().is_cpu() ? t.to(torch::kFloat) : t;
  }
  static std::vector<torch::Tensor> flatten(const std::vector<torch::Tensor>& tensors) {
    std::vector<torch::Tensor> out;
    for (const auto& t : tensors) out.push_back(t.reshape({-1}));
    return out;
  }
  c10::intrusive_ptr<CollectiveGroup> pg_;
  int local_rank_;
};

}  // namespace

void check_resolvable(const std::string& host, const std::string& what) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &found);
  if (found) ::freeaddrinfo(found);
  LP_CHECK(rc == 0, what, " ", host, ": cannot resolve this address (", ::gai_strerror(rc), ")");
}

torch::Tensor reduce_scatter_sum(Communicator* comm, torch::Tensor flat) {
  return comm ? comm->reduce_scatter_sum(std::move(flat)) : flat;
}

Communicator::Pending all_gather(Communicator* comm, torch::Tensor slice) {
  if (comm) return comm->all_gather(std::move(slice));
  return [slice] { return slice; };
}

std::shared_ptr<Communicator> communicator_from_env(const std::string& device, int timeout_seconds) {
  const int world = env_int("WORLD_SIZE", 1);
  if (world <= 1) return nullptr;
  const int rank = env_int("RANK", 0), local_rank = env_int("LOCAL_RANK", rank);
  LP_CHECK(rank >= 0 && rank < world, "RANK ", rank, " is outside WORLD_SIZE ", world);
  const char* addr = std::getenv("MASTER_ADDR");
  const int port = env_int("MASTER_PORT", 29500);
  LP_CHECK(addr && *addr, "WORLD_SIZE is ", world, " but MASTER_ADDR is not set (use torchrun-style variables)");

  check_resolvable(addr, "MASTER_ADDR");
  // c10d's log lines (a warning per second while the store is unreachable, an error when it
  // gives up) are no message of ours: what fails is said once, below.
  FLAGS_caffe2_log_level = std::max(FLAGS_caffe2_log_level, 3);

  c10d::TCPStoreOptions so;
  so.port = static_cast<uint16_t>(port);
  so.isServer = rank == 0;
  so.numWorkers = world;
  so.waitWorkers = true;
  so.timeout = std::chrono::seconds(timeout_seconds);
  c10::intrusive_ptr<c10d::TCPStore> store;
  try {
    store = c10::make_intrusive<c10d::TCPStore>(addr, so);
  } catch (const std::exception& e) {
    LP_FAIL("rank ", rank, " of ", world, ": the ranks did not all meet at ", addr, ":", port, " within ",
            timeout_seconds, " s (--collective-timeout; ", library_reason(e), ")");
  }

  c10::intrusive_ptr<CollectiveGroup> pg;
  try {
    if (starts_with(device, "cuda")) {
#ifdef USE_C10D_NCCL
      auto opts = c10d::ProcessGroupNCCL::Options::create();
      opts->timeout = std::chrono::seconds(timeout_seconds);
      pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, world, opts);
#else
      LP_FAIL("this libtorch has no NCCL: multi-process CUDA training needs a CUDA build of libtorch");
#endif
    } else {
      auto opts = c10d::ProcessGroupGloo::Options::create();
      opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      opts->timeout = std::chrono::seconds(timeout_seconds);
      pg = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, world, opts);
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    LP_FAIL("rank ", rank, " of ", world, ": cannot connect to the other ranks (", library_reason(e), ")");
  }
  return std::make_shared<ProcessGroupCommunicator>(pg, local_rank);
}

}  // namespace llamapro
