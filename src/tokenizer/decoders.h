// decoders.h — the "decoder" of tokenizer.json: turns the token strings of ids back into text.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tokenizer/json_fields.h"

namespace llamapro {

class Decoder {
 public:
  virtual ~Decoder() = default;
  // One step of the chain: tokens in, tokens out (the reference's decode_chain).
  virtual void decode_chain(std::vector<std::string>& tokens) const = 0;
};

// Builds the decoder of a tokenizer.json "decoder" value; nullptr for null. Types supported:
// Sequence, ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace; others are refused.
std::unique_ptr<Decoder> make_decoder(const tjson& j, const std::string& where);

}  // namespace llamapro
