// doc_encoder.h — one document to token ids: text with BOS/EOS per the tokenizer's settings,
// pre-tokenized {"ids": [...]} verbatim, or a chat record through a template with a loss mask.
// Const and thread-safe once built: the tokenizing threads share one.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "data/chat_template.h"
#include "tokenizer/tokenizer.h"
#include "util/json.h"

namespace llamapro {

class DocumentEncoder {
 public:
  // model_dir: tokenizer.json (+ tokenizer_config.json), or only config.json when every input
  // is pre-tokenized. format "pretrain" | "chat"; template_name for chat ("auto" detects).
  DocumentEncoder(const std::filesystem::path& model_dir, const std::string& format, const std::string& field,
                  const std::string& template_name);

  bool chat() const { return chat_; }
  int64_t vocab_size() const { return vocab_size_; }
  const Tokenizer* tokenizer() const { return tokenizer_ ? &*tokenizer_ : nullptr; }
  // {"path", "fingerprint" (null without tokenizer), "bos_id", "eos_id", "add_bos"}.
  json tokenizer_json() const;
  std::optional<ChatTemplate> chat_template() const { return template_; }
  const TemplateTokens& template_tokens() const { return template_tokens_; }

  // A plain-text document: [BOS] ids EOS. Returns false (nothing appended) for empty text.
  bool encode_text(std::string_view text, const std::string& where, std::vector<int32_t>& ids) const;
  // One JSON line (text field, pre-tokenized ids, or chat record); mask is appended only for
  // chat data. Returns false for an empty document. `where` is "file:line".
  bool encode_json_line(std::string_view line, const std::string& where, std::vector<int32_t>& ids,
                        std::vector<uint8_t>& mask) const;

 private:
  void append_ids(const json& ids, const std::string& where, std::vector<int32_t>& out) const;
  void require_tokenizer(const std::string& where) const;

  std::filesystem::path model_dir_;
  bool chat_ = false;
  std::string field_;
  std::optional<Tokenizer> tokenizer_;
  int64_t vocab_size_ = 0;
  bool add_bos_ = false;
  int32_t bos_ = -1, eos_ = -1;
  std::optional<ChatTemplate> template_;
  TemplateTokens template_tokens_;
};

}  // namespace llamapro
