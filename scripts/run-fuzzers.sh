#!/usr/bin/env bash
# Runs every libFuzzer target of a fuzz build for SECONDS each, from a scratch copy of its seed
# corpus (fuzz/corpus/<target>, left unmodified); exits non-zero when any target finds a crash.
# Usage: scripts/run-fuzzers.sh BUILD_DIR SECONDS     (crash inputs are kept in BUILD_DIR/fuzz-crashes)
# FUZZ_SEED (default 1) seeds libFuzzer's mutations; runs with the same seed start alike but
# are not guaranteed to repeat exactly (timing decides how far each gets). Other seeds explore
# elsewhere.
set -uo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 BUILD_DIR SECONDS" >&2
  exit 2
fi
build=$(cd "$1" && pwd) || exit 2
seconds=$2
root=$(cd "$(dirname "$0")/.." && pwd)
targets=(fuzz_safetensors_header fuzz_config fuzz_tokenizer fuzz_shard fuzz_gguf)

work=$(mktemp -d "${TMPDIR:-/tmp}/llamapro-fuzz-XXXXXX")
trap 'rm -rf "$work"' EXIT
crashes="$build/fuzz-crashes"
mkdir -p "$crashes"

failed=()
for t in "${targets[@]}"; do
  bin="$build/fuzz/$t"
  if [[ ! -x "$bin" ]]; then
    echo "error: $bin not built (cmake --build $1 --target fuzzers)" >&2
    exit 2
  fi
  corpus="$work/$t"
  mkdir -p "$corpus"
  cp "$root/fuzz/corpus/$t/"* "$corpus/" 2>/dev/null || true
  echo "== $t: ${seconds}s"
  "$bin" "$corpus" -seed="${FUZZ_SEED:-1}" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$crashes/$t-" >"$work/$t.log" 2>&1
  status=$?
  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb)|^#[0-9]+.*DONE' "$work/$t.log" | sed 's/^/   /'
  if [[ $status -ne 0 ]]; then
    echo "   FAILED (exit $status); log tail:"
    tail -n 40 "$work/$t.log" | sed 's/^/   | /'
    failed+=("$t")
  fi
done

if [[ ${#failed[@]} -ne 0 ]]; then
  echo "fuzzers with findings: ${failed[*]} (inputs in $crashes)" >&2
  exit 1
fi
echo "all fuzzers ran ${seconds}s without findings"
