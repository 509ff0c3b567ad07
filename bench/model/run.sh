#!/bin/sh
# run.sh — builds and runs the CPU model benchmark, 2 threads: llamapro against the C reference
# (ref_llama.c) and, for stories260K decoding, against llama2.c's run.c (../shared/peers),
# built here with the flags its README gives and run 5 times (median of its "achieved tok/s").
set -e
cd "$(dirname "$0")/../.."
cmake --build build -j2 --target bench_model
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
export LLAMAPRO_FIXTURES="${LLAMAPRO_FIXTURES:-$(pwd)/../shared/fixtures}"
peers="$LLAMAPRO_FIXTURES/../peers/llama2c"
lscpu | grep 'Model name' || true
rate=0
if [ -f "$peers/run.c" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  gcc -Ofast -march=native -o "$tmp/run" "$peers/run.c" -lm
  for i in 1 2 3 4 5; do
    "$tmp/run" "$LLAMAPRO_FIXTURES/sources/llama2c/stories260K.bin" -z "$peers/tok512.bin" -t 0 -n 256 2>&1 >/dev/null |
      sed -n 's/^achieved tok\/s: //p'
  done | sort -g > "$tmp/rates"
  rate=$(sed -n 3p "$tmp/rates")
  echo "llama2.c run.c, stories260K, 256 tokens: $(tr '\n' ' ' < "$tmp/rates")tok/s (median $rate)"
fi
./build/bench/model/bench_model --llama2c-rate "$rate" "$@"
