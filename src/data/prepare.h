// prepare.h — `llamapro data prepare`: a corpus (text, JSON Lines, pre-tokenized ids, chat
// records; plain or .gz) tokenized by several threads into token shards and data.json.
//
// Deterministic: documents keep the order of the (expanded, sorted) inputs whatever the
// thread count, and nothing time-dependent is written, so a rerun gives identical bytes.
// Memory stays bounded: documents stream through a fixed number of in-flight batches and
// shards are written once they hold --shard-tokens tokens.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "util/json.h"

namespace llamapro {

struct PrepareOptions {
  std::filesystem::path tokenizer_dir;  // model folder: tokenizer.json (+ tokenizer_config.json) or config.json only
  std::vector<std::string> inputs;      // files, directories, globs
  std::filesystem::path output;         // the data folder to create
  std::string format = "pretrain";      // "pretrain" | "chat"
  std::string field = "text";           // JSON Lines key holding a document's text
  bool split_lines = false;             // plain text: one document per line instead of per file
  std::string chat_template = "auto";   // chat: llama3|llama2|mistral|chatml|alpaca|auto
  double val_fraction = 0.0;            // share of documents held out for validation
  uint64_t seed = 0;                    // picks the validation documents
  int threads = 0;                      // tokenizing threads; 0 = all cores
  int64_t shard_tokens = int64_t{1} << 26;  // tokens per shard before starting the next (64 Mi)
  bool force = false;                   // replace an existing output folder
  bool progress = true;                 // progress bar on stderr
};

// Runs the whole preparation and returns the data.json it wrote.
json prepare_data(const PrepareOptions& o);

// True when document `index` belongs to the validation split (a seeded hash of the index,
// so the choice does not depend on threads or on other documents).
bool is_validation_document(uint64_t index, double fraction, uint64_t seed);

}  // namespace llamapro
