#!/bin/sh
# run.sh — builds and runs the CPU model benchmark (llamapro vs the C reference), 2 threads each.
set -e
cd "$(dirname "$0")/../.."
cmake --build build -j2 --target bench_model
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
export LLAMAPRO_FIXTURES="${LLAMAPRO_FIXTURES:-$(pwd)/../shared/fixtures}"
lscpu | grep 'Model name' || true
./build/bench/model/bench_model "$@"
