#!/usr/bin/env bash
# CPU training throughput against the PyTorch eager peer (../shared/peers/train_peer.py: the
# same model folder and batch shape on the same libtorch, frozen blocks requires_grad=False,
# AdamW foreach), in LLaMA Pro mode (only the new blocks train) and full fine-tuning, at two
# shapes:
#   bench: preset "small" (dim 512, MLP 1376, vocab 32000) expanded 4 -> 6 blocks, 4 x 256
#   wide:  dim 1024, MLP 2816, 16 heads, vocab 32000, expanded 6 -> 8 blocks, 2 x 512
# Each side runs 3 times, alternating; the median of each side's mean tokens/s over steps
# 3..STEPS counts, with the peak RSS of its last run; then the machine's matmul rate.
# Usage: bench/train/run.sh [BUILD_DIR] [STEPS]
set -euo pipefail
build=${1:-build}
steps=${2:-10}
bin="$build/llamapro"
peer="$(dirname "$0")/../../../shared/peers/train_peer.py"
py=/usr/bin/python3  # Debian's python3-torch (the same libtorch 1.13)
work=$(mktemp -d /tmp/llamapro-bench-train.XXXXXX)
trap 'rm -rf "$work"' EXIT
lscpu | grep 'Model name' || true
echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(unset)}"

source "$(dirname "$0")/../small_expanded.sh"
small_expanded "$bin" "$work"  # $work/small, $work/expanded, $work/data
sed -e 's/"hidden_size": 512/"hidden_size": 1024/' -e 's/"intermediate_size": 1376/"intermediate_size": 2816/' \
  -e 's/"num_attention_heads": 8/"num_attention_heads": 16/' -e 's/"num_key_value_heads": 8/"num_key_value_heads": 16/' \
  -e 's/"num_hidden_layers": 4/"num_hidden_layers": 6/' "$work/small/config.json" > "$work/wide.json"
"$bin" init --config "$work/wide.json" --seed 1 -o "$work/wide-base" >/dev/null 2>&1
"$bin" expand "$work/wide-base" -o "$work/wide" --add 2 >/dev/null 2>&1  # new blocks at 3 and 7

mean_rate() {  # metrics.jsonl -> mean tokens/s over the steps after the first two
  $py -c 'import json, sys
r = [json.loads(l)["tokens_per_s"] for l in open(sys.argv[1]) if "tokens_per_s" in l][2:]
print(sum(r) / len(r))' "$1"
}
ours() {  # model, trainable, seq, batch -> "tokens/s peak_kB"
  rm -rf "$work/out"
  /usr/bin/time -f %M -o "$work/rss" "$bin" train "$1" --data "$work/data" -o "$work/out" --trainable "$2" \
    --seq-len "$3" --batch-size "$4" --steps "$steps" --lr 1e-4 --no-progress >/dev/null 2>&1
  echo "$(mean_rate "$work/out/metrics.jsonl") $(cat "$work/rss")"
}
theirs() {  # model, blocks, seq, batch -> "tokens/s peak_kB"
  local rate
  rate=$(/usr/bin/time -f %M -o "$work/rss" $py "$peer" "$1" "$2" "$steps" "$3" "$4")
  echo "$rate $(cat "$work/rss")"
}
median() { sort -g | sed -n 2p; }

printf "\n%-34s %10s %10s %7s %10s %10s %7s\n" "shape, mode" "llamapro" "peer" "ratio" "RSS ours" "RSS peer" "target"
compare() {  # label, model, our trainable, peer blocks, seq, batch, target
  : > "$work/a"; : > "$work/b"
  for run in 1 2 3; do
    ours "$2" "$3" "$5" "$6" >> "$work/a"
    theirs "$2" "$4" "$5" "$6" >> "$work/b"
  done
  local a b ra rb
  a=$(cut -d' ' -f1 "$work/a" | median); b=$(cut -d' ' -f1 "$work/b" | median)
  ra=$(tail -1 "$work/a" | cut -d' ' -f2); rb=$(tail -1 "$work/b" | cut -d' ' -f2)
  printf "%-34s %10.0f %10.0f %6.2fx %7.0f MB %7.0f MB %6s\n" "$1" "$a" "$b" "$(echo "$a / $b" | bc -l)" \
    "$(echo "$ra / 1024" | bc -l)" "$(echo "$rb / 1024" | bc -l)" "$7"
}
compare "bench 6x512, LLaMA Pro (2 new)" "$work/expanded" newest 2,5 256 4 ">=1.3x"
compare "bench 6x512, full fine-tuning" "$work/expanded" all all 256 4 ">=1.15x"
compare "wide 8x1024, LLaMA Pro (2 new)" "$work/wide" newest 3,7 512 2 ">=1.3x"
compare "wide 8x1024, full fine-tuning" "$work/wide" all all 512 2 ">=1.15x"
# What both sides are bound by: libtorch's float32 matmul rate at the bench shape's sizes.
printf "\nmachine float32 matmul rate through libtorch, (1024 x 512) by (512 x 512 | 1376): %.0f GFLOP/s\n" \
  "$("$build/bench/train/bench_matmul" 1024 512 1376)"
