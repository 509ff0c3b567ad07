// chat.cpp — a templated conversation with a window (see chat.h).
#include "infer/chat.h"

#include <algorithm>

#include "util/check.h"

namespace llamapro {

ChatSession::ChatSession(const Model& model, const Tokenizer& tokenizer, ChatTemplate t, TemplateTokens tokens,
                         ChatOptions o)
    : model_(model), tokenizer_(tokenizer), template_(t), tokens_(std::move(tokens)), options_(std::move(o)) {
  check_template_tokens(t, tokenizer, tokens_);
  end_of_turn_ = tokenizer.token_to_id(end_of_turn(t, tokens_));
  LP_CHECK(tokenizer.vocab_size() <= size_t(model.config().vocab_size), "the tokenizer has ", tokenizer.vocab_size(),
           " tokens but the model only ", model.config().vocab_size);
  LP_CHECK(options_.system.empty() || t != ChatTemplate::Alpaca, "the alpaca template has no system prompt");
}

void ChatSession::set_history(std::vector<ChatMessage> exchanges) {
  for (size_t i = 0; i < exchanges.size(); i++)
    LP_CHECK(exchanges[i].role == (i % 2 == 0 ? "user" : "assistant"), "internal: history must alternate user and assistant");
  exchanges_ = std::move(exchanges);
}

int64_t ChatSession::window() const { return model_.max_sequence_length(); }

std::vector<int32_t> ChatSession::render(const std::string& user) const {
  std::vector<ChatMessage> history;
  if (!options_.system.empty()) history.push_back({"system", options_.system});
  history.insert(history.end(), exchanges_.begin(), exchanges_.end());
  history.push_back({"user", user});
  return tokenizer_.encode(render_generation_prompt(template_, history, tokens_), /*add_special=*/false);
}

ChatTurn ChatSession::say(const std::string& user, const std::function<void(const std::string&)>& on_text) {
  ChatTurn turn;
  if (!keeps_history()) {
    turn.dropped_turns = int64_t(exchanges_.size() / 2);
    exchanges_.clear();
  }
  turn.prompt_ids = render(user);
  // Oldest exchanges go first until the prompt and a full reply fit the window.
  while (int64_t(turn.prompt_ids.size()) + options_.max_new_tokens > window() && !exchanges_.empty()) {
    exchanges_.erase(exchanges_.begin(), exchanges_.begin() + 2);
    turn.dropped_turns++;
    turn.prompt_ids = render(user);
  }
  const int64_t room = window() - int64_t(turn.prompt_ids.size());
  LP_CHECK(room >= options_.max_new_tokens, "the message is ", turn.prompt_ids.size(),
           " tokens with the template; with --max-new-tokens ", options_.max_new_tokens, " it needs ",
           int64_t(turn.prompt_ids.size()) + options_.max_new_tokens, " positions, and the model's window is ", window(),
           " (shorten the message or lower --max-new-tokens)");

  GenerateOptions g;
  g.max_new_tokens = options_.max_new_tokens;
  g.sampler = options_.sampler;
  g.sampler.seed += uint64_t(replies_++);
  g.stop_when = [&](const std::vector<int64_t>& out) { return out.back() == end_of_turn_; };
  StreamDecoder stream(tokenizer_, /*skip_special=*/true);
  std::vector<int64_t> prompt(turn.prompt_ids.begin(), turn.prompt_ids.end());
  GenerateResult r = generate(model_, prompt, g, [&](int64_t id) {
    const std::string text = stream.step(int32_t(id));
    if (on_text && !text.empty()) on_text(text);
  });
  const std::string tail = stream.flush();
  if (on_text && !tail.empty()) on_text(tail);
  turn.reply_ids = r.tokens;
  turn.finished = r.stopped_at_eos || (!r.tokens.empty() && r.tokens.back() == end_of_turn_);
  std::vector<int32_t> content;
  for (int64_t id : r.tokens) content.push_back(int32_t(id));
  turn.reply = tokenizer_.decode(content, /*skip_special=*/true);
  exchanges_.push_back({"user", user});
  exchanges_.push_back({"assistant", turn.reply});
  return turn;
}

}  // namespace llamapro
