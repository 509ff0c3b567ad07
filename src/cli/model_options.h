// model_options.h — options that several model-running commands share, declared once.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "cli/options.h"
#include "infer/sampler.h"

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

}  // namespace llamapro::cli
