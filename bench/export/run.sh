#!/usr/bin/env bash
# GGUF export throughput and memory: `llamapro export gguf` of a generated >= 2 GB checkpoint
# (TinyLlama-1.1B shape, bf16) as bf16 (bytes kept) and as q8_0 (quantized), against plain `cp`
# of the same bytes, all from a warm page cache, and the exporter's peak RSS.
# Usage: bench/export/run.sh [BUILD_DIR] [WORK_DIR]
set -euo pipefail
build=${1:-build}
work=${2:-$(mktemp -d /tmp/llamapro-bench-export.XXXXXX)}
mkdir -p "$work"
bin="$build/llamapro"
. "$(dirname "$0")/../checkpoint_peer.sh"  # base, bytes, cp_s, now()
cp_rate=$(echo "$bytes / $cp_s / 1000000" | bc -l)
printf "%-32s %14s %8s %8s %10s\n" "what" "bytes" "seconds" "MB/s" "peak RSS"
printf "%-32s %14.0f %8.2f %8.0f %10s\n" "cp -r (peer)" "$bytes" "$cp_s" "$cp_rate" "-"

for type in bf16 q8_0; do
  out="$work/model-$type.gguf"
  rm -f "$out"
  t0=$(now)
  /usr/bin/time -f "%M" -o "$work/rss" "$bin" export gguf "$base" -o "$out" --type "$type" --no-progress >/dev/null
  sync -f "$out"
  t1=$(now)
  s=$(echo "$t1 - $t0" | bc -l)
  out_bytes=$(stat -c %s "$out")
  rate=$(echo "$bytes / $s / 1000000" | bc -l)  # input bytes per second, comparable with cp
  printf "%-32s %14.0f %8.2f %8.0f %7.0f MB\n" "llamapro export gguf --type $type" "$out_bytes" "$s" "$rate" \
    "$(echo "$(cat "$work/rss") / 1024" | bc -l)"
  printf "  throughput ratio export/cp: %.2fx%s\n" "$(echo "$rate / $cp_rate" | bc -l)" \
    "$([[ $type == bf16 ]] && echo ' (target >= 0.5x)' || echo '')"
  rm -f "$out"
done
[[ -n "${KEEP:-}" ]] || rm -rf "$work"
