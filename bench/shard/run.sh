#!/usr/bin/env bash
# Sharded data-parallel training: the step time and the bytes each rank holds under every
# --shard mode, 2 ranks started by `llamapro launch` on this machine (Gloo over loopback),
# against --shard none in the same run. Model: preset "small" (dim 512, vocab 32000) expanded
# 4 -> 6 blocks; LLaMA Pro (the 2 new blocks train) and full fine-tuning; batch 2 x 256 per rank.
# Each mode runs 3 times, alternating; the median of the mean step time over steps 3..STEPS counts.
# Usage: bench/shard/run.sh [BUILD_DIR] [STEPS]
set -euo pipefail
build=${1:-build}
steps=${2:-10}
bin="$build/llamapro"
py=/usr/bin/python3
work=$(mktemp -d /tmp/llamapro-bench-shard.XXXXXX)
trap 'rm -rf "$work"' EXIT
lscpu | grep 'Model name' || true
echo "cores: $(nproc)"

source "$(dirname "$0")/../small_expanded.sh"
small_expanded "$bin" "$work"  # $work/small, $work/expanded, $work/data

run() {  # trainable, mode -> "seconds/step parameters gradients optimizer" (rank 0)
  rm -rf "$work/out"
  "$bin" launch --nproc-per-node 2 -- train "$work/expanded" --data "$work/data" -o "$work/out" --trainable "$1" \
    --shard "$2" --seq-len 256 --batch-size 2 --steps "$steps" --lr 1e-4 --no-progress >/dev/null 2>&1
  $py -c 'import json, sys
r = [json.loads(l) for l in open(sys.argv[1]) if "tokens_per_s" in l]
t = [x["tokens"] / max(1, i + 1) for i, x in enumerate(r)]  # tokens per step
s = [t[0] / x["tokens_per_s"] for x in r[2:]]
m = r[0]["resident_bytes"]
print(sum(s) / len(s), m["parameters"], m["gradients"], m["optimizer"])' "$work/out/metrics.jsonl"
}
median() { sort -g | sed -n 2p; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }

for trainable in newest all; do
  echo
  echo "trainable: $trainable (2 ranks, batch 2 x 256 each)"
  printf "%-12s %10s %8s %12s %12s %12s\n" "--shard" "s/step" "vs none" "params MiB" "grads MiB" "optim MiB"
  for mode in none optimizer gradients parameters; do : > "$work/$mode"; done
  for round in 1 2 3; do
    for mode in none optimizer gradients parameters; do run "$trainable" "$mode" >> "$work/$mode"; done
  done
  base=$(cut -d' ' -f1 "$work/none" | median)
  for mode in none optimizer gradients parameters; do
    t=$(cut -d' ' -f1 "$work/$mode" | median)
    read -r _ p g o < <(head -1 "$work/$mode")
    printf "%-12s %10.3f %7.2fx %12s %12s %12s\n" "$mode" "$t" "$(echo "$t / $base" | bc -l)" "$(mib "$p")" \
      "$(mib "$g")" "$(mib "$o")"
  done
done
