// test_lora_cli.cpp — LoRA and instruction tuning end to end: `train --lora` writes a PEFT
// adapter and resumes exactly after SIGKILL (dropout included), `merge` folds it into a folder
// whose scores equal the adapter's through --adapter, and chat data trains with doc packing.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>

#include <cstring>
#include <fstream>

#include "io/safetensors.h"
#include "train_helpers.h"
#include "util/json.h"

namespace llamapro {
namespace {

using namespace testing;

// Two-turn conversations about a few names, as JSON lines.
std::string write_chat(const TempDir& tmp) {
  std::ofstream f(tmp.str("chat.jsonl"));
  const char* names[] = {"Lily", "Tom", "Ben", "Sue", "Max"};
  const char* likes[] = {"the park", "a red ball", "her dog", "big trees", "the sea"};
  for (int i = 0; i < 240; i++) {
    const std::string n = names[i % 5], l = likes[(i / 5) % 5];
    f << R"({"messages": [{"role": "user", "content": "Who is )" << n << R"(?"}, )"
      << R"({"role": "assistant", "content": ")" << n << R"( is a little kid."}, )"
      << R"({"role": "user", "content": "What does )" << n << R"( like?"}, )"
      << R"({"role": "assistant", "content": ")" << n << " likes " << l << R"(."}]})" << "\n";
  }
  return tmp.str("chat.jsonl");
}

class LoraCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (fixtures_dir().empty()) return;
    model_ = fixture("models/stories260K-expanded");
    CliResult r = run_cli("data prepare --tokenizer " + model_ + " --input " + write_chat(tmp_) +
                          " --format chat --template llama2 --val-fraction 0.1 -o " + tmp_.str("data") + " --no-progress");
    ASSERT_EQ(r.status, 0) << r.err;
  }
  std::string args(const std::string& out, int steps, const std::string& extra = "") const {
    return "train " + model_ + " --data " + tmp_.str("data") + " -o " + out +
           " --trainable all --lora 4 --lora-dropout 0.1 --seq-len 64 --batch-size 4 --lr 0.01 --steps " +
           std::to_string(steps) + " --save-every 1 --eval-every 10 --no-progress" + (extra.empty() ? "" : " " + extra);
  }
  TempDir tmp_;
  std::string model_;
};

std::string file_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

TEST_F(LoraCli, WritesAPeftAdapterAndResumesExactlyAfterSigkill) {
  LP_REQUIRE_FIXTURES();
  const int steps = 60;
  CliResult ref = run_cli(args(tmp_.str("a"), steps));
  ASSERT_EQ(ref.status, 0) << ref.err;
  EXPECT_NE(ref.out.find("as LoRA adapters: rank 4, alpha 8, dropout 0.1"), std::string::npos) << ref.out;
  EXPECT_NE(ref.out.find("packing: doc"), std::string::npos) << ref.out;
  EXPECT_TRUE(std::filesystem::exists(tmp_.str("a/adapter_config.json")));
  EXPECT_FALSE(std::filesystem::exists(tmp_.str("a/config.json"))) << "an adapter run writes no full model";
  SafetensorsFile adapter(tmp_.str("a/adapter_model.safetensors"));
  EXPECT_EQ(adapter.tensors().size(), size_t(7 * 7 * 2));  // 7 blocks x 7 projections x (A, B)

  ASSERT_TRUE(kill_when_written(args(tmp_.str("b"), steps), tmp_.str("b/checkpoints/step-00000005/state.json")))
      << "the run finished before it could be killed";
  CliResult resumed = run_cli(args(tmp_.str("b"), steps));
  ASSERT_EQ(resumed.status, 0) << resumed.err;
  EXPECT_NE(resumed.out.find("resuming from"), std::string::npos) << resumed.out;
  EXPECT_EQ(file_bytes(tmp_.str("a/adapter_model.safetensors")), file_bytes(tmp_.str("b/adapter_model.safetensors")));
}

TEST_F(LoraCli, MergedFolderScoresAsTheAdapterDoes) {
  LP_REQUIRE_FIXTURES();
  ASSERT_EQ(run_cli(args(tmp_.str("run"), 20)).status, 0);
  CliResult inspect = run_cli("inspect " + tmp_.str("run"));
  ASSERT_EQ(inspect.status, 0) << inspect.err;
  EXPECT_NE(inspect.out.find("LoRA adapter (PEFT layout)"), std::string::npos) << inspect.out;
  EXPECT_NE(inspect.out.find("rank 4, alpha 8 (scale 2), dropout 0.1"), std::string::npos) << inspect.out;
  EXPECT_NE(inspect.out.find("blocks 0,1,2,3,4,5,6"), std::string::npos) << inspect.out;
  CliResult merge = run_cli("merge " + model_ + " " + tmp_.str("run") + " -o " + tmp_.str("merged"));
  ASSERT_EQ(merge.status, 0) << merge.err;
  std::ofstream(tmp_.str("ids.json")) << "[[1, 410, 508, 442, 458, 437, 434, 509, 410, 448, 415, 414]]";
  auto score = [&](const std::string& what) {
    CliResult r = run_cli("score " + what + " --ids " + tmp_.str("ids.json"));
    EXPECT_EQ(r.status, 0) << r.err;
    return std::stod(r.out.substr(r.out.find("loss ") + 5));
  };
  const double merged = score(tmp_.str("merged"));
  EXPECT_NEAR(score(model_ + " --adapter " + tmp_.str("run")), merged, 1e-5);
  EXPECT_NEAR(score(tmp_.str("run")), merged, 1e-5) << "an adapter folder alone stands for base + adapter";
  EXPECT_GT(std::abs(score(model_) - merged), 1e-3) << "the adapter changed the model";
  const json manifest = read_json_file(tmp_.str("merged/llamapro.json"));
  EXPECT_TRUE(manifest["training"].back().contains("merged_adapter"));
}

TEST_F(LoraCli, ChatDataTrainsWithDocPackingAndTheValidationLossFalls) {
  LP_REQUIRE_FIXTURES();
  CliResult r = run_cli("train " + model_ + " --data " + tmp_.str("data") + " -o " + tmp_.str("full") +
                        " --trainable all --seq-len 64 --batch-size 4 --lr 0.003 --steps 40 --eval-every 39 --no-progress");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("packing: doc"), std::string::npos) << r.out;
  std::vector<double> evals;
  std::ifstream metrics(tmp_.str("full/metrics.jsonl"));
  for (std::string line; std::getline(metrics, line);) {
    json j = json::parse(line);
    if (j.contains("eval_loss")) evals.push_back(j["eval_loss"].get<double>());
  }
  ASSERT_GE(evals.size(), 2u);
  CliResult base = run_cli("eval " + model_ + " " + tmp_.str("full") + " --data " + tmp_.str("data") +
                           " --seq-len 64 --batch-size 4 --json --no-progress");
  ASSERT_EQ(base.status, 0) << base.err;
  const json j = json::parse(base.out);
  const double before = j["data"][tmp_.str("data")][model_]["loss"].get<double>();
  EXPECT_LT(evals.back(), before - 0.5) << "assistant-token loss falls well below the base's";
}

}  // namespace
}  // namespace llamapro
