#!/usr/bin/env python3
# read_safetensors.py — an independent, stdlib-only safetensors reader written from the format spec.
#
# Usage: read_safetensors.py FILE...
# Validates each file as the reference implementation does (u64 little-endian header length,
# a JSON object header, known dtypes, non-negative shapes, byte ranges that match
# dtype x shape and tile the data area exactly with no gap or overlap) and prints, per tensor,
# sorted by name:
#     tensor NAME DTYPE [d0,d1,...] FNV1A64-HEX
# and per metadata entry:
#     metadata KEY VALUE
# Exits 1 with "error: ..." on the first violation.
import json
import struct
import sys

DTYPE_SIZES = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1,
    "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
    "I32": 4, "U32": 4, "F32": 4,
    "F64": 8, "I64": 8, "U64": 8,
}
MAX_HEADER = 100_000_000


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def fail(msg):
    print("error: " + msg, file=sys.stderr)
    sys.exit(1)


def read(path):
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        fail(f"{path}: shorter than 8 bytes")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > MAX_HEADER or 8 + n > len(blob):
        fail(f"{path}: bad header length {n}")
    try:
        header = json.loads(blob[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        fail(f"{path}: header is not JSON: {e}")
    if not isinstance(header, dict):
        fail(f"{path}: header is not an object")
    data = blob[8 + n:]
    metadata = header.pop("__metadata__", {}) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        fail(f"{path}: __metadata__ must map strings to strings")
    tensors = []
    for name, info in header.items():
        if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
            fail(f"{path}: {name}: entry must have exactly dtype, shape, data_offsets")
        dtype, shape, offs = info["dtype"], info["shape"], info["data_offsets"]
        if dtype not in DTYPE_SIZES:
            fail(f"{path}: {name}: unknown dtype {dtype}")
        if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
            fail(f"{path}: {name}: bad shape {shape}")
        if (not isinstance(offs, list) or len(offs) != 2 or
                not all(isinstance(o, int) and o >= 0 for o in offs) or offs[0] > offs[1]):
            fail(f"{path}: {name}: bad data_offsets {offs}")
        numel = 1
        for d in shape:
            numel *= d
        if numel * DTYPE_SIZES[dtype] != offs[1] - offs[0]:
            fail(f"{path}: {name}: {offs[1] - offs[0]} bytes for {dtype} {shape}")
        tensors.append((offs[0], offs[1], name, dtype, shape))
    # The byte ranges must cover the data area exactly, in order (the reference's rule).
    position = 0
    for begin, end, name, _, _ in sorted(tensors):
        if begin != position:
            fail(f"{path}: {name}: starts at {begin}, expected {position} (gap or overlap)")
        position = end
    if position != len(data):
        fail(f"{path}: tensors cover {position} of {len(data)} data bytes")
    lines = []
    for begin, end, name, dtype, shape in sorted(tensors, key=lambda t: t[2]):
        dims = ",".join(str(d) for d in shape)
        lines.append(f"tensor {name} {dtype} [{dims}] {fnv1a64(data[begin:end]):016x}")
    for key in sorted(metadata):
        lines.append(f"metadata {key} {metadata[key]}")
    return lines


def main():
    if len(sys.argv) < 2:
        fail("usage: read_safetensors.py FILE...")
    for path in sys.argv[1:]:
        for line in read(path):
            print(line)


if __name__ == "__main__":
    main()
