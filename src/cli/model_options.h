// model_options.h — options that several model-running commands share, declared once.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "cli/options.h"
#include "infer/sampler.h"
#include "model/device.h"
#include "model/transformer.h"

namespace llamapro::cli {

// --adapter DIR: a PEFT LoRA adapter folder applied on top of the model.
inline void add_adapter_option(CLI::App& cmd, std::string& dir) {
  cmd.add_option("--adapter", dir, "LoRA adapter folder (PEFT layout) to apply on top of the model")
      ->check(non_empty_path());
}

// --temperature, --top-k, --top-p, --seed.
inline void add_sampling_options(CLI::App& cmd, SamplerConfig& s) {
  cmd.add_option("--temperature", s.temperature, "0 = greedy; otherwise sample from softmax(logits / T)")
      ->capture_default_str()->check(in(incl(0), incl(100)));
  cmd.add_option("--top-k", s.top_k, "sample among the k most likely tokens (0 = all)")->capture_default_str()
      ->check(count(0, 1 << 30));
  cmd.add_option("--top-p", s.top_p, "sample within the top-p probability mass")->capture_default_str()
      ->check(in(excl(0), incl(1)));
  cmd.add_option("--seed", s.seed, "random seed for sampling")->capture_default_str()->check(seed_value());
}

// --device and the compute dtype, one vocabulary in every command: f32 (fp32, float32), bf16
// (bfloat16), f16 (fp16, float16; CUDA only). The dtype's own name is the command's (--dtype
// for score, generate and chat, --precision for train and eval); the other works as an alias.
struct ComputeOptions {
  std::string device = "cpu", dtype = "f32";
  std::string flag = "--dtype";
  // Both parsed, a missing GPU refused: before any work.
  ModelOptions resolve() const {
    ModelOptions m;
    m.device = parse_device(device);
    m.dtype = parse_compute_dtype(dtype, m.device, flag);
    return m;
  }
};

inline void add_compute_options(CLI::App& cmd, ComputeOptions& c, const std::string& flag = "--dtype") {
  c.flag = flag;
  cmd.add_option("--device", c.device, "cpu, cuda or cuda:N")->capture_default_str();
  const std::string names = flag == "--dtype" ? "--dtype,--precision" : "--precision,--dtype";
  cmd.add_option(names, c.dtype, "compute dtype: f32, bf16, or f16 on CUDA")->capture_default_str()
      ->check(CLI::IsMember({"f32", "fp32", "float32", "bf16", "bfloat16", "f16", "fp16", "float16"}));
}

}  // namespace llamapro::cli
