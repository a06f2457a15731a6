#!/usr/bin/env python3
"""Writes a FluxScope router file (docs/router-format.md) with random or bias-forced weights, for trying --router.

Usage: make_router.py OUT.safetensors --layers N --head-dim D --kv-heads H [--force SA,FA,...] [--seed S]
"""
import argparse
import json
import struct

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--layers", type=int, required=True)
    ap.add_argument("--head-dim", type=int, required=True)
    ap.add_argument("--kv-heads", type=int, required=True)
    ap.add_argument("--force", default="", help="comma list of SA/FA per layer: zero weights, head.4 bias +-8")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", default="")
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    d, forced = a.head_dim, [m.strip().upper() for m in a.force.split(",") if m.strip()]
    tensors = {}
    for layer in range(a.layers):
        for part, shapes in (("feat", {0: (4 * d, d), 2: (d, 4 * d)}),
                             ("head", {0: (4 * d, d), 2: (d, 4 * d), 4: (1, d)})):
            for idx, shape in shapes.items():
                scale = 0.0 if forced else 1.0 / np.sqrt(shape[1])
                w = (rng.standard_normal(shape) * scale).astype(np.float32)
                b = np.zeros(shape[0], np.float32)
                if forced and part == "head" and idx == 4:
                    b[0] = 8.0 if forced[layer % len(forced)] == "SA" else -8.0
                tensors[f"layers.{layer}.{part}.{idx}.weight"] = w
                tensors[f"layers.{layer}.{part}.{idx}.bias"] = b
    config = {"n_layers": a.layers, "head_dim": d, "n_kv_heads": a.kv_heads, "model": a.model}
    header, offset = {"__metadata__": {"flux_router": json.dumps(config)}}, 0
    names = sorted(tensors)
    for n in names:
        size = tensors[n].nbytes
        header[n] = {"dtype": "F32", "shape": list(tensors[n].shape), "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(a.out, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for n in names:
            f.write(tensors[n].tobytes())


if __name__ == "__main__":
    main()
