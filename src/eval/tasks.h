// tasks.h — benchmark tasks read from the data sets' own JSON Lines exports and turned into
// prompts exactly as lm-evaluation-harness words them (docs/eval.md lists each format).
//
// Three kinds: multiple choice (log-likelihood of each continuation given its context), rolling
// perplexity of raw documents, and generation (greedy, stop sequences, answer extracted by a
// regex). Built-in tasks: arc_easy, arc_challenge, hellaswag, mmlu, winogrande, truthfulqa_mc2,
// gsm8k; generic ones: choice, perplexity, generate. This file is plain text in, strings out:
// no tokenizer, no model.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace llamapro {

enum class TaskKind { Choice, Perplexity, Generate };

struct TaskDoc {
  // Choice: one context per choice (equal except winogrande, whose choices fill the blank and
  // share the continuation); continuations carry the target delimiter (" " by default).
  std::vector<std::string> contexts, continuations;
  std::vector<std::string> choice_texts;  // the choices without delimiter (acc_norm divides by their length)
  int gold = -1;                          // index of the right choice
  std::vector<int> true_choices;          // truthfulqa_mc2: every choice labelled true
  std::string subject;                    // mmlu: per-subject scores
  // Perplexity: the document. Generate: the prompt; `answer` the reference.
  std::string text, answer;
  std::string source;  // "file:line", for errors and results
};

struct TaskSpec {
  std::string name;                 // built-in or generic kind
  std::filesystem::path path;       // the documents to score
  std::filesystem::path fewshot_path;  // examples for --fewshot (default: `path`, without the scored document)
};

struct TaskOptions {
  int64_t fewshot = 0;   // examples before each scored document
  int64_t limit = 0;     // score the first N documents (0: all)
  uint64_t seed = 1234;  // which few-shot examples
  std::vector<std::string> stop;  // generate: stop sequences (gsm8k: "Question:" etc. by default)
  std::string regex;              // generate: the answer is its first capture group (last match)
};

struct Task {
  std::string name;
  TaskKind kind = TaskKind::Choice;
  std::vector<TaskDoc> docs;        // prompts ready, few-shot examples included
  std::vector<std::string> stop;    // generate
  std::string regex;                // generate: extraction of the answer from the output
  bool acc_norm = false;            // choice: length-normalised accuracy reported too
  bool mc2 = false;                 // truthfulqa_mc2 metric
  bool numeric_answer = false;      // generate: numbers compared (GSM8K), else the exact text
};

// "arc_easy:path.jsonl" or "arc_easy:path.jsonl,fewshot.jsonl" -> spec; error names the flag.
TaskSpec parse_task_spec(const std::string& text);
const std::vector<std::string>& task_names();

// Reads and formats every document; one error line names the file and line of bad input.
Task load_task(const TaskSpec& spec, const TaskOptions& options);

// GSM8K-style answers: the number after "####" in a reference; in an output the number after
// "The answer is", else the last number; commas and a trailing period dropped. "" when none.
std::string reference_number(const std::string& answer);
std::string extracted_number(const std::string& output);
// The last match of `regex` in `output` (its first group when it has one); "" when none.
std::string extract_with_regex(const std::string& output, const std::string& regex);

}  // namespace llamapro
