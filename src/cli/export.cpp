// export.cpp — `llamapro export gguf MODEL -o FILE.gguf`: the model for llama.cpp and the tools
// built on it (Ollama, LM Studio, node-llama-cpp).
#include <CLI/CLI.hpp>

#include <cstdio>

#include "cli/commands.h"
#include "cli/options.h"
#include "export/gguf_export.h"
#include "model/model_folder.h"
#include "util/strings.h"

namespace llamapro::cli {

namespace {

struct ExportOptions {
  std::string model_dir, out_file, type = "f16";
  bool force = false, progress = true;
};

void run_export_gguf(const ExportOptions& o) {
  GgufExportOptions e;
  e.type = parse_gguf_type(o.type);
  e.force = o.force;
  e.progress = o.progress;
  check_output({o.out_file, OutputKind::File, {o.model_dir}, o.force, "-o"});  // before any work
  const ModelFolder in = ModelFolder::open(o.model_dir);
  GgufExportResult r = export_gguf(in, o.out_file, e);
  for (const auto& note : r.notes) std::fprintf(stderr, "note: %s\n", note.c_str());
  std::printf("wrote %s: %zu tensors, %s (%s weights), %.1f s\n", o.out_file.c_str(), r.tensors,
              format_bytes(r.bytes).c_str(), o.type.c_str(), r.seconds);
}

}  // namespace

void add_export(CLI::App& app) {
  auto* cmd = app.add_subcommand("export", "Export a model to other runtimes' formats");
  cmd->require_subcommand(1);
  auto o = std::make_shared<ExportOptions>();
  auto* gguf = cmd->add_subcommand("gguf", "One GGUF file for llama.cpp (llama, mistral, qwen2)");
  gguf->add_option("model_dir", o->model_dir, "model folder (never modified)")->required();
  gguf->add_option("-o,--output", o->out_file, "the .gguf file to write")->required()->check(non_empty_path());
  gguf->add_option("--type", o->type, "weight matrices as f32, f16, bf16 or q8_0 (norms and biases stay f32)")
      ->capture_default_str()->check(CLI::IsMember({"f32", "f16", "bf16", "q8_0"}));
  gguf->add_flag("--force", o->force, "replace an existing file (never an input)");
  gguf->add_flag("!--no-progress", o->progress, "no progress bar");
  gguf->callback([o] { run_export_gguf(*o); });
}

}  // namespace llamapro::cli
