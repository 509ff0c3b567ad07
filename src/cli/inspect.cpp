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
    std::fputs(summary_text(s, o.layers ? &layers : nullptr, m).c_str(), stdout);
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
