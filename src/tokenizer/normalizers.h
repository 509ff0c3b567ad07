// normalizers.h — the "normalizer" of tokenizer.json: text rewrites applied before splitting.
#pragma once

#include <memory>
#include <string>

#include "tokenizer/json_fields.h"

namespace llamapro {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void normalize(std::string& text) const = 0;  // in place
};

// Builds the normalizer of a tokenizer.json "normalizer" value; nullptr for null. Types
// supported: Sequence, NFC, NFD, NFKC, NFKD, Lowercase, Strip, StripAccents, Replace, Prepend.
// Any other type is refused with an error naming it.
std::unique_ptr<Normalizer> make_normalizer(const tjson& j, const std::string& where);

}  // namespace llamapro
