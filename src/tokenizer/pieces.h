// pieces.h — the pieces of text that flow from the normalizer through the pre-tokenizers to
// the model: byte ranges of one buffer, so splitting allocates nothing per piece.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace llamapro {

struct Piece {
  uint32_t begin, end;  // bytes of Pieces::text
  bool at_origin;       // starts at offset 0 of the input (Metaspace's "first" scheme asks)
};

struct Pieces {
  std::string text;
  std::vector<Piece> list;

  void clear() {
    text.clear();
    list.clear();
  }
  std::string_view view(const Piece& p) const { return {text.data() + p.begin, p.end - p.begin}; }
  // Appends a piece; empty ones are dropped, as the reference drops empty splits.
  void add(std::string_view s, bool at_origin) {
    if (s.empty()) return;
    uint32_t b = static_cast<uint32_t>(text.size());
    text.append(s);
    list.push_back({b, static_cast<uint32_t>(text.size()), at_origin});
  }
  // Starts a piece that the caller fills by appending to text; finish with close().
  uint32_t open() const { return static_cast<uint32_t>(text.size()); }
  void close(uint32_t begin, bool at_origin) {
    if (text.size() > begin) list.push_back({begin, static_cast<uint32_t>(text.size()), at_origin});
  }
};

}  // namespace llamapro
