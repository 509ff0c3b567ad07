// bench_train.cpp — training-step throughput and peak memory of LLaMA Pro post-pretraining on
// an in-memory random model (no checkpoint on disk needed): the LLaMA-2-7B shape expanded to
// 40 blocks with only the 8 new blocks trainable, as in DESIGN.md section 5, or any preset.
//
//   bench_train [--preset llama2-7b] [--layers 40] [--add 8] [--seq 4096] [--batch 1] [--steps 6]
//               [--device cuda] [--precision bf16] [--full] [--activation-checkpointing]
//               [--profile TRACE.json]   (libtorch's per-op trace of the steps after warm-up)
#include <torch/torch.h>

#ifdef LLAMAPRO_WITH_CUDA  // set by CMake when libtorch has CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

#include <sys/resource.h>
#include <torch/csrc/autograd/profiler_legacy.h>

#include <chrono>
#include <memory>
#include <cstdio>
#include <string>

#include "expand/plan.h"
#include "model/compat.h"
#include "model/device.h"
#include "model/load.h"
#include "model/loss.h"
#include "model/random_model.h"
#include "train/sharded_optimizer.h"
#include "util/check.h"
#include "util/strings.h"

using namespace llamapro;

namespace {

double peak_memory_gib(const torch::Device& device) {
#ifdef LLAMAPRO_WITH_CUDA
  if (device.is_cuda()) {
    auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index() < 0 ? 0 : device.index());
    return double(stats.allocated_bytes[0].peak) / (1 << 30);  // index 0: aggregate over pools
  }
#endif
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_maxrss) / (1 << 20);  // KiB -> GiB, the whole process
}

}  // namespace

int main(int argc, char** argv) try {
  std::string preset = "llama2-7b", device = "cuda", precision = "bf16";
  int64_t layers = 40, add = 8, seq = 4096, batch = 1, steps = 6;
  bool full = false, checkpointing = false;
  std::string profile;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto next = [&] {
      LP_CHECK(i + 1 < argc, "missing value after ", a);
      return std::string(argv[++i]);
    };
    if (a == "--preset") preset = next();
    else if (a == "--layers") layers = std::stoll(next());
    else if (a == "--add") add = std::stoll(next());
    else if (a == "--seq") seq = std::stoll(next());
    else if (a == "--batch") batch = std::stoll(next());
    else if (a == "--steps") steps = std::stoll(next());
    else if (a == "--device") device = next();
    else if (a == "--precision") precision = next();
    else if (a == "--full") full = true;
    else if (a == "--activation-checkpointing") checkpointing = true;
    else if (a == "--profile") profile = next();
    else LP_FAIL("unknown argument ", a);
  }
  json j = preset_config(preset);
  const int64_t base_layers = j["num_hidden_layers"].get<int64_t>();
  j["num_hidden_layers"] = layers;
  if (seq > j["max_position_embeddings"].get<int64_t>()) j["max_position_embeddings"] = seq;
  ModelConfig c = ModelConfig::from_json(j, "preset " + preset);
  ModelOptions mo;
  mo.device = parse_device(device);
  mo.dtype = precision == "bf16" ? torch::kBFloat16 : torch::kFloat;
  Model model = random_model(c, mo, 0);

  // The new blocks sit where interleaved expansion of the base puts them.
  ExpansionPlan plan = plan_add(base_layers, add, Placement::Interleave);
  LP_CHECK(plan.layers_after() == layers, "--layers ", layers, " does not match ", base_layers, " + ", add);
  std::vector<int64_t> trainable = plan.added_positions();
  for (int64_t l = 0; l < layers; l++)
    model.set_trainable(l, full || std::find(trainable.begin(), trainable.end(), l) != trainable.end());
  model.set_recompute_activations(checkpointing);
  ShardedOptimizer opt(model.trainable_parameters(), AdamWConfig{}, ShardMode::None, nullptr);
  int64_t params = 0;
  for (const auto& p : model.named_parameters()) params += p.tensor.numel();

  torch::Tensor ids = torch::randint(0, c.vocab_size, {batch, seq}, torch::TensorOptions().dtype(torch::kLong).device(mo.device));
  double seconds = 0;
  int64_t timed = 0;
  std::unique_ptr<torch::autograd::profiler::RecordProfile> recording;
  for (int64_t s = 0; s < steps; s++) {
    if (s == 2 && !profile.empty()) recording = std::make_unique<torch::autograd::profiler::RecordProfile>(profile);
    auto t0 = std::chrono::steady_clock::now();
    torch::Tensor loss = fused_next_token_loss(model.final_hidden(ids), model.weights().lm_head, ids);
    loss.backward();
    opt.reduce_gradients();
    opt.step(1e-5);
    (void)loss.item<double>();  // waits for the device
    double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (s >= 2) {  // warm-up steps excluded
      seconds += dt;
      timed++;
    }
  }
  recording.reset();  // writes the trace
  const double rate = double(batch * seq * timed) / seconds;
  std::printf("%s x %lld blocks (%s params), %s, trainable: %s (%s), seq %lld x batch %lld, %s%s\n", preset.c_str(),
              (long long)layers, format_count(double(params)).c_str(), device.c_str(), full ? "all blocks" : "new blocks only",
              format_count(double(opt.parameter_count())).c_str(), (long long)seq, (long long)batch, precision.c_str(),
              checkpointing ? ", activation checkpointing" : "");
  std::printf("tokens/s %.0f   peak memory %.1f GiB   (libtorch %s)\n", rate, peak_memory_gib(mo.device),
              compat::torch_version().c_str());
  if (preset == "llama2-7b" && layers == 40 && !full && seq == 4096 && batch == 1 && mo.device.is_cuda())
    std::printf("peer (PyTorch 2.11 + transformers 5.17, H100): 10590 tokens/s at 45.7 GiB -> ratio %.2fx\n", rate / 10590.0);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
