// chat_template.cpp — the official chat formats as code, and mask-aligned tokenization.
//
// Formats (Llama 3 and 2 from Meta's reference code and model cards, Mistral from its docs,
// ChatML from OpenAI/Qwen, Alpaca from Stanford's train.py):
//   llama3   <|begin_of_text|><|start_header_id|>ROLE<|end_header_id|>\n\nCONTENT<|eot_id|>...  (content trimmed)
//   llama2   <s>[INST] <<SYS>>\nSYSTEM\n<</SYS>>\n\nUSER [/INST] ASSISTANT </s><s>[INST] ...    (stripped)
//   mistral  <s>[INST] USER [/INST] ASSISTANT</s>[INST] ...    (a system prompt opens the first user turn)
//   chatml   <|im_start|>ROLE\nCONTENT<|im_end|>\n...
//   alpaca   BOS? Below is an instruction ... ### Instruction:\n...\n\n### Response:OUTPUT</s>
#include "data/chat_template.h"

#include "tokenizer/tokenizer.h"
#include "util/check.h"

namespace llamapro {

namespace {

std::string trim(std::string_view s) {
  const char* ws = " \t\n\r\f\v";
  size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(ws);
  return std::string(s.substr(b, e - b + 1));
}

// Builds the parts, merging neighbours of the same kind.
struct Parts {
  std::vector<TemplatePart> list;
  void add(std::string_view text, bool target) {
    if (text.empty()) return;
    if (!list.empty() && list.back().target == target) list.back().text += text;
    else list.push_back({std::string(text), target});
  }
};

// Concatenation by appends: GCC 12 warns falsely (-Wrestrict) on chains of string operator+.
template <typename... Parts>
std::string cat(const Parts&... parts) {
  std::string s;
  (s.append(parts), ...);
  return s;
}

const std::string* system_of(const Conversation& c) {
  return !c.messages.empty() && c.messages[0].role == "system" ? &c.messages[0].content : nullptr;
}

std::vector<TemplatePart> render_llama3(const Conversation& c) {
  Parts p;
  p.add("<|begin_of_text|>", false);
  for (const ChatMessage& m : c.messages) {
    p.add(cat("<|start_header_id|>", m.role, "<|end_header_id|>\n\n"), false);
    bool target = m.role == "assistant";
    p.add(cat(trim(m.content), "<|eot_id|>"), target);
  }
  return p.list;
}

std::vector<TemplatePart> render_llama2(const Conversation& c, const TemplateTokens& t) {
  Parts p;
  const std::string* system = system_of(c);
  size_t i = system ? 1 : 0;
  bool first = true;
  for (; i + 1 < c.messages.size(); i += 2) {
    std::string user = c.messages[i].content;
    if (first && system) user = cat("<<SYS>>\n", *system, "\n<</SYS>>\n\n", user);
    first = false;
    p.add(cat(t.bos, "[INST] ", trim(user), " [/INST]"), false);
    p.add(cat(" ", trim(c.messages[i + 1].content), " ", t.eos), true);
  }
  return p.list;
}

std::vector<TemplatePart> render_mistral(const Conversation& c, const TemplateTokens& t) {
  Parts p;
  const std::string* system = system_of(c);
  size_t i = system ? 1 : 0;
  p.add(t.bos, false);
  bool first = true;
  for (; i + 1 < c.messages.size(); i += 2) {
    std::string user = c.messages[i].content;
    if (first && system) user = cat(*system, "\n\n", user);
    first = false;
    p.add(cat("[INST] ", user, " [/INST]"), false);
    p.add(cat(" ", c.messages[i + 1].content, t.eos), true);
  }
  return p.list;
}

std::vector<TemplatePart> render_chatml(const Conversation& c) {
  Parts p;
  for (const ChatMessage& m : c.messages) {
    p.add(cat("<|im_start|>", m.role, "\n"), false);
    bool target = m.role == "assistant";
    p.add(cat(m.content, "<|im_end|>"), target);
    p.add("\n", false);
  }
  return p.list;
}

std::vector<TemplatePart> render_alpaca(const Conversation& c, const TemplateTokens& t, const std::string& where) {
  AlpacaRecord a;
  if (c.alpaca) {
    a = *c.alpaca;
  } else {
    LP_CHECK(c.messages.size() == 2, where,
             ": the alpaca template takes one instruction and one response (no system prompt, no further turns)");
    a.instruction = c.messages[0].content;
    a.output = c.messages[1].content;
  }
  Parts p;
  if (t.add_bos) p.add(t.bos, false);
  if (a.input.empty()) {
    p.add(cat("Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n"
          "### Instruction:\n", a.instruction, "\n\n### Response:"), false);
  } else {
    p.add(cat("Below is an instruction that describes a task, paired with an input that provides further context. "
          "Write a response that appropriately completes the request.\n\n"
          "### Instruction:\n", a.instruction, "\n\n### Input:\n", a.input, "\n\n### Response:"), false);
  }
  p.add(cat(a.output, t.eos), true);
  return p.list;
}

std::vector<std::string> special_texts(ChatTemplate t, const TemplateTokens& tokens) {
  switch (t) {
    case ChatTemplate::Llama3: return {"<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"};
    case ChatTemplate::ChatML: return {"<|im_start|>", "<|im_end|>"};
    case ChatTemplate::Llama2:
    case ChatTemplate::Mistral: return {tokens.bos, tokens.eos};
    case ChatTemplate::Alpaca: return tokens.add_bos ? std::vector<std::string>{tokens.bos, tokens.eos} : std::vector<std::string>{tokens.eos};
  }
  return {};
}

}  // namespace

ChatTemplate parse_chat_template(std::string_view name) {
  if (name == "llama3") return ChatTemplate::Llama3;
  if (name == "llama2") return ChatTemplate::Llama2;
  if (name == "mistral") return ChatTemplate::Mistral;
  if (name == "chatml") return ChatTemplate::ChatML;
  if (name == "alpaca") return ChatTemplate::Alpaca;
  LP_FAIL("unknown chat template \"", name, "\" (expected llama3, llama2, mistral, chatml, alpaca or auto)");
}

const char* chat_template_name(ChatTemplate t) {
  switch (t) {
    case ChatTemplate::Llama3: return "llama3";
    case ChatTemplate::Llama2: return "llama2";
    case ChatTemplate::Mistral: return "mistral";
    case ChatTemplate::ChatML: return "chatml";
    case ChatTemplate::Alpaca: return "alpaca";
  }
  return "?";
}

std::optional<ChatTemplate> detect_chat_template(const std::string& jinja) {
  // Distinctive markers, most specific first (Llama 2 also writes [INST]).
  if (jinja.find("<|start_header_id|>") != std::string::npos) return ChatTemplate::Llama3;
  if (jinja.find("<|im_start|>") != std::string::npos) return ChatTemplate::ChatML;
  if (jinja.find("<<SYS>>") != std::string::npos) return ChatTemplate::Llama2;
  if (jinja.find("[INST]") != std::string::npos) return ChatTemplate::Mistral;
  if (jinja.find("### Instruction") != std::string::npos) return ChatTemplate::Alpaca;
  return std::nullopt;
}

std::vector<TemplatePart> render_chat(ChatTemplate t, const Conversation& c, const TemplateTokens& tokens,
                                      const std::string& where) {
  switch (t) {
    case ChatTemplate::Llama3: return render_llama3(c);
    case ChatTemplate::Llama2: return render_llama2(c, tokens);
    case ChatTemplate::Mistral: return render_mistral(c, tokens);
    case ChatTemplate::ChatML: return render_chatml(c);
    case ChatTemplate::Alpaca: return render_alpaca(c, tokens, where);
  }
  return {};
}

std::string render_generation_prompt(ChatTemplate t, const std::vector<ChatMessage>& history,
                                     const TemplateTokens& tokens) {
  LP_CHECK(!history.empty() && history.back().role == "user", "internal: a generation prompt ends with a user message");
  // Rendered with an empty assistant reply, then cut where that reply would begin: every
  // template writes a reply as one target part (content and end-of-turn) after its header.
  Conversation c;
  c.messages = history;
  c.messages.push_back({"assistant", ""});
  std::vector<TemplatePart> parts = render_chat(t, c, tokens, "chat");
  size_t last_target = parts.size();
  for (size_t k = 0; k < parts.size(); ++k)
    if (parts[k].target) last_target = k;
  LP_CHECK(last_target < parts.size(), "internal: the template rendered no assistant part");
  std::string text;
  for (size_t k = 0; k < last_target; ++k) text += parts[k].text;
  return text;
}

std::string end_of_turn(ChatTemplate t, const TemplateTokens& tokens) {
  switch (t) {
    case ChatTemplate::Llama3: return "<|eot_id|>";
    case ChatTemplate::ChatML: return "<|im_end|>";
    default: return tokens.eos;
  }
}

void check_template_tokens(ChatTemplate t, const Tokenizer& tok, const TemplateTokens& tokens) {
  for (const std::string& s : special_texts(t, tokens)) {
    LP_CHECK(!s.empty(), "the ", chat_template_name(t), " chat template needs BOS and EOS tokens, which this tokenizer lacks");
    std::vector<int32_t> ids = tok.encode(s, false);
    LP_CHECK(ids.size() == 1 && ids[0] == tok.token_to_id(s), "the ", chat_template_name(t),
             " chat template needs the special token ", s, ", which this tokenizer does not have (pick the template of ",
             "the model's family with --template)");
  }
}

void encode_chat(const Tokenizer& tok, const std::vector<TemplatePart>& parts, std::vector<int32_t>& ids,
                 std::vector<uint8_t>& mask) {
  std::string text;
  std::vector<size_t> ends;  // character offset where each part ends
  for (const TemplatePart& p : parts) {
    text += p.text;
    ends.push_back(text.size());
  }
  size_t first = ids.size();
  tok.encode_into(text, false, ids);
  size_t n = ids.size() - first;
  mask.resize(first + n, 0);
  // The tokens of text[0, end) are a prefix of the whole text's tokens up to the boundary;
  // where a token straddles a boundary (a merge across it) it goes to the later part.
  std::vector<int32_t> prefix;
  size_t begin_token = 0;
  for (size_t k = 0; k < parts.size(); ++k) {
    size_t end_token = n;
    if (k + 1 < parts.size()) {
      prefix.clear();
      tok.encode_into(std::string_view(text).substr(0, ends[k]), false, prefix);
      size_t common = 0;
      while (common < prefix.size() && common < n && prefix[common] == ids[first + common]) ++common;
      end_token = std::max(common, begin_token);
    }
    for (size_t i = begin_token; i < end_token; ++i) mask[first + i] = parts[k].target ? 1 : 0;
    begin_token = end_token;
  }
}

}  // namespace llamapro
