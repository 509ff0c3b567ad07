// test_data_cli.cpp — `llamapro data prepare|inspect` from the command line: the happy path,
// and one clean "error: ..." line for each kind of bad input, with no output left behind.
#include <gtest/gtest.h>

#include <cstdlib>

#include "data_helpers.h"

using namespace llamapro;
using namespace llamapro::testing;

namespace {

std::string prepare_args(const std::string& model, const std::string& inputs, const std::string& out,
                         const std::string& extra = "") {
  return "data prepare --no-progress --tokenizer " + model + " --input " + inputs + " -o " + out + " " + extra;
}

void expect_clean_error(const CliResult& r, const std::string& part) {
  EXPECT_TRUE(is_clean_error(r));
  EXPECT_NE(r.err.find(part), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "more than one line: " << r.err;
}

// The gzip bytes of text (through the gzip tool, as users make them).
std::string read_text_gz_of(const TempDir& tmp, const std::string& text) {
  write_text(tmp.path() / "plain", text);
  EXPECT_EQ(std::system(("gzip -kf " + tmp.str("plain")).c_str()), 0);
  return read_text(tmp.str("plain.gz"));
}

}  // namespace

TEST(DataCli, PrepareAndInspect) {
  LP_REQUIRE_FIXTURES();
  TempDir tmp;
  write_text(tmp.path() / "a.txt", "Once upon a time, Lily met a cat.");
  CliResult r = run_cli(prepare_args(fixture("models/stories260K"), tmp.str("a.txt"), tmp.str("out"), "--threads 2"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("1 documents"), std::string::npos) << r.out;
  r = run_cli("data inspect " + tmp.str("out"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("pretrain"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("uint16"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Lily met a cat."), std::string::npos) << r.out;  // the decoded sample
}

TEST(DataCli, InspectShowsTheChatMask) {
  LP_REQUIRE_FIXTURES();
  TempDir tmp;
  write_text(tmp.path() / "c.jsonl",
             "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Yo there\"}]}\n");
  CliResult r = run_cli(prepare_args(fixture("tokenizers/qwen3"), tmp.str("c.jsonl"), tmp.str("out"), "--format chat"));
  ASSERT_EQ(r.status, 0) << r.err;
  r = run_cli("data inspect " + tmp.str("out"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("chat (template chatml)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("<|im_start|>assistant\n[[Yo there<|im_end|>]]\n"), std::string::npos) << r.out;
}

TEST(DataCli, InspectWithoutTheTokenizerShowsIds) {
  TempDir tmp;
  auto dir = prepare_ids(tmp, "d", {{11, 12, 13}});
  CliResult r = run_cli("data inspect " + dir.string());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("11 12 13"), std::string::npos) << r.out;
}

TEST(DataCli, MissingInput) {
  TempDir tmp;
  std::string model = config_only_model(tmp, 1000).string();
  expect_clean_error(run_cli(prepare_args(model, tmp.str("nope.txt"), tmp.str("out"))), "does not exist");
  expect_clean_error(run_cli(prepare_args(model, "'" + tmp.str("*.jsonl") + "'", tmp.str("out"))), "matches no files");
  EXPECT_FALSE(std::filesystem::exists(tmp.path() / "out"));
}

TEST(DataCli, BadJsonLineNamesFileAndLine) {
  LP_REQUIRE_FIXTURES();
  TempDir tmp;
  write_text(tmp.path() / "bad.jsonl", "{\"text\": \"fine\"}\n{\"text\": \"broken\n");
  CliResult r = run_cli(prepare_args(fixture("models/stories260K"), tmp.str("bad.jsonl"), tmp.str("out")));
  expect_clean_error(r, tmp.str("bad.jsonl") + ":2: invalid JSON");
  write_text(tmp.path() / "field.jsonl", "{\"content\": \"x\"}\n");
  expect_clean_error(run_cli(prepare_args(fixture("models/stories260K"), tmp.str("field.jsonl"), tmp.str("out"))),
                     "field.jsonl:1: no \"text\" field");
  EXPECT_EQ(run_cli(prepare_args(fixture("models/stories260K"), tmp.str("field.jsonl"), tmp.str("out"), "--field content")).status, 0);
  // Nothing half-written stays behind after a failure.
  for (const auto& e : std::filesystem::directory_iterator(tmp.path()))
    EXPECT_EQ(e.path().filename().string().find(".partial"), std::string::npos) << e.path();
}

TEST(DataCli, IdsOutsideTheVocabulary) {
  TempDir tmp;
  write_text(tmp.path() / "ids.jsonl", ids_jsonl({{1, 2}, {3, 1000}}));
  expect_clean_error(run_cli(prepare_args(config_only_model(tmp, 1000).string(), tmp.str("ids.jsonl"), tmp.str("out"))),
                     "ids.jsonl:2: token id 1000 is outside the vocabulary (size 1000)");
  write_text(tmp.path() / "neg.jsonl", "{\"ids\": [-1]}\n");
  expect_clean_error(run_cli(prepare_args(config_only_model(tmp, 1000).string(), tmp.str("neg.jsonl"), tmp.str("out"))),
                     "outside the vocabulary");
}

TEST(DataCli, TextNeedsATokenizer) {
  TempDir tmp;
  write_text(tmp.path() / "mixed.jsonl", "{\"ids\": [1]}\n{\"text\": \"words\"}\n");
  expect_clean_error(run_cli(prepare_args(config_only_model(tmp, 1000).string(), tmp.str("mixed.jsonl"), tmp.str("out"))),
                     "mixed.jsonl:2: a text document, but");
}

TEST(DataCli, UnknownOrUnusableTemplate) {
  LP_REQUIRE_FIXTURES();
  TempDir tmp;
  write_text(tmp.path() / "c.jsonl", "{\"instruction\": \"Hi\", \"output\": \"Yo\"}\n");
  expect_clean_error(
      run_cli(prepare_args(fixture("tokenizers/llama3"), tmp.str("c.jsonl"), tmp.str("out"), "--format chat --template vicuna")),
      "unknown chat template \"vicuna\"");
  expect_clean_error(
      run_cli(prepare_args(fixture("models/stories260K"), tmp.str("c.jsonl"), tmp.str("out"), "--format chat")),
      "has no chat template");
  expect_clean_error(
      run_cli(prepare_args(fixture("tokenizers/mistral"), tmp.str("c.jsonl"), tmp.str("out"), "--format chat --template chatml")),
      "needs the special token <|im_start|>");
  write_text(tmp.path() / "t.txt", "plain");
  expect_clean_error(
      run_cli(prepare_args(fixture("tokenizers/mistral"), tmp.str("t.txt"), tmp.str("out"), "--format chat --template mistral")),
      "chat data must be JSON Lines");
}

TEST(DataCli, ExistingOutputNeedsForce) {
  TempDir tmp;
  write_text(tmp.path() / "ids.jsonl", ids_jsonl({{1, 2}}));
  std::string args = prepare_args(config_only_model(tmp, 1000).string(), tmp.str("ids.jsonl"), tmp.str("out"));
  ASSERT_EQ(run_cli(args).status, 0);
  expect_clean_error(run_cli(args), "already exists");
  EXPECT_EQ(run_cli(args + " --force").status, 0);
}

TEST(DataCli, BadGzipIsAnError) {
  TempDir tmp;
  std::string model = config_only_model(tmp, 1000).string();  // reading fails before any tokenizing
  // A gzip header followed by garbage.
  write_text(tmp.path() / "x.txt.gz", std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03garbage-garbage", 22));
  expect_clean_error(run_cli(prepare_args(model, tmp.str("x.txt.gz"), tmp.str("out"))),
                     "cannot read");
  // A valid stream cut short.
  std::string gz = read_text_gz_of(tmp, std::string(20000, 'a'));
  write_text(tmp.path() / "cut.txt.gz", gz.substr(0, gz.size() / 2));
  expect_clean_error(run_cli(prepare_args(model, tmp.str("cut.txt.gz"), tmp.str("out"))),
                     "unexpected end of file");
}
