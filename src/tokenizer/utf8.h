// utf8.h — UTF-8 decoding, encoding and repair shared by the tokenizer components.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace llamapro::utf8 {

// Length of the UTF-8 sequence that starts with byte b (1 for continuation/invalid bytes).
inline size_t seq_len(unsigned char b) {
  if (b < 0x80) return 1;
  if (b >= 0xF0) return 4;
  if (b >= 0xE0) return 3;
  if (b >= 0xC0) return 2;
  return 1;
}

// Decodes the code point at s[i] of valid UTF-8 and advances i past it.
inline uint32_t next(std::string_view s, size_t& i) {
  unsigned char b = static_cast<unsigned char>(s[i]);
  if (b < 0x80) {
    ++i;
    return b;
  }
  size_t n = seq_len(b);
  uint32_t cp = b & (0x7F >> n);
  for (size_t k = 1; k < n && i + k < s.size(); ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  i += n;
  return cp;
}

// Code point of the last character of valid UTF-8 text (0 when empty).
uint32_t last(std::string_view s);

void append(std::string& out, uint32_t cp);

// True when s is well-formed UTF-8 (no overlongs, surrogates or values above U+10FFFF).
bool valid(std::string_view s);

// s with every ill-formed subsequence replaced by U+FFFD, one per maximal subpart — the
// rule of the Unicode standard that Rust's String::from_utf8_lossy, WHATWG TextDecoder and
// Node's Buffer.toString() all follow, so the result equals what the reference receives.
std::string repair(std::string_view s);

// Rust's char::is_whitespace (the Unicode White_Space property).
bool is_whitespace(uint32_t cp);

}  // namespace llamapro::utf8
