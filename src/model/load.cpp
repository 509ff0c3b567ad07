// load.cpp — weights from a checkpoint or a random draw into ModelWeights (see load.h).
#include "model/load.h"

#include <functional>

#include "io/checkpoint.h"
#include "model/init.h"
#include "model/model_folder.h"
#include "model/tensor_names.h"
#include "util/check.h"

namespace llamapro {

torch::ScalarType torch_type(DType t) {
  switch (t) {
    case DType::F32: return torch::kFloat;
    case DType::F16: return torch::kHalf;
    case DType::BF16: return torch::kBFloat16;
    default: LP_FAIL("unsupported weight dtype ", dtype_name(t), " (expected F32, F16 or BF16)");
  }
}

namespace {

// Fills the weights of a model from `make(name, shape)`, walking the one name table.
ModelWeights build_weights(const ModelConfig& c,
                           const std::function<torch::Tensor(const ExpectedTensor&)>& make) {
  ModelWeights w;
  w.blocks.resize(size_t(c.num_hidden_layers));
  for (int64_t l = 0; l < c.num_hidden_layers; l++) {
    BlockWeights& b = w.blocks[size_t(l)];
    for (const auto& e : block_tensors(c, l)) {
      torch::Tensor t = make(e);
      switch (e.kind) {
        case BlockTensor::AttnNorm: b.attn_norm = t; break;
        case BlockTensor::Q: b.attn.wq = t; break;
        case BlockTensor::QBias: b.attn.bq = t; break;
        case BlockTensor::K: b.attn.wk = t; break;
        case BlockTensor::KBias: b.attn.bk = t; break;
        case BlockTensor::V: b.attn.wv = t; break;
        case BlockTensor::VBias: b.attn.bv = t; break;
        case BlockTensor::O: b.attn.wo = t; break;
        case BlockTensor::OBias: b.attn.bo = t; break;
        case BlockTensor::MlpNorm: b.mlp_norm = t; break;
        case BlockTensor::Gate: b.w_gate = t; break;
        case BlockTensor::GateBias: b.b_gate = t; break;
        case BlockTensor::Up: b.w_up = t; break;
        case BlockTensor::UpBias: b.b_up = t; break;
        case BlockTensor::Down: b.w_down = t; break;
        case BlockTensor::DownBias: b.b_down = t; break;
      }
    }
  }
  auto top = [&](std::string_view name, std::vector<int64_t> shape) {
    ExpectedTensor e;
    e.name = std::string(name);
    e.shape = std::move(shape);
    return make(e);
  };
  w.embed = top(kEmbedTokens, {c.vocab_size, c.hidden_size});
  w.norm = top(kFinalNorm, {c.hidden_size});
  w.lm_head = c.tie_word_embeddings ? w.embed : top(kLmHead, {c.vocab_size, c.hidden_size});
  return w;
}

}  // namespace

Model load_model(const std::filesystem::path& dir, const ModelOptions& options) {
  return load_model(ModelFolder::open(dir), options);
}

Model load_model(const ModelFolder& folder, const ModelOptions& options) {
  const std::shared_ptr<const Checkpoint>& ck = folder.checkpoint;
  ModelConfig c = folder.config;
  bool borrowed = false;
  auto make = [&](const ExpectedTensor& e) {
    TensorRef r = ck->tensor(e.name);
    const torch::ScalarType stored = torch_type(r.info->dtype);
    const size_t elem = dtype_size(r.info->dtype);
    auto view = torch::from_blob(const_cast<uint8_t*>(r.data), r.info->shape, torch::TensorOptions().dtype(stored));
    // Zero copy when nothing changes; the mapping is read-only, so such tensors are never
    // written (set_trainable copies them first).
    if (options.device.is_cpu() && stored == options.dtype && reinterpret_cast<uintptr_t>(r.data) % elem == 0) {
      borrowed = true;
      return view;
    }
    return view.to(options.device, options.dtype, /*non_blocking=*/false, /*copy=*/true);
  };
  ModelWeights w = build_weights(c, make);
  return Model(std::move(c), std::move(w), options, borrowed ? ck : nullptr);
}

Model random_model(const ModelConfig& config, const ModelOptions& options, uint64_t seed) {
  // The rule `init` writes (model/init.h): the same seed gives the same weights as a folder.
  auto make = [&](const ExpectedTensor& e) {
    torch::Tensor t = torch::empty(e.shape, torch::kFloat);
    Rng rng = tensor_rng(seed, e.name);
    fill_init(init_kind(e.name, e.shape.size()), config.initializer_range, rng, t.data_ptr<float>(), size_t(t.numel()));
    return t.to(options.device, options.dtype);
  };
  ModelWeights w = build_weights(config, make);
  return Model(config, std::move(w), options, nullptr);
}

}  // namespace llamapro
