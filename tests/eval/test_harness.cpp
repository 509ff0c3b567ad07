// test_harness.cpp — the benchmark harness against independent computations: each choice's
// summed log-probability equals the one taken from full-sequence losses (within 1e-4, through
// the shared-context path and the reference path alike); rolling perplexity equals the sum of
// its hand-listed window losses; stories260K tells its own continuations from shuffled ones far
// above chance, and its expansion scores exactly the same.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "common/fixtures.h"
#include "eval/harness.h"
#include "infer/generate.h"
#include "model/load.h"
#include "model/loss.h"
#include "tokenizer/tokenizer.h"
#include "util/json.h"

namespace llamapro {
namespace {

using testing::fixture;
using testing::TempDir;

// Summed log p of `n` last tokens of `ids`, from the mean losses of whole sequences.
double tail_loglikelihood(const Model& model, const std::vector<int64_t>& ids, size_t n) {
  torch::NoGradGuard no_grad;
  auto total = [&](size_t len) {  // sum of the next-token losses over the first len tokens
    if (len < 2) return 0.0;
    auto x = torch::tensor(std::vector<int64_t>(ids.begin(), ids.begin() + long(len))).view({1, -1});
    return next_token_loss(model.forward(x), x).item<double>() * double(len - 1);
  };
  return -(total(ids.size()) - total(ids.size() - n));
}

TEST(Harness, ChoiceScoresEqualFullSequenceLosses) {
  LP_REQUIRE_FIXTURES();
  const std::string dir = fixture("models/stories260K");
  Model model = load_model(dir, ModelOptions{});
  Tokenizer tok = Tokenizer::from_dir(dir);
  const std::vector<std::pair<std::string, std::vector<std::string>>> docs = {
      {"Once upon a time, there was a little girl named Lily.", {" She loved to play.", " The sun.", " Cat dog."}},
      {"Tom had a red ball. ", {"He threw it to his friend.", "Big"}},  // a trailing space moves to the continuation
  };
  for (const auto& [context, choices] : docs) {
    std::vector<LoglikelihoodRequest> requests;
    for (const auto& c : choices) requests.push_back(encode_pair(tok, context, c));
    HarnessOptions shared, alone;
    alone.share_context = false;
    const auto a = loglikelihoods(model, requests, shared), b = loglikelihoods(model, requests, alone);
    for (size_t i = 0; i < requests.size(); i++) {
      std::vector<int64_t> ids = requests[i].context;
      ids.insert(ids.end(), requests[i].continuation.begin(), requests[i].continuation.end());
      const double want = tail_loglikelihood(model, ids, requests[i].continuation.size());
      EXPECT_NEAR(a[i], want, 1e-4) << context << choices[i];
      EXPECT_NEAR(b[i], want, 1e-4) << context << choices[i];
    }
  }
  // The trailing space of "ball. " is scored with the continuation, as lm-eval splits it.
  LoglikelihoodRequest r = encode_pair(tok, "Tom had a red ball. ", "He threw it");
  const auto whole = tok.encode("Tom had a red ball. He threw it", false);
  EXPECT_EQ(r.context.size() + r.continuation.size(), whole.size());
}

TEST(Harness, RollingPerplexityIsTheSumOfItsWindows) {
  LP_REQUIRE_FIXTURES();
  Model model = load_model(fixture("models/stories260K"), ModelOptions{});
  std::vector<int64_t> t(50);
  for (size_t i = 0; i < t.size(); i++) t[i] = int64_t(3 + (i * 37) % 500);
  const int64_t bos = 1;
  const double got = rolling_loglikelihood(model, t, bos, 16);
  // The windows of 50 tokens with 16 predictions each, written out: [BOS] + t[0:15] predicts
  // t[0:16]; t[15:31] predicts t[16:32]; t[31:47] predicts t[32:48]; t[33:49] predicts t[48:50].
  auto window = [&](std::vector<int64_t> input, size_t first_target, size_t count) {
    torch::NoGradGuard no_grad;
    auto logits = model.forward(torch::tensor(input).view({1, -1}))[0];  // (T, V)
    auto logp = torch::log_softmax(logits, -1);
    double s = 0;
    for (size_t k = 0; k < count; k++)
      s += logp[int64_t(input.size() - count + k)][t[first_target + k]].item<double>();
    return s;
  };
  std::vector<int64_t> first = {bos};
  first.insert(first.end(), t.begin(), t.begin() + 15);
  const double want = window(first, 0, 16) + window({t.begin() + 15, t.begin() + 31}, 16, 16) +
                      window({t.begin() + 31, t.begin() + 47}, 32, 16) + window({t.begin() + 33, t.begin() + 49}, 48, 2);
  EXPECT_NEAR(got, want, 1e-6 * std::abs(want));
}

// Choice documents made from stories260K's own greedy text: the true next sentence against
// three shufflings of its words.
std::string story_task(const TempDir& tmp, const Model& model, const Tokenizer& tok) {
  GenerateOptions g;
  g.max_new_tokens = 400;
  g.stop_at_eos = false;
  auto out = generate(model, {1}, g).tokens;
  const std::string text = tok.decode(std::vector<int32_t>(out.begin(), out.end()), true);
  std::vector<std::string> sentences;
  std::string cur;
  for (char c : text) {
    cur += c;
    if (c == '.' && cur.size() > 12) {
      sentences.push_back(cur);
      cur.clear();
    }
  }
  std::ofstream f(tmp.str("story.jsonl"));
  int docs = 0;
  for (size_t i = 1; i + 1 < sentences.size() && docs < 12; i++, docs++) {
    auto strip = [](std::string s) { return s.substr(s.find_first_not_of(' ')); };
    std::vector<std::string> words;
    std::istringstream in(strip(sentences[i]));
    for (std::string w; in >> w;) words.push_back(w);
    json choices = {strip(sentences[i])};
    for (size_t k = 1; k <= 3; k++) {
      std::vector<std::string> w = words;
      std::rotate(w.begin(), w.begin() + long(k % w.size()), w.end());  // every word, another order
      std::swap(w.front(), w.back());
      std::string shuffled;
      for (const auto& x : w) shuffled += (shuffled.empty() ? "" : " ") + x;
      choices.push_back(shuffled);
    }
    json d = {{"context", strip(sentences[i - 1])}, {"choices", choices}, {"gold", 0}};
    f << d.dump() << "\n";
  }
  return tmp.str("story.jsonl");
}

TEST(Harness, StoriesKnowsItsOwnContinuationsAndItsExpansionScoresTheSame) {
  LP_REQUIRE_FIXTURES();
  TempDir tmp;
  Model base = load_model(fixture("models/stories260K"), ModelOptions{});
  Model expanded = load_model(fixture("models/stories260K-expanded"), ModelOptions{});
  Tokenizer tok = Tokenizer::from_dir(fixture("models/stories260K"));
  Task task = load_task(parse_task_spec("choice:" + story_task(tmp, base, tok)), TaskOptions{});
  ASSERT_GE(task.docs.size(), 8u);
  HarnessOptions o;
  o.progress = false;
  TaskResult a = run_task(base, tok, task, o), b = run_task(expanded, tok, task, o);
  EXPECT_GE(a.find("acc")->value, 0.75) << "chance is 0.25";
  EXPECT_EQ(a.find("acc")->value, b.find("acc")->value);
  EXPECT_EQ(a.find("acc_norm")->value, b.find("acc_norm")->value);
  for (size_t i = 0; i < a.documents.size(); i++)
    EXPECT_EQ(a.documents[i]["loglikelihoods"], b.documents[i]["loglikelihoods"]) << i;
}

TEST(Harness, GenerationStopsExtractsAndCompares) {
  LP_REQUIRE_FIXTURES();
  TempDir tmp;
  Model model = load_model(fixture("models/stories260K"), ModelOptions{});
  Tokenizer tok = Tokenizer::from_dir(fixture("models/stories260K"));
  // stories260K continues "Once upon a time," with "there was a little girl named Lily."
  std::ofstream(tmp.str("g.jsonl")) << R"({"prompt": "Once upon a time,", "answer": "there"})" << "\n"
                                    << R"({"prompt": "Once upon a time,", "answer": "here"})" << "\n";
  TaskOptions to;
  to.regex = "^ *([a-z]+)";
  to.stop = {" girl"};
  Task task = load_task(parse_task_spec("generate:" + tmp.str("g.jsonl")), to);
  HarnessOptions o;
  o.progress = false;
  o.max_new_tokens = 20;
  TaskResult r = run_task(model, tok, task, o);
  EXPECT_DOUBLE_EQ(r.find("exact_match")->value, 0.5);
  const std::string output = r.documents[0]["output"].get<std::string>();
  EXPECT_EQ(output.find(" girl"), std::string::npos) << output;  // cut before the stop sequence
  EXPECT_EQ(output.rfind("there was a little", 0), 0u) << "[" << output << "]";
  // A prompt longer than the window keeps its last tokens instead of failing.
  o.max_length = 8;
  EXPECT_NO_THROW(run_task(model, tok, task, o));
}

TEST(Harness, CommandLineWritesTheReportAndRefusesBadTasks) {
  LP_REQUIRE_FIXTURES();
  TempDir tmp;
  std::ofstream(tmp.str("c.jsonl")) << R"({"context": "Lily saw a cat.", "choices": ["She smiled.", "Rock."], "gold": 0})"
                                    << "\n";
  std::ofstream(tmp.str("p.jsonl")) << R"({"text": "Once upon a time, there was a girl."})" << "\n";
  const std::string models = fixture("models/stories260K") + " " + fixture("models/stories260K-expanded");
  auto r = testing::run_cli("eval " + models + " --task choice:" + tmp.str("c.jsonl") + " --task perplexity:" +
                            tmp.str("p.jsonl") + " -o " + tmp.str("report") + " --no-progress");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("choice acc"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("+0.0000"), std::string::npos) << r.out;  // the expansion changes nothing
  for (const char* f : {"report.md", "results.json", "chart.png", "chart.svg"}) EXPECT_TRUE(std::filesystem::exists(tmp.str("report/") + f));
  json results = read_json_file(tmp.str("report/results.json"));
  EXPECT_EQ(results["tasks"]["choice"].size(), 2u);
  // Bad task files: one error line naming file and line, and no report.
  std::ofstream(tmp.str("bad.jsonl")) << R"({"context": "x", "choices": ["a"], "gold": 3})" << "\n";
  r = testing::run_cli("eval " + models + " --task choice:" + tmp.str("bad.jsonl") + " -o " + tmp.str("r2") + " --no-progress");
  EXPECT_TRUE(testing::is_clean_error(r));
  EXPECT_NE(r.err.find("bad.jsonl:1"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(tmp.str("r2")));
  r = testing::run_cli("eval " + models + " --task nope:" + tmp.str("bad.jsonl"));
  EXPECT_TRUE(testing::is_clean_error(r));
}

}  // namespace
}  // namespace llamapro
