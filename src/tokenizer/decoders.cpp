// decoders.cpp — the "decoder" of tokenizer.json: turns the token strings of ids back into text.
#include "tokenizer/decoders.h"

#include <array>

#include "tokenizer/pre_tokenizers.h"
#include "tokenizer/replace.h"
#include "tokenizer/utf8.h"

namespace llamapro {

namespace {

class Sequence final : public Decoder {
 public:
  explicit Sequence(std::vector<std::unique_ptr<Decoder>> parts) : parts_(std::move(parts)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (const auto& p : parts_) p->decode_chain(tokens);
  }

 private:
  std::vector<std::unique_ptr<Decoder>> parts_;
};

// Characters back to bytes (GPT-2 table); a token with any other character keeps its UTF-8.
class ByteLevel final : public Decoder {
 public:
  ByteLevel() {
    byte_of_.fill(-1);
    for (int b = 0; b < 256; ++b) {
      const std::string& ch = byte_level_char(static_cast<unsigned char>(b));
      size_t i = 0;
      byte_of_[utf8::next(ch, i)] = static_cast<int16_t>(b);
    }
  }
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string bytes;
    for (const std::string& t : tokens) {
      size_t mark = bytes.size();
      bool mapped = true;
      for (size_t i = 0; i < t.size();) {
        uint32_t c = utf8::next(t, i);
        if (c >= byte_of_.size() || byte_of_[c] < 0) {
          mapped = false;
          break;
        }
        bytes.push_back(static_cast<char>(byte_of_[c]));
      }
      if (!mapped) {
        bytes.resize(mark);
        bytes.append(t);
      }
    }
    tokens.assign(1, utf8::valid(bytes) ? std::move(bytes) : utf8::repair(bytes));
  }

 private:
  std::array<int16_t, 512> byte_of_;
};

class Replace final : public Decoder {
 public:
  Replace(const tjson& pattern, std::string content, const std::string& where)
      : pattern_(pattern, std::move(content), where) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (std::string& t : tokens) pattern_.apply(t);
  }

 private:
  ReplacePattern pattern_;
};

// <0xXX> tokens back to bytes; a run that is not valid UTF-8 gives one U+FFFD per byte.
class ByteFallback final : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::vector<std::string> out;
    out.reserve(tokens.size());
    std::string run;
    size_t run_len = 0;
    auto flush = [&] {
      if (run_len == 0) return;
      if (utf8::valid(run)) {
        out.push_back(run);
      } else {
        for (size_t k = 0; k < run_len; ++k) out.emplace_back("\xEF\xBF\xBD");
      }
      run.clear();
      run_len = 0;
    };
    for (std::string& t : tokens) {
      int byte = parse_byte(t);
      if (byte >= 0) {
        run.push_back(static_cast<char>(byte));
        ++run_len;
      } else {
        flush();
        out.push_back(std::move(t));
      }
    }
    flush();
    tokens.swap(out);
  }

 private:
  // "<0xAB>" -> 0xAB; -1 otherwise. Like Rust's u8::from_str_radix, a leading '+' is allowed.
  static int parse_byte(const std::string& t) {
    if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return -1;
    auto hex = [](char c) {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    if (t[3] == '+') return hex(t[4]);
    int hi = hex(t[3]), lo = hex(t[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
  }
};

class Fuse final : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string all;
    for (const auto& t : tokens) all.append(t);
    tokens.assign(1, std::move(all));
  }
};

// Removes up to `start` leading and `stop` trailing occurrences of one character per token.
class Strip final : public Decoder {
 public:
  Strip(const std::string& content, size_t start, size_t stop, const std::string& where)
      : start_(start), stop_(stop) {
    size_t i = 0;
    LP_CHECK(!content.empty() && utf8::valid(content), where, ": \"content\" must be one character");
    content_ = utf8::next(content, i);
    LP_CHECK(i == content.size(), where, ": \"content\" must be one character");
  }
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (std::string& t : tokens) {
      std::vector<std::pair<uint32_t, size_t>> chars;  // code point, byte offset
      for (size_t i = 0; i < t.size();) {
        size_t at = i;
        chars.push_back({utf8::next(t, i), at});
      }
      size_t cut_start = 0, cut_stop = chars.size();
      for (size_t k = 0; k < start_ && k < chars.size() && chars[k].first == content_; ++k) cut_start = k + 1;
      for (size_t k = 0; k < stop_ && k < chars.size(); ++k) {
        size_t idx = chars.size() - k - 1;
        if (chars[idx].first != content_) break;
        cut_stop = idx;
      }
      if (cut_stop < cut_start) cut_stop = cut_start;
      size_t b = cut_start < chars.size() ? chars[cut_start].second : t.size();
      size_t e = cut_stop < chars.size() ? chars[cut_stop].second : t.size();
      t = t.substr(b, e - b);
    }
  }

 private:
  uint32_t content_;
  size_t start_, stop_;
};

// The replacement character back to spaces; on the first token it is dropped instead (the
// space that the pre-tokenizer prepended), unless the prepend scheme is "never".
class Metaspace final : public Decoder {
 public:
  Metaspace(std::string replacement, bool prepend) : replacement_(std::move(replacement)), prepend_(prepend) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t k = 0; k < tokens.size(); ++k) {
      std::string& t = tokens[k];
      std::string out;
      for (size_t pos = 0;;) {
        size_t hit = t.find(replacement_, pos);
        out.append(t, pos, hit == std::string::npos ? std::string::npos : hit - pos);
        if (hit == std::string::npos) break;
        if (!(k == 0 && prepend_)) out.push_back(' ');
        pos = hit + replacement_.size();
      }
      t.swap(out);
    }
  }

 private:
  std::string replacement_;
  bool prepend_;
};

}  // namespace

std::unique_ptr<Decoder> make_decoder(const tjson& j, const std::string& where) {
  if (j.is_null()) return nullptr;
  std::string type = json_get<std::string>(j, "type", where);
  std::string at = where + " (" + type + ")";
  if (type == "Sequence") {
    return std::make_unique<Sequence>(make_parts<Decoder>(j, "decoders", where, at, make_decoder));
  }
  if (type == "ByteLevel") return std::make_unique<ByteLevel>();
  if (type == "Replace") {
    LP_CHECK(j.contains("pattern"), at, ": missing key \"pattern\"");
    return std::make_unique<Replace>(j["pattern"], json_get<std::string>(j, "content", at), at);
  }
  if (type == "ByteFallback") return std::make_unique<ByteFallback>();
  if (type == "Fuse") return std::make_unique<Fuse>();
  if (type == "Strip") {
    int64_t start = json_get<int64_t>(j, "start", at), stop = json_get<int64_t>(j, "stop", at);
    LP_CHECK(start >= 0 && stop >= 0, at, ": \"start\" and \"stop\" must be non-negative");
    return std::make_unique<Strip>(json_get<std::string>(j, "content", at), static_cast<size_t>(start),
                                   static_cast<size_t>(stop), at);
  }
  if (type == "Metaspace") {
    bool prepend;
    if (j.contains("prepend_scheme") && !j["prepend_scheme"].is_null())
      prepend = json_get<std::string>(j, "prepend_scheme", at) != "never";
    else
      prepend = json_get_or<bool>(j, "add_prefix_space", true, at);
    return std::make_unique<Metaspace>(json_get<std::string>(j, "replacement", at), prepend);
  }
  LP_FAIL(where, ": unsupported decoder type \"", type,
          "\" (supported: Sequence, ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace)");
}

}  // namespace llamapro
