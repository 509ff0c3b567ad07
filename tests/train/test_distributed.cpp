// test_distributed.cpp — data-parallel training in real processes (Gloo over loopback): 2 and 3
// ranks under every --shard mode give the model of one process with the combined batch, hold
// 1/N of what they shard, resume exactly after SIGKILL and across world sizes; `launch` starts,
// forwards signals and fails with the rank that died.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>
#include <tuple>

#include "model/lora.h"
#include "model/model_folder.h"
#include "train/flat_layout.h"
#include "train/launcher.h"
#include "train/memory_plan.h"
#include "train/optimizer_state.h"
#include "train/trainable.h"
#include "train_helpers.h"
#include "util/json.h"
#include "util/strings.h"

namespace llamapro {
namespace {

using namespace testing;
namespace fs = std::filesystem;

class Sharded : public ::testing::Test {
 protected:
  void SetUp() override {
    if (fixtures_dir().empty()) return;
    model_ = fixture("models/stories260K-expanded");
    std::vector<std::vector<int64_t>> docs;
    for (int d = 0; d < 24; d++) {
      std::vector<int64_t> doc;
      for (int t = 0; t < 40; t++) doc.push_back((d * 37 + t * 11) % 500 + 3);
      docs.push_back(doc);
    }
    data_ = prepare_ids(tmp_, model_, docs);
  }
  // The same run for any number of ranks: `batch` sequences per rank. Pretrained blocks train
  // unless `extra` says otherwise (a later --trainable wins).
  std::string train(const std::string& out, int batch, int steps = 4, const std::string& extra = "") const {
    return "train " + model_ + " --data " + data_ + " -o " + tmp_.str(out) + " --seq-len 32 --lr 0.0003 --warmup 0 " +
           "--no-progress --trainable blocks:2,5 --steps " + std::to_string(steps) + " --batch-size " +
           std::to_string(batch) + (extra.empty() ? "" : " " + extra);
  }
  CliResult launch(int ranks, const std::string& train_args) const {
    return run_cli("launch --nproc-per-node " + std::to_string(ranks) + " -- " + train_args);
  }
  std::vector<json> metrics(const std::string& out) const {
    std::vector<json> steps;
    std::istringstream lines(read_text(tmp_.str(out) + "/metrics.jsonl"));
    for (std::string line; std::getline(lines, line);) {
      json j = json::parse(line);
      if (j.contains("loss")) steps.push_back(j);
    }
    return steps;
  }
  TempDir tmp_;
  std::string model_, data_;
};

// What `train --dry-run` plans for rank 0 of a run equals what that rank measured holding at its
// first step.
void expect_planned(const json& measured, const std::string& model, const std::string& trainable, int world,
                    int64_t batch, bool bf16, ShardMode mode) {
  const ModelFolder folder = ModelFolder::open(model);
  MemoryPlanInput in;
  in.config = folder.config;
  in.trainable = resolve_trainable(trainable, "", folder);
  in.world = world;
  in.batch = batch;
  in.seq_len = 32;
  in.bf16 = bf16;
  const RankMemory plan = plan_rank_memory(in, mode);
  EXPECT_EQ(plan.parameters, measured["parameters"].get<int64_t>()) << shard_mode_name(mode);
  EXPECT_EQ(plan.gradients, measured["gradients"].get<int64_t>()) << shard_mode_name(mode);
  EXPECT_EQ(plan.optimizer, measured["optimizer"].get<int64_t>()) << shard_mode_name(mode);
}

// Bytes of the blocks' tensors (float32 in this model), the part --shard parameters splits.
int64_t block_bytes(const std::string& model) {
  Checkpoint ck = Checkpoint::open(model);
  int64_t n = 0;
  for (const auto& name : ck.names())
    if (name.find(".layers.") != std::string::npos) n += int64_t(ck.tensor(name).info->nbytes());
  return n;
}

class ShardedModes : public Sharded, public ::testing::WithParamInterface<std::tuple<int, std::string>> {};

TEST_P(ShardedModes, MatchOneProcessWithTheCombinedBatch) {
  LP_REQUIRE_FIXTURES();
  const auto [world, mode] = GetParam();
  CliResult single = run_cli(train("single", 2 * world));
  ASSERT_EQ(single.status, 0) << single.err;
  CliResult dp = launch(world, train("dp", 2, 4, "--shard " + mode));
  ASSERT_EQ(dp.status, 0) << dp.err;
  EXPECT_NE(dp.out.find("shard: " + mode + " (" + std::to_string(world) + " ranks)"), std::string::npos) << dp.out;

  // Per-step losses agree: gradients not averaged, or data overlapping, would part them from step 2.
  std::vector<json> a = metrics("single"), b = metrics("dp");
  ASSERT_EQ(a.size(), 4u);
  ASSERT_EQ(b.size(), 4u);
  for (size_t i = 0; i < a.size(); i++) {
    const double want = a[i]["loss"].get<double>();
    EXPECT_NEAR(b[i]["loss"].get<double>(), want, 1e-5 * want) << "step " << i + 1;
  }

  // Trained tensors agree; frozen ones are the input's bytes.
  Checkpoint x = Checkpoint::open(tmp_.str("single")), y = Checkpoint::open(tmp_.str("dp"));
  Checkpoint base = Checkpoint::open(model_);
  int trained = 0;
  double worst = 0;
  for (const auto& name : x.names()) {
    TensorRef rb = base.tensor(name), ry = y.tensor(name);
    if (block_of_tensor(name) == 2 || block_of_tensor(name) == 5) {
      const double diff = rel_error(load_tensor(y, name), load_tensor(x, name));
      worst = std::max(worst, diff);
      EXPECT_LT(diff, 1e-6) << name;
      trained += !torch::equal(load_tensor(y, name), load_tensor(base, name));
    } else {
      ASSERT_EQ(ry.info->nbytes(), rb.info->nbytes()) << name;
      EXPECT_EQ(std::memcmp(ry.data, rb.data, rb.info->nbytes()), 0) << name << " changed";
    }
  }
  EXPECT_GT(trained, 0);
  std::printf("%d ranks, --shard %s: largest weight difference from one process %.3g\n", world, mode.c_str(), worst);

  // What each rank holds, measured on rank 0 at its first step against the whole-model run:
  // the sharded parts are 1/N (up to the padding of each group to a multiple of N).
  const json& whole = a[0]["resident_bytes"];
  const json& held = b[0]["resident_bytes"];
  auto share = [&](const char* part) { return held[part].get<double>() / whole[part].get<double>(); };
  const double slack = 1e-3;
  const bool split_state = mode != "none", split_grads = mode == "gradients" || mode == "parameters";
  EXPECT_NEAR(share("optimizer"), split_state ? 1.0 / world : 1.0, slack) << held;
  EXPECT_NEAR(share("gradients"), split_grads ? 1.0 / world : 1.0, slack) << held;
  const double blocks = double(block_bytes(model_)), all = whole["parameters"].get<double>();
  const double params_share = mode == "parameters" ? (all - blocks + blocks / world) / all : 1.0;
  EXPECT_NEAR(share("parameters"), params_share, slack) << held;
  expect_planned(held, model_, "blocks:2,5", world, 2, false, parse_shard_mode(mode));
  expect_planned(whole, model_, "blocks:2,5", 1, 2 * world, false, ShardMode::None);
}

INSTANTIATE_TEST_SUITE_P(WorldsAndModes, ShardedModes,
                         ::testing::Combine(::testing::Values(2, 3),
                                            ::testing::Values("none", "optimizer", "gradients", "parameters")),
                         [](const auto& info) {
                           return std::get<1>(info.param) + "_" + std::to_string(std::get<0>(info.param)) + "_ranks";
                         });

// The newest (identity-initialised) blocks, with accumulation, activation checkpointing and
// bf16 compute, against --shard none at the same world size: the same arithmetic but for the
// order of the gradient sums. (Against one process, the zero-initialised projections of the
// new blocks are where AdamW's first step divides summation-order noise by its eps; the
// pretrained blocks above show the agreement to one process without that.)
class ShardedOptions : public Sharded, public ::testing::WithParamInterface<std::string> {};

TEST_P(ShardedOptions, AccumulationCheckpointingAndBf16MatchUnsharded) {
  LP_REQUIRE_FIXTURES();
  const std::string mode = GetParam();
  for (const std::string precision : {"fp32", "bf16"}) {
    const std::string extra = "--trainable blocks:3,6 --grad-accum 2 --activation-checkpointing --precision " + precision;
    CliResult whole = launch(2, train("none-" + precision, 1, 3, extra));
    ASSERT_EQ(whole.status, 0) << whole.err;
    CliResult split = launch(2, train(mode + "-" + precision, 1, 3, extra + " --shard " + mode));
    ASSERT_EQ(split.status, 0) << split.err;
    // bf16: --shard none accumulates the micro-batches' gradients in the bf16 .grad, the
    // gradients and parameters modes in float32 slices: a few bf16 roundings apart.
    const double tolerance = precision == "bf16" ? 5e-2 : 1e-6;
    std::vector<json> a = metrics("none-" + precision), b = metrics(mode + "-" + precision);
    ASSERT_EQ(a.size(), 3u);
    ASSERT_EQ(b.size(), 3u);
    for (size_t i = 0; i < a.size(); i++)
      EXPECT_NEAR(b[i]["loss"].get<double>(), a[i]["loss"].get<double>(), tolerance * a[i]["loss"].get<double>())
          << precision << " step " << i + 1;
    expect_planned(b[0]["resident_bytes"], model_, "blocks:3,6", 2, 1, precision == "bf16", parse_shard_mode(mode));
    Checkpoint x = Checkpoint::open(tmp_.str("none-" + precision)), y = Checkpoint::open(tmp_.str(mode + "-" + precision));
    for (const auto& name : x.names()) {
      if (block_of_tensor(name) == 3 || block_of_tensor(name) == 6) {
        EXPECT_LT(rel_error(load_tensor(y, name), load_tensor(x, name)), tolerance) << precision << " " << name;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, ShardedOptions, ::testing::Values("optimizer", "gradients", "parameters"));

// A single process may shard too (a world of one): every mode trains as --shard none does,
// in bf16 as well (the split modes keep a float32 master beside each bf16 flat buffer).
TEST_F(Sharded, OneProcessTrainsTheSameInEveryMode) {
  LP_REQUIRE_FIXTURES();
  const std::string extra = "--trainable blocks:3,6 --precision bf16";
  CliResult whole = run_cli(train("none", 2, 3, extra));
  ASSERT_EQ(whole.status, 0) << whole.err;
  Checkpoint x = Checkpoint::open(tmp_.str("none"));
  for (const std::string mode : {"optimizer", "gradients", "parameters"}) {
    CliResult split = run_cli(train(mode, 2, 3, extra + " --shard " + mode));
    ASSERT_EQ(split.status, 0) << mode << ": " << split.err;
    Checkpoint y = Checkpoint::open(tmp_.str(mode));
    for (const auto& name : x.names()) {
      if (block_of_tensor(name) == 3 || block_of_tensor(name) == 6) {
        EXPECT_LT(rel_error(load_tensor(y, name), load_tensor(x, name)), 1e-6) << mode << " " << name;
      }
    }
  }
}

// One rank of a run started the way torchrun starts it, with the threads `launch` would give
// it: the same thread count gives the same sums, bit for bit.
pid_t spawn_rank(const std::string& args, int rank, int world, int port) {
  const char* set = std::getenv("OMP_NUM_THREADS");
  const std::string threads = set && *set ? set : std::to_string(std::max(1u, std::thread::hardware_concurrency() / unsigned(world)));
  return spawn_cli(args, {{"WORLD_SIZE", std::to_string(world)}, {"RANK", std::to_string(rank)},
                          {"LOCAL_RANK", std::to_string(rank)}, {"MASTER_ADDR", "127.0.0.1"},
                          {"MASTER_PORT", std::to_string(port)}, {"OMP_NUM_THREADS", threads}});
}

TEST_F(Sharded, KilledWithSigkillAndRelaunchedEndsIdentical) {
  LP_REQUIRE_FIXTURES();
  const int steps = 60;
  const std::string extra = "--shard parameters --save-every 3";
  CliResult whole = launch(2, train("a", 2, steps, extra));
  ASSERT_EQ(whole.status, 0) << whole.err;

  const int port = free_loopback_port();
  pid_t r0 = spawn_rank(train("b", 2, steps, extra), 0, 2, port), r1 = spawn_rank(train("b", 2, steps, extra), 1, 2, port);
  const bool mid_run = wait_for(tmp_.str("b/checkpoints/step-00000006/state.json"), 60);
  kill(r0, SIGKILL);
  kill(r1, SIGKILL);
  ASSERT_EQ(wait_status(r0), 128 + SIGKILL);
  wait_status(r1);
  ASSERT_TRUE(mid_run) << "the run finished before it could be killed";
  ASSERT_FALSE(fs::exists(tmp_.str("b/config.json")));

  CliResult resumed = launch(2, train("b", 2, steps, extra));
  ASSERT_EQ(resumed.status, 0) << resumed.err;
  EXPECT_NE(resumed.out.find("resuming from"), std::string::npos) << resumed.out;
  EXPECT_EQ(read_text(tmp_.str("a/model.safetensors")), read_text(tmp_.str("b/model.safetensors")));
}

TEST_F(Sharded, ACheckpointOfThreeRanksResumesWithTwo) {
  LP_REQUIRE_FIXTURES();
  CliResult three = launch(3, train("run", 2, 4, "--shard gradients --save-every 2 --keep-checkpoints 4"));
  ASSERT_EQ(three.status, 0) << three.err;
  const fs::path step2 = tmp_.str("run/checkpoints/step-00000002"), step4 = tmp_.str("run/checkpoints/step-00000004");
  for (int r = 0; r < 3; r++) EXPECT_TRUE(fs::exists(step4 / optimizer_file_name(r, 3))) << r;

  // The three slices read back whole are the masters the run exported.
  {
    SavedOptimizerState saved(step4, read_json_file(step4 / "state.json"));
    Checkpoint out = Checkpoint::open(tmp_.str("run"));
    int compared = 0;
    for (const auto& name : out.names()) {
      if (!saved.has(name)) continue;
      torch::Tensor want = load_tensor(out, name), got = torch::empty_like(want);
      saved.read("master", name, 0, want.numel(), got.data_ptr<float>());
      EXPECT_TRUE(torch::equal(got, want)) << name;
      compared++;
    }
    EXPECT_GT(compared, 10);
  }

  // Back to step 2, then on with two ranks and another mode.
  fs::remove_all(step4);
  for (const char* f : {"config.json", "model.safetensors"}) fs::remove(tmp_.str("run/") + f);
  CliResult two = launch(2, train("run", 2, 4, "--shard optimizer --save-every 2 --keep-checkpoints 4"));
  ASSERT_EQ(two.status, 0) << two.err;
  EXPECT_NE(two.out.find("saved by 3 ranks, the optimizer state re-sliced for 2"), std::string::npos) << two.out;
  std::vector<json> steps = metrics("run");
  ASSERT_EQ(steps.size(), 4u);
  EXPECT_EQ(steps[2]["step"], 3);
  EXPECT_TRUE(fs::exists(step4 / optimizer_file_name(1, 2)));
  EXPECT_TRUE(fs::exists(tmp_.str("run/config.json")));
}

// The pid of the child of `parent` that runs rank `rank`.
pid_t rank_pid(pid_t parent, int rank) {
  std::istringstream children(read_text("/proc/" + std::to_string(parent) + "/task/" + std::to_string(parent) + "/children"));
  for (pid_t pid; children >> pid;) {
    std::istringstream env(read_text("/proc/" + std::to_string(pid) + "/environ"));
    for (std::string var; std::getline(env, var, '\0');)
      if (var == "RANK=" + std::to_string(rank)) return pid;
  }
  return -1;
}

TEST_F(Sharded, ARankThatDiesEndsTheJobNamingIt) {
  LP_REQUIRE_FIXTURES();
  const std::string log = tmp_.str("launch.log");
  pid_t launcher = spawn_cli("launch --nproc-per-node 2 -- " + train("b", 2, 100000, "--shard optimizer"), {}, log);
  ASSERT_TRUE(wait_for(tmp_.str("b/metrics.jsonl"), 60));
  pid_t r0 = rank_pid(launcher, 0), r1 = rank_pid(launcher, 1);
  ASSERT_GT(r0, 0);
  ASSERT_GT(r1, 0);
  kill(r1, SIGKILL);
  const auto started = std::chrono::steady_clock::now();
  const int status = wait_status(launcher);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_EQ(status, 1);
  EXPECT_LT(seconds, 30);
  EXPECT_NE(read_text(log).find("error: rank 1 was killed by signal 9"), std::string::npos) << read_text(log);
  EXPECT_NE(kill(r0, 0), 0) << "rank 0 outlived the job";
}

TEST_F(Sharded, SigtermReachesEveryRankAndEachSavesItsSlice) {
  LP_REQUIRE_FIXTURES();
  const std::string log = tmp_.str("launch.log");
  pid_t launcher = spawn_cli("launch --nproc-per-node 2 -- " + train("b", 2, 100000, "--shard gradients"), {}, log);
  ASSERT_TRUE(wait_for(tmp_.str("b/metrics.jsonl"), 60));
  kill(launcher, SIGTERM);
  EXPECT_EQ(wait_status(launcher), 128 + SIGTERM) << read_text(log);
  const std::string text = read_text(log);
  EXPECT_NE(text.find("[rank 0] "), std::string::npos) << text;
  EXPECT_NE(text.find("stopped by SIGTERM"), std::string::npos) << text;
  std::string newest;
  for (auto& e : fs::directory_iterator(tmp_.str("b/checkpoints"))) {
    EXPECT_EQ(e.path().filename().string().find("partial"), std::string::npos) << e.path();
    newest = std::max(newest, e.path().string());
  }
  ASSERT_FALSE(newest.empty());
  EXPECT_TRUE(fs::exists(fs::path(newest) / optimizer_file_name(0, 2)));
  EXPECT_TRUE(fs::exists(fs::path(newest) / optimizer_file_name(1, 2)));
}

// torchrun forwards a signal to every rank, a scheduler may send it to one: either way the
// ranks agree after a step to stop there together, each saving its slice.
TEST_F(Sharded, ASignalToOneRankStopsEveryRankAtTheSameStep) {
  LP_REQUIRE_FIXTURES();
  const int port = free_loopback_port();
  const std::string args = train("b", 2, 100000, "--shard optimizer");
  pid_t r0 = spawn_rank(args, 0, 2, port), r1 = spawn_rank(args, 1, 2, port);
  ASSERT_TRUE(wait_for(tmp_.str("b/metrics.jsonl"), 60));
  kill(r1, SIGTERM);
  EXPECT_EQ(wait_status(r1), 128 + SIGTERM);
  EXPECT_EQ(wait_status(r0), 128 + SIGTERM);
  std::string newest;
  for (auto& e : fs::directory_iterator(tmp_.str("b/checkpoints"))) newest = std::max(newest, e.path().string());
  ASSERT_FALSE(newest.empty());
  EXPECT_TRUE(fs::exists(fs::path(newest) / optimizer_file_name(0, 2)));
  EXPECT_TRUE(fs::exists(fs::path(newest) / optimizer_file_name(1, 2)));
}

TEST_F(Sharded, BadInputGivesOneErrorLine) {
  LP_REQUIRE_FIXTURES();
  for (const std::string& args :
       {std::string("launch --nproc-per-node 2"), std::string("launch --nproc-per-node 0 -- ") + train("x", 1),
        std::string("launch --nproc-per-node 2 --nnodes 2 --node-rank 2 --master-port 29400 -- ") + train("x", 1),
        std::string("launch --nproc-per-node 2 --nnodes 2 -- ") + train("x", 1),
        std::string("launch --nproc-per-node 2 -- eval ") + model_, train("x", 1, 4, "--shard halves"),
        train("x", 1, 4, "--collective-timeout 0"), train("x", 1, 4, "--world-size 2"),
        train("x", 1, 4, "--dry-run --world-size 0")}) {
    CliResult r = run_cli(args);
    EXPECT_TRUE(is_clean_error(r)) << args << "\n" << r.err;
  }
  EXPECT_FALSE(fs::exists(tmp_.str("x")));
}

}  // namespace
}  // namespace llamapro
