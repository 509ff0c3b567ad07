// regex.h — the regular expressions of tokenizer.json (Oniguruma syntax in the reference),
// run with PCRE2 (UTF + UCP + JIT).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace llamapro {

struct Match {
  uint32_t begin, end;  // byte offsets
};

class Regex {
 public:
  // Compiles pattern; clear error naming `where` and the PCRE2 message when it is invalid.
  Regex(std::string_view pattern, const std::string& where);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Every match in text (valid UTF-8), scanning left to right as the reference's find_iter
  // does: an empty match right where the previous match ended is skipped by one character.
  void find_all(std::string_view text, std::vector<Match>& out) const;

  const std::string& pattern() const { return pattern_; }

 private:
  std::string pattern_;
  void* code_ = nullptr;  // pcre2_code_8
};

// A literal string as a pattern (Split's {"String": ...} form).
std::string regex_escape(std::string_view literal);

}  // namespace llamapro
