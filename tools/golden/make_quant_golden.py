#!/usr/bin/env python3
"""Reference dequantizations for the GGUF block types added after the first eight (Q2_K, Q3_K, IQ4_NL, IQ4_XS), from
the Python gguf package (gguf.quants.dequantize, a port of ggml's reference): pseudo-random blocks (an LCG the C++
test does not need: the raw bytes are stored) with sane f16 scales, and every dequantized element.
Usage (needs `pip install gguf numpy`): python3 tools/golden/make_quant_golden.py tests/data/quant_reference.json
"""
import base64
import json
import sys

import gguf
import numpy as np
from gguf import GGMLQuantizationType as T

M = (1 << 64) - 1


def lcg(seed, n):
    s, out = seed, bytearray()
    for _ in range(n):
        s = (s * 6364136223846793005 + 1442695040888963407) & M
        out.append(s >> 56)
    return out


# name, type, block bytes, offsets of the f16 scale fields (first: d, then dmin where the type has one)
TYPES = [("Q2_K", T.Q2_K, 84, [80, 82]), ("Q3_K", T.Q3_K, 110, [108]), ("IQ4_NL", T.IQ4_NL, 18, [0]),
         ("IQ4_XS", T.IQ4_XS, 136, [0])]


def main():
    out = {"gguf": getattr(gguf, "__version__", "unknown"), "types": []}
    for name, qt, bb, dpos in TYPES:
        n_blocks = 5
        raw = lcg(0x5eed + bb, n_blocks * bb)
        for b in range(n_blocks):
            for k, p in enumerate(dpos):
                raw[b * bb + p:b * bb + p + 2] = np.float16((b + 1) * 0.0625 * (1 if k == 0 else 0.5)).tobytes()
        y = gguf.quants.dequantize(np.frombuffer(bytes(raw), dtype=np.uint8), qt).astype(np.float32).ravel()
        out["types"].append({"name": name, "ggml_type": int(qt), "block_bytes": bb, "n_blocks": n_blocks,
                             "raw_base64": base64.b64encode(bytes(raw)).decode(),
                             "values": [float(v) for v in y]})
    with open(sys.argv[1] if len(sys.argv) > 1 else "tests/data/quant_reference.json", "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
