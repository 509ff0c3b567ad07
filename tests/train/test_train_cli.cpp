// test_train_cli.cpp — `llamapro train` end to end: exact resumption after SIGKILL, clean stop
// on SIGTERM, divergence, learning, and the errors for bad input.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "train_helpers.h"
#include "util/json.h"
#include "util/strings.h"

namespace llamapro {
namespace {

using namespace testing;

// Text data for stories260K: simple English sentences, with a validation split.
std::string prepare_text(const TempDir& tmp, const std::string& model, double val_fraction = 0.1) {
  std::ofstream f(tmp.str("corpus.txt"));
  const char* words[] = {"the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "to", "park", "with", "ball"};
  uint64_t x = 7;
  for (int line = 0; line < 400; line++) {
    for (int w = 0; w < 12; w++) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      f << words[(x >> 33) % 13] << (w == 11 ? ".\n" : " ");
    }
  }
  f.close();
  CliResult r = run_cli("data prepare --tokenizer " + model + " --input " + tmp.str("corpus.txt") +
                        " --split-lines -o " + tmp.str("data") + " --no-progress --val-fraction " + std::to_string(val_fraction));
  EXPECT_EQ(r.status, 0) << r.err;
  return tmp.str("data");
}

void expect_same_weights(const std::string& a_dir, const std::string& b_dir) {
  Checkpoint a = Checkpoint::open(a_dir), b = Checkpoint::open(b_dir);
  ASSERT_EQ(a.names(), b.names());
  for (const auto& name : a.names()) {
    TensorRef x = a.tensor(name), y = b.tensor(name);
    ASSERT_EQ(x.info->nbytes(), y.info->nbytes());
    EXPECT_EQ(std::memcmp(x.data, y.data, x.info->nbytes()), 0) << name << " differs";
  }
}

class TrainCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (fixtures_dir().empty()) return;
    model_ = fixture("models/stories260K-expanded");
    data_ = prepare_text(tmp_, model_);
  }
  std::string args(const std::string& out, int steps, const std::string& extra = "") const {
    return "train " + model_ + " --data " + data_ + " -o " + out + " --trainable blocks:3,6 --seq-len 32 --batch-size 4 " +
           "--lr 0.003 --warmup 2 --steps " + std::to_string(steps) + " --save-every 1 --no-progress" +
           (extra.empty() ? "" : " " + extra);
  }
  TempDir tmp_;
  std::string model_, data_;
};

TEST_F(TrainCli, ResumesExactlyAfterSigkill) {
  LP_REQUIRE_FIXTURES();
  const int steps = 120;
  CliResult ref = run_cli(args(tmp_.str("a"), steps));
  ASSERT_EQ(ref.status, 0) << ref.err;

  ASSERT_TRUE(kill_when_written(args(tmp_.str("b"), steps), tmp_.str("b/checkpoints/step-00000005/state.json")))
      << "the run finished before it could be killed";
  EXPECT_FALSE(std::filesystem::exists(tmp_.str("b/config.json")));

  CliResult resumed = run_cli(args(tmp_.str("b"), steps));
  ASSERT_EQ(resumed.status, 0) << resumed.err;
  EXPECT_NE(resumed.out.find("resuming from"), std::string::npos) << resumed.out;
  expect_same_weights(tmp_.str("a"), tmp_.str("b"));
}

TEST_F(TrainCli, SigtermSavesACheckpointAndExitsAsInterrupted) {
  LP_REQUIRE_FIXTURES();
  pid_t pid = spawn_cli(args(tmp_.str("b"), 5000));
  ASSERT_TRUE(wait_for(tmp_.str("b/checkpoints/step-00000003/state.json"), 60));
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 128 + SIGTERM);  // stopped early, as interrupted programs report
  // A checkpoint of the step it stopped at is there, and no half-written one.
  size_t complete = 0;
  for (auto& e : std::filesystem::directory_iterator(tmp_.str("b/checkpoints"))) {
    EXPECT_EQ(e.path().filename().string().find("partial"), std::string::npos);
    complete += std::filesystem::exists(e.path() / "state.json");
  }
  EXPECT_GE(complete, 1u);
}

TEST_F(TrainCli, LearnsTheDomainWhileFrozenTensorsStayIdentical) {
  LP_REQUIRE_FIXTURES();
  CliResult r = run_cli(args(tmp_.str("out"), 60, "--eval-every 60"));
  ASSERT_EQ(r.status, 0) << r.err;
  // The first and last validation losses of the run, from metrics.jsonl.
  std::vector<double> train_loss, eval_loss;
  std::istringstream lines(read_text(tmp_.str("out/metrics.jsonl")));
  for (std::string line; std::getline(lines, line);) {
    json j = json::parse(line);
    if (j.contains("loss")) train_loss.push_back(j["loss"].get<double>());
    if (j.contains("eval_loss")) eval_loss.push_back(j["eval_loss"].get<double>());
  }
  ASSERT_EQ(train_loss.size(), 60u);
  ASSERT_EQ(eval_loss.size(), 2u) << "before the first step and after the last";
  EXPECT_LT(eval_loss.back(), eval_loss.front() - 0.5);
  EXPECT_LT(train_loss.back(), train_loss.front() - 0.5);
  // Blocks other than 3 and 6 are unchanged.
  Checkpoint base = Checkpoint::open(model_), out = Checkpoint::open(tmp_.str("out"));
  int changed = 0;
  for (const auto& name : base.names()) {
    TensorRef a = base.tensor(name), b = out.tensor(name);
    bool same = std::memcmp(a.data, b.data, a.info->nbytes()) == 0;
    bool trainable = starts_with(name, "model.layers.3.") || starts_with(name, "model.layers.6.");
    if (!trainable) {
      EXPECT_TRUE(same) << name;
    }
    changed += !same;
  }
  EXPECT_GT(changed, 0);
}

TEST_F(TrainCli, ATrainedModelTrainsAgainWithItsOwnRunFiles) {
  LP_REQUIRE_FIXTURES();
  ASSERT_EQ(run_cli(args(tmp_.str("first"), 3)).status, 0);
  CliResult r = run_cli("train " + tmp_.str("first") + " --data " + data_ + " -o " + tmp_.str("second") +
                        " --trainable blocks:3,6 --seq-len 32 --batch-size 4 --steps 2 --no-progress");
  ASSERT_EQ(r.status, 0) << r.err;
  // The second run's metrics and settings are its own, not copies of the first run's.
  std::istringstream lines(read_text(tmp_.str("second/metrics.jsonl")));
  int steps = 0;
  for (std::string line; std::getline(lines, line);) steps += json::parse(line).contains("loss");
  EXPECT_EQ(steps, 2);
  EXPECT_EQ(read_json_file(tmp_.str("second/run.json"))["total_steps"].get<int64_t>(), 2);
  EXPECT_EQ(read_json_file(tmp_.str("second/llamapro.json"))["training"].size(), 2u);
}

TEST_F(TrainCli, DivergenceStopsWithTheLastGoodCheckpoint) {
  LP_REQUIRE_FIXTURES();
  CliResult r = run_cli(args(tmp_.str("out"), 20, "--lr 1e30 --warmup 0"));
  EXPECT_TRUE(is_clean_error(r));
  EXPECT_NE(r.err.find("diverged"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("last good checkpoint"), std::string::npos) << r.err;
}

TEST_F(TrainCli, BadInputGivesOneErrorLine) {
  LP_REQUIRE_FIXTURES();
  // A sequence longer than the model's positions.
  EXPECT_TRUE(is_clean_error(run_cli(args(tmp_.str("o1"), 1, "--seq-len 100000"))));
  // A trainable spec naming no block.
  CliResult r = run_cli("train " + model_ + " --data " + data_ + " -o " + tmp_.str("o2") + " --trainable blocks: --steps 1");
  EXPECT_TRUE(is_clean_error(r)) << r.err;
  // An unknown stage and a block out of range.
  EXPECT_TRUE(is_clean_error(run_cli("train " + model_ + " --data " + data_ + " -o " + tmp_.str("o3") + " --trainable stage:nope")));
  EXPECT_TRUE(is_clean_error(run_cli("train " + model_ + " --data " + data_ + " -o " + tmp_.str("o4") + " --trainable blocks:99")));
  // A model without expansion stages needs an explicit --trainable.
  r = run_cli("train " + fixture("models/stories260K") + " --data " + data_ + " -o " + tmp_.str("o5") + " --steps 1");
  EXPECT_TRUE(is_clean_error(r)) << r.err;
  // An output folder that holds a different run.
  ASSERT_EQ(run_cli(args(tmp_.str("o6"), 1)).status, 0);
  r = run_cli(args(tmp_.str("o6"), 1, "--lr 0.5"));
  EXPECT_TRUE(is_clean_error(r));
  EXPECT_NE(r.err.find("different training run"), std::string::npos) << r.err;
  // Data made with another tokenizer.
  TempDir other;
  std::ofstream(other.str("t.txt")) << "hello world\n";
  ASSERT_EQ(run_cli("data prepare --tokenizer " + fixture("tokenizers/llama3") + " --input " + other.str("t.txt") + " -o " +
                    other.str("d") + " --no-progress").status, 0);
  r = run_cli("train " + model_ + " --data " + other.str("d") + " -o " + tmp_.str("o7") + " --steps 1");
  EXPECT_TRUE(is_clean_error(r)) << r.err;
}

}  // namespace
}  // namespace llamapro
