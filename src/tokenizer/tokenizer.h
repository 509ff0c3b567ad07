// tokenizer.h — a Hugging Face tokenizer.json (BPE, byte-level or sentencepiece-style) loaded
// once and then used read-only: encode text to ids and decode ids to text, from any thread.
//
// The pipeline is the reference's: added tokens are cut out of the raw text first, the rest
// is normalized, pre-tokenized into words, and each word is BPE-encoded; the post-processor
// adds special tokens when asked. Every component type that is not implemented is refused
// at load time with an error naming it, so a loaded tokenizer never differs silently.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace llamapro {

class Tokenizer {
 public:
  // A model folder: tokenizer.json, plus tokenizer_config.json (BOS/EOS, chat template) and
  // chat_template.jinja when present.
  static Tokenizer from_dir(const std::filesystem::path& dir);
  // A tokenizer.json alone; BOS/EOS then come from the post-processor's template.
  static Tokenizer from_file(const std::filesystem::path& tokenizer_json);

  // Ids of text; add_special adds the post-processor's special tokens (e.g. BOS). Text that
  // is not valid UTF-8 is repaired first: each ill-formed subsequence becomes U+FFFD.
  std::vector<int32_t> encode(std::string_view text, bool add_special) const;
  // Same, appending to out (reuses its capacity).
  void encode_into(std::string_view text, bool add_special, std::vector<int32_t>& out) const;

  // Text of ids; skip_special leaves out special tokens. Ids outside the vocabulary are
  // skipped, as the reference does.
  std::string decode(const std::vector<int32_t>& ids, bool skip_special) const;

  size_t vocab_size() const;  // highest id + 1, added tokens included
  int32_t bos_id() const;     // -1 when none
  int32_t eos_id() const;     // -1 when none
  int32_t token_to_id(std::string_view token) const;  // -1 when absent
  std::string id_to_token(int32_t id) const;           // "" when absent
  bool is_special(int32_t id) const;
  // 64-bit FNV-1a of the tokenizer.json bytes as 16 hex digits: shards made with another
  // tokenizer can be refused by comparing it.
  const std::string& fingerprint() const;
  const std::string& chat_template() const;  // "" when none

  struct Impl;

 private:
  explicit Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;  // immutable, shared by copies
  friend class StreamDecoder;
};

// Incremental decoding for generation: feed ids one at a time and get the text they complete.
// Text is released only once it is stable — never half a UTF-8 character, and never a prefix
// that a later token would change (e.g. a stripped leading space).
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer, bool skip_special = false);
  std::string step(int32_t id);  // the new text ("" while waiting for more ids)
  std::string flush();           // whatever is still held back (e.g. a truncated character)

 private:
  const Tokenizer& tokenizer_;
  bool skip_special_;
  std::vector<int32_t> ids_;
  std::string prefix_;
  size_t prefix_index_ = 0;
};

}  // namespace llamapro
