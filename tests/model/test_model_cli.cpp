// test_model_cli.cpp — `llamapro score` and `llamapro generate` end to end, and their errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <torch/torch.h>

#include "common/fixtures.h"
#include "io/safetensors.h"
#include "util/json.h"

namespace llamapro {
namespace {

using testing::fixture;
using testing::is_clean_error;
using testing::run_cli;
using testing::TempDir;

// The golden input ids `name` of a model folder as a JSON list of lists.
json golden_ids(const std::string& dir, const std::string& name) {
  SafetensorsFile f(dir + "/golden.safetensors");
  const TensorInfo* t = f.find(name);
  const auto* p = reinterpret_cast<const int64_t*>(f.data(*t));
  json out = json::array();
  for (int64_t b = 0; b < t->shape[0]; b++) {
    json row = json::array();
    for (int64_t i = 0; i < t->shape[1]; i++) row.push_back(p[b * t->shape[1] + i]);
    out.push_back(row);
  }
  return out;
}

void write_text(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

double parse_loss(const std::string& out) {
  double loss = -1;
  std::sscanf(out.c_str(), "loss %lf", &loss);
  return loss;
}

TEST(ScoreCli, LossAndLogitsMatchGolden) {
  LP_REQUIRE_FIXTURES();
  for (const char* name : {"tiny-qwen2", "tiny-llama3-expanded"}) {
    const std::string dir = fixture(std::string("models/") + name);
    TempDir tmp;
    write_text(tmp.str("ids.json"), golden_ids(dir, "a.input_ids").dump());
    auto r = run_cli("score " + dir + " --ids " + tmp.str("ids.json") + " --logits-out " + tmp.str("logits.safetensors"));
    ASSERT_EQ(r.status, 0) << r.err;
    json g = read_json_file(dir + "/golden.json");
    EXPECT_NEAR(parse_loss(r.out), g["a.loss"].get<double>(), 1e-4) << r.out;

    SafetensorsFile out(tmp.str("logits.safetensors"));
    SafetensorsFile golden(dir + "/golden.safetensors");
    const TensorInfo* t = out.find("logits");
    const TensorInfo* ref = golden.find("a.logits");
    ASSERT_TRUE(t && ref);
    EXPECT_EQ(t->dtype, DType::F32);
    ASSERT_EQ(t->shape, ref->shape);
    auto a = torch::from_blob(const_cast<uint8_t*>(out.data(*t)), t->shape, torch::kFloat);
    auto b = torch::from_blob(const_cast<uint8_t*>(golden.data(*ref)), ref->shape, torch::kFloat);
    EXPECT_LT(((a - b).norm() / b.norm()).item<double>(), 1e-4);
  }
}

TEST(GenerateCli, GreedyStoriesFromBos) {
  LP_REQUIRE_FIXTURES();
  const std::string dir = fixture("models/stories260K");
  json g = read_json_file(dir + "/golden.json");
  auto r = run_cli("generate " + dir + " --prompt-ids 1 --max-new-tokens 64 --ignore-eos --print-ids");
  ASSERT_EQ(r.status, 0) << r.err;
  std::string expected;
  for (const auto& id : g["greedy0.output"]) expected += (expected.empty() ? "" : " ") + std::to_string(id.get<int64_t>());
  EXPECT_EQ(r.out, expected + "\n");
}

TEST(GenerateCli, TextThroughTheTokenizer) {
  LP_REQUIRE_FIXTURES();
  const std::string dir = fixture("models/stories260K");
  // Greedy from BOS tells the story the fixtures README quotes.
  auto r = run_cli("generate " + dir + " --max-new-tokens 40");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.rfind("Once upon a time, there was a little girl named Lily.", 0), 0u) << r.out;
  r = run_cli("generate " + dir + " --prompt 'Once upon a time, there was a dog' --max-new-tokens 20");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.rfind("Once upon a time, there was a dog", 0), 0u) << r.out;
  EXPECT_GT(r.out.size(), 60u) << r.out;
  EXPECT_TRUE(is_clean_error(run_cli("generate " + dir + " --prompt hi --prompt-ids 1")));
  EXPECT_TRUE(is_clean_error(run_cli("generate " + fixture("models/tiny-llama") + " --prompt hi")));
}

TEST(GenerateCli, GreedyQwen2PromptAndSamplingIsSeeded) {
  LP_REQUIRE_FIXTURES();
  const std::string dir = fixture("models/tiny-qwen2");
  json g = read_json_file(dir + "/golden.json");
  std::string prompt, expected;
  for (const auto& id : g["greedy0.prompt"]) prompt += (prompt.empty() ? "" : ",") + std::to_string(id.get<int64_t>());
  for (const auto& id : g["greedy0.output"]) expected += (expected.empty() ? "" : " ") + std::to_string(id.get<int64_t>());
  auto r = run_cli("generate " + dir + " --prompt-ids " + prompt + " --max-new-tokens " +
                   std::to_string(g["greedy0.output"].size()) + " --ignore-eos --print-ids");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, expected + "\n");

  const std::string sample = "generate " + dir + " --prompt-ids " + prompt +
                             " --max-new-tokens 16 --ignore-eos --print-ids --temperature 0.9 --top-k 40 --top-p 0.95 --seed ";
  auto s1 = run_cli(sample + "7"), s2 = run_cli(sample + "7"), s3 = run_cli(sample + "8");
  ASSERT_EQ(s1.status, 0) << s1.err;
  EXPECT_EQ(s1.out, s2.out);
  EXPECT_NE(s1.out, s3.out);
}

TEST(GenerateCli, StopsAtEos) {
  LP_REQUIRE_FIXTURES();
  // stories260K with its EOS set to 426, a token its greedy story reaches at step 15.
  TempDir tmp;
  const std::string src = fixture("models/stories260K");
  std::filesystem::create_symlink(src + "/model.safetensors", tmp.str("model.safetensors"));
  json c = read_json_file(src + "/config.json");
  c["eos_token_id"] = json::array({7777, 426});
  write_json_file(tmp.str("config.json"), c);
  json g = read_json_file(src + "/golden.json");
  std::string expected;
  for (const auto& id : g["greedy0.output"]) {
    expected += (expected.empty() ? "" : " ") + std::to_string(id.get<int64_t>());
    if (id.get<int64_t>() == 426) break;
  }
  auto r = run_cli("generate " + tmp.str() + " --max-new-tokens 64 --print-ids");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, expected + "\n");
  r = run_cli("generate " + tmp.str() + " --max-new-tokens 64 --print-ids --ignore-eos");
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), ' '), 63) << r.out;
}

// ---------------------------------------------------------------------------------------------
// errors

TEST(ModelCliErrors, TensorsNotMatchingConfig) {
  LP_REQUIRE_FIXTURES();
  TempDir tmp;
  const std::string src = fixture("models/stories260K");
  std::filesystem::copy_file(src + "/model.safetensors", tmp.str("model.safetensors"));
  json c = read_json_file(src + "/config.json");
  c["num_hidden_layers"] = 6;  // one block more than stored
  write_json_file(tmp.str("config.json"), c);
  write_text(tmp.str("ids.json"), "[[1, 2, 3]]");
  auto r = run_cli("score " + tmp.str() + " --ids " + tmp.str("ids.json"));
  EXPECT_TRUE(is_clean_error(r));
  EXPECT_NE(r.err.find("model.layers.5"), std::string::npos) << r.err;
  c["num_hidden_layers"] = 5;
  c["intermediate_size"] = 100;  // wrong shapes
  write_json_file(tmp.str("config.json"), c);
  r = run_cli("generate " + tmp.str() + " --prompt-ids 1 --max-new-tokens 2");
  EXPECT_TRUE(is_clean_error(r));
}

TEST(ModelCliErrors, TooLongOutOfRangeAndUnequal) {
  LP_REQUIRE_FIXTURES();
  TempDir tmp;
  const std::string dir = fixture("models/tiny-llama");  // 128 positions, vocab 256
  json long_seq = json::array({json::array()});
  for (int i = 0; i < 129; i++) long_seq[0].push_back(1);
  write_text(tmp.str("long.json"), long_seq.dump());
  auto r = run_cli("score " + dir + " --ids " + tmp.str("long.json"));
  EXPECT_TRUE(is_clean_error(r));
  EXPECT_NE(r.err.find("128"), std::string::npos) << r.err;

  r = run_cli("generate " + dir + " --prompt-ids 1,2,3 --max-new-tokens 126");
  EXPECT_TRUE(is_clean_error(r));

  write_text(tmp.str("range.json"), "[[1, 2, 256]]");
  r = run_cli("score " + dir + " --ids " + tmp.str("range.json"));
  EXPECT_TRUE(is_clean_error(r));
  EXPECT_NE(r.err.find("256"), std::string::npos) << r.err;
  r = run_cli("generate " + dir + " --prompt-ids 1,-4");
  EXPECT_TRUE(is_clean_error(r));

  write_text(tmp.str("unequal.json"), "[[1, 2, 3], [1, 2]]");
  r = run_cli("score " + dir + " --ids " + tmp.str("unequal.json"));
  EXPECT_TRUE(is_clean_error(r));
  EXPECT_NE(r.err.find("equal length"), std::string::npos) << r.err;

  write_text(tmp.str("bad.json"), "[[1, 2, \"x\"]]");
  EXPECT_TRUE(is_clean_error(run_cli("score " + dir + " --ids " + tmp.str("bad.json"))));
  EXPECT_TRUE(is_clean_error(run_cli("score " + dir + " --ids " + tmp.str("missing.json"))));
  EXPECT_TRUE(is_clean_error(run_cli("score " + dir + " --ids " + tmp.str("long.json") + " --device tpu")));
  EXPECT_TRUE(is_clean_error(run_cli("score " + dir + " --ids " + tmp.str("long.json") + " --dtype f8")));
}

TEST(ModelCliErrors, SlidingWindowLimitsLength) {
  LP_REQUIRE_FIXTURES();
  TempDir tmp;
  const std::string src = fixture("models/tiny-qwen2");
  std::filesystem::copy_file(src + "/model.safetensors", tmp.str("model.safetensors"));
  json c = read_json_file(src + "/config.json");
  c["use_sliding_window"] = true;
  c["sliding_window"] = 16;
  write_json_file(tmp.str("config.json"), c);
  json ids = json::array({json::array()});
  for (int i = 0; i < 17; i++) ids[0].push_back(3);
  write_text(tmp.str("ids.json"), ids.dump());
  auto r = run_cli("score " + tmp.str() + " --ids " + tmp.str("ids.json"));
  EXPECT_TRUE(is_clean_error(r));
  EXPECT_NE(r.err.find("sliding_window 16"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace llamapro
