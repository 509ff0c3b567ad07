// pre_tokenizers.h — the "pre_tokenizer" of tokenizer.json: splits normalized text into the
// words that the model encodes one by one.
#pragma once

#include <memory>
#include <string>

#include "tokenizer/pieces.h"
#include "tokenizer/json_fields.h"

namespace llamapro {

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Splits every piece of io further (using scratch as the second buffer).
  virtual void run(Pieces& io, Pieces& scratch) const = 0;
};

// Builds the pre-tokenizer of a tokenizer.json "pre_tokenizer" value; nullptr for null.
// Types supported: Sequence, Split, ByteLevel, Metaspace, WhitespaceSplit, Digits; any other
// type is refused with an error naming it.
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const tjson& j, const std::string& where);

// GPT-2's byte-to-character table: the character (UTF-8) that stands for each byte.
const std::string& byte_level_char(unsigned char b);

}  // namespace llamapro
