#!/usr/bin/env bash
# Multiple-choice scoring speed on an MMLU-format task (5-shot, 4 choices, long shared contexts):
# llamapro's shared-context scoring against one forward per context + choice, same model
# (preset "small": 4 blocks, dim 512, vocab 32000, byte-level tokenizer), same file, one run.
# Usage: bench/eval/run.sh [BUILD_DIR] [DOCS]
set -euo pipefail
build=${1:-build}
docs=${2:-40}
work=$(mktemp -d /tmp/llamapro-bench-eval.XXXXXX)
trap 'rm -rf "$work"' EXIT
"$build/llamapro" init --preset small --seed 1 -o "$work/model" --no-progress >/dev/null
python3 - "$work/mmlu.jsonl" "$docs" <<'PY'
import json, random, sys
random.seed(0)
words = "the of a model block layer token train data loss gradient expand frozen new copy zero".split()
with open(sys.argv[1], "w") as f:
    for _ in range(int(sys.argv[2])):
        q = " ".join(random.choice(words) for _ in range(30)) + "?"
        choices = [" ".join(random.choice(words) for _ in range(4)) for _ in range(4)]
        f.write(json.dumps({"question": q, "subject": "machine_learning", "choices": choices,
                            "answer": random.randrange(4)}) + "\n")
PY
"$build/bench/eval/bench_eval" "$work/model" "mmlu:$work/mmlu.jsonl" 5
