// replace.h — the "Replace" step that normalizers and decoders share: every occurrence of a
// literal string or of a regex ({"String": ...} or {"Regex": ...}) becomes `content`.
#pragma once

#include <memory>
#include <string>

#include "tokenizer/json_fields.h"
#include "tokenizer/regex.h"

namespace llamapro {

class ReplacePattern {
 public:
  ReplacePattern(const tjson& pattern, std::string content, const std::string& where);
  void apply(std::string& text) const;  // in place; leftmost non-overlapping matches

 private:
  std::string literal_, content_;
  std::unique_ptr<Regex> regex_;  // set for {"Regex": ...}
};

}  // namespace llamapro
