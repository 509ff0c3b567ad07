// adapter.cpp — LoRA adapters: creation, PEFT folder reading and writing (see adapter.h).
#include "model/adapter.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "io/safetensors.h"
#include "model/load.h"
#include "model/rewrite.h"
#include "model/tensor_names.h"
#include "util/check.h"
#include "util/files.h"
#include "util/random.h"
#include "util/strings.h"

namespace llamapro {

namespace fs = std::filesystem;

inline constexpr const char* kAdapterConfig = "adapter_config.json";
inline constexpr const char* kAdapterWeights = "adapter_model.safetensors";

json LoraSpec::target_names() const {
  json names = json::array();
  for (LoraTarget t : targets) names.push_back(lora_module_name(t));
  return names;
}

json LoraSpec::to_json() const {
  return {{"rank", rank}, {"alpha", alpha}, {"dropout", dropout}, {"targets", target_names()}, {"blocks", blocks}};
}

LoraPair Adapter::pair(int64_t layer, LoraTarget t) const {
  const LoraTensorNames names = lora_tensor_names(layer, t);
  return {tensors.at(names.a), tensors.at(names.b), spec.scale(), spec.dropout};
}

std::vector<LoraTarget> parse_lora_targets(const std::string& list) {
  if (trim(list) == "all") return {kLoraTargets.begin(), kLoraTargets.end()};
  std::set<LoraTarget> chosen;
  for (const std::string& name : split(list, ',')) chosen.insert(parse_lora_target(std::string(trim(name))));
  LP_CHECK(!chosen.empty(), "--lora-targets: no target named");
  return {chosen.begin(), chosen.end()};  // enum order = block order
}

void add_lora(Model& model, const LoraSpec& spec, uint64_t seed) {
  LP_CHECK(spec.rank >= 1, "LoRA rank must be >= 1, got ", spec.rank);
  Rng rng(seed ^ 0x4C6F5241ull);  // "LoRA": a stream of its own, apart from data shuffling
  const auto device = model.options().device;
  const auto dtype = model.options().dtype;
  for (int64_t l : spec.blocks) {
    for (LoraTarget t : spec.targets) {
      const torch::Tensor& w = lora_base_weight(model.weights().blocks.at(size_t(l)), t);
      const int64_t out = w.size(0), in = w.size(1);
      LP_CHECK(spec.rank <= std::min(in, out), "--lora ", spec.rank, " exceeds the size of ", lora_module_name(t),
               " (", out, " x ", in, ")");
      // kaiming_uniform_(a=sqrt(5)) as nn.Linear and PEFT use it: bound = 1 / sqrt(fan_in).
      const double bound = 1.0 / std::sqrt(double(in));
      auto a = torch::empty({spec.rank, in}, torch::kFloat);
      float* p = a.data_ptr<float>();
      for (int64_t i = 0; i < a.numel(); i++) p[i] = float((2 * rng.uniform() - 1) * bound);
      LoraPair pair;
      pair.a = a.to(device, dtype).requires_grad_(true);
      pair.b = torch::zeros({out, spec.rank}, torch::TensorOptions().dtype(dtype).device(device)).requires_grad_(true);
      pair.scale = spec.scale();
      pair.dropout = spec.dropout;
      model.attach_lora(l, t, std::move(pair));
    }
  }
}

json adapter_config(const LoraSpec& spec, const std::string& base_model) {
  return {{"peft_type", "LORA"},
          {"task_type", "CAUSAL_LM"},
          {"base_model_name_or_path", base_model},
          {"r", spec.rank},
          {"lora_alpha", spec.alpha == std::floor(spec.alpha) ? json(int64_t(spec.alpha)) : json(spec.alpha)},
          {"lora_dropout", spec.dropout},
          {"target_modules", spec.target_names()},
          {"layers_to_transform", spec.blocks},
          {"layers_pattern", "layers"},
          {"bias", "none"},
          {"fan_in_fan_out", false},
          {"modules_to_save", nullptr},
          {"init_lora_weights", true},
          {"use_rslora", false},
          {"use_dora", false},
          {"rank_pattern", json::object()},
          {"alpha_pattern", json::object()},
          {"inference_mode", true},
          {"revision", nullptr}};
}

void write_adapter(const fs::path& dir, const LoraSpec& spec, const std::string& base_model,
                   const std::vector<NamedTensor>& tensors) {
  std::vector<TensorSpec> specs;
  std::vector<torch::Tensor> keep;
  std::vector<const void*> data;
  for (const auto& t : tensors) {
    keep.push_back(t.tensor.detach().to(torch::kCPU, torch::kFloat).contiguous());
    specs.push_back({t.name, DType::F32, keep.back().sizes().vec()});
    data.push_back(keep.back().data_ptr());
  }
  write_safetensors(dir / kAdapterWeights, specs, data);
  write_file_atomic(dir / kAdapterConfig, adapter_config(spec, base_model).dump(2) + "\n");
}

namespace {

// PEFT writes target_modules as a list or as one regex string; only the list form names
// modules we can check.
std::vector<LoraTarget> config_targets(const json& cfg, const std::string& where) {
  LP_CHECK(cfg.contains("target_modules") && cfg["target_modules"].is_array(), where,
           ": target_modules must be a list of module names");
  std::vector<LoraTarget> out;
  for (const json& m : cfg["target_modules"]) {
    LP_CHECK(m.is_string(), where, ": target_modules must hold strings");
    out.push_back(parse_lora_target(m.get<std::string>()));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// A config option that must be absent, null, false or empty for a plain LoRA.
void refuse_feature(const json& cfg, const char* key, const std::string& where) {
  if (!cfg.contains(key)) return;
  const json& v = cfg[key];
  const bool off = v.is_null() || (v.is_boolean() && !v.get<bool>()) || (v.is_object() && v.empty()) ||
                   (v.is_array() && v.empty()) || (v.is_string() && v.get<std::string>() == "none");
  LP_CHECK(off, where, ": ", key, " is set, which llamapro does not apply (plain LoRA only)");
}

}  // namespace

Adapter read_adapter(const fs::path& dir) {
  LP_CHECK(fs::is_directory(dir), dir.string(), ": not an adapter folder");
  const fs::path config_path = dir / kAdapterConfig, weights_path = dir / kAdapterWeights;
  LP_CHECK(fs::is_regular_file(config_path), dir.string(), ": no ", kAdapterConfig, " (not a PEFT adapter folder)");
  LP_CHECK(fs::is_regular_file(weights_path), dir.string(), ": no ", kAdapterWeights,
           " (adapters saved as .bin are not read; save with safetensors)");
  const std::string where = config_path.string();
  const json cfg = read_json_file(config_path);
  LP_CHECK(cfg.is_object(), where, ": expected a JSON object");
  LP_CHECK(json_get<std::string>(cfg, "peft_type", where) == "LORA", where, ": peft_type is \"",
           json_get<std::string>(cfg, "peft_type", where), "\", only LORA adapters are supported");
  for (const char* key : {"use_dora", "use_rslora", "rank_pattern", "alpha_pattern", "modules_to_save", "fan_in_fan_out"})
    refuse_feature(cfg, key, where);
  const std::string bias = json_get_or<std::string>(cfg, "bias", "none", where);
  LP_CHECK(bias == "none", where, ": bias \"", bias, "\" (trained biases) is not supported");

  Adapter a;
  a.dir = dir;
  a.spec.rank = json_get<int64_t>(cfg, "r", where);
  LP_CHECK(a.spec.rank >= 1, where, ": r must be >= 1, got ", a.spec.rank);
  a.spec.alpha = json_get<double>(cfg, "lora_alpha", where);
  // train's --lora-alpha range: a larger scale only turns the merged weights into inf.
  LP_CHECK(std::isfinite(a.spec.alpha) && a.spec.alpha > 0 && a.spec.alpha <= 1e6, where,
           ": lora_alpha must be in (0, 1e6], got ", cfg["lora_alpha"].dump());
  a.spec.dropout = json_get_or<double>(cfg, "lora_dropout", 0.0, where);
  a.spec.targets = config_targets(cfg, where);
  a.base_model = cfg.contains("base_model_name_or_path") && cfg["base_model_name_or_path"].is_string()
                     ? cfg["base_model_name_or_path"].get<std::string>() : "";

  // The blocks are those the tensors name; every (block, target) pair must have both A and B.
  SafetensorsFile file(weights_path);
  std::set<int64_t> blocks;
  for (const TensorInfo& t : file.tensors()) {
    const int64_t block = starts_with(t.name, "base_model.") ? block_of_tensor(t.name) : -1;
    LP_CHECK(block >= 0, weights_path.string(), ": tensor \"", t.name,
             "\" is not a LoRA tensor of a block (only block projections are supported)");
    LP_CHECK(t.shape.size() == 2, weights_path.string(), ": tensor \"", t.name, "\" is not a matrix");
    blocks.insert(block);
    torch::Tensor value = torch::from_blob(const_cast<uint8_t*>(file.data(t)), t.shape, torch_type(t.dtype))
                              .to(torch::kFloat).clone();
    LP_CHECK(torch::isfinite(value).all().item<bool>(), weights_path.string(), ": tensor \"", t.name,
             "\" holds values that are not finite numbers (NaN or inf)");
    a.tensors[t.name] = value;
  }
  a.spec.blocks.assign(blocks.begin(), blocks.end());
  LP_CHECK(!a.spec.blocks.empty(), weights_path.string(), ": holds no tensors");
  if (cfg.contains("layers_to_transform") && !cfg["layers_to_transform"].is_null()) {
    const json& layers = cfg["layers_to_transform"];
    std::set<int64_t> listed;
    if (layers.is_number_integer()) listed.insert(layers.get<int64_t>());
    else if (layers.is_array())
      for (const json& l : layers) {
        LP_CHECK(l.is_number_integer(), where, ": layers_to_transform must list block indices, got ", l.dump());
        listed.insert(l.get<int64_t>());
      }
    else LP_FAIL(where, ": layers_to_transform must be a block index or a list of them, got ", layers.dump());
    LP_CHECK(listed == blocks, where, ": layers_to_transform lists blocks ", join_numbers(listed), " but ",
             kAdapterWeights, " holds tensors of blocks ", join_numbers(blocks));
  }
  size_t expected = 0;
  for (int64_t l : a.spec.blocks) {
    for (LoraTarget t : a.spec.targets) {
      const LoraTensorNames names = lora_tensor_names(l, t);
      for (const std::string& name : {names.a, names.b})
        LP_CHECK(a.tensors.count(name), weights_path.string(), ": missing \"", name, "\"");
      expected += 2;
      const LoraPair p = a.pair(l, t);
      LP_CHECK(p.a.size(0) == a.spec.rank && p.b.size(1) == a.spec.rank, weights_path.string(), ": ", names.a,
               " and its B do not have rank ", a.spec.rank, " as r says");
    }
  }
  LP_CHECK(expected == a.tensors.size(), weights_path.string(), ": holds ", a.tensors.size(), " tensors, ",
           "target_modules and the blocks imply ", expected);
  return a;
}

void attach_adapter(Model& model, const Adapter& adapter) {
  const auto device = model.options().device;
  const auto dtype = model.options().dtype;
  const std::string where = adapter.dir.string();
  for (int64_t l : adapter.spec.blocks) {
    LP_CHECK(l < model.n_layers(), where, ": the adapter has block ", l, " but the model has ", model.n_layers(),
             " blocks (an adapter for another model?)");
    for (LoraTarget t : adapter.spec.targets) {
      LoraPair pair = adapter.pair(l, t);
      const torch::Tensor& w = lora_base_weight(model.weights().blocks[size_t(l)], t);
      LP_CHECK(pair.a.size(1) == w.size(1) && pair.b.size(0) == w.size(0), where, ": ",
               lora_tensor_names(l, t).a, " adapts a ", pair.b.size(0), " x ", pair.a.size(1),
               " weight, the model's is ", w.size(0), " x ", w.size(1), " (an adapter for another model?)");
      pair.a = pair.a.to(device, dtype);
      pair.b = pair.b.to(device, dtype);
      model.attach_lora(l, t, std::move(pair));
    }
  }
}

bool is_adapter_folder(const fs::path& dir) {
  return fs::is_regular_file(dir / kAdapterConfig) && !fs::exists(dir / "config.json");
}

ModelSource resolve_model_source(const fs::path& dir, const fs::path& adapter_dir) {
  note_input(dir);
  note_input(adapter_dir);
  if (!is_adapter_folder(dir)) return {dir, adapter_dir};
  LP_CHECK(adapter_dir.empty(), dir.string(), " is an adapter folder; --adapter cannot add a second one");
  const fs::path config_path = dir / kAdapterConfig;
  const json cfg = read_json_file(config_path);
  LP_CHECK(cfg.is_object() && cfg.contains("base_model_name_or_path") && cfg["base_model_name_or_path"].is_string(),
           config_path.string(), ": no base_model_name_or_path to find the base model by (give the model folder and --adapter)");
  const fs::path base = cfg["base_model_name_or_path"].get<std::string>();
  LP_CHECK(fs::is_regular_file(base / "config.json"), config_path.string(), ": its base model ", base.string(),
           " is not a model folder here (give the model folder and --adapter)");
  note_input(base);
  return {base, dir};
}

void warn_if_trained_on_another_base(const Adapter& adapter, const fs::path& model_dir) {
  std::error_code ec;
  if (!adapter.base_model.empty() && fs::is_directory(adapter.base_model) &&
      !fs::equivalent(adapter.base_model, model_dir, ec))
    std::fprintf(stderr, "warning: %s was trained on %s, not on %s\n", adapter.dir.c_str(), adapter.base_model.c_str(),
                 model_dir.c_str());
}

Model load_model_source(const ModelSource& source, const ModelOptions& options) {
  if (source.adapter_dir.empty()) return load_model(source.model_dir, options);
  const Adapter adapter = read_adapter(source.adapter_dir);  // refused before the model loads
  warn_if_trained_on_another_base(adapter, source.model_dir);
  Model model = load_model(source.model_dir, options);
  attach_adapter(model, adapter);
  return model;
}

torch::Tensor merged_weight(const torch::Tensor& weight, const torch::Tensor& a, const torch::Tensor& b, double scale) {
  return weight.to(torch::kFloat) + torch::matmul(b.to(torch::kFloat), a.to(torch::kFloat)) * scale;
}

void merge_adapter(const ModelFolder& base, const Adapter& adapter, OutputSpec out) {
  warn_if_trained_on_another_base(adapter, base.dir());
  Model model = load_model(base, ModelOptions{});  // float32 on the CPU: the weights to add to
  attach_adapter(model, adapter);                   // checks that the adapter fits this model
  std::map<std::string, torch::Tensor> merged;      // HF weight name -> new value
  for (int64_t l : adapter.spec.blocks) {
    for (LoraTarget t : adapter.spec.targets) {
      const LoraPair p = adapter.pair(l, t);
      const std::string name = block_tensor_name(l, lora_weight_tensor(t));
      merged[name] = merged_weight(lora_base_weight(model.weights().blocks[size_t(l)], t), p.a, p.b, p.scale);
      LP_CHECK(torch::isfinite(merged[name]).all().item<bool>(), "merging ", adapter.dir.string(), " into ",
               base.dir().string(), " would make ", name, " hold values that are not finite numbers; nothing written");
    }
  }
  Manifest manifest = base.manifest;
  json record = {{"merged_adapter", fs::absolute(adapter.dir).lexically_normal().string()},
                 {"lora", adapter.spec.to_json()},
                 {"finished", utc_now()}};
  if (fs::is_regular_file(adapter.dir / "run.json")) record["hyperparameters"] = read_json_file(adapter.dir / "run.json");
  manifest.training.push_back(record);
  write_model_with(base, std::move(out), [&](const std::string& name) {
    auto it = merged.find(name);
    return it == merged.end() ? torch::Tensor() : it->second;
  }, manifest);
}

}  // namespace llamapro
