#!/usr/bin/env bash
# Runs every CPU benchmark in turn, each against its named peer in the same run; the latest
# results, with the machine they came from, are kept in bench/README.md.
# Usage: bench/run.sh [BUILD_DIR]      (the GPU benchmark is bench/gpu/run.sh, on a GPU machine)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
export LLAMAPRO_FIXTURES=${LLAMAPRO_FIXTURES:-$(pwd)/../shared/fixtures}
for topic in tokenizer data model decode expand export eval train shard replicate; do
  printf '\n### %s\n' "$topic"
  case $topic in
    model) bench/model/run.sh ;;  # builds and runs from ./build
    *) "bench/$topic/run.sh" "$build" ;;
  esac
done
