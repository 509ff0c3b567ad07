#!/usr/bin/env bash
# CPU training throughput: LLaMA Pro (only the new blocks train) against full fine-tuning of
# the same expanded model, and the FLOP/s each achieves against the machine's measured matmul
# rate. Model: preset "small" (4 blocks, dim 512, vocab 32000) expanded to 6 blocks.
# Usage: bench/train/run.sh [BUILD_DIR] [STEPS]
set -euo pipefail
build=${1:-build}
steps=${2:-12}
bin="$build/llamapro"
work=$(mktemp -d /tmp/llamapro-bench-train.XXXXXX)
trap 'rm -rf "$work"' EXIT
seq=256 batch=4

"$bin" init --preset small --seed 1 -o "$work/base" >/dev/null 2>&1
"$bin" expand "$work/base" -o "$work/pro" --add 2 >/dev/null 2>&1
python3 - "$work/ids.jsonl" <<'PY'
import random, sys
random.seed(0)
with open(sys.argv[1], "w") as f:
    for _ in range(64):
        f.write('{"ids": [' + ",".join(str(random.randrange(0, 256)) for _ in range(1024)) + ']}\n')
PY
"$bin" data prepare --tokenizer "$work/pro" --input "$work/ids.jsonl" -o "$work/data" --val-fraction 0 --no-progress >/dev/null

run() {  # name, extra args -> mean tokens/s over the steps after the first two
  "$bin" train "$work/pro" --data "$work/data" -o "$work/out-$1" --seq-len $seq --batch-size $batch \
    --steps "$steps" --lr 1e-4 --no-progress "${@:2}" >/dev/null 2>&1
  python3 -c '
import json, sys
rates = [json.loads(l)["tokens_per_s"] for l in open(sys.argv[1]) if "tokens_per_s" in l][2:]
print(sum(rates) / len(rates))' "$work/out-$1/metrics.jsonl"
}
pro=$(run pro --trainable newest)
full=$(run full --trainable all)
pro_ckpt=$(run pro-ckpt --trainable newest --activation-checkpointing)
gflops=$("$build/bench/train/bench_matmul" $((seq * batch)) 512 1376)

python3 - "$pro" "$full" "$pro_ckpt" "$gflops" <<'PY'
import sys
pro, full, ckpt, peak = map(float, sys.argv[1:])
C, I, V, L, new, first_new = 512, 1376, 32000, 6, 2, 2   # new blocks at 2 and 5
block = 4 * C * C + 3 * C * I                                # matmul weights of a block
fwd = 2 * (L * block + V * C)                                # FLOPs per token, forward
# Backward: activation gradients from the top down to the lowest trainable block (2 per weight),
# weight gradients for trainable blocks only (2 per weight); full fine-tuning: all of it.
pro_bwd = 2 * (V * C + (L - first_new) * block) + 2 * new * block
full_bwd = 2 * (V * C + L * block) + 2 * L * block       # blocks train, embeddings and head do not
rows = [("LLaMA Pro (2 new of 6 blocks)", pro, fwd + pro_bwd),
        ("LLaMA Pro + activation ckpt", ckpt, fwd + pro_bwd + 2 * (L - first_new) * block),
        ("full fine-tuning (all blocks)", full, fwd + full_bwd)]
print(f"{'mode':32} {'tokens/s':>10} {'GFLOP/s':>9} {'of matmul peak':>15}")
for name, rate, flops in rows:
    print(f"{name:32} {rate:10.0f} {rate * flops / 1e9:9.2f} {100 * rate * flops / 1e9 / peak:14.0f}%")
print(f"machine matmul rate (libtorch, same shapes): {peak:.2f} GFLOP/s")
print(f"LLaMA Pro / full fine-tuning throughput: {pro / full:.2f}x")
PY
