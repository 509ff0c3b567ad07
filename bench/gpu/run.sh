#!/usr/bin/env bash
# The one script for a lent GPU machine (Ubuntu, PyTorch with CUDA, no network): configure
# against PyTorch's libtorch (libraries the machine lacks come from Debian packages unpacked
# into $DEPS, see below), build with all cores, run the model and training tests, then the
# GPU benchmarks; the table comes last.
#   Here, before:  mkdir -p deps-debs && (cd deps-debs && apt-get download nlohmann-json3-dev \
#                    libcli11-dev libpcre2-dev libpcre2-8-0 libutf8proc-dev libutf8proc2 libgtest-dev)
#   There:         bench/gpu/run.sh   (carry deps-debs)
set -uo pipefail
cd "$(dirname "$0")/../.."
build=${BUILD:-build-gpu}
deps=${DEPS:-$PWD/deps-prefix}
if [[ -d deps-debs ]]; then
  mkdir -p "$deps"
  for d in deps-debs/*.deb; do dpkg -x "$d" "$deps"; done
fi
torch_prefix=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$torch_prefix;$deps/usr;$deps/usr/lib/x86_64-linux-gnu/cmake" \
  -DPKG_CONFIG_USE_CMAKE_PREFIX_PATH=ON > "$build.configure.log" 2>&1 || { tail -30 "$build.configure.log"; exit 1; }
cmake --build "$build" -j"$(nproc)" --target llamapro test_model test_train bench_model bench_train 2>&1 | tail -3
export LLAMAPRO_FIXTURES=${LLAMAPRO_FIXTURES:-$PWD/../shared/fixtures}
"$build"/tests/model/test_model --gtest_brief=1 2>&1 | tail -3
"$build"/tests/train/test_train --gtest_brief=1 --gtest_filter='*Golden*' 2>&1 | tail -3
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
echo "== forward scoring, random LLaMA-2-7B shape, bf16, 1 x 4096 (peer: 26,200 tokens/s)"
"$build"/bench/model/bench_model --gpu --device cuda --dtype bf16 --shape 7b --seq 4096 --batch 1 --iters 5
echo "== LLaMA Pro training, 7B expanded to 40 blocks, 8 new trainable, bf16, 1 x 4096 (peer: 10,590 tokens/s, 45.7 GiB)"
"$build"/bench/train/bench_train --preset llama2-7b --layers 40 --add 8 --seq 4096 --batch 1 --steps 6 --device cuda --precision bf16
