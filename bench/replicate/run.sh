#!/usr/bin/env bash
# The paper's comparison in miniature on a real pretrained model: stories260K (TinyStories)
# learns Python every way the paper compares, on the same corpus and the same token budget, and
# each result is scored on the domain (held-out Python) and on the base's own domain (stories it
# writes itself, held out).
#   LLaMA Pro        expand --add 2 (interleaved, the paper's rule), train only the new blocks
#   stacked on top   the same 2 blocks after the last block (the paper's Table 5 ablation)
#   at the bottom    the same 2 blocks before the first block's copy (ditto)
#   LoRA             the base, adapters on every projection of every block, rank chosen so the
#                    trainable count is close to LLaMA Pro's
#   full FT          the expanded model, every block trains
#   continued PT     the base without new blocks, every block trains
#   LLaMA Pro+replay interleaved, with 10% of the batches from the base's own stories
# Prints a markdown table (domain and general loss with the change against the base, trainable
# parameters, tokens/s, peak memory of the training process, wall time) and writes the pictures
# of the loss curves and of gain against forgetting into OUT_DIR.
# Usage: bench/replicate/run.sh [BUILD_DIR] [STEPS] [OUT_DIR]  (needs LLAMAPRO_FIXTURES, python3)
set -euo pipefail
build=${1:-build}
steps=${2:-300}
pictures=${3:-bench/replicate}
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

# General: 200 stories the base itself writes (temperature 1), half held out; the other half is
# what the replay arm replays.
for i in $(seq 1 200); do
  "$bin" generate "$base" --temperature 1 --seed "$i" --max-new-tokens 200 | python3 -c \
    'import json, sys; print(json.dumps({"text": sys.stdin.read().strip()}))'
done > "$work/stories.jsonl"
"$bin" data prepare --tokenizer "$base" --input "$work/stories.jsonl" -o "$work/general" --val-fraction 0.5 \
  --no-progress >/dev/null

for placement in interleave top bottom; do
  "$bin" expand "$base" -o "$work/pro-$placement" --add 2 --placement $placement --verify >/dev/null 2>&1
done

# train NAME MODEL ARGS...: trains, then prints "trainable tokens/s peak_MB seconds".
train() {
  local name=$1 model=$2
  shift 2
  python3 - "$work/$name.log" "$bin" train "$model" -o "$work/run-$name" --seq-len $seq \
    --batch-size $batch --steps "$steps" --lr $lr --warmup 0.06 --eval-every 50 --no-progress "$@" <<'PY'
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

arms=(pro top bottom lora full cpt replay)
declare -A stats
domain=(--data "$work/domain" --eval-data "$work/general")  # the general loss watched while training
stats[pro]=$(summary pro "$(train pro "$work/pro-interleave" "${domain[@]}" --trainable newest)")
stats[top]=$(summary top "$(train top "$work/pro-top" "${domain[@]}" --trainable newest)")
stats[bottom]=$(summary bottom "$(train bottom "$work/pro-bottom" "${domain[@]}" --trainable newest)")
stats[lora]=$(summary lora "$(train lora "$base" "${domain[@]}" --trainable all --lora 16 --lora-alpha 32 --weight-decay 0)")
stats[full]=$(summary full "$(train full "$work/pro-interleave" "${domain[@]}" --trainable all)")
stats[cpt]=$(summary cpt "$(train cpt "$base" "${domain[@]}" --trainable all)")
stats[replay]=$(summary replay "$(train replay "$work/pro-interleave" --data "$work/domain:0.9" --data "$work/general:0.1" \
  --trainable newest)")

runs=()
for a in "${arms[@]}"; do runs+=("$work/run-$a"); done
"$bin" eval "$base" "${runs[@]}" --data "$work/domain" "$work/general" \
  --seq-len $seq --batch-size 4 --batches 0 --json --no-progress > "$work/eval.json"
# The pictures: loss curves of every arm, and the eval report's chart (gain against forgetting).
mkdir -p "$pictures"
"$bin" plot "${runs[@]}" -o "$pictures/curves.png" --title "stories260K learns Python" --force >/dev/null
"$bin" eval "$base" "${runs[@]}" --data "$work/domain" "$work/general" --seq-len $seq --batch-size 4 --batches 0 \
  -o "$work/report" --no-progress >/dev/null
cp "$work/report/chart.png" "$pictures/gain-forgetting.png"

python3 - "$work" "$base" "$steps" "$((steps * seq * batch))" "$(( $(date +%s) - started ))" \
  "${stats[pro]}" "${stats[top]}" "${stats[bottom]}" "${stats[lora]}" "${stats[full]}" "${stats[cpt]}" "${stats[replay]}" <<'PY'
import json, sys
work, base, steps, tokens, took = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
stats = [s.split() for s in sys.argv[6:13]]
ev = json.load(open(f"{work}/eval.json"))
loss = lambda data, model: ev["data"][f"{work}/{data}"][model]["loss"]
arms = [("LLaMA Pro: 2 new blocks (interleaved)", "pro"), ("2 new blocks stacked on top", "top"),
        ("2 new blocks at the bottom", "bottom"), ("LoRA r=16, all blocks", "lora"),
        ("full fine-tuning (expanded, all blocks)", "full"), ("continued pretraining (base, all blocks)", "cpt"),
        ("LLaMA Pro + 10% replay of stories", "replay")]
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
