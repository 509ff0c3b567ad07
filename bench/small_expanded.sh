# small_expanded.sh — sourced by the training benchmarks: the model and data they share.
# small_expanded BIN DIR makes DIR/small (preset "small": dim 512, MLP 1376, vocab 32000, seed 1),
# DIR/expanded (4 -> 6 blocks, the new ones at 2 and 5) and DIR/data (64 documents of 1024
# random ids below 256, no validation split).
small_expanded() {
  local bin=$1 dir=$2
  "$bin" init --preset small --seed 1 -o "$dir/small" >/dev/null 2>&1
  "$bin" expand "$dir/small" -o "$dir/expanded" --add 2 >/dev/null 2>&1
  /usr/bin/python3 - "$dir/ids.jsonl" <<'PY'
import random, sys
random.seed(0)
with open(sys.argv[1], "w") as f:
    for _ in range(64):
        f.write('{"ids": [' + ",".join(str(random.randrange(0, 256)) for _ in range(1024)) + ']}\n')
PY
  "$bin" data prepare --tokenizer "$dir/expanded" --input "$dir/ids.jsonl" -o "$dir/data" --val-fraction 0 \
    --no-progress >/dev/null
}
