// test_interrupts.cpp — what a stopped or concurrent run leaves behind: SIGINT and SIGTERM
// remove the unfinished stage (exit 130 / 143); a stage left by kill -9 is removed, and said
// so, by the next run; a second run into an output in use is refused at once naming the
// holder; a training run does not resume on data that changed under the same path.
#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>

#include "common/processes.h"
#include "reliability/workspace.h"
#include "util/json.h"
#include "util/output.h"

namespace llamapro {
namespace {

using namespace testing;

// Entries of `dir` that a finished or stopped run must not leave: stages and lock files.
std::vector<std::string> leftovers(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string n = e.path().filename().string();
    if (n.find(".partial-") != std::string::npos || n.find(".old-") != std::string::npos || ends_with(n, ".lock"))
      out.push_back(n);
  }
  return out;
}

// An expansion that stays busy for seconds: it proves identity on many long sequences while its
// output is still a stage.
const char* kSlowExpand = "expand m -o out --add 1 --verify --verify-samples 64 --verify-seq-len 512 --no-progress";

pid_t spawn_in(const Workspace& ws, const std::string& args, const std::string& log) {
  return spawn_cli(args, {}, log, ws.path());
}

TEST(Interrupts, SigintAndSigtermRemoveTheUnfinishedExpansion) {
  Workspace ws;
  for (int sig : {SIGINT, SIGTERM}) {
    SCOPED_TRACE(sig);
    pid_t pid = spawn_in(ws, kSlowExpand, ws.path("log"));
    ASSERT_NE(wait_for_prefix(ws.path(), "out.partial-", 60), "");
    kill(pid, sig);
    EXPECT_EQ(wait_status(pid), 128 + sig);
    EXPECT_FALSE(std::filesystem::exists(ws.path("out")));
    EXPECT_EQ(leftovers(ws.path()), std::vector<std::string>{});
    const std::string log = read_text(ws.path("log"));
    EXPECT_NE(log.find("error: interrupted by"), std::string::npos) << log;
  }
}

TEST(Interrupts, SigintRemovesTheUnfinishedDataFolder) {
  Workspace ws;
  ws.write("big.txt", Workspace::text(400000));  // ~26 MB: seconds of tokenizing on one thread
  pid_t pid = spawn_in(ws, "data prepare --tokenizer m --input big.txt --split-lines --threads 1 -o big --no-progress",
                       ws.path("log"));
  ASSERT_NE(wait_for_prefix(ws.path(), "big.partial-", 60), "");
  kill(pid, SIGINT);
  EXPECT_EQ(wait_status(pid), 128 + SIGINT);
  EXPECT_FALSE(std::filesystem::exists(ws.path("big")));
  EXPECT_EQ(leftovers(ws.path()), std::vector<std::string>{});
}

TEST(Interrupts, AStageLeftByKillDashNineIsRemovedByTheNextRun) {
  Workspace ws;
  pid_t pid = spawn_in(ws, kSlowExpand, "/dev/null");
  const std::string stage = wait_for_prefix(ws.path(), "out.partial-", 60);
  ASSERT_NE(stage, "");
  kill(pid, SIGKILL);
  EXPECT_EQ(wait_status(pid), 128 + SIGKILL);
  ASSERT_TRUE(std::filesystem::exists(stage));  // nothing can clean up after SIGKILL itself

  CliResult r = ws.run("expand m -o out --add 1 --no-progress");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("note: removing " + stage), std::string::npos) << r.err;
  EXPECT_TRUE(std::filesystem::exists(ws.path("out/config.json")));
  EXPECT_EQ(leftovers(ws.path()), std::vector<std::string>{});
}

TEST(Interrupts, ASecondRunIntoTheSameOutputIsRefusedAtOnce) {
  Workspace ws;
  pid_t pid = spawn_in(ws, kSlowExpand, "/dev/null");
  ASSERT_NE(wait_for_prefix(ws.path(), "out.partial-", 60), "");
  CliResult second = ws.run("expand x -o out --add 1 --no-progress");
  EXPECT_TRUE(is_one_error_line(second));
  EXPECT_NE(second.err.find("out is in use by another llamapro run (pid " + std::to_string(pid) + ")"), std::string::npos)
      << second.err;
  kill(pid, SIGTERM);
  EXPECT_EQ(wait_status(pid), 128 + SIGTERM);
  EXPECT_EQ(leftovers(ws.path()), std::vector<std::string>{});
}

TEST(Interrupts, ASecondTrainingRunIntoTheSameFolderIsRefused) {
  Workspace ws;
  const std::string train = "train x --data d -o run --seq-len 16 --steps 100000 --save-every 1000 --no-progress";
  pid_t pid = spawn_in(ws, train, "/dev/null");
  ASSERT_TRUE(wait_for(ws.path("run/run.json"), 60));
  CliResult second = ws.run(train);
  EXPECT_TRUE(is_one_error_line(second));
  EXPECT_NE(second.err.find("in use by another llamapro run (pid " + std::to_string(pid) + ")"), std::string::npos)
      << second.err;
  kill(pid, SIGTERM);  // stops cleanly after a checkpoint
  EXPECT_EQ(wait_status(pid), 128 + SIGTERM);
  EXPECT_EQ(leftovers(ws.path()), std::vector<std::string>{});
  EXPECT_EQ(leftovers(ws.path("run/checkpoints")), std::vector<std::string>{});
}

TEST(Interrupts, ResumingOnChangedDataIsRefused) {
  Workspace ws;
  const std::string train = "train x --data d -o run --seq-len 16 --steps 2 --no-progress";
  CliResult first = ws.run(train);
  ASSERT_EQ(first.status, 0) << first.err;
  // The same path, prepared again from other text.
  ws.write("b.txt", Workspace::text(300, 99));
  CliResult prep = ws.run("data prepare --tokenizer m --input b.txt --split-lines -o d --val-fraction 0.2 --force --no-progress");
  ASSERT_EQ(prep.status, 0) << prep.err;
  CliResult again = ws.run(train);
  EXPECT_TRUE(is_one_error_line(again));
  EXPECT_NE(again.err.find("contents changed"), std::string::npos) << again.err;
}

TEST(Interrupts, MetricsHoldEachStepOnceAfterAResume) {
  Workspace ws;
  const std::string train = "train x --data d -o run --seq-len 16 --steps 400 --save-every 50 --eval-every 100 --no-progress";
  pid_t pid = spawn_in(ws, train, "/dev/null");
  ASSERT_TRUE(wait_for(ws.path("run/checkpoints/step-00000100/state.json"), 120));
  kill(pid, SIGKILL);
  const int status = wait_status(pid);
  ASSERT_EQ(status, 128 + SIGKILL) << "the run finished before it could be killed";
  CliResult resumed = ws.run(train);
  ASSERT_EQ(resumed.status, 0) << resumed.err;
  std::vector<int64_t> steps, evals;
  std::istringstream lines(read_text(ws.path("run/metrics.jsonl")));
  for (std::string line; std::getline(lines, line);) {
    json j = json::parse(line);
    (j.contains("eval_loss") ? evals : steps).push_back(j["step"].get<int64_t>());
  }
  std::vector<int64_t> want(400);
  for (int64_t i = 0; i < 400; i++) want[size_t(i)] = i + 1;
  EXPECT_EQ(steps, want);
  EXPECT_EQ(evals, (std::vector<int64_t>{0, 100, 200, 300, 400}));
}

}  // namespace
}  // namespace llamapro

namespace llamapro {
namespace {

TEST(Interrupts, StagesAndTheirTemporariesOfDeadRunsGoOthersStay) {
  testing::TempDir tmp;
  namespace fs = std::filesystem;
  for (const char* name : {"out.partial-4000000", "out.gguf.partial-4000001.partial-4000001", "out.partial-x1",
                           "outer.partial-4000002", "out.gguf.partial-12.tmp"}) {
    std::ofstream(tmp.str(name)) << "x";
  }
  {
    Output a({tmp.str("out"), OutputKind::Folder, {}, false});
    Output b({tmp.str("out.gguf"), OutputKind::File, {}, false});
  }
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(tmp.path())) left.push_back(e.path().filename().string());
  std::sort(left.begin(), left.end());
  // Only what matches TARGET.partial-PID (and its own temporaries) is a stage of ours.
  EXPECT_EQ(left, (std::vector<std::string>{"out.gguf.partial-12.tmp", "out.partial-x1", "outer.partial-4000002"}));
}

}  // namespace
}  // namespace llamapro
