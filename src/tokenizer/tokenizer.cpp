// tokenizer.cpp — a Hugging Face tokenizer.json loaded once and used read-only: the encode
// and decode pipelines, and the settings of tokenizer_config.json.
#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <cstdio>
#include <unordered_map>

#include "tokenizer/added_tokens.h"
#include "tokenizer/bpe_model.h"
#include "tokenizer/decoders.h"
#include "tokenizer/normalizers.h"
#include "tokenizer/pieces.h"
#include "tokenizer/post_processor.h"
#include "tokenizer/pre_tokenizers.h"
#include "tokenizer/utf8.h"
#include "util/files.h"
#include "tokenizer/json_fields.h"
#include "util/hash.h"

namespace llamapro {

struct Tokenizer::Impl {
  std::unique_ptr<BpeModel> model;
  std::unique_ptr<Normalizer> normalizer;
  std::unique_ptr<PreTokenizer> pre_tokenizer;
  std::unique_ptr<PostProcessor> post;
  std::unique_ptr<Decoder> decoder;
  std::vector<AddedToken> added;
  std::unordered_map<int32_t, size_t> added_by_id;  // id -> index into added
  StringIdMap added_by_content;
  TokenMatcher raw_matcher;         // added tokens with normalized == false
  TokenMatcher normalized_matcher;  // the others, matched in normalized text
  std::vector<AddedToken> normalized_forms;
  int32_t bos = -1, eos = -1;
  size_t vocab_size = 0;
  std::string fingerprint, chat_template;

  void encode_text(std::string_view text, bool at_origin, std::vector<int32_t>& out) const;
  void encode_words(Pieces& pieces, std::vector<int32_t>& out) const;
};

namespace {

// Per-thread buffers of the encode pipeline (encode is const and thread-safe).
struct EncodeScratch {
  std::vector<Segment> raw, normalized;
  std::string norm;
  Pieces pieces, spare;
};
EncodeScratch& encode_scratch() {
  thread_local EncodeScratch s;
  return s;
}

// "bos_token" of tokenizer_config.json: a string, {"content": ...}, or null.
bool config_token(const tjson& config, const char* key, std::string& content, const std::string& where) {
  const tjson& v = config[key];
  if (v.is_string()) content = v.get<std::string>();
  else if (v.is_object()) content = json_get<std::string>(v, "content", where + "." + key);
  else if (v.is_null()) content.clear();
  else LP_FAIL(where, ": \"", key, "\" must be a string, an object with \"content\", or null");
  return true;
}

std::shared_ptr<Tokenizer::Impl> load(const fs::path& path) {
  auto impl = std::make_shared<Tokenizer::Impl>();
  std::string where = path.string();
  std::string bytes = read_file(path);
  impl->fingerprint = hex64(fnv1a(bytes));
  tjson j = parse_tokenizer_json(bytes, where);
  LP_CHECK(j.is_object(), where, ": expected a JSON object");
  for (const char* key : {"truncation", "padding"})
    LP_CHECK(!j.contains(key) || j[key].is_null(), where, ": \"", key,
             "\" is set; truncation and padding are not supported (they would change the ids)");
  LP_CHECK(j.contains("model"), where, ": missing key \"model\"");
  impl->model = std::make_unique<BpeModel>(j["model"], where + ": model");
  impl->normalizer = make_normalizer(jfield(j, "normalizer"), where + ": normalizer");
  impl->pre_tokenizer = make_pre_tokenizer(jfield(j, "pre_tokenizer"), where + ": pre_tokenizer");
  impl->post = std::make_unique<PostProcessor>(jfield(j, "post_processor"), where + ": post_processor");
  impl->decoder = make_decoder(jfield(j, "decoder"), where + ": decoder");

  impl->added = parse_added_tokens(jfield(j, "added_tokens"), where + ": added_tokens");
  // As in the reference, a token that the model's vocabulary already has keeps the model's id.
  for (AddedToken& t : impl->added)
    if (int32_t id = impl->model->token_to_id(t.content); id >= 0) t.id = id;
  std::vector<const AddedToken*> raw;
  std::vector<const AddedToken*> normalized;
  impl->normalized_forms.reserve(impl->added.size());
  for (size_t i = 0; i < impl->added.size(); ++i) {
    const AddedToken& t = impl->added[i];
    impl->added_by_id.emplace(t.id, i);
    impl->added_by_content.emplace(t.content, t.id);
    if (!t.normalized) {
      raw.push_back(&t);
    } else {
      // Matched in normalized text, so the pattern is the normalized content.
      AddedToken n = t;
      if (impl->normalizer) impl->normalizer->normalize(n.content);
      impl->normalized_forms.push_back(std::move(n));
    }
  }
  for (const auto& n : impl->normalized_forms) normalized.push_back(&n);
  impl->raw_matcher.build(raw);
  impl->normalized_matcher.build(normalized);

  int32_t max_id = impl->model->max_id();
  for (const auto& t : impl->added) max_id = std::max(max_id, t.id);
  impl->vocab_size = static_cast<size_t>(max_id) + 1;
  impl->bos = impl->post->leading_id();
  impl->eos = impl->post->trailing_id();
  return impl;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Loading

Tokenizer Tokenizer::from_file(const fs::path& tokenizer_json) { return Tokenizer(load(tokenizer_json)); }

Tokenizer Tokenizer::from_dir(const fs::path& dir) {
  fs::path file = dir / "tokenizer.json";
  LP_CHECK(fs::is_regular_file(file), dir.string(), ": no tokenizer.json in this folder");
  auto impl = load(file);
  fs::path config_path = dir / "tokenizer_config.json";
  if (fs::is_regular_file(config_path)) {
    tjson config = parse_tokenizer_json(read_file(config_path), config_path.string());
    std::string where = config_path.string();
    LP_CHECK(config.is_object(), where, ": expected a JSON object");
    std::string content;
    auto resolve = [&](const char* key, int32_t& id) {
      if (!config.contains(key)) return;  // keep the post-processor's
      config_token(config, key, content, where);
      id = -1;
      if (content.empty()) return;
      auto it = impl->added_by_content.find(content);
      id = it != impl->added_by_content.end() ? it->second : impl->model->token_to_id(content);
      LP_CHECK(id >= 0, where, ": ", key, " \"", content, "\" is not a token of tokenizer.json");
    };
    resolve("bos_token", impl->bos);
    resolve("eos_token", impl->eos);
    if (config.contains("chat_template")) {
      const tjson& t = config["chat_template"];
      if (t.is_string()) {
        impl->chat_template = t.get<std::string>();
      } else if (t.is_array()) {
        // Named templates: [{"name": ..., "template": ...}]; "default" wins, else the first.
        for (const tjson& item : t) {
          if (!item.is_object() || !item.contains("template")) continue;
          bool is_default = item.value("name", "") == "default";
          if (impl->chat_template.empty() || is_default)
            impl->chat_template = json_get<std::string>(item, "template", where + ".chat_template");
          if (is_default) break;
        }
      }
    }
  }
  if (fs::path jinja = dir / "chat_template.jinja"; fs::is_regular_file(jinja)) impl->chat_template = read_file(jinja);
  return Tokenizer(std::move(impl));
}

// ---------------------------------------------------------------------------------------------
// Encoding

void Tokenizer::Impl::encode_words(Pieces& pieces, std::vector<int32_t>& out) const {
  if (pre_tokenizer) pre_tokenizer->run(pieces, encode_scratch().spare);
  for (const Piece& p : pieces.list) model->encode_word(pieces.view(p), out);
}

// A span of raw text between added tokens: normalize, cut out the normalized added tokens,
// pre-tokenize and encode.
void Tokenizer::Impl::encode_text(std::string_view text, bool at_origin, std::vector<int32_t>& out) const {
  EncodeScratch& s = encode_scratch();
  std::string_view norm = text;
  if (normalizer) {
    s.norm.assign(text);
    normalizer->normalize(s.norm);
    norm = s.norm;
  }
  if (normalized_matcher.empty()) {
    s.pieces.clear();
    s.pieces.add(norm, at_origin);
    encode_words(s.pieces, out);
    return;
  }
  s.normalized.clear();
  normalized_matcher.split(norm, s.normalized);
  std::vector<Segment> segments = s.normalized;  // encode_words reuses the scratch
  std::string normalized_copy(norm);
  for (const Segment& seg : segments) {
    if (seg.id >= 0) {
      out.push_back(seg.id);
      continue;
    }
    s.pieces.clear();
    s.pieces.add(std::string_view(normalized_copy).substr(seg.begin, seg.end - seg.begin), at_origin && seg.begin == 0);
    encode_words(s.pieces, out);
  }
}

void Tokenizer::encode_into(std::string_view text, bool add_special, std::vector<int32_t>& out) const {
  const Impl& im = *impl_;
  std::string repaired;
  if (!utf8::valid(text)) {
    repaired = utf8::repair(text);
    text = repaired;
  }
  size_t first = out.size();
  if (im.raw_matcher.empty()) {
    if (!text.empty()) im.encode_text(text, true, out);
  } else {
    EncodeScratch& s = encode_scratch();
    s.raw.clear();
    im.raw_matcher.split(text, s.raw);
    // Copy: encode_text reuses the scratch.
    std::vector<Segment> segments;
    segments.swap(s.raw);
    for (const Segment& seg : segments) {
      if (seg.id >= 0) out.push_back(seg.id);
      else im.encode_text(text.substr(seg.begin, seg.end - seg.begin), seg.begin == 0, out);
    }
    segments.clear();
    s.raw.swap(segments);  // give the capacity back
  }
  if (add_special) {
    std::vector<int32_t> ids(out.begin() + static_cast<std::ptrdiff_t>(first), out.end());
    im.post->apply(ids);
    out.resize(first);
    out.insert(out.end(), ids.begin(), ids.end());
  }
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special) const {
  std::vector<int32_t> ids;
  encode_into(text, add_special, ids);
  return ids;
}

// ---------------------------------------------------------------------------------------------
// Decoding and lookups

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool skip_special) const {
  const Impl& im = *impl_;
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    if (auto it = im.added_by_id.find(id); it != im.added_by_id.end()) {
      const AddedToken& t = im.added[it->second];
      if (!(skip_special && t.special)) tokens.push_back(t.content);
    } else if (const std::string* t = im.model->id_to_token(id)) {
      tokens.push_back(*t);
    }
  }
  if (!im.decoder) {
    std::string out;
    for (size_t k = 0; k < tokens.size(); ++k) out.append(k ? " " : "").append(tokens[k]);
    return out;
  }
  im.decoder->decode_chain(tokens);
  std::string out;
  for (const auto& t : tokens) out.append(t);
  return out;
}

size_t Tokenizer::vocab_size() const { return impl_->vocab_size; }
int32_t Tokenizer::bos_id() const { return impl_->bos; }
int32_t Tokenizer::eos_id() const { return impl_->eos; }
const std::string& Tokenizer::fingerprint() const { return impl_->fingerprint; }
const std::string& Tokenizer::chat_template() const { return impl_->chat_template; }

int32_t Tokenizer::token_to_id(std::string_view token) const {
  if (auto it = impl_->added_by_content.find(token); it != impl_->added_by_content.end()) return it->second;
  return impl_->model->token_to_id(token);
}

std::string Tokenizer::id_to_token(int32_t id) const {
  if (auto it = impl_->added_by_id.find(id); it != impl_->added_by_id.end()) return impl_->added[it->second].content;
  const std::string* t = impl_->model->id_to_token(id);
  return t ? *t : std::string();
}

bool Tokenizer::is_special(int32_t id) const {
  auto it = impl_->added_by_id.find(id);
  return it != impl_->added_by_id.end() && impl_->added[it->second].special;
}

// ---------------------------------------------------------------------------------------------
// Streaming decoding: the reference's DecodeStream. It decodes a short window of ids (from the
// last released boundary) and releases the text beyond the previous decoding of that window,
// unless it ends in U+FFFD (an incomplete character, wait for more bytes).

namespace {
bool ends_with_replacement(const std::string& s) {
  return s.size() >= 3 && s.compare(s.size() - 3, 3, "\xEF\xBF\xBD") == 0;
}
}  // namespace

StreamDecoder::StreamDecoder(const Tokenizer& tokenizer, bool skip_special)
    : tokenizer_(tokenizer), skip_special_(skip_special) {}

std::string StreamDecoder::step(int32_t id) {
  if (prefix_.empty() && !ids_.empty()) {
    std::string p = tokenizer_.decode(ids_, skip_special_);
    if (!ends_with_replacement(p)) {
      prefix_ = std::move(p);
      prefix_index_ = ids_.size();
    }
  }
  ids_.push_back(id);
  std::string text = tokenizer_.decode(ids_, skip_special_);
  if (text.size() <= prefix_.size() || ends_with_replacement(text)) return "";
  if (text.compare(0, prefix_.size(), prefix_) != 0) {
    // The window decodes differently with the new id (a decoder rewrote earlier text): release
    // what is new after the common part is not possible, so restart the window here.
    ids_.assign(1, id);
    prefix_ = tokenizer_.decode(ids_, skip_special_);
    prefix_index_ = 1;
    return prefix_;
  }
  std::string fresh = text.substr(prefix_.size());
  size_t new_prefix_index = ids_.size() - prefix_index_;
  ids_.erase(ids_.begin(), ids_.begin() + static_cast<std::ptrdiff_t>(prefix_index_));
  prefix_ = tokenizer_.decode(ids_, skip_special_);
  prefix_index_ = new_prefix_index;
  return fresh;
}

std::string StreamDecoder::flush() {
  std::string text = tokenizer_.decode(ids_, skip_special_);
  std::string rest = text.size() > prefix_.size() && text.compare(0, prefix_.size(), prefix_) == 0
                         ? text.substr(prefix_.size())
                         : std::string();
  ids_.clear();
  prefix_.clear();
  prefix_index_ = 0;
  return rest;
}

}  // namespace llamapro
