// data.cpp — `llamapro data prepare` (corpus -> token shards) and `llamapro data inspect`.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/options.h"
#include "data/loader.h"
#include "data/prepare.h"
#include "data/shard.h"
#include "tokenizer/tokenizer.h"
#include "util/check.h"
#include "util/strings.h"

namespace llamapro::cli {

namespace {

namespace fs = std::filesystem;

struct InspectOptions {
  std::string data_dir;
  int64_t sample_tokens = 200;
};

// The tokenizer the data was made with, when its folder is still there and unchanged.
std::optional<Tokenizer> data_tokenizer(const DataInfo& info) {
  if (info.tokenizer_path.empty() || info.tokenizer_fingerprint.empty()) return std::nullopt;
  const fs::path dir = info.tokenizer_path;
  if (!fs::is_regular_file(dir / "tokenizer.json")) return std::nullopt;
  try {
    Tokenizer tok = Tokenizer::from_dir(dir);
    if (tok.fingerprint() == info.tokenizer_fingerprint) return tok;
  } catch (const Error&) {
  }
  return std::nullopt;
}

std::string show_ids(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t id : ids) s += (s.empty() ? "" : " ") + std::to_string(id);
  return s;
}

// The first tokens of the first document; for chat data the loss targets between [[ ]].
void print_sample(const DataInfo& info, int64_t max_tokens) {
  for (const auto* shards : {&info.train_shards, &info.val_shards}) {
    if (shards->empty()) continue;
    const char* split = shards == &info.train_shards ? "train" : "validation";
    ShardReader r((*shards)[0].path);
    int64_t n = std::min(r.document_offset(1), max_tokens);
    std::vector<int32_t> ids(static_cast<size_t>(n));
    std::vector<uint8_t> mask(ids.size());
    r.copy_tokens(0, n, ids.data());
    r.copy_mask(0, n, mask.data());
    std::optional<Tokenizer> tok = data_tokenizer(info);
    bool chat = info.format == "chat";
    std::printf("\nsample (%s, document 0, first %lld of %lld tokens%s%s):\n", split, (long long)n,
                (long long)r.document_offset(1), tok ? ", decoded" : ", ids: the tokenizer folder is gone or changed",
                chat ? "; [[...]] = loss targets, the rest is masked" : "");
    std::string out;
    for (size_t b = 0; b < ids.size();) {
      size_t e = b;
      while (e < ids.size() && (!chat || mask[e] == mask[b])) ++e;
      std::vector<int32_t> run(ids.begin() + b, ids.begin() + e);
      std::string text = tok ? tok->decode(run, false) : show_ids(run);
      if (chat && mask[b]) text = "[[" + text + "]]";
      out += (!tok && !out.empty() ? " " : "") + text;
      b = e;
    }
    std::printf("%s\n", out.c_str());
    return;
  }
}

void run_inspect(const InspectOptions& o) {
  const DataInfo info = read_data_info(o.data_dir);
  check_shards(info);
  auto line = [](const char* key, const std::string& value) { std::printf("%-12s %s\n", key, value.c_str()); };
  line("data", o.data_dir);
  line("format", info.format + (info.chat_template.empty() ? "" : " (template " + info.chat_template + ")"));
  line("vocab", std::to_string(info.vocab_size) + ", tokens stored as " + info.token_dtype);
  line("tokenizer", info.tokenizer_fingerprint.empty() ? "none (pre-tokenized input)"
                                                       : info.tokenizer_fingerprint + " " + info.tokenizer_path);
  line("documents", format_thousands(uint64_t(info.train_documents + info.val_documents)) +
                        (info.skipped_documents ? " (" + std::to_string(info.skipped_documents) + " empty skipped)" : ""));
  line("tokens", format_thousands(uint64_t(info.train_tokens + info.val_tokens)));
  line("train", format_thousands(uint64_t(info.train_tokens)) + " tokens, " + format_thousands(uint64_t(info.train_documents)) +
                    " documents, " + std::to_string(info.train_shards.size()) + " shard(s)");
  line("validation", format_thousands(uint64_t(info.val_tokens)) + " tokens, " + format_thousands(uint64_t(info.val_documents)) +
                         " documents, " + std::to_string(info.val_shards.size()) + " shard(s)");
  std::printf("sources:\n");
  for (const json& s : info.sources)
    std::printf("  %s  %s documents, %s tokens\n", s.value("path", std::string("?")).c_str(),
                format_thousands(s.value("documents", uint64_t{0})).c_str(), format_thousands(s.value("tokens", uint64_t{0})).c_str());
  print_sample(info, o.sample_tokens);
}

}  // namespace

void add_data(CLI::App& app) {
  auto* cmd = app.add_subcommand("data", "Prepare a corpus as token shards, and inspect prepared data");
  cmd->require_subcommand(1);

  auto p = std::make_shared<PrepareOptions>();
  auto* prep = cmd->add_subcommand("prepare", "Tokenize text / JSON Lines / pre-tokenized / chat files into token shards");
  prep->add_option("--tokenizer", p->tokenizer_dir, "model folder with tokenizer.json (or config.json for pre-tokenized input)")->required();
  prep->add_option("--input", p->inputs, "input files, directories or globs (.txt, .jsonl, .gz, ...)")->required()->expected(1, -1);
  prep->add_option("-o,--output", p->output, "data folder to create")->required()->check(non_empty_path());
  prep->add_option("--format", p->format, "pretrain | chat")->check(CLI::IsMember({"pretrain", "chat"}))->capture_default_str();
  prep->add_option("--field", p->field, "JSON Lines key holding the text")->capture_default_str();
  prep->add_flag("--split-lines", p->split_lines, "plain text: one document per line (default: one per file)");
  prep->add_option("--template", p->chat_template, "chat template: llama3|llama2|mistral|chatml|alpaca|auto")->capture_default_str();
  prep->add_option("--val-fraction", p->val_fraction, "share of documents held out for validation")->capture_default_str()
      ->check(in(incl(0), excl(1)));
  prep->add_option("--seed", p->seed, "seed of the validation choice")->capture_default_str()->check(seed_value());
  prep->add_option("--threads", p->threads, "tokenizing threads (0 = all cores)")->capture_default_str()->check(count(0, 1024));
  prep->add_option("--shard-tokens", p->shard_tokens, "tokens per shard")->capture_default_str()->check(count(1, 1e15));
  prep->add_flag("--force", p->force, "replace an existing output folder");
  prep->add_flag("!--no-progress", p->progress, "no progress bar");
  prep->callback([p] {
    json data = prepare_data(*p);
    std::printf("wrote %s: %s documents, %s tokens (train %s, validation %s), %s\n", p->output.string().c_str(),
                format_thousands(data["documents"].get<uint64_t>()).c_str(), format_thousands(data["tokens"].get<uint64_t>()).c_str(),
                format_thousands(data["train"]["tokens"].get<uint64_t>()).c_str(),
                format_thousands(data["validation"]["tokens"].get<uint64_t>()).c_str(), data["dtype"].get<std::string>().c_str());
  });

  auto i = std::make_shared<InspectOptions>();
  auto* insp = cmd->add_subcommand("inspect", "Show counts, sources, splits and a decoded sample of a data folder");
  insp->add_option("data_dir", i->data_dir, "data folder written by data prepare")->required();
  insp->add_option("--sample-tokens", i->sample_tokens, "tokens of the sample to show")->capture_default_str()
      ->check(count(0, 1 << 24));
  insp->callback([i] { run_inspect(*i); });
}

}  // namespace llamapro::cli
