// pre_tokenizers.cpp — the "pre_tokenizer" of tokenizer.json: splits normalized text into the
// words that the model encodes one by one.
#include "tokenizer/pre_tokenizers.h"

#include <utf8proc.h>

#include <algorithm>
#include <array>
#include <vector>

#include "tokenizer/regex.h"
#include "tokenizer/utf8.h"

namespace llamapro {

namespace {

// ---------------------------------------------------------------------------------------------
// Splitting a piece by its matches, with the reference's five delimiter behaviours.

enum class Behavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

Behavior parse_behavior(const std::string& s, const std::string& where) {
  if (s == "Removed") return Behavior::Removed;
  if (s == "Isolated") return Behavior::Isolated;
  if (s == "MergedWithPrevious") return Behavior::MergedWithPrevious;
  if (s == "MergedWithNext") return Behavior::MergedWithNext;
  if (s == "Contiguous") return Behavior::Contiguous;
  LP_FAIL(where, ": unknown split behavior \"", s, "\"");
}

struct Span {
  uint32_t begin, end;
  bool match;
};

// The whole piece as alternating non-match / match spans, from the matches.
void to_spans(const std::vector<Match>& matches, uint32_t size, bool invert, std::vector<Span>& spans) {
  spans.clear();
  uint32_t prev = 0;
  for (const auto& m : matches) {
    if (prev != m.begin) spans.push_back({prev, m.begin, invert});
    spans.push_back({m.begin, m.end, !invert});
    prev = m.end;
  }
  if (prev != size) spans.push_back({prev, size, invert});
}

// Applies the behaviour to spans in place (the reference's fold over (offsets, is_match)).
void apply_behavior(Behavior b, std::vector<Span>& spans) {
  std::vector<Span> out;
  out.reserve(spans.size());
  bool prev_match = false;
  switch (b) {
    case Behavior::Isolated:
      return;
    case Behavior::Removed:
      for (const auto& s : spans)
        if (!s.match) out.push_back(s);
      break;
    case Behavior::MergedWithPrevious:
      for (const auto& s : spans) {
        if (s.match && !prev_match && !out.empty()) out.back().end = s.end;
        else out.push_back({s.begin, s.end, false});
        prev_match = s.match;
      }
      break;
    case Behavior::MergedWithNext:
      for (size_t k = spans.size(); k-- > 0;) {
        const auto& s = spans[k];
        if (s.match && !prev_match && !out.empty()) out.back().begin = s.begin;
        else out.push_back({s.begin, s.end, false});
        prev_match = s.match;
      }
      std::reverse(out.begin(), out.end());
      break;
    case Behavior::Contiguous:
      for (const auto& s : spans) {
        if (s.match == prev_match && !out.empty()) out.back().end = s.end;
        else out.push_back({s.begin, s.end, false});
        prev_match = s.match;
      }
      break;
  }
  spans.swap(out);
}

// Each character satisfying pred is its own match (the reference's Fn(char) -> bool pattern).
template <typename Pred>
void char_matches(std::string_view text, Pred pred, std::vector<Match>& out) {
  for (size_t i = 0; i < text.size();) {
    size_t start = i;
    uint32_t c = utf8::next(text, i);
    if (pred(c)) out.push_back({static_cast<uint32_t>(start), static_cast<uint32_t>(i)});
  }
}

struct SplitScratch {
  std::vector<Match> matches;
  std::vector<Span> spans;
};
SplitScratch& split_scratch() {
  thread_local SplitScratch s;
  return s;
}

// Splits every piece of io by the matches find(text, out) reports.
template <typename Find>
void split_pieces(Pieces& io, Pieces& scratch, Behavior behavior, bool invert, Find&& find) {
  SplitScratch& s = split_scratch();
  scratch.clear();
  for (const Piece& p : io.list) {
    std::string_view text = io.view(p);
    s.matches.clear();
    find(text, s.matches);
    to_spans(s.matches, static_cast<uint32_t>(text.size()), invert, s.spans);
    apply_behavior(behavior, s.spans);
    for (const auto& sp : s.spans)
      scratch.add(text.substr(sp.begin, sp.end - sp.begin), p.at_origin && sp.begin == 0);
  }
  io.text.swap(scratch.text);
  io.list.swap(scratch.list);
}

// ---------------------------------------------------------------------------------------------

class Sequence final : public PreTokenizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<PreTokenizer>> parts) : parts_(std::move(parts)) {}
  void run(Pieces& io, Pieces& scratch) const override {
    for (const auto& p : parts_) p->run(io, scratch);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> parts_;
};

class Split final : public PreTokenizer {
 public:
  Split(const tjson& j, const std::string& where) {
    LP_CHECK(j.contains("pattern") && j["pattern"].is_object(), where,
             ": \"pattern\" must be {\"String\": ...} or {\"Regex\": ...}");
    const tjson& pattern = j["pattern"];
    if (pattern.contains("String")) {
      literal_ = json_get<std::string>(pattern, "String", where + ".pattern");
      LP_CHECK(!literal_.empty(), where, ": empty Split pattern");
    } else {
      regex_ = std::make_unique<Regex>(json_get<std::string>(pattern, "Regex", where + ".pattern"), where);
    }
    behavior_ = parse_behavior(json_get<std::string>(j, "behavior", where), where);
    invert_ = json_get_or<bool>(j, "invert", false, where);
  }
  void run(Pieces& io, Pieces& scratch) const override {
    split_pieces(io, scratch, behavior_, invert_, [&](std::string_view text, std::vector<Match>& out) {
      if (regex_) {
        regex_->find_all(text, out);
        return;
      }
      for (size_t pos = text.find(literal_); pos != std::string_view::npos;
           pos = text.find(literal_, pos + literal_.size()))
        out.push_back({static_cast<uint32_t>(pos), static_cast<uint32_t>(pos + literal_.size())});
    });
  }

 private:
  std::string literal_;
  std::unique_ptr<Regex> regex_;
  Behavior behavior_;
  bool invert_;
};

// GPT-2's pattern, used by ByteLevel when use_regex is true.
constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

const std::array<std::string, 256>& byte_table() {
  static const std::array<std::string, 256> table = [] {
    std::array<std::string, 256> t;
    std::array<bool, 256> direct{};
    for (int b = '!'; b <= '~'; ++b) direct[b] = true;
    for (int b = 0xA1; b <= 0xAC; ++b) direct[b] = true;
    for (int b = 0xAE; b <= 0xFF; ++b) direct[b] = true;
    uint32_t extra = 256;
    for (int b = 0; b < 256; ++b) utf8::append(t[b], direct[b] ? static_cast<uint32_t>(b) : extra++);
    return t;
  }();
  return table;
}

class ByteLevel final : public PreTokenizer {
 public:
  ByteLevel(const tjson& j, const std::string& where) {
    add_prefix_space_ = json_get_or<bool>(j, "add_prefix_space", true, where);
    if (json_get_or<bool>(j, "use_regex", true, where)) regex_ = std::make_unique<Regex>(kGpt2Pattern, where);
  }
  void run(Pieces& io, Pieces& scratch) const override {
    const auto& table = byte_table();
    SplitScratch& s = split_scratch();
    scratch.clear();
    std::string prefixed;
    for (const Piece& p : io.list) {
      std::string_view text = io.view(p);
      if (add_prefix_space_ && text[0] != ' ') {
        prefixed.assign(" ").append(text);
        text = prefixed;
      }
      s.matches.clear();
      if (regex_) regex_->find_all(text, s.matches);
      else s.matches.push_back({0, static_cast<uint32_t>(text.size())});
      to_spans(s.matches, static_cast<uint32_t>(text.size()), false, s.spans);
      for (const auto& sp : s.spans) {
        uint32_t b = scratch.open();
        for (uint32_t k = sp.begin; k < sp.end; ++k) scratch.text.append(table[static_cast<unsigned char>(text[k])]);
        scratch.close(b, p.at_origin && sp.begin == 0);
      }
    }
    io.text.swap(scratch.text);
    io.list.swap(scratch.list);
  }

 private:
  bool add_prefix_space_;
  std::unique_ptr<Regex> regex_;
};

class Metaspace final : public PreTokenizer {
 public:
  enum class Scheme { Always, First, Never };
  Metaspace(const tjson& j, const std::string& where) {
    std::string rep = json_get<std::string>(j, "replacement", where);
    size_t i = 0;
    LP_CHECK(!rep.empty() && utf8::valid(rep), where, ": \"replacement\" must be one character");
    replacement_cp_ = utf8::next(rep, i);
    LP_CHECK(i == rep.size(), where, ": \"replacement\" must be one character, got \"", rep, "\"");
    replacement_ = rep;
    if (j.contains("prepend_scheme") && !j["prepend_scheme"].is_null()) {
      std::string s = json_get<std::string>(j, "prepend_scheme", where);
      if (s == "always") scheme_ = Scheme::Always;
      else if (s == "first") scheme_ = Scheme::First;
      else if (s == "never") scheme_ = Scheme::Never;
      else LP_FAIL(where, ": unknown prepend_scheme \"", s, "\"");
    } else {
      scheme_ = json_get_or<bool>(j, "add_prefix_space", true, where) ? Scheme::Always : Scheme::Never;
    }
    split_ = json_get_or<bool>(j, "split", true, where);
  }
  void run(Pieces& io, Pieces& scratch) const override {
    scratch.clear();
    std::string replaced;
    SplitScratch& s = split_scratch();
    for (const Piece& p : io.list) {
      std::string_view text = io.view(p);
      replaced.clear();
      for (char c : text) {
        if (c == ' ') replaced.append(replacement_);
        else replaced.push_back(c);
      }
      bool starts = replaced.compare(0, replacement_.size(), replacement_) == 0;
      if (!starts && (scheme_ == Scheme::Always || (scheme_ == Scheme::First && p.at_origin)))
        replaced.insert(0, replacement_);
      if (!split_) {
        scratch.add(replaced, p.at_origin);
        continue;
      }
      s.matches.clear();
      char_matches(replaced, [&](uint32_t c) { return c == replacement_cp_; }, s.matches);
      to_spans(s.matches, static_cast<uint32_t>(replaced.size()), false, s.spans);
      apply_behavior(Behavior::MergedWithNext, s.spans);
      for (const auto& sp : s.spans)
        scratch.add(std::string_view(replaced).substr(sp.begin, sp.end - sp.begin), p.at_origin && sp.begin == 0);
    }
    io.text.swap(scratch.text);
    io.list.swap(scratch.list);
  }

 private:
  std::string replacement_;
  uint32_t replacement_cp_;
  Scheme scheme_;
  bool split_;
};

class WhitespaceSplit final : public PreTokenizer {
 public:
  void run(Pieces& io, Pieces& scratch) const override {
    split_pieces(io, scratch, Behavior::Removed, false, [](std::string_view text, std::vector<Match>& out) {
      char_matches(text, utf8::is_whitespace, out);
    });
  }
};

class Digits final : public PreTokenizer {
 public:
  explicit Digits(bool individual) : individual_(individual) {}
  void run(Pieces& io, Pieces& scratch) const override {
    split_pieces(io, scratch, individual_ ? Behavior::Isolated : Behavior::Contiguous, false,
                 [](std::string_view text, std::vector<Match>& out) {
                   // Rust's char::is_numeric: general categories Nd, Nl, No.
                   char_matches(text, [](uint32_t c) {
                     if (c < 0x80) return c >= '0' && c <= '9';
                     auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(c));
                     return cat == UTF8PROC_CATEGORY_ND || cat == UTF8PROC_CATEGORY_NL || cat == UTF8PROC_CATEGORY_NO;
                   }, out);
                 });
  }

 private:
  bool individual_;
};

}  // namespace

const std::string& byte_level_char(unsigned char b) { return byte_table()[b]; }

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const tjson& j, const std::string& where) {
  if (j.is_null()) return nullptr;
  std::string type = json_get<std::string>(j, "type", where);
  std::string at = where + " (" + type + ")";
  if (type == "Sequence") {
    return std::make_unique<Sequence>(make_parts<PreTokenizer>(j, "pretokenizers", where, at, make_pre_tokenizer));
  }
  if (type == "Split") return std::make_unique<Split>(j, at);
  if (type == "ByteLevel") return std::make_unique<ByteLevel>(j, at);
  if (type == "Metaspace") return std::make_unique<Metaspace>(j, at);
  if (type == "WhitespaceSplit") return std::make_unique<WhitespaceSplit>();
  if (type == "Digits") return std::make_unique<Digits>(json_get_or<bool>(j, "individual_digits", false, at));
  LP_FAIL(where, ": unsupported pre_tokenizer type \"", type,
          "\" (supported: Sequence, Split, ByteLevel, Metaspace, WhitespaceSplit, Digits)");
}

}  // namespace llamapro
