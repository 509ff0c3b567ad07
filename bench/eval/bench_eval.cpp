// bench_eval.cpp — multiple-choice scoring speed: the harness's shared context (each document's
// context run once, its KV cache fanned out to all choices in one batch) against the
// straightforward loop that lm-evaluation-harness users know (one forward per context + choice),
// on the same model and task file in one run. Both must give the same accuracy.
// Usage: bench_eval MODEL_DIR TASK:FILE.jsonl [FEWSHOT]
#include <cstdio>
#include <cstdlib>

#include "eval/harness.h"
#include "model/load.h"
#include "tokenizer/tokenizer.h"

using namespace llamapro;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODEL_DIR TASK:FILE.jsonl [FEWSHOT]\n", argv[0]);
    return 2;
  }
  try {
    Model model = load_model(argv[1], ModelOptions{});
    const Tokenizer tok = Tokenizer::from_dir(argv[1]);
    TaskOptions to;
    to.fewshot = argc > 3 ? std::atoll(argv[3]) : 0;
    const Task task = load_task(parse_task_spec(argv[2]), to);
    std::printf("%-34s %8s %10s %12s %8s\n", "scoring", "seconds", "docs/s", "tokens/s", "acc");
    double seconds[2] = {0, 0}, acc[2] = {0, 0};
    for (int shared = 1; shared >= 0; shared--) {
      HarnessOptions o;
      o.share_context = shared;
      o.progress = false;
      const TaskResult r = run_task(model, tok, task, o);
      seconds[shared] = r.seconds;
      acc[shared] = r.find("acc")->value;
      std::printf("%-34s %8.2f %10.1f %12.0f %8.4f\n",
                  shared ? "shared context (llamapro)" : "one forward per choice (peer loop)", r.seconds,
                  double(task.docs.size()) / r.seconds, double(r.tokens) / r.seconds, acc[shared]);
    }
    std::printf("speed-up of the shared context: %.2fx; same accuracy: %s\n", seconds[0] / seconds[1],
                acc[0] == acc[1] ? "yes" : "NO");
    return acc[0] == acc[1] ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
