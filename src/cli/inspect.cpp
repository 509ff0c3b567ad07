// inspect.cpp — `llamapro inspect MODEL_DIR`: what a model folder holds.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <map>

#include "cli/commands.h"
#include "export/gguf.h"
#include "model/adapter.h"
#include "model/model_folder.h"
#include "io/checkpoint.h"
#include "model/config.h"
#include "model/summary.h"
#include "model/tensor_names.h"
#include "util/check.h"
#include "util/files.h"
#include "util/strings.h"

namespace llamapro::cli {

namespace {

struct InspectOptions {
  std::string model_dir;
  bool json_out = false;
  bool layers = false;
};

// A training record's data: a folder (older manifests) or a list of {path, weight}, as
// "domain (0.9), general (0.1)".
std::string training_data_text(const json& run) {
  const json data = run.contains("data") ? run["data"] : json();
  if (data.is_string()) return data.get<std::string>();
  std::string text;
  if (data.is_array())
    for (const json& source : data) {
      if (!source.is_object() || !source.contains("path") || !source["path"].is_string()) continue;
      text += (text.empty() ? "" : ", ") + folder_name(source["path"].get<std::string>());
      if (data.size() > 1 && source.contains("weight") && source["weight"].is_number()) {
        char weight[32];
        std::snprintf(weight, sizeof weight, " (%.3g)", source["weight"].get<double>());
        text += weight;
      }
    }
  return text.empty() ? "unrecorded data" : text;
}

void print_text(const json& s, const json* layers, const Manifest* manifest) {
  auto line = [](const char* key, const std::string& value) { std::printf("%-14s %s\n", key, value.c_str()); };
  const json& rope = s["rope"];
  line("model", s["path"].get<std::string>());
  line("architecture", s["architecture"].get<std::string>() + " (" + s["model_type"].get<std::string>() + ")");
  int64_t params = s["parameters"];
  line("parameters", format_thousands(params) + " (" + format_count(double(params)) + ")");
  line("layers", std::to_string(s["layers"].get<int64_t>()));
  line("hidden size", std::to_string(s["hidden_size"].get<int64_t>()));
  line("mlp size", std::to_string(s["intermediate_size"].get<int64_t>()));
  int64_t nh = s["attention_heads"], nkv = s["kv_heads"];
  std::string attn = std::to_string(nh) + " heads, " + std::to_string(nkv) + " KV heads";
  attn += nh == nkv ? " (MHA)" : nkv == 1 ? " (MQA)" : " (GQA " + std::to_string(nh / nkv) + ":1)";
  line("attention", attn + ", head_dim " + std::to_string(s["head_dim"].get<int64_t>()));
  line("vocab", std::to_string(s["vocab_size"].get<int64_t>()));
  line("positions", std::to_string(s["max_position_embeddings"].get<int64_t>()) +
                        (s.contains("sliding_window") ? ", sliding window " + std::to_string(s["sliding_window"].get<int64_t>()) : ""));
  char buf[160];
  std::snprintf(buf, sizeof buf, "theta %g, scaling %s", rope["theta"].get<double>(), rope["scaling"].get<std::string>().c_str());
  std::string rope_text = buf;
  if (rope.contains("factor")) {
    std::snprintf(buf, sizeof buf, " (factor %g", rope["factor"].get<double>());
    rope_text += buf;
    if (rope.contains("low_freq_factor")) {
      std::snprintf(buf, sizeof buf, ", low %g, high %g, original %lld", rope["low_freq_factor"].get<double>(),
                    rope["high_freq_factor"].get<double>(), (long long)rope["original_max_position_embeddings"].get<int64_t>());
      rope_text += buf;
    }
    rope_text += ")";
  }
  line("rope", rope_text);
  std::snprintf(buf, sizeof buf, "%g", s["rms_norm_eps"].get<double>());
  line("rms norm eps", buf);
  line("tied embed", s["tie_word_embeddings"].get<bool>() ? "yes" : "no");
  std::string biases;
  for (const char* k : {"qkv", "o", "mlp"})
    if (s["biases"][k].get<bool>()) biases += std::string(biases.empty() ? "" : ", ") + k;
  line("biases", biases.empty() ? "none" : biases);
  std::string dts;
  for (const auto& [d, n] : s["tensor_dtypes"].items()) dts += (dts.empty() ? "" : ", ") + d + " x" + std::to_string(n.get<int64_t>());
  line("dtype", s["torch_dtype"].get<std::string>() + " (tensors: " + dts + ")");
  size_t nshards = s["shards"].size();
  line("files", std::to_string(nshards) + (nshards == 1 ? " safetensors file, " : " safetensors shards, ") +
                    format_bytes(s["size_on_disk"].get<uint64_t>()) + " on disk");
  if (manifest) {
    for (const auto& st : manifest->stages) {
      line("stage", st.name + ": added blocks " + join_numbers(st.positions) + (st.trained_tokens ? ", trained on " + format_count(double(st.trained_tokens)) + " tokens" : ""));
    }
    for (const auto& run : manifest->training) {
      std::string text = format_count(double(run.value("tokens", int64_t(0)))) + " tokens, " +
                         std::to_string(run.value("steps", int64_t(0))) + " steps of " + run.value("trainable", std::string()) +
                         " on " + training_data_text(run);
      if (run.contains("final_eval_loss") && run["final_eval_loss"].is_number()) {
        char loss[48];
        std::snprintf(loss, sizeof loss, ", validation loss %.4f", run["final_eval_loss"].get<double>());
        text += loss;
      }
      line("trained", text);
    }
  }
  if (layers) {
    std::printf("\n%5s  %12s  %-9s%s\n", "layer", "parameters", "dtype", manifest ? "  origin      source  init" : "");
    for (const auto& r : *layers) {
      std::printf("%5lld  %12s  %-9s", (long long)r["index"].get<int64_t>(),
                  format_thousands(r["parameters"].get<int64_t>()).c_str(), r["dtype"].get<std::string>().c_str());
      if (r.contains("origin")) {
        int64_t src = r["source"];
        std::printf("  %-10s  %6s  %s", r["origin"].get<std::string>().c_str(), src < 0 ? "-" : std::to_string(src).c_str(),
                    r["init"].get<std::string>().c_str());
      }
      std::printf("\n");
    }
  }
}

// A GGUF file: header, metadata (long arrays summarised) and tensors.
void inspect_gguf(const InspectOptions& o) {
  const GgufFile f(o.model_dir);
  uint64_t bytes = 0;
  for (const auto& t : f.tensors()) bytes += t.nbytes();
  if (o.json_out) {
    json j = {{"path", o.model_dir}, {"gguf_version", f.version()}, {"alignment", f.alignment()},
              {"tensor_bytes", bytes}, {"metadata", json::object()}, {"tensors", json::array()}};
    for (const auto& kv : f.metadata()) j["metadata"][kv.key] = kv.value.to_string(16);
    for (const auto& t : f.tensors())
      j["tensors"].push_back({{"name", t.name}, {"type", ggml_type_name(t.type)}, {"dims", t.dims}, {"offset", t.offset}});
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::printf("%s: GGUF version %u, %zu tensors (%s), %zu metadata keys, alignment %llu\n", o.model_dir.c_str(),
              f.version(), f.tensors().size(), format_bytes(bytes).c_str(), f.metadata().size(),
              (unsigned long long)f.alignment());
  for (const auto& kv : f.metadata()) std::printf("  %-44s %s\n", kv.key.c_str(), kv.value.to_string().c_str());
  if (!o.layers) {
    std::printf("(--layers lists the tensors)\n");
    return;
  }
  for (const auto& t : f.tensors()) {
    std::string dims;
    for (uint64_t d : t.dims) dims += (dims.empty() ? "" : " x ") + std::to_string(d);
    std::printf("  %-32s %-5s %s\n", t.name.c_str(), ggml_type_name(t.type), dims.c_str());
  }
}

// A LoRA adapter folder (PEFT layout): its settings and size.
void inspect_adapter(const InspectOptions& o) {
  const Adapter a = read_adapter(o.model_dir);
  int64_t parameters = 0;
  for (const auto& [name, t] : a.tensors) parameters += t.numel();
  const json s = {{"kind", "lora_adapter"}, {"rank", a.spec.rank}, {"alpha", a.spec.alpha}, {"scale", a.spec.scale()},
                  {"dropout", a.spec.dropout}, {"targets", a.spec.target_names()}, {"blocks", a.spec.blocks},
                  {"parameters", parameters}, {"tensors", a.tensors.size()}, {"base_model", a.base_model}};
  if (o.json_out) {
    std::cout << s.dump(2) << "\n";
    return;
  }
  const std::string blocks = join_numbers(a.spec.blocks);
  std::string modules;
  for (const json& m : s["targets"]) modules += (modules.empty() ? "" : ",") + m.get<std::string>();
  std::printf("%s: LoRA adapter (PEFT layout)\n  rank %lld, alpha %g (scale %g), dropout %g\n  targets %s\n"
              "  blocks %s\n  %s parameters in %zu tensors\n  base model %s\n",
              o.model_dir.c_str(), (long long)a.spec.rank, a.spec.alpha, a.spec.scale(), a.spec.dropout,
              modules.c_str(), blocks.c_str(),
              format_thousands(uint64_t(parameters)).c_str(), a.tensors.size(),
              a.base_model.empty() ? "(not recorded)" : a.base_model.c_str());
}

void run_inspect(const InspectOptions& o) {
  if (is_adapter_folder(o.model_dir)) return inspect_adapter(o);
  if (std::filesystem::is_regular_file(o.model_dir)) {
    char magic[4] = {};
    const int fd = open_input(o.model_dir);
    const bool read = ::pread(fd, magic, 4, 0) == 4;
    ::close(fd);
    LP_CHECK(read, o.model_dir, " is neither a model folder nor a GGUF file (shorter than a GGUF header)");
    LP_CHECK(std::string(magic, 4) == "GGUF", o.model_dir, " is neither a model folder nor a GGUF file");
    return inspect_gguf(o);
  }
  const ModelFolder folder = ModelFolder::open(o.model_dir);
  const Checkpoint& ck = *folder.checkpoint;
  const ModelConfig& c = folder.config;
  const Manifest* m = folder.has_manifest ? &folder.manifest : nullptr;
  json s = model_summary(c, ck, m);
  json layers = o.layers ? layer_table(c, ck, m) : json();
  if (o.json_out) {
    if (o.layers) s["layer_table"] = layers;
    std::cout << s.dump(2) << "\n";
  } else {
    print_text(s, o.layers ? &layers : nullptr, m);
  }
}

}  // namespace

void add_inspect(CLI::App& app) {
  auto o = std::make_shared<InspectOptions>();
  auto* cmd = app.add_subcommand("inspect", "Show what a Hugging Face model folder holds");
  cmd->add_option("model_dir", o->model_dir, "model folder (config.json + safetensors), or a .gguf file")->required();
  cmd->add_flag("--json", o->json_out, "print as JSON");
  cmd->add_flag("--layers", o->layers, "add a per-layer table (with origin when a manifest exists)");
  cmd->callback([o] { run_inspect(*o); });
}

}  // namespace llamapro::cli
