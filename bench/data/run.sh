#!/bin/bash
# run.sh — `data prepare` throughput with 1 and 2 threads against the tokenizer's own encode
# (1 thread) on the same >= 50 MB of this machine's text, measured in the same run.
#   bench/data/run.sh [BUILD_DIR] [MEGABYTES]
# Needs LLAMAPRO_FIXTURES (or ../shared/fixtures) for the tokenizers.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
mb=${2:-50}
fixtures=${LLAMAPRO_FIXTURES:-$root/../shared/fixtures}

bench="$build/bench/data/bench_data"
# A build that cannot run now (e.g. a tree mid-change) is fine when the program is already built.
cmake --build "$build" --target bench_data >/dev/null 2>&1 || [ -x "$bench" ] ||
  { echo "error: cannot build bench_data in $build" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The corpus: C headers and documentation text of this machine, one document per file, in a
# fixed order, until MEGABYTES (gzipped docs are read through zlib like any input).
mkdir -p "$tmp/corpus"
python3 - "$tmp/corpus" "$mb" <<'PY'
import os, sys, shutil
out, limit = sys.argv[1], int(sys.argv[2]) * 10**6
total, n = 0, 0
for top in ("/usr/include", "/usr/share/doc"):
    for dirpath, dirnames, files in sorted(os.walk(top)):
        dirnames.sort()
        for f in sorted(files):
            p = os.path.join(dirpath, f)
            if not os.path.isfile(p) or os.path.islink(p) or not f.endswith((".h", ".hpp", ".txt", ".md", ".html", "README", "changelog.Debian.gz", ".gz")):
                continue
            size = os.path.getsize(p)
            if size < 200 or size > 2 * 10**6:
                continue
            shutil.copyfile(p, os.path.join(out, "%06d-%s" % (n, f)))
            total += size; n += 1
            if total >= limit:
                print(n, total); sys.exit(0)
print(n, total)
PY
bytes_on_disk=$(du -sb "$tmp/corpus" | cut -f1)

echo "data prepare throughput, $(ls "$tmp/corpus" | wc -l) files, $((bytes_on_disk / 1000000)) MB on disk ($(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores)"
printf "%-8s %7s %9s %20s %20s %16s\n" tokenizer "text MB" "encode" "prepare 1 thread" "prepare 2 threads" "CPU prep1T/enc"
for name in llama3 mistral; do
  json=$("$bench" "$fixtures/tokenizers/$name" "$tmp/out" 1 2 -- "$tmp/corpus")
  python3 - "$name" "$json" <<'PY'
import json, sys
name, r = sys.argv[1], json.loads(sys.argv[2])
mb = r["bytes"] / 1e6
enc = mb / r["encode_s"]
def rate(t):
    s = r["prepare"][str(t)]["seconds"]
    return mb / s, mb / (s - r["load_s"])  # whole run; without the tokenizer load
p1, p1s = rate(1)
p2, p2s = rate(2)
cpu = (r["prepare"]["1"]["cpu_s"] - r["load_s"]) / r["encode_cpu_s"]
print(f"{name:<8} {mb:7.1f} {enc:9.1f} {p1:7.1f} {p1s:5.1f} {100 * p1s / enc:4.0f}% {p2:7.1f} {p2s:5.1f} {100 * p2s / (2 * enc):4.0f}% {cpu:15.2f}x")
PY
done
echo "(MB/s of uncompressed text. prepare: whole run, then without the tokenizer load, then that"
echo " rate over threads x encode's. Last column: CPU time of the 1-thread prepare less the load,"
echo " reader and writer threads included, over that of encode alone.)"
