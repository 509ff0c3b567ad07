#include "tokenizer/replace.h"

#include <vector>

#include "util/check.h"

namespace llamapro {

ReplacePattern::ReplacePattern(const tjson& pattern, std::string content, const std::string& where)
    : content_(std::move(content)) {
  LP_CHECK(pattern.is_object(), where, ": \"pattern\" must be {\"String\": ...} or {\"Regex\": ...}");
  if (pattern.contains("String")) {
    literal_ = json_get<std::string>(pattern, "String", where + ".pattern");
    LP_CHECK(!literal_.empty(), where, ": empty Replace pattern");
  } else {
    regex_ = std::make_unique<Regex>(json_get<std::string>(pattern, "Regex", where + ".pattern"), where);
  }
}

void ReplacePattern::apply(std::string& text) const {
  thread_local std::vector<Match> matches;
  matches.clear();
  if (regex_) {
    regex_->find_all(text, matches);
  } else {
    for (size_t pos = text.find(literal_); pos != std::string::npos; pos = text.find(literal_, pos + literal_.size()))
      matches.push_back({static_cast<uint32_t>(pos), static_cast<uint32_t>(pos + literal_.size())});
  }
  if (matches.empty()) return;
  std::string out;
  out.reserve(text.size() + 16);
  size_t prev = 0;
  for (const auto& m : matches) {
    out.append(text, prev, m.begin - prev).append(content_);
    prev = m.end;
  }
  out.append(text, prev, std::string::npos);
  text.swap(out);
}

}  // namespace llamapro
