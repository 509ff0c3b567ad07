// test_mixture_cli.cpp — `train --data A:W --data B:W`: batches drawn in proportion, per-source
// token counts in metrics.jsonl and the manifest, a validation loss per source, and exact
// resumption after SIGKILL.
#include <gtest/gtest.h>

#include <fstream>

#include "train_helpers.h"
#include "util/json.h"

namespace llamapro {
namespace {

using namespace testing;

class MixtureCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (fixtures_dir().empty()) return;
    model_ = fixture("models/stories260K-expanded");
    // Two corpora of the tokenizer's own words: sentences, and a list of numbers.
    std::ofstream a(tmp_.str("a.txt")), b(tmp_.str("b.txt"));
    for (int i = 0; i < 300; i++) {
      a << "The little dog ran to the park with a red ball number " << i % 7 << ".\n";
      b << i << " " << i * 3 % 17 << " " << i * 7 % 23 << " " << i * 11 % 29 << "\n";
    }
    a.close();
    b.close();
    for (const char* n : {"a", "b"}) {
      CliResult r = run_cli("data prepare --tokenizer " + model_ + " --input " + tmp_.str(std::string(n) + ".txt") +
                            " --split-lines --val-fraction 0.1 -o " + tmp_.str(std::string("data-") + n) + " --no-progress");
      ASSERT_EQ(r.status, 0) << r.err;
    }
  }
  std::string args(const std::string& out) const {
    return "train " + model_ + " --data " + tmp_.str("data-a") + ":3 --data " + tmp_.str("data-b") + ":1 -o " + out +
           " --trainable blocks:3,6 --seq-len 32 --batch-size 2 --lr 0.003 --steps 40 --save-every 1 --eval-every 20 "
           "--no-progress";
  }
  TempDir tmp_;
  std::string model_;
};

std::vector<json> metrics(const std::string& run) {
  std::vector<json> out;
  std::ifstream f(run + "/metrics.jsonl");
  for (std::string line; std::getline(f, line);) out.push_back(json::parse(line));
  return out;
}

TEST_F(MixtureCli, DrawsInProportionReportsEachSourceAndResumesExactly) {
  LP_REQUIRE_FIXTURES();
  CliResult ref = run_cli(args(tmp_.str("a")));
  ASSERT_EQ(ref.status, 0) << ref.err;
  EXPECT_NE(ref.out.find("data-a (weight 3, 75% of batches)"), std::string::npos) << ref.out;
  EXPECT_NE(ref.out.find("; data-a "), std::string::npos) << "the final line names each source's loss: " << ref.out;

  const std::vector<json> m = metrics(tmp_.str("a"));
  const json* last_step = nullptr;
  int evals = 0;
  for (const json& j : m) {
    if (j.contains("loss")) last_step = &j;
    if (j.contains("eval_loss")) {
      evals++;
      EXPECT_TRUE(j.contains("eval_loss/data-a") && j.contains("eval_loss/data-b")) << j.dump();
      const double mean = (3 * j["eval_loss/data-a"].get<double>() + j["eval_loss/data-b"].get<double>()) / 4;
      EXPECT_NEAR(j["eval_loss"].get<double>(), mean, 1e-9) << "the weighted mean";
    }
  }
  EXPECT_EQ(evals, 3) << "at steps 0, 20 and 40";
  ASSERT_TRUE(last_step);
  EXPECT_EQ((*last_step)["source_tokens"]["data-a"].get<int64_t>(), 30 * 64);  // 30 of 40 batches x 2 x 32
  EXPECT_EQ((*last_step)["source_tokens"]["data-b"].get<int64_t>(), 10 * 64);
  const json record = read_json_file(tmp_.str("a/llamapro.json"))["training"].back();
  ASSERT_EQ(record["data"].size(), 2u);
  EXPECT_EQ(record["data"][1]["weight"].get<double>(), 1.0);
  EXPECT_EQ(record["data"][1]["tokens_seen"].get<int64_t>(), 10 * 64);

  ASSERT_TRUE(kill_when_written(args(tmp_.str("b")), tmp_.str("b/checkpoints/step-00000013/state.json")))
      << "the run finished before it could be killed";
  CliResult resumed = run_cli(args(tmp_.str("b")));
  ASSERT_EQ(resumed.status, 0) << resumed.err;
  EXPECT_NE(resumed.out.find("resuming from"), std::string::npos) << resumed.out;
  Checkpoint x = Checkpoint::open(tmp_.str("a")), y = Checkpoint::open(tmp_.str("b"));
  for (const char* name : {"model.layers.3.mlp.up_proj.weight", "model.layers.6.self_attn.q_proj.weight"}) {
    TensorRef p = x.tensor(name), q = y.tensor(name);
    EXPECT_EQ(std::memcmp(p.data, q.data, p.info->nbytes()), 0) << name;
  }
  EXPECT_EQ(metrics(tmp_.str("b")).size(), m.size()) << "every step and evaluation once";
}

TEST_F(MixtureCli, WatchedDataIsEvaluatedApartFromTheMean) {
  LP_REQUIRE_FIXTURES();
  CliResult r = run_cli("train " + model_ + " --data " + tmp_.str("data-a") + " --eval-data " + tmp_.str("data-b") +
                        " -o " + tmp_.str("w") + " --trainable blocks:3,6 --seq-len 32 --batch-size 2 --steps 10 "
                        "--eval-every 5 --no-progress");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("data-b (watched)"), std::string::npos) << r.out;
  int evals = 0;
  for (const json& j : metrics(tmp_.str("w"))) {
    if (!j.contains("eval_loss")) continue;
    evals++;
    ASSERT_TRUE(j.contains("eval_loss/data-a") && j.contains("eval_loss/data-b")) << j.dump();
    EXPECT_EQ(j["eval_loss"].get<double>(), j["eval_loss/data-a"].get<double>()) << "the mean is over trained sets";
  }
  EXPECT_EQ(evals, 3) << "at steps 0, 5 and 10";
  CliResult bad = run_cli("train " + model_ + " --data " + tmp_.str("data-a") + " --eval-data " + tmp_.str("nothing") +
                          " -o " + tmp_.str("w2") + " --trainable blocks:3 --seq-len 32 --no-progress");
  EXPECT_TRUE(is_clean_error(bad));
}

}  // namespace
}  // namespace llamapro
