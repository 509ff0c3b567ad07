// bpe_model.h — the BPE "model" of tokenizer.json: vocabulary, ranked merges, and the
// encoding of one pre-tokenized word into ids (with byte fallback, unk fusing, and a cache).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/flat_table.h"
#include "tokenizer/json_fields.h"

namespace llamapro {

// Hash for string keys that also accepts string_view lookups without a copy.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using StringIdMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

class BpeModel {
 public:
  // Reads the "model" object; clear errors for a missing vocab, merges naming unknown tokens,
  // and settings that would change results silently (dropout, other model types).
  BpeModel(const tjson& model, const std::string& where);

  // Appends the ids of one word (a pre-token) to out. Thread-safe.
  void encode_word(std::string_view word, std::vector<int32_t>& out) const;

  int32_t token_to_id(std::string_view token) const;  // -1 when absent
  const std::string* id_to_token(int32_t id) const;   // nullptr when absent
  int32_t max_id() const { return static_cast<int32_t>(id_to_token_.size()) - 1; }

 private:
  struct Symbol {
    int32_t id;
    int32_t prev, next;  // neighbours in the word, -1 at the ends
    uint32_t bytes;      // bytes of the word it covers; 0 once merged away
    uint32_t first_cp, last_cp;
    bool plain;  // a single character that is its own vocabulary entry
  };
  struct MergeEntry {
    uint32_t rank;
    int32_t new_id;
  };

  void build_symbols(std::string_view word, std::vector<Symbol>& syms) const;
  void merge(Symbol* syms, size_t n, std::vector<int32_t>& out) const;
  const MergeEntry* find_merge(int32_t a, int32_t b) const;
  int32_t char_id(uint32_t cp) const;
  bool may_join(uint32_t left_cp, uint32_t right_cp) const;

  StringIdMap vocab_;
  std::vector<std::string> id_to_token_;
  std::vector<uint8_t> has_token_;

  // Merges by the id pair, (a << 32 | b) -> rank and result.
  FlatTable64<MergeEntry> merges_;

  // Ids of single-character tokens: a table for the BMP, a map above it.
  std::vector<int32_t> bmp_ids_;
  std::unordered_map<uint32_t, int32_t> astral_ids_;
  int32_t byte_ids_[256];

  // Character pairs that meet at the junction of some merge: a long word can be cut between
  // two characters that never meet, and its halves encoded (and cached) independently.
  FlatTable64<FlatSet> joins_;  // (left << 32 | right)
  bool can_cut_ = false;

  std::string unk_token_;
  int32_t unk_id_ = -1;
  std::string prefix_, suffix_;  // continuing_subword_prefix, end_of_word_suffix
  bool fuse_unk_ = false, byte_fallback_ = false, ignore_merges_ = false;
  uint64_t uid_;  // identifies this model's entries in the per-thread caches
};

}  // namespace llamapro
