// doc_encoder.cpp — the tokenizer's settings (BOS, EOS, vocab) and the encoding of one document.
#include "data/doc_encoder.h"

#include "data/conversation.h"
#include "util/check.h"

namespace llamapro {

namespace fs = std::filesystem;

namespace {

// tokenizer_config.json's add_bos_token when it says so; otherwise whatever the post-processor
// adds in front of a text (e.g. Llama 2's <s>, nothing for a plain ByteLevel one).
bool tokenizer_adds_bos(const Tokenizer& tok, const fs::path& model_dir) {
  fs::path config = model_dir / "tokenizer_config.json";
  if (fs::is_regular_file(config)) {
    json c = read_json_file(config);
    if (c.is_object() && c.contains("add_bos_token") && c["add_bos_token"].is_boolean())
      return c["add_bos_token"].get<bool>();
  }
  std::vector<int32_t> ids = tok.encode("", true);
  return !ids.empty() && ids.front() == tok.bos_id();
}

}  // namespace

DocumentEncoder::DocumentEncoder(const fs::path& model_dir, const std::string& format, const std::string& field,
                                 const std::string& template_name)
    : model_dir_(model_dir), field_(field) {
  LP_CHECK(format == "pretrain" || format == "chat", "unknown data format \"", format, "\" (expected pretrain or chat)");
  chat_ = format == "chat";
  LP_CHECK(fs::is_directory(model_dir), "tokenizer folder ", model_dir.string(), " does not exist");
  if (fs::is_regular_file(model_dir / "tokenizer.json")) {
    tokenizer_ = Tokenizer::from_dir(model_dir);
    vocab_size_ = static_cast<int64_t>(tokenizer_->vocab_size());
    bos_ = tokenizer_->bos_id();
    eos_ = tokenizer_->eos_id();
    add_bos_ = bos_ >= 0 && tokenizer_adds_bos(*tokenizer_, model_dir);
  } else {
    fs::path config = model_dir / "config.json";
    LP_CHECK(fs::is_regular_file(config), model_dir.string(),
             ": neither tokenizer.json nor config.json (a model folder is needed for its tokenizer or vocab size)");
    vocab_size_ = json_get<int64_t>(read_json_file(config), "vocab_size", config.string());
    LP_CHECK(vocab_size_ > 0 && vocab_size_ <= (int64_t{1} << 31), config.string(), ": bad vocab_size ", vocab_size_);
  }
  if (chat_ && tokenizer_) {
    if (template_name == "auto") {
      const std::string& jinja = tokenizer_->chat_template();
      template_ = detect_chat_template(jinja);
      LP_CHECK(template_, model_dir.string(), jinja.empty() ? ": the tokenizer has no chat template" :
               ": the tokenizer's chat template is none of llama3, llama2, mistral, chatml, alpaca",
               "; name one with --template");
    } else {
      template_ = parse_chat_template(template_name);
    }
    template_tokens_.bos = bos_ >= 0 ? tokenizer_->id_to_token(bos_) : "";
    template_tokens_.eos = eos_ >= 0 ? tokenizer_->id_to_token(eos_) : "";
    template_tokens_.add_bos = add_bos_;
    check_template_tokens(*template_, *tokenizer_, template_tokens_);
  } else if (template_name != "auto") {
    parse_chat_template(template_name);  // an unknown name is an error even when unused
  }
}

json DocumentEncoder::tokenizer_json() const {
  json j;
  j["path"] = fs::absolute(model_dir_).lexically_normal().string();
  j["fingerprint"] = tokenizer_ ? json(tokenizer_->fingerprint()) : json(nullptr);
  j["bos_id"] = bos_;
  j["eos_id"] = eos_;
  j["add_bos"] = add_bos_;
  return j;
}

void DocumentEncoder::require_tokenizer(const std::string& where) const {
  LP_CHECK(tokenizer_, where, ": a text document, but ", model_dir_.string(),
           " has no tokenizer.json (without one, only pre-tokenized {\"ids\": [...]} input is allowed)");
}

bool DocumentEncoder::encode_text(std::string_view text, const std::string& where, std::vector<int32_t>& ids) const {
  LP_CHECK(!chat_, where, ": chat data must be JSON Lines records (.jsonl)");
  if (text.empty()) return false;
  require_tokenizer(where);
  if (add_bos_) ids.push_back(bos_);
  tokenizer_->encode_into(text, false, ids);
  // The EOS marks where the next document starts once documents are packed together.
  if (eos_ >= 0) ids.push_back(eos_);
  return true;
}

void DocumentEncoder::append_ids(const json& ids, const std::string& where, std::vector<int32_t>& out) const {
  LP_CHECK(ids.is_array(), where, ": \"ids\" must be an array of token ids");
  out.reserve(out.size() + ids.size());
  for (const json& v : ids) {
    LP_CHECK(v.is_number_integer(), where, ": \"ids\" must hold integers, got ", v.dump());
    int64_t id = v.is_number_unsigned() ? static_cast<int64_t>(std::min<uint64_t>(v.get<uint64_t>(), INT64_MAX))
                                        : v.get<int64_t>();
    LP_CHECK(id >= 0 && id < vocab_size_, where, ": token id ", v.dump(), " is outside the vocabulary (size ",
             vocab_size_, ")");
    out.push_back(static_cast<int32_t>(id));
  }
}

bool DocumentEncoder::encode_json_line(std::string_view line, const std::string& where, std::vector<int32_t>& ids,
                                       std::vector<uint8_t>& mask) const {
  json j = parse_json(line, where);
  LP_CHECK(j.is_object(), where, ": expected a JSON object per line, got ", j.type_name());
  size_t first = ids.size();
  if (j.contains("ids")) {
    append_ids(j["ids"], where, ids);  // verbatim: no BOS/EOS added
    if (chat_) {
      if (j.contains("loss_mask")) {
        const json& m = j["loss_mask"];
        LP_CHECK(m.is_array() && m.size() == ids.size() - first, where,
                 ": \"loss_mask\" must be an array as long as \"ids\"");
        for (const json& v : m) {
          LP_CHECK(v.is_number_integer() && (v.get<int64_t>() == 0 || v.get<int64_t>() == 1), where,
                   ": \"loss_mask\" must hold 0 or 1");
          mask.push_back(static_cast<uint8_t>(v.get<int64_t>()));
        }
      } else {
        mask.insert(mask.end(), ids.size() - first, uint8_t{1});
      }
    }
    return ids.size() > first;
  }
  if (chat_) {
    require_tokenizer(where);
    Conversation c = parse_conversation(j, where);
    encode_chat(*tokenizer_, render_chat(*template_, c, template_tokens_, where), ids, mask);
    return ids.size() > first;
  }
  LP_CHECK(j.contains(field_), where, ": no \"", field_, "\" field (name the text field with --field, or give {\"ids\": [...]})");
  LP_CHECK(j[field_].is_string(), where, ": \"", field_, "\" must be a string, got ", j[field_].type_name());
  return encode_text(j[field_].get_ref<const std::string&>(), where, ids);
}

}  // namespace llamapro
