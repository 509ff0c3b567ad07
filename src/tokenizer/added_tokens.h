// added_tokens.h — the "added_tokens" of tokenizer.json: tokens found in the text before any
// splitting (leftmost-longest), honouring their lstrip / rstrip / single_word flags.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/json_fields.h"

namespace llamapro {

struct AddedToken {
  std::string content;
  int32_t id = -1;
  bool special = false;
  bool lstrip = false, rstrip = false;  // also swallow the whitespace before / after it
  bool normalized = false;              // matched in the normalized text instead of the raw text
  bool single_word = false;             // only where it is not part of a longer word
};

// One span of text: an added token (id >= 0) or text still to encode (id == -1).
struct Segment {
  uint32_t begin, end;
  int32_t id;
};

// Finds the tokens of a set in text, leftmost first and longest at a position (as the
// reference's Aho-Corasick automaton in LeftmostLongest mode).
class TokenMatcher {
 public:
  void build(const std::vector<const AddedToken*>& tokens);
  bool empty() const { return tokens_.empty(); }
  // Splits text into segments; token ids where tokens were found.
  void split(std::string_view text, std::vector<Segment>& out) const;

 private:
  struct Node {
    std::vector<std::pair<unsigned char, int32_t>> next;
    int32_t token = -1;  // index into tokens_ of the token ending here
  };
  // Longest token starting at pos, or -1.
  int32_t longest_at(std::string_view text, size_t pos, size_t& end) const;

  std::vector<Node> nodes_;
  std::vector<const AddedToken*> tokens_;
  bool first_byte_[256] = {};
};

// Parses the "added_tokens" list.
std::vector<AddedToken> parse_added_tokens(const tjson& list, const std::string& where);

}  // namespace llamapro
