// generate.cpp — `llamapro generate MODEL --prompt TEXT | --prompt-ids 1,2,3`: greedy or
// sampled continuation, printed as text when the folder has a tokenizer.json, else as ids.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <optional>

#include "cli/commands.h"
#include "cli/model_options.h"
#include "model/adapter.h"
#include "infer/generate.h"
#include "model/load.h"
#include "tokenizer/tokenizer.h"
#include "util/strings.h"

namespace llamapro::cli {

namespace {

struct GenerateCliOptions {
  std::string model_dir;
  std::string prompt_ids;
  std::string prompt_text;
  ComputeOptions compute;
  std::string adapter_dir;
  int64_t max_new_tokens = 64;
  SamplerConfig sampler;
  bool ignore_eos = false;
  bool print_ids = false;
  bool stats = false;
};

void run_generate(const GenerateCliOptions& o) {
  const ModelOptions mo = o.compute.resolve();
  const ModelSource source = resolve_model_source(o.model_dir, o.adapter_dir);
  Model model = load_model_source(source, mo);

  std::optional<Tokenizer> tokenizer;
  if (std::filesystem::exists(source.model_dir / "tokenizer.json")) tokenizer.emplace(Tokenizer::from_dir(source.model_dir));

  std::vector<int64_t> prompt;
  if (!o.prompt_text.empty()) {
    LP_CHECK(tokenizer, "--prompt needs a tokenizer.json in ", source.model_dir.string(), " (or give --prompt-ids)");
    for (int32_t id : tokenizer->encode(o.prompt_text, /*add_special=*/true)) prompt.push_back(id);
    LP_CHECK(!prompt.empty(), "--prompt encodes to no tokens");
  } else if (!o.prompt_ids.empty()) {
    prompt = parse_int_list(o.prompt_ids, "--prompt-ids");
  } else {
    LP_CHECK(model.config().bos_token_id, "no --prompt-ids given and config.json has no bos_token_id to start from");
    prompt = {*model.config().bos_token_id};
  }
  GenerateOptions g;
  g.max_new_tokens = o.max_new_tokens;
  g.stop_at_eos = !o.ignore_eos;
  g.sampler = o.sampler;
  // Text streams as it becomes stable (prompt first); without a tokenizer the ids stream.
  const bool text = tokenizer && !o.print_ids;
  std::optional<StreamDecoder> stream;
  if (text) {
    stream.emplace(*tokenizer, /*skip_special=*/true);
    std::string head;
    for (int64_t id : prompt) head += stream->step(int32_t(id));
    std::printf("%s", head.c_str());
    std::fflush(stdout);
  }
  GenerateResult r = generate(model, prompt, g, [&](int64_t id) {
    if (text) {
      std::printf("%s", stream->step(int32_t(id)).c_str());
    } else if (!o.print_ids) {
      std::printf("%lld ", (long long)id);
    }
    std::fflush(stdout);
  });
  if (text) {
    std::printf("%s\n", stream->flush().c_str());
  } else if (o.print_ids) {
    std::string line;
    for (int64_t id : r.tokens) line += (line.empty() ? "" : " ") + std::to_string(id);
    std::printf("%s\n", line.c_str());
  } else {
    std::printf("\n");
  }
  if (o.stats) {
    const double n = double(r.tokens.size());
    std::fprintf(stderr, "prompt %zu tokens in %.3fs, %lld new tokens in %.3fs (%.1f tokens/s)%s\n", prompt.size(),
                 r.prefill_seconds, (long long)r.tokens.size(), r.decode_seconds,
                 r.decode_seconds > 0 ? n / r.decode_seconds : 0.0, r.stopped_at_eos ? ", stopped at EOS" : "");
  }
}

}  // namespace

void add_generate(CLI::App& app) {
  auto o = std::make_shared<GenerateCliOptions>();
  auto* cmd = app.add_subcommand("generate", "Continue a prompt (text, or token ids with --prompt-ids); greedy unless --temperature > 0");
  cmd->add_option("model_dir", o->model_dir, "model folder (config.json + safetensors), or a LoRA adapter folder")->required();
  auto* text = cmd->add_option("--prompt", o->prompt_text, "prompt text (needs tokenizer.json; BOS added as the tokenizer says)")
                   ->check(non_empty("prompt"));
  cmd->add_option("--prompt-ids", o->prompt_ids, "comma-separated token ids (default: the BOS token)")->excludes(text)
      ->check(non_empty("list of token ids"));
  cmd->add_option("--max-new-tokens", o->max_new_tokens, "tokens to generate at most")->capture_default_str()
      ->check(count(0, 1 << 24));
  add_sampling_options(*cmd, o->sampler);
  add_adapter_option(*cmd, o->adapter_dir);
  cmd->add_flag("--ignore-eos", o->ignore_eos, "keep going after the end-of-sequence token");
  cmd->add_flag("--print-ids", o->print_ids, "print the generated ids on one line at the end");
  cmd->add_flag("--stats", o->stats, "print timing to stderr");
  add_compute_options(*cmd, o->compute);
  cmd->callback([o] { run_generate(*o); });
}

}  // namespace llamapro::cli
