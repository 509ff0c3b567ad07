// adapter.h — LoRA adapters as PEFT saves them: a folder with adapter_config.json and
// adapter_model.safetensors ("base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight",
// A (r, in), B (out, r)), which PEFT, vLLM and this tool load alike.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "model/lora.h"
#include "model/model_folder.h"
#include "model/transformer.h"
#include "util/json.h"

namespace llamapro {

struct LoraSpec {
  int64_t rank = 8;
  double alpha = 16;    // the update is scaled by alpha / rank
  double dropout = 0;   // on the adapter's input, while training
  std::vector<LoraTarget> targets = {kLoraTargets.begin(), kLoraTargets.end()};
  std::vector<int64_t> blocks;  // which blocks carry adapters (sorted)
  double scale() const { return alpha / double(rank); }
  json target_names() const;  // ["q_proj", ...], as PEFT's target_modules
  json to_json() const;       // for a run's identity
};

// "q,k,v,o" or "all" -> targets (each once, in block order); error for unknown names.
std::vector<LoraTarget> parse_lora_targets(const std::string& list);

// Fresh adapters on spec.blocks x spec.targets, trainable, the base weights untouched: A drawn
// as PEFT draws it (kaiming-uniform, bound 1/sqrt(in)) from our seeded generator, B zero, so
// the model's output is unchanged until B moves.
void add_lora(Model& model, const LoraSpec& spec, uint64_t seed);

struct Adapter {
  std::filesystem::path dir;
  LoraSpec spec;
  std::string base_model;                       // base_model_name_or_path, as recorded
  std::map<std::string, torch::Tensor> tensors;  // PEFT name -> float32 tensor

  // The pair on one projection of one block (float32, on the CPU), with the spec's scale and
  // dropout; read_adapter checked that it exists.
  LoraPair pair(int64_t layer, LoraTarget t) const;
};

// A folder with adapter_config.json and no config.json.
bool is_adapter_folder(const std::filesystem::path& dir);

// Reads and checks an adapter folder: a LoRA config llamapro can apply (no DoRA, rsLoRA,
// per-module ranks or trained biases) and exactly the tensors it implies.
Adapter read_adapter(const std::filesystem::path& dir);

// Attaches a read adapter to a loaded model, frozen; refuses one made for another shape of model.
void attach_adapter(Model& model, const Adapter& adapter);

// What a model-running command runs: a model folder, with an adapter folder on top when one is
// given. An adapter folder alone (adapter_config.json, no config.json) stands for its base
// model (base_model_name_or_path, a local folder) with itself on top, as PEFT's AutoPeftModel.
struct ModelSource {
  std::filesystem::path model_dir, adapter_dir;  // adapter_dir empty: none
  // The folders this source reads (an adapter's base included), for the outputs to refuse.
  std::vector<std::filesystem::path> inputs() const { return {model_dir, adapter_dir}; }
};
// A model folder, or an adapter folder standing for its base (base_model_name_or_path) plus
// itself. Both folders become inputs of the command (util/files note_input).
ModelSource resolve_model_source(const std::filesystem::path& dir, const std::filesystem::path& adapter_dir = {});
Model load_model_source(const ModelSource& source, const ModelOptions& options);

// adapter_config.json for a spec; `base_model` goes into base_model_name_or_path.
json adapter_config(const LoraSpec& spec, const std::string& base_model);
// Writes adapter_config.json and adapter_model.safetensors (float32) into `dir`.
void write_adapter(const std::filesystem::path& dir, const LoraSpec& spec, const std::string& base_model,
                   const std::vector<NamedTensor>& tensors);

// W + B A * alpha / r in float32: the weight an adapter folds into.
torch::Tensor merged_weight(const torch::Tensor& weight, const torch::Tensor& a, const torch::Tensor& b, double scale);

// Writes `base` with the adapter folded into its weights (each in its stored dtype) as a plain
// HF folder at out.target; the merge is recorded in llamapro.json's training history.
void merge_adapter(const ModelFolder& base, const Adapter& adapter, OutputSpec out);

}  // namespace llamapro
