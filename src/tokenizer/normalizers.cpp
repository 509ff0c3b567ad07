// normalizers.cpp — the "normalizer" of tokenizer.json: text rewrites applied before splitting.
#include "tokenizer/normalizers.h"

#include <utf8proc.h>

#include <cstdlib>
#include <vector>

#include "tokenizer/replace.h"
#include "tokenizer/utf8.h"

namespace llamapro {

namespace {

bool is_ascii(const std::string& s) {
  for (unsigned char c : s)
    if (c >= 0x80) return false;
  return true;
}

class Sequence final : public Normalizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<Normalizer>> parts) : parts_(std::move(parts)) {}
  void normalize(std::string& text) const override {
    for (const auto& p : parts_) p->normalize(text);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> parts_;
};

// NFC / NFD / NFKC / NFKD through utf8proc.
class Unicode final : public Normalizer {
 public:
  explicit Unicode(int options) : options_(options) {}
  void normalize(std::string& text) const override {
    if (is_ascii(text)) return;  // every form leaves ASCII as it is
    utf8proc_uint8_t* out = nullptr;
    auto n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                          static_cast<utf8proc_ssize_t>(text.size()), &out,
                          static_cast<utf8proc_option_t>(options_));
    LP_CHECK(n >= 0, "Unicode normalization failed: ", utf8proc_errmsg(n));
    text.assign(reinterpret_cast<char*>(out), static_cast<size_t>(n));
    std::free(out);
  }

 private:
  int options_;
};

// Rust's char::to_lowercase per character: the simple mapping, plus the one unconditional
// multi-character mapping of SpecialCasing.txt (U+0130).
class Lowercase final : public Normalizer {
 public:
  void normalize(std::string& text) const override {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
      uint32_t c = utf8::next(text, i);
      if (c == 0x130) {
        out.append("i\xCC\x87");
        continue;
      }
      utf8::append(out, static_cast<uint32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))));
    }
    text.swap(out);
  }
};

class Strip final : public Normalizer {
 public:
  Strip(bool left, bool right) : left_(left), right_(right) {}
  void normalize(std::string& text) const override {
    size_t b = 0, e = text.size();
    if (left_) {
      while (b < e) {
        size_t i = b;
        if (!utf8::is_whitespace(utf8::next(text, i))) break;
        b = i;
      }
    }
    if (right_) {
      while (e > b) {
        std::string_view head(text.data() + b, e - b);
        size_t last_start = head.size() - 1;
        while (last_start > 0 && (static_cast<unsigned char>(head[last_start]) & 0xC0) == 0x80) --last_start;
        size_t i = last_start;
        if (!utf8::is_whitespace(utf8::next(head, i))) break;
        e = b + last_start;
      }
    }
    text = text.substr(b, e - b);
  }

 private:
  bool left_, right_;
};

// Removes combining marks (general category M*), as the reference's StripAccents does.
class StripAccents final : public Normalizer {
 public:
  void normalize(std::string& text) const override {
    if (is_ascii(text)) return;
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
      size_t start = i;
      uint32_t c = utf8::next(text, i);
      auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(c));
      if (cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_MC || cat == UTF8PROC_CATEGORY_ME) continue;
      out.append(text, start, i - start);
    }
    text.swap(out);
  }
};

class Prepend final : public Normalizer {
 public:
  explicit Prepend(std::string prefix) : prefix_(std::move(prefix)) {}
  void normalize(std::string& text) const override {
    if (!text.empty()) text.insert(0, prefix_);  // the reference leaves empty text empty
  }

 private:
  std::string prefix_;
};

class Replace final : public Normalizer {
 public:
  Replace(const tjson& pattern, std::string content, const std::string& where)
      : pattern_(pattern, std::move(content), where) {}
  void normalize(std::string& text) const override { pattern_.apply(text); }

 private:
  ReplacePattern pattern_;
};

}  // namespace

std::unique_ptr<Normalizer> make_normalizer(const tjson& j, const std::string& where) {
  if (j.is_null()) return nullptr;
  std::string type = json_get<std::string>(j, "type", where);
  std::string at = where + " (" + type + ")";
  if (type == "Sequence") {
    return std::make_unique<Sequence>(make_parts<Normalizer>(j, "normalizers", where, at, make_normalizer));
  }
  if (type == "NFC") return std::make_unique<Unicode>(UTF8PROC_STABLE | UTF8PROC_COMPOSE);
  if (type == "NFD") return std::make_unique<Unicode>(UTF8PROC_STABLE | UTF8PROC_DECOMPOSE);
  if (type == "NFKC") return std::make_unique<Unicode>(UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT);
  if (type == "NFKD") return std::make_unique<Unicode>(UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT);
  if (type == "Lowercase") return std::make_unique<Lowercase>();
  if (type == "Strip")
    return std::make_unique<Strip>(json_get_or<bool>(j, "strip_left", true, at),
                                   json_get_or<bool>(j, "strip_right", true, at));
  if (type == "StripAccents") return std::make_unique<StripAccents>();
  if (type == "Prepend") return std::make_unique<Prepend>(json_get<std::string>(j, "prepend", at));
  if (type == "Replace") {
    LP_CHECK(j.contains("pattern"), at, ": missing key \"pattern\"");
    return std::make_unique<Replace>(j["pattern"], json_get<std::string>(j, "content", at), at);
  }
  LP_FAIL(where, ": unsupported normalizer type \"", type,
          "\" (supported: Sequence, NFC, NFD, NFKC, NFKD, Lowercase, Strip, StripAccents, Replace, Prepend)");
}

}  // namespace llamapro
