// loader.h — the trainer's view of a prepared data folder: data.json, and batches of packed
// fixed-length sequences read from memory-mapped token shards, with exact resumption.
//
// Packing turns the documents of a split into rows of exactly seq_len tokens:
// - concat: the documents concatenated in order and cut every seq_len tokens (the last partial
//   row dropped); a row may start mid-document and documents see each other.
// - doc: whole documents placed into rows (best fit, longest first) and padded; each token sees
//   only its own document and positions restart at every document, so a row computes exactly
//   what its documents would alone.
// - none: one document per row, padded.
// In doc and none, a document longer than seq_len is cut: chat examples keep their first
// seq_len tokens (as a cutoff length does), pretraining text is split into seq_len pieces.
// Each epoch visits the rows in a seeded permutation (or in order), and rank r of world_size
// takes the rows at positions r, r + world_size, ... of that order, equally many on every rank.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "data/data_json.h"
#include "util/json.h"

namespace llamapro {

// What data.json says about a data folder.
struct DataInfo {
  std::string dir;
  std::string format;                 // "pretrain" | "chat"
  std::string chat_template;          // chat data: the template's name
  std::string token_dtype;            // "uint16" | "uint32"
  std::string tokenizer_fingerprint;  // "" when prepared without a tokenizer (pre-tokenized input)
  std::string tokenizer_path;         // the folder it was prepared with
  int64_t vocab_size = 0;
  int64_t train_tokens = 0, val_tokens = 0;
  int64_t train_documents = 0, val_documents = 0, skipped_documents = 0;
  std::vector<SplitShard> train_shards, val_shards;
  json sources;  // [{"path", "bytes", "documents", "tokens"}]
  // FNV-1a of data.json and every shard's size: a corpus prepared again with other contents at
  // the same path gets another fingerprint, so a training run cannot resume on it.
  std::string content_fingerprint;
};

// Parses DATA_DIR/data.json; clear error when absent or malformed.
DataInfo read_data_info(const std::filesystem::path& data_dir);

// Opens every shard of both splits and refuses one that is truncated or disagrees with
// data.json (the loader does the same for the split it reads).
void check_shards(const DataInfo& info);
struct ShardHeader;
void check_shard_header(const SplitShard& shard, const ShardHeader& header, int64_t vocab_size);

// Refuses data made for another model: the tokenizer fingerprints must agree when both
// exist (model_dir/tokenizer.json), and the data's vocab must fit the model's vocab_size.
void check_data_matches(const DataInfo& info, const std::filesystem::path& model_dir);

enum class Packing { Concat, Doc, None };
Packing parse_packing(const std::string& name);  // "concat" | "doc" | "none"
const char* packing_name(Packing p);
// doc for chat data (examples must not see each other), concat for pretraining text.
Packing default_packing(const DataInfo& info);

struct LoaderOptions {
  int64_t batch_size = 1;  // B: sequences per batch (per rank)
  int64_t seq_len = 2048;  // T: tokens per sequence
  bool shuffle = true;     // false: sequences 0, 1, 2, ... in order
  uint64_t seed = 0;       // permutation of epoch e is seeded by (seed, e)
  int rank = 0, world_size = 1;
  bool validation = false;  // read the validation split, always in order
  std::optional<Packing> packing;  // unset: default_packing() of the data
  bool require_batch = true;       // false: a split too small for one batch is no error (evaluation)
};

struct Batch {
  int64_t batch = 0, seq_len = 0;  // B, T
  std::vector<int32_t> ids;        // (B, T) row-major
  std::vector<uint8_t> loss_mask;  // (B, T), 1 = this token is a prediction target; all 1 for pretrain data
  // doc and none packing only (empty for concat): each token's position within its document
  // and the row-local index of its document, -1 on padding (padding is never a target).
  std::vector<int32_t> positions, segments;  // (B, T)
};

// Where next() continues: the epoch and the number of this rank's sequences already taken in it,
// and how many ranks were taking them (0: not recorded).
struct LoaderState {
  int64_t epoch = 0, position = 0;
  int world_size = 0;
  json to_json() const;
  static LoaderState from_json(const json& j);
};

class TokenStream;  // the split's shards as one token sequence (loader.cpp)

// Where a packed row's documents lie in the split's token sequence.
struct DocumentSpan {
  int64_t begin = 0, length = 0;
};

class BatchLoader {
 public:
  BatchLoader(const std::filesystem::path& data_dir, const LoaderOptions& o);
  ~BatchLoader();
  BatchLoader(BatchLoader&&) noexcept;
  BatchLoader& operator=(BatchLoader&&) noexcept;

  Batch next();                      // wraps to the next epoch (reshuffled) at the end
  LoaderState state() const;         // where next() continues
  // Exact resumption: the same batches as an uninterrupted run. A state saved by another number
  // of ranks continues after every sequence those ranks had taken (up to a whole step more).
  void restore(const LoaderState&);
  int64_t sequences_per_epoch() const;  // for this rank
  int64_t epoch() const;
  Packing packing() const { return packing_; }
  // doc and none packing: the share of row tokens that hold a document (the rest is padding),
  // and how many documents were longer than a row.
  double fill() const;
  int64_t cut_documents() const { return cut_documents_; }

 private:
  void start_epoch(int64_t epoch);
  int64_t global_sequence(int64_t position) const;  // this rank's position -> sequence index
  void plan_rows(bool truncate_long);                 // doc and none packing
  void read_row(int64_t row, int64_t slot, Batch& b) const;

  LoaderOptions o_;
  std::unique_ptr<TokenStream> stream_;
  Packing packing_ = Packing::Concat;
  std::vector<DocumentSpan> spans_;   // doc/none: the documents of every row, row after row
  std::vector<int64_t> row_starts_;   // doc/none: row i holds spans_[row_starts_[i] .. row_starts_[i + 1])
  int64_t cut_documents_ = 0;
  int64_t sequences_ = 0;           // whole sequences (rows) in the split
  int64_t per_rank_ = 0;            // sequences each rank takes per epoch
  int64_t epoch_ = 0, position_ = 0;
  std::vector<int64_t> order_;      // this epoch's permutation of sequence indices (empty: in order)
};

}  // namespace llamapro
