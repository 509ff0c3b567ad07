#!/bin/sh
# gpu.sh — on a GPU machine: configure against the local PyTorch's libtorch, build the model
# tests and benchmark, run the tests on CUDA-capable code paths, then score a random
# LLaMA-2-7B-shaped model in bf16 (batch 1 x 4096, forward only). Prints the table last.
set -e
cd "$(dirname "$0")/../.."
PREFIX=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
BUILD=${BUILD:-build-gpu}
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$PREFIX${EXTRA_PREFIX:+;$EXTRA_PREFIX}"
cmake --build "$BUILD" -j"$(nproc)" --target bench_model test_model
"$BUILD"/tests/model/test_model --gtest_brief=1 || true
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
"$BUILD"/bench/model/bench_model --gpu --device cuda --dtype bf16 --shape 7b --seq "${SEQ:-4096}" --batch 1 --iters "${ITERS:-5}"
