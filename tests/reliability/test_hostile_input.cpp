// test_hostile_input.cpp — the classes of failure a run of hostile and careless requests found,
// each with its neighbours: files a command reads that are outputs' victims (configs, an
// adapter's base, a hard link), numbers computed from nothing (no targets, NaN weights, empty
// documents), hangs (non-regular files, a closed standard input, unreachable or stopped ranks,
// a flat plot), broken outputs (a full standard output, library text in messages) and the
// small ones. Every refusal is one error line, status 1, and the workspace byte-identical.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <thread>

#include "common/processes.h"
#include "reliability/workspace.h"
#include "util/files.h"
#include "util/json.h"

namespace llamapro {
namespace {

using testing::BadCase;
using testing::CliResult;
using testing::expect_refused;
using testing::is_one_error_line;
using testing::Workspace;

// A LoRA adapter trained on m: its adapter_config.json names m (absolute) as its base.
void train_adapter(Workspace& ws, const std::string& dir) {
  CliResult r = ws.run("train m --data d --seq-len 16 --steps 1 --lora 2 --trainable all --no-progress -o " + dir);
  ASSERT_EQ(r.status, 0) << r.err;
}

// Chat examples whose answer lies beyond the first 16 tokens (a long user turn).
void write_long_prompt_chat(Workspace& ws) {
  std::string lines;
  for (int i = 0; i < 24; i++) {
    std::string user;
    for (int w = 0; w < 12; w++) user += "the cat sat on a mat ";
    lines += R"({"messages": [{"role": "user", "content": ")" + user +
             R"("}, {"role": "assistant", "content": "a dog"}]})" "\n";
  }
  ws.write("chat.jsonl", lines);
  CliResult r = ws.run("data prepare --tokenizer m --input chat.jsonl --format chat --template alpaca -o cd "
                       "--val-fraction 0.25 --no-progress");
  ASSERT_EQ(r.status, 0) << r.err;
}

// A copy of `from` whose every weight is NaN: the safetensors header kept, the data replaced.
void write_nan_model(Workspace& ws, const std::string& from, const std::string& to) {
  std::filesystem::copy(ws.path(from), ws.path(to), std::filesystem::copy_options::recursive);
  std::string bytes = testing::read_text(ws.path(to + "/model.safetensors"));
  uint64_t header = 0;
  std::memcpy(&header, bytes.data(), 8);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (size_t at = 8 + header; at + 4 <= bytes.size(); at += 4) std::memcpy(bytes.data() + at, &nan, 4);
  ws.write(to + "/model.safetensors", bytes);
}

// ---------------------------------------------------------------------------------------------
// Inputs that are not treated as inputs: a file a command reads is never its output's victim.

TEST(HostileInput, FilesACommandReadsAreInputs) {
  expect_refused(
      {
          {"init --config x/config.json -o x --force", "-o x contains the input"},
          {"init --config cfg.json -o x --force", "-o x contains the input"},  // a symlink into x
          {"score lora --ids ids.json --logits-out m/model.safetensors --force", "lies inside the input"},
          {"chat lora --messages msg.json --template alpaca --transcript m/tokenizer.json --force",
           "lies inside the input"},
          // A hard link to a file the command reads is that file (refused before the rename).
          {"score m --ids ids.json --logits-out weights-link --force", "is the input"},
      },
      [](Workspace& ws) {
        std::filesystem::create_symlink("x/config.json", ws.path("cfg.json"));
        train_adapter(ws, "lora");
        ws.write("msg.json", R"([{"role": "user", "content": "hi"}])");
        std::filesystem::create_hard_link(ws.path("m/model.safetensors"), ws.path("weights-link"));
      });
}

TEST(HostileInput, AnAdapterStandsForItsBaseInEveryCommandThatWrites) {
  Workspace ws;
  train_adapter(ws, "lora");
  ws.write("msg.json", R"([{"role": "user", "content": "hi"}])");
  const auto before = ws.snapshot();
  for (const std::string& args :
       {std::string("score lora --ids ids.json --logits-out m/config.json --force"),
        std::string("chat lora --messages msg.json --template alpaca --max-new-tokens 2 --transcript m/config.json --force"),
        std::string("eval lora --data d --seq-len 16 -o m --force")}) {
    SCOPED_TRACE(args);
    CliResult r = ws.run(args);
    EXPECT_TRUE(is_one_error_line(r));
    EXPECT_NE(r.err.find("input"), std::string::npos) << r.err;
    EXPECT_EQ(ws.snapshot(), before);
  }
}

// ---------------------------------------------------------------------------------------------
// Numbers computed from nothing: no loss from zero targets, no result from NaN weights.

TEST(HostileInput, NoTargetsIsNoLoss) {
  expect_refused(
      {
          {"train x --data cd --seq-len 16 --steps 2 --no-progress -o t",
           "no token of the batch is a prediction target"},
          {"eval x --data cd --seq-len 16 --batch-size 1", "no scored tokens"},
          {"eval x --task perplexity:empty.jsonl --no-progress", "every document is empty"},
      },
      [](Workspace& ws) {
        write_long_prompt_chat(ws);
        ws.write("empty.jsonl", "{\"text\": \"\"}\n{\"text\": \"\"}\n");
      });
}

TEST(HostileInput, TheCutIsNamedAndALongerWindowTrains) {
  Workspace ws;
  write_long_prompt_chat(ws);
  CliResult cut = ws.run("train x --data cd --seq-len 16 --steps 2 --no-progress -o t");
  EXPECT_TRUE(is_one_error_line(cut));
  EXPECT_NE(cut.err.find("--seq-len 16"), std::string::npos) << cut.err;
  CliResult whole = ws.run("train x --data cd --seq-len 400 --steps 2 --no-progress -o t2");
  EXPECT_EQ(whole.status, 0) << whole.err;
  CliResult eval = ws.run("eval x --data cd --seq-len 400 --batch-size 1");
  EXPECT_EQ(eval.status, 0) << eval.err;
  EXPECT_EQ(eval.out.find(" 0.0000"), std::string::npos) << eval.out;
}

TEST(HostileInput, NonFiniteWeightsAreAnError) {
  expect_refused(
      {
          {"merge m alpha -o e", "lora_alpha must be in (0, 1e6]"},
          {"merge m nan-adapter -o e", "not finite"},
          {"score m --ids ids.json --adapter nan-adapter", "not finite"},
          {"score nan --ids ids.json", "not finite"},
          {"generate nan --prompt-ids 1,2 --max-new-tokens 4", "not finite"},
          {"generate nan --prompt-ids 1,2 --max-new-tokens 4 --temperature 1", "not finite"},
          {"eval nan --task perplexity:text.jsonl --no-progress", "not finite"},
          {"eval nan --task arc_easy:arc.jsonl --no-progress", "not finite"},
          {"eval nan --data d --seq-len 16", "not finite"},
      },
      [](Workspace& ws) {
        train_adapter(ws, "alpha");
        std::string cfg = testing::read_text(ws.path("alpha/adapter_config.json"));
        const size_t at = cfg.find("\"lora_alpha\": ");
        cfg.replace(at, cfg.find(',', at) - at, "\"lora_alpha\": 1e308");
        ws.write("alpha/adapter_config.json", cfg);
        train_adapter(ws, "nan-adapter");
        std::string weights = testing::read_text(ws.path("nan-adapter/adapter_model.safetensors"));
        const float nan = std::numeric_limits<float>::quiet_NaN();
        std::memcpy(weights.data() + weights.size() - 4, &nan, 4);
        ws.write("nan-adapter/adapter_model.safetensors", weights);
        write_nan_model(ws, "m", "nan");
        ws.write("text.jsonl", "{\"text\": \"the cat sat on a mat\"}\n");
        ws.write("arc.jsonl", R"({"question": "q?", "choices": {"text": ["a", "b"], "label": ["A", "B"]}, "answerKey": "A"})"
                              "\n");
      });
}

// ---------------------------------------------------------------------------------------------
// Hangs and unbounded memory: every file argument goes through the one checked open.

TEST(HostileInput, DevicesAndFifosAreRefusedAtOnce) {
  expect_refused(
      {
          {"tokenize m --file /dev/zero", "/dev/zero is not a regular file (a device)"},
          {"score m --ids /dev/zero", "/dev/zero is not a regular file"},
          {"chat m --template alpaca --messages /dev/zero", "/dev/zero is not a regular file"},
          {"eval m --task perplexity:/dev/zero", "/dev/zero is not a regular file"},
          {"init --config /dev/zero -o e", "/dev/zero is not a regular file"},
          {"init --config fifo -o e", "fifo is not a regular file (a FIFO)"},
          {"score m --ids fifo", "fifo is not a regular file (a FIFO)"},
          {"eval m --task perplexity:fifo", "fifo is not a regular file (a FIFO)"},
          {"data prepare --tokenizer m --input fifo -o e", "not a regular file"},
          {"tokenize m --file fifo", "fifo is not a regular file (a FIFO)"},
      },
      [](Workspace& ws) { mkfifo(ws.path("fifo").c_str(), 0644); });
}

// Status 1 and exactly one "error: " line, the last one (chat also says on stderr what it does).
::testing::AssertionResult ends_with_one_error(const CliResult& r) {
  std::vector<std::string> lines;
  std::istringstream in(r.err);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  const auto errors = std::count_if(lines.begin(), lines.end(), [](const std::string& l) { return l.rfind("error: ", 0) == 0; });
  if (r.status == 1 && errors == 1 && lines.back().rfind("error: ", 0) == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "status " << r.status << ", stderr: " << r.err;
}

// A command line run through sh inside the workspace, so that its own redirections hold.
CliResult run_redirected(const Workspace& ws, const std::string& args_and_redirections) {
  return testing::run_shell("cd '" + ws.path() + "' && timeout 120 sh -c 'exec " + std::string(LLAMAPRO_BIN) + " " +
                            args_and_redirections + "'");
}

TEST(HostileInput, AClosedStandardInputEndsTheConversation) {
  Workspace ws;
  const auto started = std::chrono::steady_clock::now();
  CliResult chat = run_redirected(ws, "chat m --template alpaca <&-");
  EXPECT_EQ(chat.status, 0) << chat.err;
  CliResult tokenize = run_redirected(ws, "tokenize m <&-");
  EXPECT_NE(tokenize.status, 124) << "tokenize hung on a closed standard input";
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(60));
}

TEST(HostileInput, FlatAndSinglePointCurvesArePlotted) {
  Workspace ws;
  for (const char* run : {"one", "flat"}) std::filesystem::create_directories(ws.path(run));
  ws.write("one/metrics.jsonl", R"({"step": 1, "tokens": 16, "loss": 2.3})" "\n");
  ws.write("flat/metrics.jsonl", R"({"step": 1, "tokens": 16, "loss": 2.3, "eval_loss": 2.3})" "\n"
                                 R"({"step": 2, "tokens": 32, "loss": 2.3000000000000003})" "\n"
                                 R"({"step": 3, "tokens": 48, "loss": 2.3, "eval_loss": 2.3000000000000003})" "\n");
  for (const char* run : {"one", "flat"}) {
    SCOPED_TRACE(run);
    CliResult r = testing::run_shell("cd '" + ws.path() + "' && timeout 60 " + std::string(LLAMAPRO_BIN) + " plot " +
                                     run + " -o " + run + ".png");
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_GT(std::filesystem::file_size(ws.path(std::string(run) + ".png")), 1000u);
  }
}

TEST(HostileInput, UnreachableRanksFailWithinSecondsInOurWords) {
  Workspace ws;
  const std::string train = "train x --data d --seq-len 16 --steps 2 --no-progress --collective-timeout 3 -o t";
  auto started = std::chrono::steady_clock::now();
  CliResult unresolvable = ws.run("launch --nproc-per-node 2 --master-addr no-such-host.invalid -- " + train);
  EXPECT_TRUE(is_one_error_line(unresolvable));
  EXPECT_NE(unresolvable.err.find("--master-addr no-such-host.invalid: cannot resolve"), std::string::npos)
      << unresolvable.err;
  // A rank whose master never answers (port 9, nobody listening): our line, no c10d log lines.
  CliResult alone = testing::run_shell("cd '" + ws.path() + "' && WORLD_SIZE=2 RANK=1 MASTER_ADDR=127.0.0.1 MASTER_PORT=9 "
                                       "timeout 120 " + std::string(LLAMAPRO_BIN) + " " + train);
  EXPECT_TRUE(is_one_error_line(alone));
  EXPECT_NE(alone.err.find("the ranks did not all meet at 127.0.0.1:9 within 3 s"), std::string::npos) << alone.err;
  EXPECT_EQ(alone.err.find("[c10d]"), std::string::npos) << alone.err;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(60));
}

// The pids of `parent`'s children (Linux: /proc/PID/task/PID/children).
std::vector<pid_t> children_of(pid_t parent) {
  std::ifstream in("/proc/" + std::to_string(parent) + "/task/" + std::to_string(parent) + "/children");
  std::vector<pid_t> out;
  for (pid_t p; in >> p;) out.push_back(p);
  return out;
}

TEST(HostileInput, AStoppedRankIsNamedAndEndsTheJob) {
  Workspace ws;
  const std::string log = ws.path("launch.log");
  pid_t launch = testing::spawn_cli("launch --nproc-per-node 2 -- train x --data d --seq-len 16 --steps 100000 "
                                    "--no-progress -o t",
                                    {}, log, ws.path());
  ASSERT_TRUE(testing::wait_for(ws.path("t/metrics.jsonl"), 120)) << testing::read_text(log);
  const std::vector<pid_t> ranks = children_of(launch);
  ASSERT_EQ(ranks.size(), 2u);
  const auto stopped = std::chrono::steady_clock::now();
  kill(ranks[1], SIGSTOP);
  EXPECT_EQ(testing::wait_status(launch), 1);
  EXPECT_LT(std::chrono::steady_clock::now() - stopped, std::chrono::seconds(30));
  const std::string err = testing::read_text(log);
  EXPECT_NE(err.find("error: rank 1 was stopped by signal 19"), std::string::npos) << err;
  for (pid_t r : ranks) EXPECT_NE(kill(r, 0), 0) << "rank " << r << " outlived the job";
}

// ---------------------------------------------------------------------------------------------
// Broken outputs and messages.

TEST(HostileInput, AModelWrittenByTrainIsInspected) {
  Workspace ws;
  ASSERT_EQ(ws.run("data prepare --tokenizer m --input a.txt --split-lines -o d2 --val-fraction 0.2 --no-progress").status, 0);
  CliResult train = ws.run("train x --data d:0.7 --data d2:0.3 --seq-len 16 --steps 2 --no-progress -o t");
  ASSERT_EQ(train.status, 0) << train.err;
  CliResult r = ws.run("inspect t");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("trained"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("2 steps of stage-1 (blocks 4) on d (0.7), d2 (0.3)"), std::string::npos) << r.out;
  EXPECT_EQ(ws.run("inspect t --json").status, 0);
}

TEST(HostileInput, AFullStandardOutputIsAFailure) {
  Workspace ws;
  for (const std::string& args : {std::string("inspect m --json"), std::string("inspect m"), std::string("tokenize m --text hi"),
                                  std::string("data inspect d"), std::string("score m --ids ids.json"),
                                  std::string("generate m --prompt-ids 1 --max-new-tokens 2"), std::string("init --list")}) {
    SCOPED_TRACE(args);
    CliResult r = run_redirected(ws, args + " >/dev/full");
    EXPECT_TRUE(is_one_error_line(r));
    EXPECT_NE(r.err.find("cannot write standard output: No space left on device"), std::string::npos) << r.err;
  }
}

TEST(HostileInput, EveryMessageIsOurs) {
  Workspace ws;
  ws.write("bad.jsonl", "{\"text\": \"a\"}\n{not json\n");
  CliResult task = ws.run("eval m --task perplexity:bad.jsonl");
  EXPECT_TRUE(is_one_error_line(task));
  EXPECT_NE(task.err.find("bad.jsonl:2: invalid JSON"), std::string::npos) << task.err;
  EXPECT_EQ(task.err.find("json.exception"), std::string::npos) << task.err;
  ws.write("typed.txt", "hello\n\xff\xfe broken\n");
  CliResult chat = run_redirected(ws, "chat m --template alpaca --max-new-tokens 2 <typed.txt");
  EXPECT_TRUE(ends_with_one_error(chat));
  EXPECT_NE(chat.err.find("not valid UTF-8"), std::string::npos) << chat.err;
  EXPECT_EQ(chat.err.find("json.exception"), std::string::npos) << chat.err;
}

// ---------------------------------------------------------------------------------------------
// The small ones.

TEST(HostileInput, SmallOnes) {
  expect_refused(
      {
          {"train x --data d --seq-len 16 -o t --seed 18446744073709551616", "seeds go up to 18446744073709551615"},
          {"init -o e --seed 99999999999999999999999", "seeds go up to"},
          {"chat m --template alpaca --messages msg.json --max-new-tokens 510", "the model's window is 512"},
          {"merge m layers -o e", "layers_to_transform lists blocks 3"},
          {"eval m --task arc_easy:arc-short.jsonl", "choices.text has 2 choices but choices.label 1 labels"},
          {"eval m --task arc_easy:arc-twice.jsonl", "choice label \"A\" appears twice"},
          {"expand m -o m --add 1 --dry-run", "-o m is the input m"},
          {"expand m -o x --add 1 --dry-run", "-o x already exists"},
          {"data inspect cut", "truncated token shard"},
          {"data inspect lots", "\"tokens\" has the wrong type"},
          {"train x --data lots --seq-len 16 -o t", "\"tokens\" has the wrong type"},
          {"generate m --prompt-ids ''", "--prompt-ids: the list of token ids is empty"},
          {"generate m --prompt ''", "--prompt: the prompt is empty"},
          {"export gguf m -o out.gguf/", "-o out.gguf/ ends with a separator"},
          {"score m --ids ids.json --logits-out logits/", "ends with a separator"},
      },
      [](Workspace& ws) {
        ws.write("msg.json", R"([{"role": "user", "content": "the cat sat on a mat"}])");
        train_adapter(ws, "layers");
        std::string cfg = testing::read_text(ws.path("layers/adapter_config.json"));
        const size_t at = cfg.find("\"layers_to_transform\"");
        cfg.replace(at, cfg.find(']', at) + 1 - at, "\"layers_to_transform\": [3]");
        ws.write("layers/adapter_config.json", cfg);
        ws.write("arc-short.jsonl",
                 R"({"question": "q?", "choices": {"text": ["a", "b"], "label": ["A"]}, "answerKey": "A"})" "\n");
        ws.write("arc-twice.jsonl",
                 R"({"question": "q?", "choices": {"text": ["a", "b"], "label": ["A", "A"]}, "answerKey": "A"})" "\n");
        std::filesystem::copy(ws.path("d"), ws.path("cut"), std::filesystem::copy_options::recursive);
        const std::string shard = ws.path("cut/train-00000.bin");
        std::filesystem::resize_file(shard, std::filesystem::file_size(shard) - 2);
        std::filesystem::copy(ws.path("d"), ws.path("lots"), std::filesystem::copy_options::recursive);
        std::string data = testing::read_text(ws.path("lots/data.json"));
        const size_t sources = data.find("\"sources\"");
        const size_t tokens = data.find("\"tokens\": ", sources);
        data.replace(tokens, data.find_first_of(",}\n", tokens) - tokens, "\"tokens\": \"lots\"");
        ws.write("lots/data.json", data);
      });
}

TEST(HostileInput, ARunSeedIsStoredAsTheIntegerItIs) {
  Workspace ws;
  CliResult r = ws.run("train x --data d --seq-len 16 --steps 1 --no-progress -o t --seed 18446744073709551615");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(testing::read_text(ws.path("t/run.json")).find("\"seed\": 18446744073709551615"), std::string::npos);
}

TEST(HostileInput, AnAdapterForAnotherBaseIsMergedWithAWarning) {
  Workspace ws;
  train_adapter(ws, "lora");
  CliResult r = ws.run("merge par2/base lora -o merged");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("warning: lora was trained on"), std::string::npos) << r.err;
}

// A file written atomically into a staged output is named as the user knows it.
TEST(HostileInput, MessagesNameTheTargetNotItsStage) {
  testing::TempDir tmp;
  const std::string stage = tmp.str("missing/m.gguf") + stage_suffix("partial");
  try {
    AtomicFile f(stage);
    FAIL() << "created a file in a missing folder";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("cannot create " + tmp.str("missing/m.gguf") + ":"), std::string::npos) << what;
    EXPECT_EQ(what.find(".partial-"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace llamapro
