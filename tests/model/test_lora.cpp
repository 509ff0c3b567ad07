// test_lora.cpp — LoRA adapters: B starts at zero (the base's output exactly), the adapter's
// forward equals the merged folder's forward, gradients of A and B equal the chain rule through
// the merged weight (and finite differences), PEFT's files and names, and refusals.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "common/fixtures.h"
#include "io/safetensors.h"
#include "model/adapter.h"
#include "model/load.h"
#include "model/loss.h"
#include "model/model_folder.h"
#include "util/check.h"
#include "util/json.h"

namespace llamapro {
namespace {

using testing::fixture;
using testing::TempDir;

// A new folder under tmp for write_adapter, which writes into an existing folder (a run's).
std::filesystem::path folder(const TempDir& tmp, const std::string& name) {
  std::filesystem::create_directories(tmp.path() / name);
  return tmp.path() / name;
}

double rel_error(const torch::Tensor& out, const torch::Tensor& ref) {
  return ((out - ref).norm() / ref.norm()).item<double>();
}

LoraSpec spec_on(std::vector<int64_t> blocks, int64_t rank = 4) {
  LoraSpec s;
  s.rank = rank;
  s.alpha = 8;
  s.blocks = std::move(blocks);
  return s;
}

// Gives every B random values, so that the adapters change the output.
void randomise_b(Model& model, uint64_t seed) {
  torch::manual_seed(seed);
  torch::NoGradGuard no_grad;
  for (auto& p : model.lora_parameters())
    if (p.name.find("lora_B") != std::string::npos) p.tensor.copy_(torch::randn_like(p.tensor) * 0.05);
}

torch::Tensor sample_ids() {
  torch::manual_seed(3);
  return torch::randint(0, 512, {2, 24}, torch::kLong);
}

TEST(Lora, FreshAdaptersLeaveTheOutputExactlyUnchanged) {
  LP_REQUIRE_FIXTURES();
  Model base = load_model(fixture("models/stories260K"), ModelOptions{});
  Model adapted = load_model(fixture("models/stories260K"), ModelOptions{});
  add_lora(adapted, spec_on({0, 2, 4}), 1);
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::equal(adapted.forward(sample_ids()), base.forward(sample_ids())));
  // Trainable: exactly the adapters, 3 blocks x 7 projections x (A, B).
  EXPECT_EQ(adapted.trainable_parameters().size(), size_t(3 * 7 * 2));
  for (const auto& p : adapted.named_parameters()) EXPECT_FALSE(p.tensor.requires_grad()) << p.name;
}

TEST(Lora, AdapterForwardEqualsTheMergedFolder) {
  LP_REQUIRE_FIXTURES();
  TempDir tmp;
  const std::string base_dir = fixture("models/stories260K");
  Model adapted = load_model(base_dir, ModelOptions{});
  LoraSpec spec = spec_on({1, 3});
  spec.targets = parse_lora_targets("q,v,down");
  add_lora(adapted, spec, 5);
  randomise_b(adapted, 6);
  write_adapter(folder(tmp, "adapter"), spec, base_dir, adapted.lora_parameters());

  const Adapter read = read_adapter(tmp.path() / "adapter");
  EXPECT_EQ(read.spec.rank, 4);
  EXPECT_EQ(read.spec.blocks, (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(read.spec.targets.size(), 3u);
  merge_adapter(ModelFolder::open(base_dir), read, {tmp.path() / "merged", OutputKind::Folder, {base_dir}});

  Model merged = load_model(tmp.path() / "merged", ModelOptions{});
  Model reloaded = load_model(base_dir, ModelOptions{});
  attach_adapter(reloaded, read);
  torch::NoGradGuard no_grad;
  const auto ref = merged.forward(sample_ids());
  EXPECT_LT(rel_error(adapted.forward(sample_ids()), ref), 1e-5);
  EXPECT_LT(rel_error(reloaded.forward(sample_ids()), ref), 1e-5);
  EXPECT_GT(rel_error(load_model(base_dir, ModelOptions{}).forward(sample_ids()), ref), 1e-3) << "the adapter changed something";
  // Untouched tensors are the base's bytes.
  const ModelFolder a = ModelFolder::open(base_dir), b = ModelFolder::open(tmp.path() / "merged");
  for (const char* name : {"model.layers.1.self_attn.k_proj.weight", "model.layers.0.self_attn.q_proj.weight"}) {
    TensorRef x = a.checkpoint->tensor(name), y = b.checkpoint->tensor(name);
    EXPECT_EQ(std::memcmp(x.data, y.data, x.info->nbytes()), 0) << name;
  }
}

// With W' = W + s B A, dL/dA = s B^T dL/dW' and dL/dB = s dL/dW' A^T.
TEST(Lora, GradientsEqualTheChainRuleThroughTheMergedWeight) {
  LP_REQUIRE_FIXTURES();
  TempDir tmp;
  const std::string base_dir = fixture("models/stories260K");
  Model adapted = load_model(base_dir, ModelOptions{});
  LoraSpec spec = spec_on({2}, 3);
  add_lora(adapted, spec, 9);
  randomise_b(adapted, 10);
  write_adapter(folder(tmp, "adapter"), spec, base_dir, adapted.lora_parameters());
  merge_adapter(ModelFolder::open(base_dir), read_adapter(tmp.path() / "adapter"),
                {tmp.path() / "merged", OutputKind::Folder, {base_dir}});
  Model merged = load_model(tmp.path() / "merged", ModelOptions{});
  merged.set_trainable(2, true);

  const auto ids = sample_ids();
  next_token_loss(adapted.forward(ids), ids).backward();
  next_token_loss(merged.forward(ids), ids).backward();
  const double s = spec.scale();
  for (LoraTarget t : kLoraTargets) {
    SCOPED_TRACE(lora_module_name(t));
    const LoraPair& pair = lora_slot(adapted.weights().blocks[2], t);
    const torch::Tensor g_w = lora_base_weight(merged.weights().blocks[2], t).grad();  // (out, in)
    EXPECT_LT(rel_error(pair.a.grad(), s * torch::matmul(pair.b.t(), g_w)), 1e-5);
    EXPECT_LT(rel_error(pair.b.grad(), s * torch::matmul(g_w, pair.a.t())), 1e-5);
  }
  // And one entry of each against a central difference of the loss itself.
  const LoraPair& q = lora_slot(adapted.weights().blocks[2], LoraTarget::Q);
  torch::NoGradGuard no_grad;
  for (const torch::Tensor* t : {&q.a, &q.b}) {
    const double h = 1e-2, analytic = t->grad()[0][1].item<double>();
    const float saved = (*t)[0][1].item<float>();
    (*t)[0][1] = saved + h;
    const double up = next_token_loss(adapted.forward(ids), ids).item<double>();
    (*t)[0][1] = saved - h;
    const double down = next_token_loss(adapted.forward(ids), ids).item<double>();
    (*t)[0][1] = saved;
    EXPECT_NEAR((up - down) / (2 * h), analytic, 2e-3 + 2e-2 * std::abs(analytic));
  }
}

// Dropout draws the same masks in a checkpointed block's recomputation as in its forward pass,
// so checkpointing changes neither the loss nor the gradients.
TEST(Lora, DropoutUnderActivationCheckpointingGivesTheSameGradients) {
  LP_REQUIRE_FIXTURES();
  Model model = load_model(fixture("models/stories260K"), ModelOptions{});
  LoraSpec spec = spec_on({1, 3});
  spec.dropout = 0.3;
  add_lora(model, spec, 2);
  randomise_b(model, 4);
  model.set_training(true);
  const auto ids = sample_ids();
  auto run = [&](bool checkpointing) {
    model.set_recompute_activations(checkpointing);
    for (auto& p : model.lora_parameters()) p.tensor.mutable_grad() = torch::Tensor();
    torch::manual_seed(11);
    auto loss = next_token_loss(model.forward(ids), ids);
    loss.backward();
    std::vector<torch::Tensor> grads;
    for (auto& p : model.lora_parameters()) grads.push_back(p.tensor.grad().clone());
    return std::make_pair(loss.item<double>(), grads);
  };
  auto [plain_loss, plain] = run(false);
  auto [ckpt_loss, ckpt] = run(true);
  EXPECT_NEAR(plain_loss, ckpt_loss, 1e-6);
  for (size_t i = 0; i < plain.size(); i++) EXPECT_LT(rel_error(ckpt[i], plain[i]), 1e-5) << i;
  model.set_training(false);
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::equal(model.forward(ids), model.forward(ids))) << "no dropout outside training";
}

TEST(Lora, AdapterFolderHasPeftsLayout) {
  LP_REQUIRE_FIXTURES();
  TempDir tmp;
  Model model = load_model(fixture("models/stories260K"), ModelOptions{});
  LoraSpec spec = spec_on({4}, 2);
  spec.dropout = 0.05;
  add_lora(model, spec, 1);
  write_adapter(tmp.path(), spec, "/base", model.lora_parameters());
  const json cfg = read_json_file(tmp.path() / "adapter_config.json");
  EXPECT_EQ(cfg["peft_type"], "LORA");
  EXPECT_EQ(cfg["task_type"], "CAUSAL_LM");
  EXPECT_EQ(cfg["r"], 2);
  EXPECT_EQ(cfg["lora_alpha"].get<double>(), 8.0);
  EXPECT_EQ(cfg["lora_dropout"].get<double>(), 0.05);
  EXPECT_EQ(cfg["bias"], "none");
  EXPECT_EQ(cfg["base_model_name_or_path"], "/base");
  EXPECT_EQ(cfg["layers_to_transform"], json::array({4}));
  EXPECT_EQ(cfg["target_modules"].size(), 7u);
  SafetensorsFile f(tmp.path() / "adapter_model.safetensors");
  const TensorInfo* a = f.find("base_model.model.model.layers.4.self_attn.q_proj.lora_A.weight");
  const TensorInfo* b = f.find("base_model.model.model.layers.4.mlp.down_proj.lora_B.weight");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->shape, (std::vector<int64_t>{2, 64}));   // (r, in)
  EXPECT_EQ(b->shape, (std::vector<int64_t>{64, 2}));   // (out, r)
  EXPECT_EQ(f.tensors().size(), size_t(7 * 2));
}

TEST(Lora, RefusesAdaptersThatDoNotFit) {
  LP_REQUIRE_FIXTURES();
  TempDir tmp;
  Model small = load_model(fixture("models/stories260K"), ModelOptions{});
  add_lora(small, spec_on({4}), 1);
  write_adapter(folder(tmp, "a"), spec_on({4}), "", small.lora_parameters());
  // Another model's shapes (tiny-llama: other widths) and a block it does not have.
  Model other = load_model(fixture("models/tiny-llama"), ModelOptions{});
  EXPECT_THROW(attach_adapter(other, read_adapter(tmp.path() / "a")), Error);
  Model fewer = load_model(fixture("models/stories260K"), ModelOptions{});
  LoraSpec far = spec_on({6});
  Model expanded = load_model(fixture("models/stories260K-expanded"), ModelOptions{});
  add_lora(expanded, far, 1);
  write_adapter(folder(tmp, "b"), far, "", expanded.lora_parameters());
  EXPECT_THROW(attach_adapter(fewer, read_adapter(tmp.path() / "b")), Error);
  // A rank beyond the projection, and unknown targets.
  Model m = load_model(fixture("models/stories260K"), ModelOptions{});
  EXPECT_THROW(add_lora(m, spec_on({0}, 65), 1), Error);
  EXPECT_THROW(parse_lora_targets("q,attn"), Error);
  // Features PEFT has and llamapro does not apply are named, not ignored.
  json cfg = read_json_file(tmp.path() / "a" / "adapter_config.json");
  cfg["use_dora"] = true;
  write_json_file(tmp.path() / "a" / "adapter_config.json", cfg);
  EXPECT_THROW(read_adapter(tmp.path() / "a"), Error);
}

}  // namespace
}  // namespace llamapro
