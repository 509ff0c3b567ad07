// test_templates.cpp — each chat template against its hand-written official format, tokens
// equal to encoding that text directly, and the loss mask exactly on the assistant replies and
// their end-of-turn tokens; the record shapes and their errors.
#include <gtest/gtest.h>

#include "common/fixtures.h"
#include "data/chat_template.h"
#include "tokenizer/tokenizer.h"
#include "util/check.h"

using namespace llamapro;
using namespace llamapro::testing;

namespace {

Conversation two_turns() {
  return parse_conversation(json::parse(R"({"messages": [
      {"role": "system", "content": "Be brief."},
      {"role": "user", "content": "Hi there"},
      {"role": "assistant", "content": "Hello! How can I help?"},
      {"role": "user", "content": "2+2?"},
      {"role": "assistant", "content": "4"}]})"), "test");
}

std::string joined(const std::vector<TemplatePart>& parts) {
  std::string s;
  for (const auto& p : parts) s += p.text;
  return s;
}

// Target runs as text: byte-level tokenizers decode exactly; sentencepiece pieces are joined
// with their "▁" shown as spaces (decode would drop a run's leading space).
std::vector<std::string> target_runs(const Tokenizer& tok, const std::vector<int32_t>& ids,
                                     const std::vector<uint8_t>& mask, bool byte_level) {
  std::vector<std::string> runs;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (!mask[i]) continue;
    if (i == 0 || !mask[i - 1]) runs.emplace_back();
    if (byte_level) {
      runs.back() += tok.decode({ids[i]}, false);
    } else {
      std::string piece = tok.id_to_token(ids[i]);
      for (size_t p; (p = piece.find("\xE2\x96\x81")) != std::string::npos;) piece.replace(p, 3, " ");
      runs.back() += piece;
    }
  }
  return runs;
}

struct Case {
  ChatTemplate t;
  const char* tokenizer;
  bool byte_level;
  std::string text;
  std::vector<std::string> targets;
};

void check(const Case& c, const Conversation& conv) {
  Tokenizer tok = Tokenizer::from_dir(fixture(c.tokenizer));
  TemplateTokens tt{tok.bos_id() >= 0 ? tok.id_to_token(tok.bos_id()) : "", tok.id_to_token(tok.eos_id()), true};
  check_template_tokens(c.t, tok, tt);
  auto parts = render_chat(c.t, conv, tt, "test");
  EXPECT_EQ(joined(parts), c.text);
  std::vector<int32_t> ids;
  std::vector<uint8_t> mask;
  encode_chat(tok, parts, ids, mask);
  EXPECT_EQ(ids, tok.encode(c.text, false));  // exactly the ids of the rendered text
  ASSERT_EQ(mask.size(), ids.size());
  EXPECT_EQ(target_runs(tok, ids, mask, c.byte_level), c.targets);
}

}  // namespace

TEST(ChatTemplate, Llama3) {
  LP_REQUIRE_FIXTURES();
  check({ChatTemplate::Llama3, "tokenizers/llama3", true,
         "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
         "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>"
         "<|start_header_id|>assistant<|end_header_id|>\n\nHello! How can I help?<|eot_id|>"
         "<|start_header_id|>user<|end_header_id|>\n\n2+2?<|eot_id|>"
         "<|start_header_id|>assistant<|end_header_id|>\n\n4<|eot_id|>",
         {"Hello! How can I help?<|eot_id|>", "4<|eot_id|>"}},
        two_turns());
}

TEST(ChatTemplate, Llama3TrimsContent) {
  LP_REQUIRE_FIXTURES();
  Conversation c = parse_conversation(json::parse(R"({"messages": [{"role": "user", "content": "  hi \n"},
      {"role": "assistant", "content": "\n yo  "}]})"), "test");
  check({ChatTemplate::Llama3, "tokenizers/llama3", true,
         "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>"
         "<|start_header_id|>assistant<|end_header_id|>\n\nyo<|eot_id|>",
         {"yo<|eot_id|>"}},
        c);
}

TEST(ChatTemplate, ChatML) {
  LP_REQUIRE_FIXTURES();
  check({ChatTemplate::ChatML, "tokenizers/qwen3", true,
         "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n"
         "<|im_start|>assistant\nHello! How can I help?<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n"
         "<|im_start|>assistant\n4<|im_end|>\n",
         {"Hello! How can I help?<|im_end|>", "4<|im_end|>"}},
        two_turns());
}

TEST(ChatTemplate, Llama2) {
  LP_REQUIRE_FIXTURES();
  check({ChatTemplate::Llama2, "tokenizers/mistral", false,
         "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi there [/INST] Hello! How can I help? </s>"
         "<s>[INST] 2+2? [/INST] 4 </s>",
         {" Hello! How can I help? </s>", " 4 </s>"}},
        two_turns());
}

TEST(ChatTemplate, Mistral) {
  LP_REQUIRE_FIXTURES();
  check({ChatTemplate::Mistral, "tokenizers/mistral", false,
         "<s>[INST] Be brief.\n\nHi there [/INST] Hello! How can I help?</s>[INST] 2+2? [/INST] 4</s>",
         {" Hello! How can I help?</s>", " 4</s>"}},
        two_turns());
}

TEST(ChatTemplate, Alpaca) {
  LP_REQUIRE_FIXTURES();
  Conversation with_input =
      parse_conversation(json::parse(R"({"instruction": "Add the numbers.", "input": "2 and 3", "output": "5"})"), "t");
  check({ChatTemplate::Alpaca, "tokenizers/mistral", false,
         "<s>Below is an instruction that describes a task, paired with an input that provides further context. "
         "Write a response that appropriately completes the request.\n\n### Instruction:\nAdd the numbers.\n\n"
         "### Input:\n2 and 3\n\n### Response:5</s>",
         {"5</s>"}},
        with_input);
  Conversation no_input = parse_conversation(json::parse(R"({"instruction": "Say hi.", "output": "Hi"})"), "t");
  check({ChatTemplate::Alpaca, "tokenizers/mistral", false,
         "<s>Below is an instruction that describes a task. Write a response that appropriately completes the "
         "request.\n\n### Instruction:\nSay hi.\n\n### Response:Hi</s>",
         {"Hi</s>"}},
        no_input);
}

TEST(ChatTemplate, NamesAndDetection) {
  EXPECT_EQ(parse_chat_template("chatml"), ChatTemplate::ChatML);
  EXPECT_STREQ(chat_template_name(ChatTemplate::Llama2), "llama2");
  EXPECT_THROW(parse_chat_template("vicuna"), Error);
  EXPECT_EQ(detect_chat_template("{{ '<|start_header_id|>' }}"), ChatTemplate::Llama3);
  EXPECT_EQ(detect_chat_template("{{ '<|im_start|>' + role }}"), ChatTemplate::ChatML);
  EXPECT_EQ(detect_chat_template("<<SYS>> [INST]"), ChatTemplate::Llama2);
  EXPECT_EQ(detect_chat_template("{{ '[INST] ' }}"), ChatTemplate::Mistral);
  EXPECT_FALSE(detect_chat_template("{{ messages }}").has_value());
}

TEST(ChatTemplate, DetectsTheModelsOwnTemplate) {
  LP_REQUIRE_FIXTURES();
  EXPECT_EQ(detect_chat_template(Tokenizer::from_dir(fixture("tokenizers/llama3")).chat_template()), ChatTemplate::Llama3);
  EXPECT_EQ(detect_chat_template(Tokenizer::from_dir(fixture("tokenizers/qwen3")).chat_template()), ChatTemplate::ChatML);
}

TEST(ChatTemplate, MissingSpecialTokensAreRefused) {
  LP_REQUIRE_FIXTURES();
  Tokenizer tok = Tokenizer::from_dir(fixture("tokenizers/mistral"));
  TemplateTokens tt{"<s>", "</s>", true};
  EXPECT_THROW(check_template_tokens(ChatTemplate::Llama3, tok, tt), Error);
  EXPECT_THROW(check_template_tokens(ChatTemplate::ChatML, tok, tt), Error);
  EXPECT_NO_THROW(check_template_tokens(ChatTemplate::Llama2, tok, tt));
}

TEST(Conversation, ShapesAndOrder) {
  Conversation sg = parse_conversation(json::parse(R"({"conversations": [{"from": "system", "value": "S"},
      {"from": "human", "value": "Q"}, {"from": "gpt", "value": "A"}]})"), "t");
  ASSERT_EQ(sg.messages.size(), 3u);
  EXPECT_EQ(sg.messages[1].role, "user");
  EXPECT_EQ(sg.messages[2].role, "assistant");
  Conversation al = parse_conversation(json::parse(R"({"instruction": "I", "input": "X", "output": "O", "system": "S"})"), "t");
  ASSERT_EQ(al.messages.size(), 3u);
  EXPECT_EQ(al.messages[1].content, "I\n\nX");
  EXPECT_TRUE(al.alpaca.has_value());
  for (const char* bad : {R"({"messages": [{"role": "user", "content": "Q"}]})",
                          R"({"messages": [{"role": "assistant", "content": "A"}, {"role": "user", "content": "Q"}]})",
                          R"({"messages": [{"role": "user", "content": "Q"}, {"role": "bot", "content": "A"}]})",
                          R"({"messages": [{"role": "user", "content": 3}, {"role": "assistant", "content": "A"}]})",
                          R"({"messages": "hi"})", R"({"prompt": "x"})", R"([1, 2])"}) {
    try {
      parse_conversation(json::parse(bad), "f.jsonl:7");
      ADD_FAILURE() << "accepted " << bad;
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).rfind("f.jsonl:7: ", 0), 0u) << e.what();
    }
  }
}
