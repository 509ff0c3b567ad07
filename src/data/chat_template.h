// chat_template.h — the chat formats of the major model families, written out by hand, and
// their tokenization with a loss mask (1 on assistant tokens and their end-of-turn token).
//
// A template renders a conversation to text parts marked target or not; special tokens appear
// as their text, which the tokenizer's added-token matching turns into their ids. The whole
// text is encoded once (so the ids are exactly those of the rendered string), and the mask
// boundaries are found by encoding the prefix that ends at each boundary.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "data/conversation.h"

namespace llamapro {

class Tokenizer;

enum class ChatTemplate { Llama3, Llama2, Mistral, ChatML, Alpaca };

// "llama3" | "llama2" | "mistral" | "chatml" | "alpaca"; error listing them otherwise.
ChatTemplate parse_chat_template(std::string_view name);
const char* chat_template_name(ChatTemplate t);
// Which of ours a tokenizer_config.json jinja template is, when it is one of them.
std::optional<ChatTemplate> detect_chat_template(const std::string& jinja);

struct TemplatePart {
  std::string text;
  bool target = false;  // the model learns to produce these tokens
};

// The special-token texts a template uses, from the tokenizer.
struct TemplateTokens {
  std::string bos, eos;  // "" when the tokenizer has none
  bool add_bos = true;   // Alpaca (plain text) starts with BOS per the tokenizer's settings
};

// Renders a conversation; `where` names the record in errors.
std::vector<TemplatePart> render_chat(ChatTemplate t, const Conversation& c, const TemplateTokens& tokens,
                                      const std::string& where);

// The text a model continues to answer: `history` (optional system, then user and assistant
// alternating, ending with a user message) and the opening of the assistant's turn, as
// transformers' apply_chat_template(add_generation_prompt=True) renders it.
std::string render_generation_prompt(ChatTemplate t, const std::vector<ChatMessage>& history,
                                     const TemplateTokens& tokens);

// The special text that ends an assistant turn: <|eot_id|>, <|im_end|>, or the EOS token.
std::string end_of_turn(ChatTemplate t, const TemplateTokens& tokens);

// Checks that every special text the template needs is one token of this tokenizer.
void check_template_tokens(ChatTemplate t, const Tokenizer& tok, const TemplateTokens& tokens);

// Encodes rendered parts: ids of the concatenated text and, per id, 1 if it is a target.
void encode_chat(const Tokenizer& tok, const std::vector<TemplatePart>& parts, std::vector<int32_t>& ids,
                 std::vector<uint8_t>& mask);

}  // namespace llamapro
