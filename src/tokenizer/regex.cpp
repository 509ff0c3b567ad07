// regex.cpp — the regular expressions of tokenizer.json, run with PCRE2 (UTF + UCP + JIT).
#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/regex.h"

#include <pcre2.h>

#include "tokenizer/utf8.h"
#include "util/check.h"

namespace llamapro {

namespace {

// Match data and a JIT stack per thread: const matching stays thread-safe without locks.
struct MatchScratch {
  pcre2_match_data* data = nullptr;
  pcre2_match_context* context = nullptr;
  pcre2_jit_stack* stack = nullptr;
  MatchScratch() {
    data = pcre2_match_data_create(1, nullptr);
    context = pcre2_match_context_create(nullptr);
    // Long runs (e.g. megabytes of spaces under \s+(?!\S)) need more than the default 32 KiB.
    stack = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, nullptr);
    pcre2_jit_stack_assign(context, nullptr, stack);
  }
  ~MatchScratch() {
    pcre2_jit_stack_free(stack);
    pcre2_match_context_free(context);
    pcre2_match_data_free(data);
  }
};

MatchScratch& scratch() {
  thread_local MatchScratch s;
  return s;
}

// Oniguruma's \s (the reference's regex engine) is exactly Rust's char::is_whitespace set;
// PCRE2's UCP \s differs at the edges (U+180E), so it is spelled out.
constexpr std::string_view kSpaceMembers =
    "\\t\\n\\x{0B}\\f\\r\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}"
    "\\x{205F}\\x{3000}";

// The reference's Oniguruma knows a newer Unicode than this PCRE2: per general category, the
// code points it has in addition (generated; see bench/tokenizer/unicode/).
struct Addition {
  std::string_view category, members;
};
constexpr Addition kAdditions[] = {
#include "tokenizer/unicode_additions.inc"
};

// "\p{X}" with the newer code points, as class members (to go inside [...]).
std::string category_members(std::string_view category) {
  std::string out = "\\p{" + std::string(category) + "}";
  for (const auto& a : kAdditions)
    if (a.category == category) out.append(a.members);
  return out;
}

// Oniguruma's Unicode \w: letters, marks, decimal digits, connector punctuation.
std::string word_members() {
  return category_members("L") + category_members("M") + category_members("Nd") + category_members("Pc");
}

// Rewrites Oniguruma syntax into PCRE2 syntax with the same meaning: \s, \w, \d and \p{X}
// become explicit classes (spliced in when already inside a class).
std::string translate(std::string_view p) {
  std::string out;
  out.reserve(p.size() + 64);
  bool in_class = false;
  auto emit = [&](const std::string& members, bool negated, char escape) {
    if (in_class) {
      LP_CHECK(!negated, "\\", escape, " inside a character class is not supported");
      out.append(members);
    } else {
      out.append(negated ? "[^" : "[").append(members).append("]");
    }
  };
  for (size_t i = 0; i < p.size(); ++i) {
    char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      char n = p[i + 1];
      if (n == 's' || n == 'S') {
        emit(std::string(kSpaceMembers), n == 'S', n);
      } else if (n == 'w' || n == 'W') {
        emit(word_members(), n == 'W', n);
      } else if (n == 'd' || n == 'D') {
        emit(category_members("Nd"), n == 'D', n);
      } else if ((n == 'p' || n == 'P') && i + 2 < p.size() && p[i + 2] == '{' &&
                 p.find('}', i + 3) != std::string_view::npos) {
        size_t close = p.find('}', i + 3);
        std::string_view name = p.substr(i + 3, close - i - 3);
        bool known = false;
        for (const auto& a : kAdditions) known = known || a.category == name;
        if (known && !(in_class && n == 'P')) emit(category_members(name), n == 'P', n);
        else out.append(p.substr(i, close + 1 - i));  // scripts, long names: as PCRE2 has them
        i = close;
        continue;
      } else {
        out.push_back(c);
        out.push_back(n);
      }
      ++i;
      continue;
    }
    if (!in_class && c == '[') {
      in_class = true;
      out.push_back(c);
      // A ']' right after '[' or '[^' is a literal member.
      if (i + 1 < p.size() && p[i + 1] == '^') out.push_back(p[++i]);
      if (i + 1 < p.size() && p[i + 1] == ']') out.push_back(p[++i]);
      continue;
    }
    if (in_class && c == '[' && i + 1 < p.size() && p[i + 1] == ':') {
      // POSIX class [:alpha:] inside a class: copy through its closing ":]".
      size_t close = p.find(":]", i + 2);
      if (close != std::string_view::npos) {
        out.append(p.substr(i, close + 2 - i));
        i = close + 1;
        continue;
      }
    }
    if (in_class && c == ']') in_class = false;
    out.push_back(c);
  }
  return out;
}

}  // namespace

Regex::Regex(std::string_view pattern, const std::string& where) : pattern_(pattern) {
  std::string translated = translate(pattern);
  int err = 0;
  PCRE2_SIZE offset = 0;
  auto* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated.data()), translated.size(),
                             PCRE2_UTF | PCRE2_UCP, &err, &offset, nullptr);
  if (!code) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof msg);
    LP_FAIL(where, ": invalid regex \"", pattern, "\": ", reinterpret_cast<const char*>(msg));
  }
  // JIT is an optimisation: the interpreter gives the same matches where JIT is unavailable.
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
  code_ = code;
}

Regex::~Regex() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

void Regex::find_all(std::string_view text, std::vector<Match>& out) const {
  auto* code = static_cast<pcre2_code*>(code_);
  MatchScratch& s = scratch();
  auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t start = 0;
  size_t last_end = SIZE_MAX;
  while (start <= text.size()) {
    // NO_UTF_CHECK: the text was validated once; checking per call would be quadratic.
    int rc = pcre2_match(code, subject, text.size(), start, PCRE2_NO_UTF_CHECK, s.data, s.context);
    if (rc == PCRE2_ERROR_NOMATCH) return;
    if (rc < 0) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(rc, msg, sizeof msg);
      LP_FAIL("regex \"", pattern_, "\" failed: ", reinterpret_cast<const char*>(msg));
    }
    PCRE2_SIZE* ov = pcre2_get_ovector_pointer(s.data);
    size_t b = ov[0], e = ov[1];
    if (b == e && last_end == e) {
      if (start >= text.size()) return;
      start += utf8::seq_len(static_cast<unsigned char>(text[start]));
      continue;
    }
    out.push_back({static_cast<uint32_t>(b), static_cast<uint32_t>(e)});
    start = e;
    last_end = e;
  }
}

std::string regex_escape(std::string_view literal) {
  std::string out;
  for (char c : literal) {
    if (std::string_view("\\^$.|?*+()[]{}-/#").find(c) != std::string_view::npos) out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

}  // namespace llamapro
