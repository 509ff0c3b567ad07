// harness.h — scoring benchmark tasks (eval/tasks.h) with a model, with lm-evaluation-harness's
// definitions: summed log-likelihood of each choice's continuation (acc, acc_norm, mc2), rolling
// log-likelihood over disjoint windows (word/byte perplexity, bits per byte), greedy generation
// with stop sequences (exact_match).
//
// Speed: the choices of a document share their context; it is run once and its KV cache fanned
// out to all continuations, which run as one batch.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "eval/tasks.h"
#include "model/transformer.h"
#include "util/json.h"

namespace llamapro {

class Tokenizer;

struct HarnessOptions {
  int64_t max_length = 0;        // context window for scoring; 0: the model's
  int64_t max_new_tokens = 256;  // generation
  bool share_context = true;     // false: one forward per context + continuation (reference path)
  bool progress = true;
};

struct Metric {
  std::string name;  // acc, acc_norm, mc2, word_perplexity, byte_perplexity, bits_per_byte, exact_match, acc:<subject>
  double value = NAN;
  double stderr_ = NAN;  // of the mean (sample standard deviation / sqrt(n)); NaN when not defined
};

struct TaskResult {
  std::string task;
  std::vector<Metric> metrics;
  json documents = json::array();  // per document: source and scores
  int64_t tokens = 0;              // tokens run through the model
  double seconds = 0;
  const Metric* find(const std::string& name) const;
};

TaskResult run_task(const Model& model, const Tokenizer& tokenizer, const Task& task, const HarnessOptions& o);

// ---- building blocks (tests, benchmarks)

struct LoglikelihoodRequest {
  std::vector<int64_t> context, continuation;  // continuation non-empty
};
// Sum of log p(continuation | context) per request.
std::vector<double> loglikelihoods(const Model& model, const std::vector<LoglikelihoodRequest>& requests,
                                   const HarnessOptions& o, int64_t* tokens = nullptr);
// lm-eval's split of a (context, continuation) pair: trailing spaces of the context move to the
// continuation; the continuation's ids are those of the whole text after the context's.
LoglikelihoodRequest encode_pair(const Tokenizer& tokenizer, const std::string& context, const std::string& continuation);
// Sum of log p over every token of a document, in disjoint windows of max_length predictions;
// the first token is predicted from `prefix` (BOS), later windows see up to max_length
// preceding tokens.
double rolling_loglikelihood(const Model& model, const std::vector<int64_t>& tokens, int64_t prefix, int64_t max_length,
                             int64_t* run = nullptr);

}  // namespace llamapro
