#include "model/tensor_names.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <set>

#include "io/checkpoint.h"
#include "util/check.h"
#include "util/strings.h"

namespace llamapro {

namespace {
constexpr std::string_view kLayerPrefix = "model.layers.";

constexpr std::array<std::string_view, 16> kSuffixes = {
    "input_layernorm.weight",   "self_attn.q_proj.weight", "self_attn.q_proj.bias",
    "self_attn.k_proj.weight",  "self_attn.k_proj.bias",   "self_attn.v_proj.weight",
    "self_attn.v_proj.bias",    "self_attn.o_proj.weight", "self_attn.o_proj.bias",
    "post_attention_layernorm.weight", "mlp.gate_proj.weight", "mlp.gate_proj.bias",
    "mlp.up_proj.weight",       "mlp.up_proj.bias",        "mlp.down_proj.weight",
    "mlp.down_proj.bias",
};
}  // namespace

std::string_view block_tensor_suffix(BlockTensor t) { return kSuffixes[static_cast<size_t>(t)]; }

std::string block_tensor_name(int64_t layer, BlockTensor t) {
  return std::string(kLayerPrefix) + std::to_string(layer) + "." + std::string(block_tensor_suffix(t));
}

int64_t layer_of(std::string_view name) {
  if (!starts_with(name, kLayerPrefix)) return -1;
  name.remove_prefix(kLayerPrefix.size());
  int64_t layer = -1;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), layer);
  if (ec != std::errc() || end == name.data() || end == name.data() + name.size() || *end != '.') return -1;
  return layer;
}

std::string with_layer(std::string_view name, int64_t layer) {
  LP_CHECK(layer_of(name) >= 0, "internal: \"", name, "\" is not a block tensor");
  size_t dot = name.find('.', kLayerPrefix.size());
  return std::string(kLayerPrefix) + std::to_string(layer) + std::string(name.substr(dot));
}

std::string_view block_module_of(std::string_view name) {
  if (layer_of(name) < 0) return {};
  return name.substr(name.find('.', kLayerPrefix.size()) + 1);
}

const std::vector<std::string>& block_modules() {
  static const std::vector<std::string> modules = [] {
    std::vector<std::string> m;
    for (std::string_view suffix : kSuffixes) {
      std::string module(suffix.substr(0, suffix.rfind('.')));  // drop ".weight" / ".bias"
      if (std::find(m.begin(), m.end(), module) == m.end()) m.push_back(module);
    }
    return m;
  }();
  return modules;
}

bool is_rotary_buffer(std::string_view name) { return ends_with(name, "rotary_emb.inv_freq"); }

std::vector<ExpectedTensor> block_tensors(const ModelConfig& c, int64_t layer) {
  const int64_t C = c.hidden_size, Q = c.q_dim(), KV = c.kv_dim(), F = c.intermediate_size;
  std::vector<ExpectedTensor> out;
  auto add = [&](BlockTensor t, std::vector<int64_t> shape) { out.push_back({block_tensor_name(layer, t), shape, t}); };
  add(BlockTensor::AttnNorm, {C});
  add(BlockTensor::Q, {Q, C});
  if (c.qkv_bias) add(BlockTensor::QBias, {Q});
  add(BlockTensor::K, {KV, C});
  if (c.qkv_bias) add(BlockTensor::KBias, {KV});
  add(BlockTensor::V, {KV, C});
  if (c.qkv_bias) add(BlockTensor::VBias, {KV});
  add(BlockTensor::O, {C, Q});
  if (c.o_bias) add(BlockTensor::OBias, {C});
  add(BlockTensor::MlpNorm, {C});
  add(BlockTensor::Gate, {F, C});
  if (c.mlp_bias) add(BlockTensor::GateBias, {F});
  add(BlockTensor::Up, {F, C});
  if (c.mlp_bias) add(BlockTensor::UpBias, {F});
  add(BlockTensor::Down, {C, F});
  if (c.mlp_bias) add(BlockTensor::DownBias, {C});
  return out;
}

std::vector<ExpectedTensor> model_tensors(const ModelConfig& c) {
  std::vector<ExpectedTensor> out;
  out.push_back({std::string(kEmbedTokens), {c.vocab_size, c.hidden_size}});
  for (int64_t l = 0; l < c.num_hidden_layers; l++) {
    auto block = block_tensors(c, l);
    out.insert(out.end(), block.begin(), block.end());
  }
  out.push_back({std::string(kFinalNorm), {c.hidden_size}});
  if (!c.tie_word_embeddings) out.push_back({std::string(kLmHead), {c.vocab_size, c.hidden_size}});
  return out;
}

void validate_checkpoint(const ModelConfig& c, const Checkpoint& ck) {
  const std::string where = ck.dir().string();
  std::set<std::string> expected;
  for (const auto& e : model_tensors(c)) {
    expected.insert(e.name);
    LP_CHECK(ck.contains(e.name), where, ": tensor \"", e.name, "\" is missing (config.json has ",
             c.num_hidden_layers, " layers", c.tie_word_embeddings ? ", tied embeddings" : "", ")");
    const TensorInfo& t = *ck.tensor(e.name).info;
    TensorInfo want;
    want.shape = e.shape;
    LP_CHECK(t.shape == e.shape, where, ": tensor \"", e.name, "\" has shape ", t.shape_str(),
             " but config.json implies ", want.shape_str());
    LP_CHECK(is_weight_dtype(t.dtype), where, ": tensor \"", e.name, "\" has dtype ", dtype_name(t.dtype),
             "; weights must be F32, F16 or BF16");
  }
  for (const auto& name : ck.names()) {
    if (expected.count(name) || is_rotary_buffer(name)) continue;
    if (name == kLmHead && c.tie_word_embeddings) continue;
    LP_FAIL(where, ": unexpected tensor \"", name, "\" (config.json has ", c.num_hidden_layers, " layers",
            c.qkv_bias ? "" : ", no q/k/v biases", ")");
  }
}

}  // namespace llamapro
