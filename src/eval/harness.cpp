#include "eval/harness.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>

#include "infer/generate.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"
#include "util/check.h"
#include "util/progress.h"
#include "util/strings.h"

namespace llamapro {

namespace {

torch::Tensor ids_tensor(const std::vector<int64_t>& ids, const torch::Device& device) {
  return torch::tensor(ids, torch::kLong).view({1, int64_t(ids.size())}).to(device);  // (1, T)
}

// Sum of log p(targets) where logits row i predicts targets[i]: logits (T, V), targets T.
double sum_logprobs(const torch::Tensor& logits, const std::vector<int64_t>& targets) {
  auto logp = torch::log_softmax(logits.to(torch::kFloat), -1);                                   // (T, V)
  auto idx = torch::tensor(targets, torch::kLong).to(logits.device()).view({-1, 1});             // (T, 1)
  return logp.gather(1, idx).sum().item<double>();
}

// A model with NaN or inf weights gives NaN log-likelihoods, which would compare as a coin toss.
void check_finite_loglikelihood(double ll, const std::string& where) {
  LP_CHECK(std::isfinite(ll), where, ": the model's log-likelihood is ", ll,
           " (its weights or logits are not finite numbers)");
}

// One forward of context + continuation (left-truncated to the window), as lm-eval does.
double loglikelihood_alone(const Model& model, const LoglikelihoodRequest& r, int64_t max_length, int64_t* run) {
  std::vector<int64_t> whole = r.context;
  whole.insert(whole.end(), r.continuation.begin(), r.continuation.end());
  if (int64_t(whole.size()) > max_length + 1) whole.erase(whole.begin(), whole.end() - (max_length + 1));
  whole.pop_back();  // the last token is only a target
  const int64_t n = int64_t(r.continuation.size());
  LP_CHECK(int64_t(whole.size()) >= n, "a continuation of ", n, " tokens does not fit the window of ", max_length);
  torch::Tensor logits = model.forward(ids_tensor(whole, model.options().device))[0];  // (T, V)
  if (run) *run += int64_t(whole.size());
  return sum_logprobs(logits.narrow(0, logits.size(0) - n, n), r.continuation);
}

int64_t window_of(const Model& model, const HarnessOptions& o) {
  return o.max_length > 0 ? std::min(o.max_length, model.max_sequence_length()) : model.max_sequence_length();
}

// Sample standard deviation / sqrt(n), as lm-eval's stderr of a mean.
Metric mean_metric(const std::string& name, const std::vector<double>& xs) {
  Metric m{name, NAN, NAN};
  if (xs.empty()) return m;
  double sum = 0;
  for (double x : xs) sum += x;
  m.value = sum / double(xs.size());
  if (xs.size() > 1) {
    double ss = 0;
    for (double x : xs) ss += (x - m.value) * (x - m.value);
    m.stderr_ = std::sqrt(ss / double(xs.size() - 1)) / std::sqrt(double(xs.size()));
  }
  return m;
}

size_t code_points(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// Python's len(re.split(r"\s+", text)): pieces between whitespace runs, empty ends included.
size_t word_count(const std::string& text) {
  size_t pieces = 1;
  bool in_space = false;
  for (unsigned char c : text) {
    const bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
    if (space && !in_space) pieces++;
    in_space = space;
  }
  return pieces;
}

std::string progress_note(size_t done, double seconds) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f docs/s", double(done) / std::max(seconds, 1e-9));
  return buf;
}

}  // namespace

const Metric* TaskResult::find(const std::string& name) const {
  for (const auto& m : metrics)
    if (m.name == name) return &m;
  return nullptr;
}

LoglikelihoodRequest encode_pair(const Tokenizer& tok, const std::string& context, const std::string& continuation) {
  std::string ctx = context, cont = continuation;
  const size_t keep = ctx.find_last_not_of(' ') + 1;  // trailing spaces belong to the continuation
  if (keep < ctx.size()) {
    cont = ctx.substr(keep) + cont;
    ctx.resize(keep);
  }
  LoglikelihoodRequest r;
  std::vector<int32_t> whole = tok.encode(ctx + cont, false), head = tok.encode(ctx, false);
  r.context.assign(head.begin(), head.end());
  r.continuation.assign(whole.begin() + std::min(head.size(), whole.size()), whole.end());
  LP_CHECK(!r.continuation.empty(), "the continuation \"", continuation, "\" encodes to no tokens after its context");
  if (r.context.empty()) {  // lm-eval starts an empty context with the BOS (or EOS) token
    const int32_t prefix = tok.bos_id() >= 0 ? tok.bos_id() : tok.eos_id();
    LP_CHECK(prefix >= 0, "an empty context needs a BOS or EOS token, and the tokenizer has neither");
    r.context = {prefix};
  }
  return r;
}

std::vector<double> loglikelihoods(const Model& model, const std::vector<LoglikelihoodRequest>& requests,
                                   const HarnessOptions& o, int64_t* run) {
  torch::NoGradGuard no_grad;
  const int64_t window = window_of(model, o);
  std::vector<double> out(requests.size(), 0.0);
  // Requests that share a context: the context runs once, its cache serves every continuation.
  std::map<std::vector<int64_t>, std::vector<size_t>> groups;
  for (size_t i = 0; i < requests.size(); i++) groups[requests[i].context].push_back(i);
  const auto device = model.options().device;
  for (const auto& [context, members] : groups) {
    size_t longest = 0;
    for (size_t i : members) longest = std::max(longest, requests[i].continuation.size());
    const int64_t capacity = int64_t(context.size() + longest);
    if (!o.share_context || capacity > window) {  // reference path, or left truncation needed
      for (size_t i : members) out[i] = loglikelihood_alone(model, requests[i], window, run);
      continue;
    }
    KVCache cache = model.new_cache(1, capacity);
    torch::Tensor last = model.last_logits(ids_tensor(context, device), &cache)[0];  // (V): predicts token 0
    auto last_logp = torch::log_softmax(last.to(torch::kFloat), -1);
    // Continuations right-padded into one batch: padding comes after every real token, so
    // causal attention keeps it out of the scores.
    const int64_t N = int64_t(members.size()), T = int64_t(longest) - 1;
    if (T > 0) {
      std::vector<int64_t> batch(size_t(N * T), 0);
      for (int64_t r = 0; r < N; r++) {
        const auto& c = requests[members[size_t(r)]].continuation;
        for (int64_t t = 0; t + 1 < int64_t(c.size()); t++) batch[size_t(r * T + t)] = c[size_t(t)];
      }
      KVCache fanned = cache.fan_out(0, N, capacity);
      auto logits = model.forward(torch::tensor(batch, torch::kLong).view({N, T}).to(device), &fanned);  // (N, T, V)
      if (run) *run += N * T;
      for (int64_t r = 0; r < N; r++) {
        const auto& c = requests[members[size_t(r)]].continuation;
        const std::vector<int64_t> targets(c.begin() + 1, c.end());
        double ll = last_logp[c[0]].item<double>();
        if (!targets.empty()) ll += sum_logprobs(logits[r].narrow(0, 0, int64_t(targets.size())), targets);
        out[members[size_t(r)]] = ll;
      }
    } else {
      for (size_t i : members) out[i] = last_logp[requests[i].continuation[0]].item<double>();
    }
    if (run) *run += int64_t(context.size());
  }
  return out;
}

double rolling_loglikelihood(const Model& model, const std::vector<int64_t>& tokens, int64_t prefix, int64_t max_length,
                             int64_t* run) {
  torch::NoGradGuard no_grad;
  const int64_t n = int64_t(tokens.size());
  double total = 0;
  for (int64_t predicted = 0; predicted < n;) {
    const int64_t count = std::min(n - predicted, max_length), end = predicted + count;
    std::vector<int64_t> input;
    if (predicted == 0) {  // the first window: BOS, then all but the last of its targets
      input.push_back(prefix);
      input.insert(input.end(), tokens.begin(), tokens.begin() + (count - 1));
    } else {  // later windows: the max_length tokens before the window's end
      input.assign(tokens.begin() + (end - max_length - 1), tokens.begin() + (end - 1));
    }
    torch::Tensor logits = model.forward(ids_tensor(input, model.options().device))[0];  // (T, V)
    if (run) *run += int64_t(input.size());
    total += sum_logprobs(logits.narrow(0, logits.size(0) - count, count),
                          std::vector<int64_t>(tokens.begin() + predicted, tokens.begin() + end));
    predicted = end;
  }
  return total;
}

// ---------------------------------------------------------------------------------------------
// One scorer per task kind: each document in, its record out; the task's metrics at the end.

namespace {

struct ScorerContext {
  const Model& model;
  const Tokenizer& tok;
  const Task& task;
  const HarnessOptions& o;
  int64_t window;
  int64_t* tokens;  // run through the model, for the result
};

class DocScorer {
 public:
  explicit DocScorer(const ScorerContext& c) : c_(c) {}
  virtual ~DocScorer() = default;
  virtual json score(const TaskDoc& d) = 0;
  virtual void finish(TaskResult& result) const = 0;

 protected:
  ScorerContext c_;
};

// Multiple choice: the choice with the highest log-likelihood (and per character, acc_norm).
class ChoiceScorer : public DocScorer {
 public:
  using DocScorer::DocScorer;
  json score(const TaskDoc& d) override {
    json record = {{"source", d.source}};
    std::vector<LoglikelihoodRequest> requests;
    for (size_t c = 0; c < d.contexts.size(); c++) requests.push_back(encode_pair(c_.tok, d.contexts[c], d.continuations[c]));
    const std::vector<double> ll = loglikelihoods(c_.model, requests, c_.o, c_.tokens);
    for (double v : ll) check_finite_loglikelihood(v, d.source);
    size_t best = 0, best_norm = 0;
    for (size_t c = 1; c < ll.size(); c++) {
      if (ll[c] > ll[best]) best = c;
      if (ll[c] / double(code_points(d.choice_texts[c])) > ll[best_norm] / double(code_points(d.choice_texts[best_norm])))
        best_norm = c;
    }
    acc_.push_back(int(best) == d.gold);
    acc_norm_.push_back(int(best_norm) == d.gold);
    if (!d.subject.empty()) by_subject_[d.subject].push_back(int(best) == d.gold);
    record["loglikelihoods"] = ll;
    record["gold"] = d.gold;
    record["acc"] = acc_.back();
    if (c_.task.mc2) {  // normalized probability mass on the true answers
      double p_true = 0, p_all = 0;
      for (size_t c = 0; c < ll.size(); c++) {
        const double p = std::exp(ll[c]);
        p_all += p;
        if (std::find(d.true_choices.begin(), d.true_choices.end(), int(c)) != d.true_choices.end()) p_true += p;
      }
      mc2_.push_back(p_all > 0 ? p_true / p_all : 0.0);
      record["mc2"] = mc2_.back();
    }
    return record;
  }
  void finish(TaskResult& result) const override {
    result.metrics.push_back(mean_metric("acc", acc_));
    if (c_.task.acc_norm) result.metrics.push_back(mean_metric("acc_norm", acc_norm_));
    if (c_.task.mc2) result.metrics.insert(result.metrics.begin(), mean_metric("mc2", mc2_));
    for (const auto& [subject, xs] : by_subject_) result.metrics.push_back(mean_metric("acc:" + subject, xs));
  }

 private:
  std::vector<double> acc_, acc_norm_, mc2_;
  std::map<std::string, std::vector<double>> by_subject_;
};

// Rolling log-likelihood of whole documents: perplexity per word and per byte.
class PerplexityScorer : public DocScorer {
 public:
  using DocScorer::DocScorer;
  json score(const TaskDoc& d) override {
    std::vector<int32_t> ids32 = c_.tok.encode(d.text, false);
    const std::vector<int64_t> ids(ids32.begin(), ids32.end());
    const int64_t prefix = c_.tok.bos_id() >= 0 ? c_.tok.bos_id() : c_.tok.eos_id();
    LP_CHECK(prefix >= 0, "rolling perplexity needs a BOS or EOS token to start from");
    const double ll = ids.empty() ? 0.0 : rolling_loglikelihood(c_.model, ids, prefix, c_.window, c_.tokens);
    check_finite_loglikelihood(ll, d.source);
    ll_sum_ += ll;
    words_ += word_count(d.text);
    bytes_ += d.text.size();
    return {{"source", d.source}, {"loglikelihood", ll}, {"words", word_count(d.text)}, {"bytes", d.text.size()}};
  }
  void finish(TaskResult& result) const override {
    // Perplexity per word and per byte of nothing is no number (it would print 1.0 and -0.0).
    LP_CHECK(words_ > 0 && bytes_ > 0, c_.task.name, ": every document is empty (", c_.task.docs.size(),
             " of them): no text to score");
    result.metrics.push_back({"word_perplexity", std::exp(-ll_sum_ / double(words_)), NAN});
    result.metrics.push_back({"byte_perplexity", std::exp(-ll_sum_ / double(bytes_)), NAN});
    result.metrics.push_back({"bits_per_byte", -ll_sum_ / double(bytes_) / std::log(2.0), NAN});
  }

 private:
  double ll_sum_ = 0;
  uint64_t words_ = 0, bytes_ = 0;
};

// Greedy generation up to a stop sequence, the answer extracted and compared exactly.
class GenerateScorer : public DocScorer {
 public:
  using DocScorer::DocScorer;
  json score(const TaskDoc& d) override {
    std::vector<int32_t> ids32 = c_.tok.encode(d.text, false);
    std::vector<int64_t> prompt(ids32.begin(), ids32.end());
    if (prompt.empty()) prompt.push_back(c_.tok.bos_id() >= 0 ? c_.tok.bos_id() : 0);
    GenerateOptions g;
    g.max_new_tokens = std::min<int64_t>(c_.o.max_new_tokens, c_.window - 1);
    // As lm-eval: a prompt too long for the window keeps its last tokens, leaving room to generate.
    const int64_t room = c_.window - g.max_new_tokens;
    if (int64_t(prompt.size()) > room) prompt.erase(prompt.begin(), prompt.end() - room);
    g.stop_at_eos = true;
    auto text_of = [&](const std::vector<int64_t>& t) { return c_.tok.decode(std::vector<int32_t>(t.begin(), t.end()), true); };
    g.stop_when = [&](const std::vector<int64_t>& generated) {
      const std::string text = text_of(generated);
      for (const auto& s : c_.task.stop)
        if (text.find(s) != std::string::npos) return true;
      return false;
    };
    GenerateResult gen = generate(c_.model, prompt, g);
    *c_.tokens += int64_t(prompt.size() + gen.tokens.size());
    std::string output = text_of(gen.tokens);
    for (const auto& s : c_.task.stop)  // the output ends before the first stop sequence
      if (size_t at = output.find(s); at != std::string::npos) output.resize(at);
    const bool numeric = c_.task.numeric_answer;
    const std::string want = numeric ? reference_number(d.answer) : d.answer;
    const std::string got = !c_.task.regex.empty() ? extract_with_regex(output, c_.task.regex)
                            : numeric             ? extracted_number(output)
                                                  : output;
    exact_.push_back(trim(got) == trim(want));
    return {{"source", d.source}, {"output", output}, {"extracted", got}, {"target", want},
            {"exact_match", exact_.back()}};
  }
  void finish(TaskResult& result) const override { result.metrics.push_back(mean_metric("exact_match", exact_)); }

 private:
  std::vector<double> exact_;
};

std::unique_ptr<DocScorer> scorer_for(const ScorerContext& c) {
  switch (c.task.kind) {
    case TaskKind::Choice: return std::make_unique<ChoiceScorer>(c);
    case TaskKind::Perplexity: return std::make_unique<PerplexityScorer>(c);
    case TaskKind::Generate: return std::make_unique<GenerateScorer>(c);
  }
  LP_FAIL("internal: a task of no kind");
}

}  // namespace

TaskResult run_task(const Model& model, const Tokenizer& tok, const Task& task, const HarnessOptions& o) {
  TaskResult result;
  result.task = task.name;
  Progress progress(task.name, task.docs.size(), "docs");
  std::unique_ptr<DocScorer> scorer = scorer_for({model, tok, task, o, window_of(model, o), &result.tokens});
  // Longest documents first: the slowest work shows early in the progress rate.
  std::vector<size_t> order(task.docs.size());
  for (size_t i = 0; i < order.size(); i++) order[i] = i;
  auto size_of = [&](size_t i) { return task.docs[i].text.size() + (task.docs[i].contexts.empty() ? 0 : task.docs[i].contexts[0].size()); };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return size_of(a) > size_of(b); });
  std::vector<json> docs(task.docs.size());
  size_t done = 0;
  for (size_t i : order) {
    docs[i] = scorer->score(task.docs[i]);
    done++;
    if (o.progress) progress.update(done, progress_note(done, progress.elapsed_seconds()));
  }
  if (o.progress) progress.finish(progress_note(done, progress.elapsed_seconds()));
  result.seconds = progress.elapsed_seconds();
  for (auto& d : docs) result.documents.push_back(std::move(d));
  scorer->finish(result);
  return result;
}

}  // namespace llamapro
