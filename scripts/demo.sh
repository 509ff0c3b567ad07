#!/usr/bin/env bash
# The main job on a built-in default: create a small random LLaMA model, grow it by block
# expansion, prove that the expanded model computes the same function, and show where every
# block came from. Usage: scripts/demo.sh [LLAMAPRO_BINARY]
set -euo pipefail
bin=${1:-build/llamapro}
out=${DEMO_DIR:-demo-out}
rm -rf "$out"
mkdir -p "$out"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. a base model (random weights, LLaMA architecture, 4 blocks)"
"$bin" init --preset tiny --seed 1 -o "$out/base"
"$bin" inspect "$out/base"

step "2. LLaMA Pro expansion: 2 identity blocks interleaved, verified"
"$bin" expand "$out/base" -o "$out/expanded" --add 2 --verify

step "3. a second domain: expand again, the manifest keeps both stages"
"$bin" expand "$out/expanded" -o "$out/expanded2" --add 1 --stage math --verify
"$bin" inspect "$out/expanded2" --layers

step "4. same text, same next tokens: greedy continuation of the base and the expanded model"
"$bin" generate "$out/base" --prompt-ids 256,72,101,108,108,111 --max-new-tokens 12 --print-ids --ignore-eos
"$bin" generate "$out/expanded2" --prompt-ids 256,72,101,108,108,111 --max-new-tokens 12 --print-ids --ignore-eos

printf '\ndemo outputs are in %s/\n' "$out"
