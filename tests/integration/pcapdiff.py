#!/usr/bin/env python3
"""pcapdiff.py A B: compare the frames (bytes only, not timestamps) of two
classic pcap files, in order. Prints the first differences; exit 0 when equal."""
import struct
import sys


def frames(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        endian = "<"
    elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
        endian = ">"
    else:
        sys.exit(f"{path}: not a classic pcap file")
    off, out = 24, []
    while off + 16 <= len(data):
        _, _, caplen, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        out.append(data[off + 16:off + 16 + caplen])
        off += 16 + caplen
    return out


a, b = frames(sys.argv[1]), frames(sys.argv[2])
bad = 0
for i in range(max(len(a), len(b))):
    fa = a[i] if i < len(a) else None
    fb = b[i] if i < len(b) else None
    if fa != fb:
        bad += 1
        if bad <= 5:
            print(f"frame {i + 1}: differs")
            print("  A:", fa.hex() if fa is not None else "(missing)")
            print("  B:", fb.hex() if fb is not None else "(missing)")
print(f"{len(a)} vs {len(b)} frames, {bad} differ")
sys.exit(1 if bad else 0)
