// test_bad_input.cpp — the table of bad requests: each must fail with one "error:" line naming
// what was wrong, exit status 1, and leave every input byte-identical with nothing new beside
// it (no output, no stage, no lock). The cases are what a new user tried, and their neighbours.
#include <gtest/gtest.h>

#include <cstring>

#include "reliability/workspace.h"

namespace llamapro {
namespace {

using testing::BadCase;
using testing::expect_refused;
using testing::Workspace;

TEST(BadInput, Score) {
  expect_refused({
      {"score m --ids ids.json --logits-out m/model.safetensors", "lies inside the input m"},
      {"score m --ids ids.json --logits-out ids.json --force", "is the input ids.json"},
      {"score m --ids ids.json --logits-out existing.bin", "already exists (use --force"},
      {"score m --ids ids.json --logits-out adir --force", "is not a regular file"},
      {"score m --ids ids.json --logits-out ''", "--logits-out: the path is empty"},
      {"score m --ids ids.json --dtype f16", "--dtype f16 needs a CUDA device"},
      {"score m --ids ids.json --batch 0", "--batch: 0 is not in [1,"},
      {"score badeps --ids ids.json", "rms_norm_eps must be in (0, 1), got -1"},
      {"score m --ids adir", "adir is a folder; expected a file"},
  });
}

TEST(BadInput, DataPrepare) {
  const std::string p = "data prepare --tokenizer m --no-progress ";
  const std::vector<std::string> args = {
      p + "--input a.txt -o m --force",          p + "--input par/corp -o par --force",
      p + "--input a.txt -o a.txt --force",      p + "--input a.txt -o d",
      p + "--input a.txt -o foreign --force",    p + "--input a.txt -o d2 --threads 100000",
      p + "--input a.txt -o d2 --val-fraction 1", p + "--input a.txt -o d2 --shard-tokens 0",
      p + "--input a.txt -o ''",                 p + "--input a.txt -o m/d2",
      p + "--input missing.txt -o d2",           p + "--input a.txt -o nowhere/d2",
      "data prepare --tokenizer adir --input a.txt -o d2", "data inspect m",
      "data inspect d --sample-tokens -1",
  };
  const char* says[] = {
      "-o m is the input m",  "-o par contains the input par/corp", "-o a.txt is the input a.txt",
      "-o d already exists",  "llamapro did not write",             "--threads: 100000 is not in [0, 1024]",
      "--val-fraction: 1 is not in [0, 1)", "--shard-tokens: 0 is not in", "the path is empty",
      "-o m/d2 lies inside the input m", "missing.txt", "nowhere does not exist",
      "tokenizer", "no data.json", "--sample-tokens: -1 is not in",
  };
  std::vector<BadCase> cases;
  for (size_t i = 0; i < args.size(); i++) cases.push_back({args[i], says[i]});
  expect_refused(cases);
}

TEST(BadInput, Train) {
  const std::string t = "train x --data d --seq-len 16 --no-progress ";
  const std::vector<BadCase> table = {
      {"train x --data d -o x --force", "-o x is the input x"},
      {t + "-o d --force", "-o d is the input d"},
      {t + "-o x/run", "lies inside the input x"},
      {t + "-o d/run", "lies inside the input d"},
      {t + "-o t --steps 0", "--steps: 0 is not in [1,"},
      {t + "-o t --tokens 0", "--tokens: 0 is not in [1,"},
      {t + "-o t --tokens 1e30", "--tokens: 1e30 is not in [1, 1e+15]"},
      {t + "-o t --epochs 0", "--epochs: 0 is not in (0,"},
      {t + "-o t --eps -1", "--eps: -1 is not in (0, 1]"},
      {t + "-o t --grad-clip -1", "--grad-clip: -1 is not in [0, inf)"},
      {t + "-o t --keep-checkpoints 0", "--keep-checkpoints: 0 is not in [1,"},
      {t + "-o t --save-every -1", "--save-every: -1 is not in [0,"},
      {t + "-o t --eval-every -1", "--eval-every: -1 is not in [0,"},
      {t + "-o t --eval-batches 0", "--eval-batches: 0 is not in [1,"},
      {t + "-o t --min-lr 1 --lr 0.1", "--min-lr: 1 is above --lr 0.1"},
      {t + "-o t --betas 2,2", "--betas: 2 is not in [0, 1)"},
      {t + "-o t --betas a,b", "--betas: \"a\" is not a number"},
      {t + "-o t --betas 0.9", "--betas: expected two numbers"},
      {t + "-o t --weight-decay nan", "--weight-decay: \"nan\" is not a number"},
      {t + "-o t --lr inf", "--lr: inf is not in (0, inf)"},
      {t + "-o t --lr 0", "--lr: 0 is not in (0, inf)"},
      {t + "-o t --seed -1", "--seed: \"-1\" is not a seed"},
      {t + "-o t --precision fp16", "--precision"},
      {t + "-o t --schedule step", "--schedule"},
      {t + "-o t --warmup -1", "--warmup: -1 must not be negative"},
      {t + "-o t --warmup 2.5", "--warmup: 2.5 is neither whole steps nor a fraction"},
      {t + "-o t --device cuda", "sees no CUDA device"},
      {t + "-o t --device tpu", "unknown device \"tpu\""},
      {t + "-o foreign --force", "llamapro did not write"},
      {t + "-o existing.bin --force", "is not a folder"},
      {t + "-o t --seq-len 100000", "exceeds the model's 512 positions"},
      {t + "-o t --seq-len 1", "--seq-len: 1 is not in [2,"},
      {t + "-o t --trainable blocks:99", "--trainable block 99 is out of range"},
      {t + "-o ''", "the path is empty"},
      {"train m --data d -o t --seq-len 16", "no expansion stages"},
      {"train x --data adir -o t --seq-len 16", "no data.json"},
  };
  expect_refused(table);
}

TEST(BadInput, Expand) {
  expect_refused({
      {"expand m -o m --add 1 --force", "-o m is the input m"},
      {"expand par2/base -o par2 --add 1 --force", "-o par2 contains the input par2/base"},
      {"expand m -o m/sub --add 1", "-o m/sub lies inside the input m"},
      {"expand mlink -o m --add 1 --force", "-o m is the input mlink"},
      {"expand m -o mlink --add 1 --force", "-o mlink is the input m"},
      {"expand m -o x --add 1", "-o x already exists (use --force"},
      {"expand m -o foreign --add 1 --force", "llamapro did not write"},
      {"expand m -o existing.bin --add 1 --force", "is not a folder"},
      {"expand m -o '' --add 1", "the path is empty"},
      {"expand m -o e --add 0", "--add: 0 is not in [1,"},
      {"expand m -o e", "give exactly one of --add N or --after"},
      {"expand m -o e --add 99", "--add 99 exceeds the model's 4 layers"},
      {"expand m -o e --add 1 --verify --verify-samples 0", "--verify-samples: 0 is not in [1,"},
      {"expand m -o e --add 1 --verify --verify-seq-len 100000", "exceeds the model's 512 positions"},
      {"expand m -o e --add 1 --verify --verify-device cuda", "sees no CUDA device"},
      {"expand m -o e --add 1 --zero mlp.nope", "unknown sub-module \"mlp.nope\""},
      {"expand m -o e --add 1 --stage base", "stage name \"base\""},
      {"expand fifo-model -o e --add 1", "is not a regular file"},
      {"verify m x --verify-samples 0", "--verify-samples: 0 is not in [1,"},
  });
}

TEST(BadInput, OtherCommands) {
  expect_refused({
      {"init -o e --layers 0", "--layers: 0 is not in [1,"},
      {"init -o m", "-o m already exists"},
      {"init -o foreign --force", "llamapro did not write"},
      {"init -o e --config badeps.json", "rms_norm_eps must be in (0, 1)"},
      {"init -o e --preset nope", "unknown preset \"nope\""},
      {"init -o e --seed -1", "--seed: \"-1\" is not a seed"},
      {"generate m --prompt hi --seed 1.5", "--seed: \"1.5\" is not a seed"},
      {"eval m --data d --batches -1", "--batches: -1 is not in [0,"},
      {"eval m --data d --seq-len 1", "--seq-len: 1 is not in [2,"},
      {"eval m --data d --split test", "--split"},
      {"generate m --prompt hi --top-p 0", "--top-p: 0 is not in (0, 1]"},
      {"generate m --prompt hi --temperature -1", "--temperature: -1 is not in [0, 100]"},
      {"generate m --prompt hi --dtype f16", "--dtype f16 needs a CUDA device"},
      {"tokenize m --file adir", "adir is a folder; expected a file"},
      {"inspect fifo-model", "is not a regular file"},
      {"inspect nothing-here", "nothing-here"},
      {"inspect existing.bin", "neither a model folder nor a GGUF file"},
      {"export gguf m -o m/m.gguf", "lies inside the input m"},
      {"export gguf m -o existing.bin", "already exists (use --force"},
      {"export gguf m -o adir --force", "is not a regular file"},
      {"export gguf m -o e.gguf --type q4_0", "--type"},
      {"export gguf fifo-model -o e.gguf", "is not a regular file"},
      {"export gguf badeps -o e.gguf", "rms_norm_eps"},
      {"export m -o e.gguf", "gguf"},
      {"inpsect m", "unknown command \"inpsect\"; did you mean \"inspect\"?"},
      {"foo", "unknown command \"foo\""},
  });
}

// A PEFT adapter folder for a model whose q_proj is 3 wide: rank 1, A (1, 3), B (3, 1).
void write_foreign_adapter(Workspace& ws, const std::string& dir) {
  std::filesystem::create_directories(ws.path(dir));
  ws.write(dir + "/adapter_config.json",
           R"({"peft_type": "LORA", "r": 1, "lora_alpha": 2, "target_modules": ["q_proj"], "bias": "none"})");
  const std::string prefix = "base_model.model.model.layers.0.self_attn.q_proj.";
  std::string header = "{\"" + prefix + "lora_A.weight\": {\"dtype\": \"F32\", \"shape\": [1, 3], \"data_offsets\": [0, 12]}, \"" +
                       prefix + "lora_B.weight\": {\"dtype\": \"F32\", \"shape\": [3, 1], \"data_offsets\": [12, 24]}}";
  uint64_t n = header.size();
  std::string file(8, '\0');
  std::memcpy(file.data(), &n, 8);
  ws.write(dir + "/adapter_model.safetensors", file + header + std::string(24, '\0'));
}

TEST(BadInput, LoraMergeAndChat) {
  const std::string t = "train x --data d --seq-len 16 --no-progress -o t ";
  const std::vector<BadCase> table = {
      {t + "--lora 0", "--lora: 0 is not in [1, 65536]"},
      {t + "--lora 99999", "--lora: 99999 is not in [1, 65536]"},
      {t + "--lora 4096", "exceeds the size of q_proj"},
      {t + "--lora-alpha 4", "--lora-alpha requires --lora"},
      {t + "--lora 4 --lora-alpha 0", "--lora-alpha: 0 is not in (0,"},
      {t + "--lora 4 --lora-dropout 1", "--lora-dropout: 1 is not in [0, 1)"},
      {t + "--lora 4 --lora-targets q,attn", "unknown LoRA target \"attn\""},
      {t + "--lora 4 --also head", "--also cannot be combined with --lora"},
      {t + "--packing greedy", "--packing"},
      {"train x --data d:0 --seq-len 16 --no-progress -o t", "the weight 0 is not in (0, 1e+06]"},
      {"train x --data d --data adir:2 --seq-len 16 --no-progress -o t", "no data.json"},
      {"train x --data d --data d:x -o d --force", "-o d is the input d"},
      {"merge m foreign -o e", "no adapter_config.json"},
      {"merge m wrong-adapter -o m --force", "-o m is the input m"},
      {"merge m wrong-adapter -o e", "an adapter for another model?"},
      {"merge m dora -o e", "use_dora is set"},
      {"score m --ids ids.json --adapter wrong-adapter", "an adapter for another model?"},
      {"score m --ids ids.json --adapter adir", "no adapter_config.json"},
      {"generate m --prompt hi --adapter wrong-adapter", "an adapter for another model?"},
      {"eval m --data d --adapter wrong-adapter", "an adapter for another model?"},
      {"chat m --messages msg.json", "the tokenizer has no chat template"},
      {"chat m --messages nothing.json --template chatml", "nothing.json"},
      {"chat m --messages ids.json --template chatml", "every message must be an object"},
      {"chat m --max-new-tokens 0", "--max-new-tokens: 0 is not in [1,"},
      {"chat m --template nope", "--template"},
      {"chat m --messages msg.json --template chatml --transcript msg.json", "is the input msg.json"},
      {"chat m --messages msg.json --template llama3", "<|begin_of_text|>"},
  };
  expect_refused(table, [](Workspace& ws) {
    write_foreign_adapter(ws, "wrong-adapter");
    write_foreign_adapter(ws, "dora");
    ws.write("dora/adapter_config.json", R"({"peft_type": "LORA", "r": 1, "lora_alpha": 2, "target_modules": ["q_proj"], "use_dora": true})");
    ws.write("msg.json", R"([{"role": "user", "content": "hi"}])");
  });
}

TEST(BadInput, HelpIsACommandToo) {
  Workspace ws;
  testing::CliResult r = ws.run("help");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("expand"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace llamapro
