# checkpoint_peer.sh — sourced by the benchmarks that stream a whole checkpoint (expand, export):
# the generated 2.2 GB TinyLlama-shape bf16 model they share, warmed into the page cache, and the
# peer they are measured against, `cp -r` of it followed by a filesystem sync.
# Needs: bin (the llamapro binary), work (a scratch folder). Sets: base, bytes, cp_s; defines now().
now() { date +%s.%N; }
base="$work/base"
[[ -d "$base" ]] || "$bin" init --preset tinyllama-1.1b --dtype bf16 --seed 1 -o "$base" --no-progress >/dev/null
bytes=$(du -sb "$base" | cut -f1)
cat "$base"/*.safetensors >/dev/null  # warm the page cache for every contender
rm -rf "$work/copy"
t0=$(now); cp -r "$base" "$work/copy"; sync -f "$work/copy/config.json"; t1=$(now)
cp_s=$(echo "$t1 - $t0" | bc -l)
rm -rf "$work/copy"
