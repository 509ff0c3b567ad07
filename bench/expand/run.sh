#!/usr/bin/env bash
# Expansion throughput and memory: `llamapro expand` of a generated >= 2 GB checkpoint
# (TinyLlama-1.1B shape, bf16) against plain `cp` of the same bytes, both from a warm page
# cache, and the expander's peak RSS; then `llamapro verify` of the two (the identity proof,
# streamed a block at a time), its time and peak RSS.
# Usage: bench/expand/run.sh [BUILD_DIR] [WORK_DIR]
set -euo pipefail
build=${1:-build}
work=${2:-$(mktemp -d /tmp/llamapro-bench-expand.XXXXXX)}
mkdir -p "$work"
bin="$build/llamapro"
. "$(dirname "$0")/../checkpoint_peer.sh"  # base, bytes, cp_s, now()

rm -rf "$work/expanded"
t0=$(now)
/usr/bin/time -f "%M" -o "$work/rss" "$bin" expand "$base" -o "$work/expanded" --add 2 >/dev/null 2>&1
sync -f "$work/expanded/config.json"
t1=$(now)
exp_s=$(echo "$t1 - $t0" | bc -l)
out_bytes=$(du -sb "$work/expanded" | cut -f1)
rss_kb=$(cat "$work/rss")
t0=$(now)
/usr/bin/time -f "%M" -o "$work/rss" "$bin" verify "$base" "$work/expanded" >"$work/verify.out" 2>&1
t1=$(now)
verify_s=$(echo "$t1 - $t0" | bc -l)
verify_rss_kb=$(cat "$work/rss")
grep -q PASSED "$work/verify.out" || { cat "$work/verify.out"; exit 1; }
rm -rf "$work/expanded"

cp_rate=$(echo "$bytes / $cp_s / 1000000" | bc -l)
exp_rate=$(echo "$out_bytes / $exp_s / 1000000" | bc -l)
printf "%-28s %10s %10s %10s\n" "what" "bytes" "seconds" "MB/s"
printf "%-28s %10.0f %10.2f %10.0f\n" "cp -r (peer)" "$bytes" "$cp_s" "$cp_rate"
printf "%-28s %10.0f %10.2f %10.0f\n" "llamapro expand --add 2" "$out_bytes" "$exp_s" "$exp_rate"
printf "throughput ratio expand/cp: %.2fx (target >= 0.5x)\n" "$(echo "$exp_rate / $cp_rate" | bc -l)"
printf "expand peak RSS: %.0f MB (target < 300 MB)\n" "$(echo "$rss_kb / 1024" | bc -l)"
printf "verify (4 x 64 tokens, float32, block by block): %.1f s, peak RSS %.0f MB (model in float32: %.0f MB)\n" \
  "$verify_s" "$(echo "$verify_rss_kb / 1024" | bc -l)" "$(echo "$out_bytes * 2 / 1000000" | bc -l)"
[[ -n "${KEEP:-}" ]] || rm -rf "$work"
