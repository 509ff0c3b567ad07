// data_helpers.h — small builders for data tests: files, a config-only model folder, and
// pre-tokenized corpora prepared into data folders.
#pragma once

#include <fstream>
#include <string>
#include <vector>

#include "common/fixtures.h"
#include "data/prepare.h"

namespace llamapro::testing {

inline void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// A model folder with only config.json: enough for pre-tokenized input.
inline std::filesystem::path config_only_model(const TempDir& tmp, int64_t vocab_size) {
  std::filesystem::path dir = tmp.path() / ("model-" + std::to_string(vocab_size));
  std::filesystem::create_directories(dir);
  write_text(dir / "config.json", "{\"vocab_size\": " + std::to_string(vocab_size) + "}\n");
  return dir;
}

// {"ids": [...]} per document.
inline std::string ids_jsonl(const std::vector<std::vector<int32_t>>& docs) {
  std::string s;
  for (const auto& d : docs) {
    s += "{\"ids\": [";
    for (size_t i = 0; i < d.size(); ++i) s += (i ? "," : "") + std::to_string(d[i]);
    s += "]}\n";
  }
  return s;
}

// Prepares pre-tokenized documents into tmp/name; returns the data folder.
inline std::filesystem::path prepare_ids(const TempDir& tmp, const std::string& name,
                                         const std::vector<std::vector<int32_t>>& docs, int64_t vocab = 1000,
                                         double val_fraction = 0.0, int64_t shard_tokens = int64_t{1} << 26) {
  std::filesystem::path in = tmp.path() / (name + ".jsonl");
  write_text(in, ids_jsonl(docs));
  PrepareOptions o;
  o.tokenizer_dir = config_only_model(tmp, vocab);
  o.inputs = {in.string()};
  o.output = tmp.path() / name;
  o.val_fraction = val_fraction;
  o.shard_tokens = shard_tokens;
  o.threads = 2;
  o.progress = false;
  prepare_data(o);
  return o.output;
}

// Documents 0..n-1 of `len` tokens each, token j of document d = (d * len + j) % vocab.
inline std::vector<std::vector<int32_t>> counting_docs(int n, int len, int vocab = 1000) {
  std::vector<std::vector<int32_t>> docs(n);
  for (int d = 0; d < n; ++d)
    for (int j = 0; j < len; ++j) docs[d].push_back((d * len + j) % vocab);
  return docs;
}

}  // namespace llamapro::testing
