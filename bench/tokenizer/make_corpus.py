#!/usr/bin/env python3
"""make_corpus.py — a benchmark corpus from this machine's text, as a chunk file for
bench_tokenizer and reference.js: [u32 length][UTF-8 bytes]... Chunks are 2-16 KB pieces that
end at a line break, like documents fed to a data pipeline.

    make_corpus.py OUT MEGABYTES
"""
import glob, os, random, struct, sys

out, megabytes = sys.argv[1], float(sys.argv[2])
goal = int(megabytes * 1e6)
sources = [  # a mix: prose (several languages), C, Python, Markdown
    (sorted(glob.glob("/usr/share/vim/vim90/doc/*.txt")), 0.30),
    (sorted(glob.glob("/usr/include/**/*.h", recursive=True)), 0.30),
    (sorted(glob.glob("/usr/lib/python3*/**/*.py", recursive=True)), 0.25),
    (sorted(glob.glob("/usr/share/doc/**/*.md", recursive=True)), 0.15),
]
text = []
size = 0
for files, share in sources:
    want = size + share * goal
    for path in files:
        if size >= want:
            break
        try:
            data = open(path, "rb").read().decode("utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        text.append(data)
        size += len(data.encode())
blob = "".join(text).encode()
if len(blob) < goal:
    blob = blob * (goal // len(blob) + 1)
blob = blob[:goal]
rng = random.Random(42)
with open(out, "wb") as f:
    pos = 0
    while pos < len(blob):
        end = min(len(blob), pos + rng.randint(2000, 16000))
        nl = blob.find(b"\n", end)
        end = len(blob) if nl < 0 else nl + 1
        f.write(struct.pack("<I", end - pos) + blob[pos:end])
        pos = end
print(f"{out}: {len(blob) / 1e6:.1f} MB")
