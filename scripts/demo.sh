#!/usr/bin/env bash
# The main job on a built-in default, end to end in a few minutes on a laptop CPU:
#   a small LLaMA learns English (this project's docs) -> block expansion with an identity
#   proof -> only the new blocks learn a new domain (this project's C++ sources) -> the gain on
#   the domain and what happened to English, side by side with full fine-tuning -> generation.
# Usage: scripts/demo.sh [LLAMAPRO_BINARY]
set -euo pipefail
bin=${1:-build/llamapro}
root=$(cd "$(dirname "$0")/.." && pwd)
out=${DEMO_DIR:-demo-out}
steps=${DEMO_STEPS:-300}
rm -rf "$out"
mkdir -p "$out"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
train_args=(--seq-len 128 --batch-size 8 --lr 3e-3 --warmup 10 --eval-every 50 --eval-batches 8 --no-progress)

step "1. a base model: random LLaMA weights (4 blocks, dim 128), byte-level tokenizer"
"$bin" init --preset tiny --seed 1 -o "$out/base"
"$bin" inspect "$out/base"

step "2. two corpora from this repository: English (docs) and the new domain (C++ sources)"
"$bin" data prepare --tokenizer "$out/base" --input "$root/README.md" "$root/docs" "$root/bench/README.md" \
  -o "$out/english" --val-fraction 0.15 --no-progress
"$bin" data prepare --tokenizer "$out/base" --input "$root/src" -o "$out/cpp" --val-fraction 0.1 --no-progress

step "3. pretrain the base on English (all of it: blocks, embeddings, head)"
"$bin" train "$out/base" --data "$out/english" -o "$out/base-en" --trainable all --also embed,head --steps "$steps" "${train_args[@]}"

step "4. LLaMA Pro expansion: 2 identity blocks interleaved, proven to compute the same function"
"$bin" expand "$out/base-en" -o "$out/pro" --add 2 --stage cpp --verify

step "5. post-pretrain only the new blocks on C++ (everything else frozen)"
"$bin" train "$out/pro" --data "$out/cpp" -o "$out/pro-cpp" --steps "$steps" "${train_args[@]}"
"$bin" inspect "$out/pro-cpp" --layers

step "6. the paper's baseline: full fine-tuning of every block on the same C++ data"
"$bin" train "$out/pro" --data "$out/cpp" -o "$out/full-cpp" --trainable all --steps "$steps" "${train_args[@]}"

step "7. gain and forgetting, side by side (validation loss; lower is better)"
"$bin" eval "$out/base-en" "$out/pro" "$out/pro-cpp" "$out/full-cpp" --data "$out/cpp" "$out/english" --seq-len 128 --batches 8

step "8. generate: the expanded model continues C++"
"$bin" generate "$out/pro-cpp" --prompt "#include <" --max-new-tokens 60 --temperature 0.7 --seed 1

printf '\n\ndemo outputs are in %s/\n' "$out"
