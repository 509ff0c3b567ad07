// post_processor.h — the "post_processor" of tokenizer.json: the special tokens (BOS, EOS, …)
// that encode() adds around a sequence when asked to.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tokenizer/json_fields.h"

namespace llamapro {

class PostProcessor {
 public:
  // Reads a post_processor value; null gives one that adds nothing. Types supported:
  // TemplateProcessing, ByteLevel (ids unchanged), BertProcessing, RobertaProcessing, Sequence.
  PostProcessor(const tjson& j, const std::string& where);

  // The ids of a single sequence with the special tokens added.
  void apply(std::vector<int32_t>& ids) const;

  // The first special token placed before / after the sequence, or -1.
  int32_t leading_id() const { return before_.empty() ? -1 : before_.front(); }
  int32_t trailing_id() const { return after_.empty() ? -1 : after_.back(); }

 private:
  void add(const tjson& j, const std::string& where);
  std::vector<int32_t> before_, after_;  // for a single sequence
};

}  // namespace llamapro
