// added_tokens.cpp — the "added_tokens" of tokenizer.json: tokens found in the text before any
// splitting (leftmost-longest), honouring their lstrip / rstrip / single_word flags.
#include "tokenizer/added_tokens.h"

#include <utf8proc.h>

#include "tokenizer/utf8.h"

namespace llamapro {

namespace {

// Rust's char::is_alphanumeric or '_': what the reference counts as part of a word.
bool is_word_char(uint32_t c) {
  if (c < 0x80) return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(c));
  return (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) ||
         (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO);
}

}  // namespace

void TokenMatcher::build(const std::vector<const AddedToken*>& tokens) {
  nodes_.assign(1, Node{});
  tokens_ = tokens;
  for (size_t t = 0; t < tokens.size(); ++t) {
    const std::string& s = tokens[t]->content;
    if (s.empty()) continue;
    first_byte_[static_cast<unsigned char>(s[0])] = true;
    int32_t node = 0;
    for (unsigned char c : s) {
      int32_t child = -1;
      for (auto& [byte, idx] : nodes_[node].next)
        if (byte == c) child = idx;
      if (child < 0) {
        child = static_cast<int32_t>(nodes_.size());
        nodes_[node].next.push_back({c, child});
        nodes_.push_back(Node{});
      }
      node = child;
    }
    // The same content twice: the first listed wins.
    if (nodes_[node].token < 0) nodes_[node].token = static_cast<int32_t>(t);
  }
}

int32_t TokenMatcher::longest_at(std::string_view text, size_t pos, size_t& end) const {
  int32_t node = 0, found = -1;
  for (size_t i = pos; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    int32_t child = -1;
    for (const auto& [byte, idx] : nodes_[node].next)
      if (byte == c) {
        child = idx;
        break;
      }
    if (child < 0) break;
    node = child;
    if (nodes_[node].token >= 0) {
      found = nodes_[node].token;
      end = i + 1;
    }
  }
  return found;
}

void TokenMatcher::split(std::string_view text, std::vector<Segment>& out) const {
  size_t done = 0;  // text before this is already in out
  size_t pos = 0;
  while (pos < text.size()) {
    if (!first_byte_[static_cast<unsigned char>(text[pos])]) {
      ++pos;
      continue;
    }
    size_t end = 0;
    int32_t t = longest_at(text, pos, end);
    if (t < 0) {
      ++pos;
      continue;
    }
    const AddedToken& tok = *tokens_[t];
    size_t start = pos;
    size_t stop = end;
    if (tok.single_word) {
      bool alone_before = start == 0 || !is_word_char(utf8::last(text.substr(0, start)));
      size_t i = stop;
      bool alone_after = stop == text.size() || !is_word_char(utf8::next(text, i));
      if (!alone_before || !alone_after) {
        pos = end;  // the reference's match iterator has moved past this match
        continue;
      }
    }
    if (tok.lstrip) {
      while (start > done) {
        std::string_view head = text.substr(0, start);
        uint32_t c = utf8::last(head);
        if (!utf8::is_whitespace(c)) break;
        start -= c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
      }
    }
    if (tok.rstrip) {
      while (stop < text.size()) {
        size_t i = stop;
        if (!utf8::is_whitespace(utf8::next(text, i))) break;
        stop = i;
      }
    }
    if (done < start) out.push_back({static_cast<uint32_t>(done), static_cast<uint32_t>(start), -1});
    out.push_back({static_cast<uint32_t>(start), static_cast<uint32_t>(stop), tok.id});
    done = stop;
    pos = stop;
  }
  if (done < text.size()) out.push_back({static_cast<uint32_t>(done), static_cast<uint32_t>(text.size()), -1});
}

std::vector<AddedToken> parse_added_tokens(const tjson& list, const std::string& where) {
  std::vector<AddedToken> out;
  if (list.is_null()) return out;
  LP_CHECK(list.is_array(), where, ": expected a list");
  for (size_t i = 0; i < list.size(); ++i) {
    std::string at = where + "[" + std::to_string(i) + "]";
    const tjson& j = list[i];
    AddedToken t;
    t.content = json_get<std::string>(j, "content", at);
    LP_CHECK(!t.content.empty() && utf8::valid(t.content), at, ": token content must be non-empty UTF-8");
    int64_t id = json_get<int64_t>(j, "id", at);
    LP_CHECK(id >= 0 && id < (1 << 26), at, ": id ", id, " is out of range");
    t.id = static_cast<int32_t>(id);
    t.special = json_get_or<bool>(j, "special", false, at);
    t.lstrip = json_get_or<bool>(j, "lstrip", false, at);
    t.rstrip = json_get_or<bool>(j, "rstrip", false, at);
    t.single_word = json_get_or<bool>(j, "single_word", false, at);
    t.normalized = json_get_or<bool>(j, "normalized", !t.special, at);
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace llamapro
