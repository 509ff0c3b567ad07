#!/usr/bin/env bash
# The paper's comparison in miniature on a real pretrained model: stories260K (TinyStories)
# learns Python four ways on the same corpus and the same token budget, and each result is
# scored on the domain (held-out Python) and on the base's own domain (stories it writes).
#   LLaMA Pro      expand --add 2 (interleaved), train only the new blocks
#   LoRA           the base, adapters on every projection of every block, rank chosen so the
#                  trainable count is close to LLaMA Pro's
#   full FT        the expanded model, every block trains
#   continued PT   the base without new blocks, every block trains
# Prints a markdown table: domain and general loss (change against the base), trainable
# parameters, tokens/s, peak memory (max RSS of the training process), wall time.
# Usage: bench/replicate/run.sh [BUILD_DIR] [STEPS]    (needs LLAMAPRO_FIXTURES and python3)
set -euo pipefail
build=${1:-build}
steps=${2:-300}
bin="$build/llamapro"
fixtures=${LLAMAPRO_FIXTURES:-../shared/fixtures}
base="$fixtures/models/stories260K"
[ -f "$base/config.json" ] || { echo "error: $base not found (set LLAMAPRO_FIXTURES)" >&2; exit 1; }
work=$(mktemp -d /tmp/llamapro-replicate.XXXXXX)
trap 'rm -rf "$work"' EXIT
seq=256 batch=8 lr=2e-3
started=$(date +%s)

# Domain: 80 modules of the Python standard library on this machine, 10% held out.
pylib=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')
ls "$pylib"/*.py | sort | head -80 > "$work/python-files"
mkdir "$work/python"
while read -r f; do cp "$f" "$work/python/"; done < "$work/python-files"
"$bin" data prepare --tokenizer "$base" --input "$work/python" -o "$work/domain" --val-fraction 0.1 --no-progress >/dev/null

# General: 60 stories the base itself writes (temperature 1), half held out.
for i in $(seq 1 60); do
  "$bin" generate "$base" --temperature 1 --seed "$i" --max-new-tokens 200 | python3 -c \
    'import json, sys; print(json.dumps({"text": sys.stdin.read().strip()}))'
done > "$work/stories.jsonl"
"$bin" data prepare --tokenizer "$base" --input "$work/stories.jsonl" -o "$work/general" --val-fraction 0.5 \
  --no-progress >/dev/null

"$bin" expand "$base" -o "$work/pro" --add 2 --verify >/dev/null

# train NAME MODEL ARGS...: trains, then prints "trainable tokens/s peak_MB seconds".
train() {
  local name=$1 model=$2
  shift 2
  python3 - "$work/$name.log" "$bin" train "$model" --data "$work/domain" -o "$work/run-$name" --seq-len $seq \
    --batch-size $batch --steps "$steps" --lr $lr --warmup 0.06 --eval-every 0 --no-progress "$@" <<'PY'
import resource, subprocess, sys, time
t = time.time()
with open(sys.argv[1], "w") as log:
    subprocess.run(sys.argv[2:], stdout=log, stderr=subprocess.STDOUT, check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, time.time() - t)
PY
}
summary() {  # NAME -> trainable count, mean tokens/s, peak MB, seconds
  local name=$1 rss_seconds=$2
  python3 - "$work/$name.log" "$work/run-$name/metrics.jsonl" $rss_seconds <<'PY'
import json, re, sys
log = open(sys.argv[1]).read()
trainable = int(re.search(r"([\d,]+) of [\d,]+ parameters", log).group(1).replace(",", ""))
rates = [json.loads(l)["tokens_per_s"] for l in open(sys.argv[2]) if "tokens_per_s" in l][2:]
print(trainable, sum(rates) / len(rates), sys.argv[3], sys.argv[4])
PY
}

declare -A stats
stats[pro]=$(summary pro "$(train pro "$work/pro" --trainable newest)")
stats[lora]=$(summary lora "$(train lora "$base" --trainable all --lora 16 --lora-alpha 32 --weight-decay 0)")
stats[full]=$(summary full "$(train full "$work/pro" --trainable all)")
stats[cpt]=$(summary cpt "$(train cpt "$base" --trainable all)")

"$bin" eval "$base" "$work/run-pro" "$work/run-lora" "$work/run-full" "$work/run-cpt" --data "$work/domain" "$work/general" \
  --seq-len $seq --batch-size 4 --batches 0 --json --no-progress > "$work/eval.json"

python3 - "$work" "$base" "$steps" "$((steps * seq * batch))" "$(( $(date +%s) - started ))" \
  "${stats[pro]}" "${stats[lora]}" "${stats[full]}" "${stats[cpt]}" <<'PY'
import json, sys
work, base, steps, tokens, took = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
stats = [s.split() for s in sys.argv[6:10]]
ev = json.load(open(f"{work}/eval.json"))
loss = lambda data, model: ev["data"][f"{work}/{data}"][model]["loss"]
arms = [("LLaMA Pro: 2 new blocks (interleaved)", "pro"), ("LoRA r=16, all blocks", "lora"),
        ("full fine-tuning (expanded, all blocks)", "full"), ("continued pretraining (base, all blocks)", "cpt")]
d0, g0 = loss("domain", base), loss("general", base)
print(f"stories260K learns Python: {steps} steps x {tokens // int(steps):,} tokens = {tokens:,} tokens per arm\n")
print("| arm | trainable | Python loss | stories loss | tokens/s | peak RSS | train time |")
print("|---|---:|---:|---:|---:|---:|---:|")
print(f"| base stories260K | — | {d0:.4f} | {g0:.4f} | | | |")
for (name, model), (trainable, rate, rss, secs) in zip(arms, stats):
    d, g = loss("domain", f"{work}/run-{model}"), loss("general", f"{work}/run-{model}")
    print(f"| {name} | {int(trainable):,} | {d:.4f} ({d - d0:+.2f}) | {g:.4f} ({g - g0:+.2f}) | "
          f"{float(rate):,.0f} | {float(rss):.0f} MB | {float(secs):.0f} s |")
print(f"\nwhole run {took} s")
PY
