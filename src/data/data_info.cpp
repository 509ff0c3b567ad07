// data_info.cpp — reading data.json (DataInfo, the split shard lists) and refusing data that
// was made for another tokenizer.
#include <cstdio>

#include "data/data_json.h"
#include "data/loader.h"
#include "data/shard.h"
#include "util/check.h"
#include "util/files.h"
#include "util/hash.h"

namespace llamapro {

json read_data_json(const std::filesystem::path& data_dir, std::string* bytes) {
  std::filesystem::path file = data_dir / kDataJson;
  LP_CHECK(std::filesystem::is_directory(data_dir), "data folder ", data_dir.string(), " does not exist");
  LP_CHECK(std::filesystem::is_regular_file(file), data_dir.string(),
           ": no data.json (not a folder written by `llamapro data prepare`)");
  const std::string text = read_file(file), where = file.string();
  json j = parse_json(text, where);
  if (bytes) *bytes = text;
  LP_CHECK(j.is_object(), where, ": expected a JSON object");
  int version = json_get<int>(j, "llamapro_data", where);
  LP_CHECK(version == kDataJsonVersion, where, ": data format version ", version, " is not supported (expected ",
           kDataJsonVersion, ")");
  return j;
}

std::vector<SplitShard> split_shards(const json& data, const std::filesystem::path& data_dir, const std::string& split) {
  std::string where = (data_dir / kDataJson).string() + ": " + split;
  const json& s = data.at(split);
  std::vector<SplitShard> out;
  const json& shards = s.at("shards");
  LP_CHECK(shards.is_array(), where, ".shards must be an array");
  for (const json& sh : shards) {
    SplitShard x;
    std::string file = json_get<std::string>(sh, "file", where);
    // A shard name is a plain file name: data.json cannot point outside its folder.
    LP_CHECK(!file.empty() && file.find('/') == std::string::npos && file != "." && file != "..", where,
             ": bad shard file name \"", file, "\"");
    x.path = data_dir / file;
    x.tokens = json_get<int64_t>(sh, "tokens", where);
    x.documents = json_get<int64_t>(sh, "documents", where);
    out.push_back(std::move(x));
  }
  return out;
}

std::string file_fingerprint(const std::filesystem::path& path) { return hex64(fnv1a(read_file(path))); }

DataInfo read_data_info(const std::filesystem::path& data_dir) {
  std::string bytes;
  json j = read_data_json(data_dir, &bytes);
  std::string where = (data_dir / kDataJson).string();
  uint64_t fingerprint = fnv1a(bytes);
  DataInfo info;
  info.dir = data_dir.string();
  info.format = json_get<std::string>(j, "format", where);
  LP_CHECK(info.format == "pretrain" || info.format == "chat", where, ": format must be \"pretrain\" or \"chat\", got \"",
           info.format, "\"");
  info.vocab_size = json_get<int64_t>(j, "vocab_size", where);
  LP_CHECK(info.vocab_size > 0, where, ": vocab_size must be positive");
  LP_CHECK(j.contains("tokenizer") && j["tokenizer"].is_object(), where, ": missing object \"tokenizer\"");
  info.tokenizer_fingerprint = json_get_or<std::string>(j["tokenizer"], "fingerprint", "", where + ": tokenizer");
  info.tokenizer_path = json_get_or<std::string>(j["tokenizer"], "path", "", where + ": tokenizer");
  info.chat_template = j.contains("template") && j["template"].is_string() ? j["template"].get<std::string>() : "";
  info.token_dtype = json_get_or<std::string>(j, "dtype", "?", where);
  info.skipped_documents = json_get_or<int64_t>(j, "skipped_documents", 0, where);
  for (const char* split : {"train", "validation"}) {
    LP_CHECK(j.contains(split) && j[split].is_object(), where, ": missing object \"", split, "\"");
    int64_t tokens = json_get<int64_t>(j[split], "tokens", where + ": " + split);
    int64_t docs = json_get<int64_t>(j[split], "documents", where + ": " + split);
    LP_CHECK(tokens >= 0 && docs >= 0, where, ": negative counts in ", split);
    (std::string(split) == "train" ? info.train_tokens : info.val_tokens) = tokens;
    (std::string(split) == "train" ? info.train_documents : info.val_documents) = docs;
    std::vector<SplitShard>& shards = std::string(split) == "train" ? info.train_shards : info.val_shards;
    shards = split_shards(j, data_dir, split);
    for (const auto& sh : shards) {
      std::error_code ec;
      const uint64_t bytes = std::filesystem::file_size(sh.path, ec);
      LP_CHECK(!ec, "data ", data_dir.string(), ": shard ", sh.path.string(), " is missing or unreadable");
      fingerprint = fnv1a(std::string_view(reinterpret_cast<const char*>(&bytes), sizeof bytes), fingerprint);
    }
  }
  info.content_fingerprint = hex64(fingerprint);
  info.sources = j.value("sources", json::array());
  LP_CHECK(info.sources.is_array(), where, ": \"sources\" must be an array");
  for (size_t i = 0; i < info.sources.size(); i++) {
    const json& source = info.sources[i];
    const std::string at = where + ": sources[" + std::to_string(i) + "]";
    LP_CHECK(source.is_object(), at, " must be an object");
    json_get<std::string>(source, "path", at);
    for (const char* count : {"documents", "tokens"})
      LP_CHECK(json_get_or<int64_t>(source, count, 0, at) >= 0, at, ": \"", count, "\" must not be negative");
  }
  return info;
}

void check_shard_header(const SplitShard& s, const ShardHeader& h, int64_t vocab_size) {
  const std::string where = s.path.string();
  LP_CHECK(h.vocab_size == vocab_size, where, ": vocab size ", h.vocab_size, " differs from data.json's ", vocab_size);
  LP_CHECK(h.tokens == s.tokens && h.documents == s.documents, where, ": holds ", h.tokens, " tokens in ", h.documents,
           " documents, data.json says ", s.tokens, " in ", s.documents);
}

void check_shards(const DataInfo& info) {
  for (const auto* shards : {&info.train_shards, &info.val_shards})
    for (const SplitShard& s : *shards) check_shard_header(s, ShardReader(s.path).header(), info.vocab_size);
}

void check_data_matches(const DataInfo& info, const std::filesystem::path& model_dir) {
  std::filesystem::path tok = model_dir / "tokenizer.json", config = model_dir / "config.json";
  if (!info.tokenizer_fingerprint.empty() && std::filesystem::is_regular_file(tok)) {
    std::string fp = file_fingerprint(tok);
    LP_CHECK(fp == info.tokenizer_fingerprint, "data ", info.dir, " was tokenized with another tokenizer (fingerprint ",
             info.tokenizer_fingerprint, ") than the model ", model_dir.string(), " uses (", fp,
             "); prepare it again with --tokenizer ", model_dir.string());
  }
  int64_t model_vocab = -1;
  if (std::filesystem::is_regular_file(config)) {
    json c = read_json_file(config);
    model_vocab = json_get<int64_t>(c, "vocab_size", config.string());
  }
  if (model_vocab > 0)
    LP_CHECK(info.vocab_size <= model_vocab, "data ", info.dir, " has token ids up to vocab size ", info.vocab_size,
             ", more than the model ", model_dir.string(), " has (vocab_size ", model_vocab, ")");
}

}  // namespace llamapro
