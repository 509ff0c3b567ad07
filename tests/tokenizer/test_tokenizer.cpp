// test_tokenizer.cpp — tokenizer.json conformance against the golden ids of HF tokenizers
// 0.23, malformed files, the API around encode/decode, and the tokenize command.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "common/fixtures.h"
#include "tokenizer/tokenizer.h"
#include "util/check.h"
#include "util/json.h"

using namespace llamapro;
using namespace llamapro::testing;

namespace {

void write(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// ---------------------------------------------------------------------------------------------
// Conformance: the 300 golden strings of each fixture tokenizer.

class Golden : public ::testing::TestWithParam<std::string> {};

TEST_P(Golden, MatchesReferenceIdsAndDecoding) {
  LP_REQUIRE_FIXTURES();
  std::string dir = fixture("tokenizers/" + GetParam());
  Tokenizer tok = Tokenizer::from_dir(dir);
  json golden = read_json_file(dir + "/golden.json");
  const json& cases = golden.at("cases");
  ASSERT_EQ(cases.size(), 300u);
  int wrong_ids = 0, wrong_special = 0, wrong_decoded = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const json& c = cases[i];
    std::string text = c.at("text").get<std::string>();
    auto want = c.at("ids").get<std::vector<int32_t>>();
    auto want_special = c.at("ids_with_special").get<std::vector<int32_t>>();
    std::string want_decoded = c.at("decoded").get<std::string>();
    auto ids = tok.encode(text, false);
    if (ids != want && ++wrong_ids <= 5) ADD_FAILURE() << GetParam() << " case " << i << " ids differ: " << json(text).dump();
    if (tok.encode(text, true) != want_special && ++wrong_special <= 5)
      ADD_FAILURE() << GetParam() << " case " << i << " ids_with_special differ: " << json(text).dump();
    std::string decoded = tok.decode(want, false);
    if (decoded != want_decoded && ++wrong_decoded <= 5)
      ADD_FAILURE() << GetParam() << " case " << i << " decoded " << json(decoded).dump() << ", want "
                    << json(want_decoded).dump();
  }
  EXPECT_EQ(wrong_ids, 0);
  EXPECT_EQ(wrong_special, 0);
  EXPECT_EQ(wrong_decoded, 0);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, Golden, ::testing::Values("llama3", "qwen3", "mistral", "stories260K"));

// ---------------------------------------------------------------------------------------------
// Settings and lookups

TEST(Tokenizer, SpecialIdsVocabAndTemplateFromConfig) {
  LP_REQUIRE_FIXTURES();
  Tokenizer llama = Tokenizer::from_dir(fixture("tokenizers/llama3"));
  EXPECT_EQ(llama.vocab_size(), 128256u);
  EXPECT_EQ(llama.bos_id(), 128000);
  EXPECT_EQ(llama.eos_id(), 128001);
  EXPECT_EQ(llama.token_to_id("<|begin_of_text|>"), 128000);
  EXPECT_EQ(llama.id_to_token(128000), "<|begin_of_text|>");
  EXPECT_EQ(llama.token_to_id("Hello"), 9906);
  EXPECT_EQ(llama.id_to_token(9906), "Hello");
  EXPECT_EQ(llama.token_to_id("no such token"), -1);
  EXPECT_EQ(llama.id_to_token(-5), "");
  EXPECT_EQ(llama.id_to_token(1 << 24), "");
  EXPECT_TRUE(llama.is_special(128000));
  EXPECT_FALSE(llama.is_special(9906));
  EXPECT_NE(llama.chat_template().find("start_header_id"), std::string::npos);

  Tokenizer qwen = Tokenizer::from_dir(fixture("tokenizers/qwen3"));
  EXPECT_EQ(qwen.bos_id(), -1);  // "bos_token": null
  EXPECT_EQ(qwen.eos_id(), qwen.token_to_id("<|im_end|>"));
  EXPECT_NE(qwen.chat_template().find("<|im_start|>"), std::string::npos);

  // Without tokenizer_config.json, BOS/EOS come from the post-processor's template.
  Tokenizer mistral_file = Tokenizer::from_file(fixture("tokenizers/mistral/tokenizer.json"));
  EXPECT_EQ(mistral_file.bos_id(), 1);
  EXPECT_EQ(mistral_file.eos_id(), -1);
  EXPECT_EQ(mistral_file.chat_template(), "");
  Tokenizer mistral = Tokenizer::from_dir(fixture("tokenizers/mistral"));
  EXPECT_EQ(mistral.bos_id(), 1);
  EXPECT_EQ(mistral.eos_id(), 2);
  EXPECT_EQ(mistral.encode("Hello", true).front(), mistral.bos_id());
}

TEST(Tokenizer, FingerprintIdentifiesTheFileBytes) {
  LP_REQUIRE_FIXTURES();
  Tokenizer a = Tokenizer::from_dir(fixture("tokenizers/stories260K"));
  Tokenizer b = Tokenizer::from_file(fixture("tokenizers/stories260K/tokenizer.json"));
  Tokenizer c = Tokenizer::from_dir(fixture("tokenizers/mistral"));
  EXPECT_EQ(a.fingerprint().size(), 16u);
  EXPECT_EQ(a.fingerprint().find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(a.fingerprint(), b.fingerprint());
  EXPECT_NE(a.fingerprint(), c.fingerprint());
  // One byte more (same meaning) is another file.
  TempDir tmp;
  write(tmp.str("tokenizer.json"), read_text(fixture("tokenizers/stories260K/tokenizer.json")) + " ");
  EXPECT_NE(Tokenizer::from_dir(tmp.path()).fingerprint(), a.fingerprint());
}

// Ill-formed UTF-8 is repaired as Node/Rust/WHATWG decoders do: one U+FFFD per maximal subpart.
TEST(Tokenizer, InvalidUtf8BecomesReplacementCharacters) {
  LP_REQUIRE_FIXTURES();
  for (const char* name : {"llama3", "qwen3", "mistral", "stories260K"}) {
    Tokenizer tok = Tokenizer::from_dir(fixture(std::string("tokenizers/") + name));
    EXPECT_EQ(tok.encode("a\xFF b", false), tok.encode("a\uFFFD b", false)) << name;
    // E2 82 is a truncated 3-byte sequence: one replacement, then 'x'.
    EXPECT_EQ(tok.encode("\xE2\x82x", false), tok.encode("\uFFFDx", false)) << name;
    // A surrogate encoded in UTF-8 (ED A0 80) is three ill-formed bytes.
    EXPECT_EQ(tok.encode("\xED\xA0\x80", false), tok.encode("\uFFFD\uFFFD\uFFFD", false)) << name;
    EXPECT_EQ(tok.encode("\xF0\x9F\x98", false), tok.encode("\uFFFD", false)) << name;
  }
}

TEST(Tokenizer, DecodeSkipsSpecialTokensOnRequest) {
  LP_REQUIRE_FIXTURES();
  Tokenizer tok = Tokenizer::from_dir(fixture("tokenizers/llama3"));
  auto ids = tok.encode("<|begin_of_text|>Hello world<|end_of_text|>", false);
  EXPECT_EQ(ids.front(), 128000);
  EXPECT_EQ(tok.decode(ids, false), "<|begin_of_text|>Hello world<|end_of_text|>");
  EXPECT_EQ(tok.decode(ids, true), "Hello world");
  // Ids outside the vocabulary are skipped, as the reference does.
  ids.push_back(999999);
  EXPECT_EQ(tok.decode(ids, true), "Hello world");
}

// Streaming decode releases exactly the full decoding, never splitting a character.
TEST(Tokenizer, StreamDecoderReleasesWholeCharacters) {
  LP_REQUIRE_FIXTURES();
  const std::string text = "Hello wörld — 你好，世界! 😀👩\u200d👩\u200d👧 ok\n  code(x) ";
  for (const char* name : {"llama3", "qwen3", "mistral", "stories260K"}) {
    Tokenizer tok = Tokenizer::from_dir(fixture(std::string("tokenizers/") + name));
    auto ids = tok.encode(text, true);
    StreamDecoder stream(tok, true);
    std::string joined;
    for (int32_t id : ids) {
      std::string piece = stream.step(id);
      EXPECT_TRUE(piece.find("\xEF\xBF\xBD") == std::string::npos) << name << ": released a partial character";
      joined += piece;
    }
    joined += stream.flush();
    EXPECT_EQ(joined, tok.decode(ids, true)) << name;
  }
}

TEST(Tokenizer, ConcurrentEncodeGivesTheSameIds) {
  LP_REQUIRE_FIXTURES();
  Tokenizer tok = Tokenizer::from_dir(fixture("tokenizers/qwen3"));
  json golden = read_json_file(fixture("tokenizers/qwen3/golden.json"));
  std::vector<std::string> texts;
  for (const auto& c : golden.at("cases")) texts.push_back(c.at("text").get<std::string>());
  std::vector<std::vector<int32_t>> serial;
  for (const auto& t : texts) serial.push_back(tok.encode(t, false));
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int round = 0; round < 3; ++round)
        for (size_t i = 0; i < texts.size(); ++i)
          if (tok.encode(texts[(i + t * 37) % texts.size()], false) != serial[(i + t * 37) % texts.size()]) mismatches[t]++;
    });
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(mismatches[t], 0) << "thread " << t;
}

// ---------------------------------------------------------------------------------------------
// A small byte-level tokenizer written here, for the pipeline details and malformed files.

std::string small_tokenizer(const std::string& model_override = "", const std::string& pre = "") {
  std::string model = model_override.empty()
                          ? R"({"type": "BPE", "vocab": {"a": 0, "b": 1, "c": 2, "ab": 3, "\u0120": 4, "\u0120ab": 5,
                               "abc": 6}, "merges": ["a b", "\u0120 ab", "ab c"]})"
                          : model_override;
  std::string pre_tokenizer =
      pre.empty() ? R"({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": true})" : pre;
  return R"({"version": "1.0", "truncation": null, "padding": null,
    "added_tokens": [{"id": 7, "content": "<s>", "single_word": false, "lstrip": false, "rstrip": false,
                      "normalized": false, "special": true},
                     {"id": 8, "content": "[X]", "single_word": false, "lstrip": true, "rstrip": true,
                      "normalized": false, "special": false}],
    "normalizer": null, "pre_tokenizer": )" +
         pre_tokenizer + R"(,
    "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
      {"Sequence": {"id": "A", "type_id": 0}}], "pair": [], "special_tokens": {"<s>": {"id": "<s>", "ids": [7],
      "tokens": ["<s>"]}}},
    "decoder": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": true},
    "model": )" + model + "}";
}

TEST(Tokenizer, SmallByteLevelPipeline) {
  TempDir tmp;
  write(tmp.str("tokenizer.json"), small_tokenizer());
  Tokenizer tok = Tokenizer::from_dir(tmp.path());
  EXPECT_EQ(tok.vocab_size(), 9u);
  EXPECT_EQ(tok.encode("abc ab", false), (std::vector<int32_t>{6, 5}));
  EXPECT_EQ(tok.encode("abc ab", true), (std::vector<int32_t>{7, 6, 5}));
  // lstrip/rstrip: the spaces around [X] belong to it.
  EXPECT_EQ(tok.encode("ab [X] ab", false), (std::vector<int32_t>{3, 8, 3}));
  EXPECT_EQ(tok.encode("<s>ab", false), (std::vector<int32_t>{7, 3}));
  EXPECT_EQ(tok.decode({6, 5}, false), "abc ab");
  EXPECT_EQ(tok.encode("", true), (std::vector<int32_t>{7}));
  EXPECT_EQ(tok.bos_id(), 7);
}

// ---------------------------------------------------------------------------------------------
// Malformed and unsupported files: one clear error each.

void expect_load_error(const std::string& json_text, const std::string& fragment) {
  TempDir tmp;
  write(tmp.str("tokenizer.json"), json_text);
  try {
    Tokenizer::from_dir(tmp.path());
    ADD_FAILURE() << "no error, expected one mentioning \"" << fragment << "\"";
  } catch (const Error& e) {
    std::string what = e.what();
    EXPECT_NE(what.find(fragment), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << "multi-line message: " << what;
  }
}

TEST(TokenizerErrors, BadJson) { expect_load_error("{\"model\": {\"type\": \"BPE\",", "invalid JSON"); }

TEST(TokenizerErrors, MissingVocab) {
  expect_load_error(small_tokenizer(R"({"type": "BPE", "merges": []})"), "missing key \"vocab\"");
}

TEST(TokenizerErrors, MergeNamesUnknownToken) {
  expect_load_error(small_tokenizer(R"({"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a zz"]})"),
                    "token \"zz\" is not in the vocabulary");
  expect_load_error(small_tokenizer(R"({"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": [["a", "b"]]})"),
                    "merged token \"ab\" is not in the vocabulary");
}

TEST(TokenizerErrors, InvalidRegex) {
  expect_load_error(small_tokenizer("", R"({"type": "Split", "pattern": {"Regex": "(\\p{L}+"},
                                          "behavior": "Isolated", "invert": false})"),
                    "invalid regex");
}

TEST(TokenizerErrors, UnsupportedComponentsAreNamed) {
  expect_load_error(small_tokenizer("", R"({"type": "BertPreTokenizer"})"), "unsupported pre_tokenizer type \"BertPreTokenizer\"");
  expect_load_error(small_tokenizer(R"({"type": "WordPiece", "vocab": {"a": 0}})"), "unsupported model type \"WordPiece\"");
  std::string precompiled = small_tokenizer();
  precompiled.replace(precompiled.find("\"normalizer\": null"), 18,
                      R"("normalizer": {"type": "Precompiled", "precompiled_charsmap": ""})");
  expect_load_error(precompiled, "unsupported normalizer type \"Precompiled\"");
  std::string truncated = small_tokenizer();
  truncated.replace(truncated.find("\"truncation\": null"), 18, R"("truncation": {"max_length": 8})");
  expect_load_error(truncated, "truncation");
}

TEST(TokenizerErrors, MissingFolderOrFile) {
  TempDir tmp;
  EXPECT_THROW(Tokenizer::from_dir(tmp.path()), Error);
  EXPECT_THROW(Tokenizer::from_file(tmp.str("nope.json")), Error);
}

// ---------------------------------------------------------------------------------------------
// The tokenize command

TEST(TokenizeCommand, PrintsIdsTokensAndCount) {
  LP_REQUIRE_FIXTURES();
  std::string dir = fixture("tokenizers/llama3");
  CliResult ids = run_cli("tokenize " + dir + " --text 'Hello world!' --ids");
  ASSERT_EQ(ids.status, 0) << ids.err;
  EXPECT_EQ(ids.out, "9906 1917 0\n");
  CliResult count = run_cli("tokenize " + dir + " --text 'Hello world!' --count");
  ASSERT_EQ(count.status, 0) << count.err;
  EXPECT_EQ(count.out, "3\n");
  CliResult tokens = run_cli("tokenize " + dir + " --text 'Hello world!'");
  ASSERT_EQ(tokens.status, 0) << tokens.err;
  EXPECT_EQ(tokens.out, "9906\t\"Hello\"\n1917\t\"\u0120world\"\n0\t\"!\"\n");
  TempDir tmp;
  write(tmp.str("in.txt"), "Hello world!");
  CliResult file = run_cli("tokenize " + fixture("tokenizers/mistral") + " --file " + tmp.str("in.txt") + " --ids --special");
  ASSERT_EQ(file.status, 0) << file.err;
  EXPECT_EQ(file.out.rfind("1 ", 0), 0u) << file.out;  // BOS first
}

TEST(TokenizeCommand, ErrorsAreOneLineAndExitOne) {
  TempDir tmp;
  EXPECT_TRUE(is_clean_error(run_cli("tokenize " + tmp.str() + " --text hi")));  // no tokenizer.json
  write(tmp.str("tokenizer.json"), "{ not json");
  CliResult bad = run_cli("tokenize " + tmp.str() + " --text hi");
  EXPECT_TRUE(is_clean_error(bad));
  EXPECT_NE(bad.err.find("invalid JSON"), std::string::npos) << bad.err;
  write(tmp.str("tokenizer.json"), small_tokenizer(R"({"type": "BPE", "vocab": {"a": 0}, "merges": ["a q"]})"));
  EXPECT_TRUE(is_clean_error(run_cli("tokenize " + tmp.str() + " --text hi")));
  write(tmp.str("tokenizer.json"), small_tokenizer());
  EXPECT_TRUE(is_clean_error(run_cli("tokenize " + tmp.str() + " --file " + tmp.str("missing.txt"))));
  EXPECT_TRUE(is_clean_error(run_cli("tokenize " + tmp.str() + " --text a --file b")));
}

}  // namespace
