#!/bin/bash
# run.sh — tokenizer encode throughput: llamapro vs the npm "tokenizers" reference (HF's Rust
# library), measured in the same run on the same >= 20 MB of this machine's text.
#   bench/tokenizer/run.sh [BUILD_DIR] [MEGABYTES]
# Needs LLAMAPRO_FIXTURES (or ../shared/fixtures), node, and npm (installs the reference once).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
mb=${2:-20}
fixtures=${LLAMAPRO_FIXTURES:-$root/../shared/fixtures}
threads=2

[ -f "$here/node_modules/tokenizers/package.json" ] || (cd "$here" && npm ci --no-audit --no-fund >/dev/null)
bench="$build/bench/tokenizer/bench_tokenizer"
# A build that cannot run now (e.g. a tree mid-change) is fine when the program is already built.
cmake --build "$build" --target bench_tokenizer >/dev/null 2>&1 || [ -x "$bench" ] ||
  { echo "error: cannot build bench_tokenizer in $build" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 "$here/make_corpus.py" "$tmp/corpus" "$mb" >/dev/null

echo "tokenizer encode throughput, $mb MB of local text ($(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores)"
printf "%-12s %14s %14s %7s %16s %16s %7s\n" tokenizer "llamapro MB/s" "reference MB/s" ratio \
  "llamapro ${threads}T MB/s" "reference ${threads}T MB/s" ratio
for name in llama3 mistral; do
  ours=$("$bench" "$tmp/corpus" "$fixtures/tokenizers/$name" "$threads")
  ref=$(RAYON_NUM_THREADS=$threads node "$here/reference.js" bench "$tmp/corpus" "$fixtures/tokenizers/$name/tokenizer.json")
  python3 - "$name" "$ours" "$ref" <<'PY'
import json, sys
name, ours, ref = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
mb = ours["bytes"] / 1e6
o1, r1 = mb / ours["single_s"], mb / ref["single_s"]
o2, r2 = mb / ours["multi_s"], mb / ref["batch_s"]
same = "" if ours["tokens"] == ref["tokens"] else "  (token counts differ!)"
print(f"{name:<12} {o1:14.1f} {r1:14.1f} {o1 / r1:6.1f}x {o2:16.1f} {r2:16.1f} {o2 / r2:6.1f}x{same}")
PY
done
