// chat.h — a conversation with a model through its chat template: the history rendered as
// transformers' apply_chat_template(add_generation_prompt=True) renders it, the oldest turns
// dropped when the window is full, and each reply generated until the end-of-turn token.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "data/chat_template.h"
#include "infer/generate.h"
#include "tokenizer/tokenizer.h"

namespace llamapro {

struct ChatOptions {
  int64_t max_new_tokens = 256;
  SamplerConfig sampler;  // the seed advances by one per reply
  std::string system;     // "" = no system prompt
};

struct ChatTurn {
  std::vector<int32_t> prompt_ids;  // what the model saw: the rendered history and this message
  std::vector<int64_t> reply_ids;   // generated, the end-of-turn token included when reached
  std::string reply;                // decoded, special tokens left out
  int64_t dropped_turns = 0;        // earlier exchanges left out to fit the window
  bool finished = false;            // ended with the end-of-turn token (not the length limit)
};

class ChatSession {
 public:
  ChatSession(const Model& model, const Tokenizer& tokenizer, ChatTemplate t, TemplateTokens tokens, ChatOptions o);

  // Earlier messages (no system: that comes from the options), user and assistant alternating.
  void set_history(std::vector<ChatMessage> exchanges);
  // Answers `user`; `on_text` receives the reply as it is generated. Throws when the message
  // alone does not fit the model's window.
  ChatTurn say(const std::string& user, const std::function<void(const std::string&)>& on_text = {});
  void reset() { exchanges_.clear(); }  // forget everything but the system prompt

  int64_t window() const;
  bool keeps_history() const { return template_ != ChatTemplate::Alpaca; }  // alpaca is single-turn

 private:
  std::vector<int32_t> render(const std::string& user) const;

  const Model& model_;
  const Tokenizer& tokenizer_;
  ChatTemplate template_;
  TemplateTokens tokens_;
  ChatOptions options_;
  int32_t end_of_turn_ = -1;
  std::vector<ChatMessage> exchanges_;  // user, assistant, user, assistant, ...
  int64_t replies_ = 0;
};

}  // namespace llamapro
