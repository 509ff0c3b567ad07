// tokenize.cpp — `llamapro tokenize MODEL_DIR [--text T | --file F]`: the tokens of a text
// under a model folder's tokenizer.json, as ids, token strings, or just their count.
#include <CLI/CLI.hpp>

#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "tokenizer/tokenizer.h"
#include "util/files.h"

namespace llamapro::cli {

namespace {

struct TokenizeOptions {
  std::string model_dir;
  std::string text, file;
  bool ids_only = false;
  bool count = false;
  bool special = false;
};

void run_tokenize(const TokenizeOptions& o, bool have_text, bool have_file) {
  Tokenizer tok = Tokenizer::from_dir(o.model_dir);
  std::string text;
  if (have_text) text = o.text;
  else if (have_file) text = read_file(o.file);
  else text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());

  std::vector<int32_t> ids = tok.encode(text, o.special);
  if (o.count) {
    std::cout << ids.size() << "\n";
    return;
  }
  if (o.ids_only) {
    std::string line;
    for (size_t i = 0; i < ids.size(); ++i) line.append(i ? " " : "").append(std::to_string(ids[i]));
    std::cout << line << "\n";
    return;
  }
  // One token per line: id, then the vocabulary string quoted so that spaces show.
  for (int32_t id : ids)
    std::cout << id << "\t"
              << nlohmann::json(tok.id_to_token(id)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
              << "\n";
}

}  // namespace

void add_tokenize(CLI::App& app) {
  auto o = std::make_shared<TokenizeOptions>();
  auto* cmd = app.add_subcommand("tokenize", "Encode text with a model folder's tokenizer.json");
  cmd->add_option("model_dir", o->model_dir, "model folder (tokenizer.json, tokenizer_config.json)")->required();
  auto* text = cmd->add_option("--text", o->text, "the text to encode");
  auto* file = cmd->add_option("--file", o->file, "a file whose contents to encode (default: standard input)");
  text->excludes(file);
  cmd->add_flag("--ids", o->ids_only, "print only the ids, on one line");
  cmd->add_flag("--count", o->count, "print only the number of tokens");
  cmd->add_flag("--special", o->special, "add the special tokens of the post-processor (e.g. BOS)");
  cmd->callback([o, text, file] { run_tokenize(*o, text->count() > 0, file->count() > 0); });
}

}  // namespace llamapro::cli
