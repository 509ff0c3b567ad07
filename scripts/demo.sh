#!/usr/bin/env bash
# The main job on a built-in default, end to end in a few minutes on a laptop CPU:
#   a small LLaMA learns general English (the license and copyright texts every Debian system
#   carries) -> block expansion with an identity proof -> only the new blocks learn a new domain
#   (this project's C++ sources) -> the same with 10% English replay, and full fine-tuning as the
#   paper's baseline -> gain on the domain and forgetting of English side by side, as a table and
#   as pictures -> generation. The closing sentences are computed from the table it prints.
# Usage: scripts/demo.sh [LLAMAPRO_BINARY]
set -euo pipefail
bin=${1:-build/llamapro}
root=$(cd "$(dirname "$0")/.." && pwd)
out=${DEMO_DIR:-demo-out}
base_steps=${DEMO_BASE_STEPS:-1200}
steps=${DEMO_STEPS:-300}
rm -rf "$out"
mkdir -p "$out"
started=$(date +%s)
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
train_args=(--seq-len 128 --batch-size 8 --lr 3e-3 --warmup 10 --eval-every 50 --eval-batches 8 --no-progress)

step "1. a base model: random LLaMA weights (4 blocks, dim 128), byte-level tokenizer"
"$bin" init --preset tiny --seed 1 -o "$out/base"
"$bin" inspect "$out/base"

step "2. two corpora: general English (Debian's license and copyright texts) and the new domain (this project's C++)"
general=(/usr/share/common-licenses)
for f in /usr/share/doc/*/copyright; do [ -f "$f" ] && general+=("$f"); done
"$bin" data prepare --tokenizer "$out/base" --input "${general[@]}" -o "$out/english" --val-fraction 0.02 --no-progress
"$bin" data prepare --tokenizer "$out/base" --input "$root/src" -o "$out/cpp" --val-fraction 0.1 --no-progress

step "3. pretrain the base on English until it knows it ($base_steps steps, every weight)"
"$bin" train "$out/base" --data "$out/english" -o "$out/base-en" --trainable all --also embed,head \
  --steps "$base_steps" "${train_args[@]}"

step "4. LLaMA Pro expansion: 2 identity blocks interleaved, proven to compute the same function"
"$bin" expand "$out/base-en" -o "$out/pro" --add 2 --stage cpp --verify

step "5. post-pretrain only the new blocks on C++ (everything else frozen), watching English"
"$bin" train "$out/pro" --data "$out/cpp" --eval-data "$out/english" -o "$out/pro-cpp" --steps "$steps" "${train_args[@]}"

step "6. the same with replay: 10% of the batches from English"
"$bin" train "$out/pro" --data "$out/cpp:0.9" --data "$out/english:0.1" -o "$out/pro-replay" --steps "$steps" \
  "${train_args[@]}"

step "7. the paper's baseline: full fine-tuning of every block on the same C++ data"
"$bin" train "$out/pro" --data "$out/cpp" --eval-data "$out/english" -o "$out/full-cpp" --trainable all \
  --steps "$steps" "${train_args[@]}"

step "8. gain and forgetting, side by side (validation loss; lower is better)"
"$bin" eval "$out/pro" "$out/pro-cpp" "$out/pro-replay" "$out/full-cpp" --data "$out/cpp" "$out/english" \
  --seq-len 128 --batches 16 -o "$out/report" | tee "$out/table.txt"
"$bin" plot "$out/pro-cpp" "$out/pro-replay" "$out/full-cpp" -o "$out/curves.png" --title "learning C++"

# The table's rows: name, C++ loss, its change, English loss, its change (against the expanded
# base, which computes exactly what the pretrained base computes).
change() { awk -v row="$1" -v col="$2" '$1 == row { print $col }' "$out/table.txt"; }
pro_cpp=$(change pro-cpp 3) pro_en=$(change pro-cpp 5)
rep_cpp=$(change pro-replay 3) rep_en=$(change pro-replay 5)
full_cpp=$(change full-cpp 3) full_en=$(change full-cpp 5)
awk -v pc="$pro_cpp" -v pe="$pro_en" -v rc="$rep_cpp" -v re="$rep_en" -v fc="$full_cpp" -v fe="$full_en" 'BEGIN {
  printf "\nWhat the table says:\n"
  printf "- C++ loss: new blocks only %+.3f, with replay %+.3f, full fine-tuning %+.3f", pc, rc, fc
  if (fc < 0) printf " (the new blocks reach %.0f%% of full fine-tuning'"'"'s gain with a third of the trainable blocks)", 100 * pc / fc
  printf ".\n- English loss: new blocks only %+.3f, with replay %+.3f, full fine-tuning %+.3f: ", pe, re, fe
  if (pe < fe) printf "LLaMA Pro forgot %.0f%% less English than full fine-tuning", 100 * (fe - pe) / (fe > 0 ? fe : 1)
  else printf "LLaMA Pro did not forget less English than full fine-tuning here"
  if (re < pe) printf ", and replay cut what it forgot further"
  printf ".\n"
}'

step "9. generate: the expanded model continues C++"
"$bin" generate "$out/pro-cpp" --prompt "#include <" --max-new-tokens 60 --temperature 0.7 --seed 1

printf '\n\ndemo outputs are in %s/ (report/chart.png: the table as a picture; curves.png: the loss curves), %d s\n' \
  "$out" "$(( $(date +%s) - started ))"
