// data_json.h — the data.json file of a data folder: its name, version, and the shard lists
// of its splits (what the loader and `data inspect` need beyond DataInfo).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "util/json.h"

namespace llamapro {

inline constexpr const char* kDataJson = "data.json";
inline constexpr int kDataJsonVersion = 1;

// data.json of a folder, with its version checked; `bytes`, when given, receives the file as read.
json read_data_json(const std::filesystem::path& data_dir, std::string* bytes = nullptr);

struct SplitShard {
  std::filesystem::path path;
  int64_t tokens = 0, documents = 0;
};

// The shards of "train" or "validation", in order; empty when the split is empty.
std::vector<SplitShard> split_shards(const json& data, const std::filesystem::path& data_dir, const std::string& split);

// 64-bit FNV-1a of a file as 16 hex digits: equal to Tokenizer::fingerprint() of that file.
std::string file_fingerprint(const std::filesystem::path& path);

}  // namespace llamapro
