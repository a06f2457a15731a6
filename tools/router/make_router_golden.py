#!/usr/bin/env python3
"""Golden data for the C++ router (tests/engine/router/router_golden_test.cpp): the TRAINING code's router module
(router_model.py) with a fixed seed, and its per-layer logits on fixed pre-RoPE key inputs.

  python3 tools/router/make_router_golden.py tests/data/router
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from router_model import Router, pool_keys  # noqa: E402


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(1234)
    n_layers, n_kv, d = 2, 3, 16
    router = Router(n_layers, n_kv, d).double()
    with torch.no_grad():  # spread the logits around 0 so both decisions occur
        router.layers[0].head[4].bias.add_(0.2)
        router.layers[1].head[4].bias.sub_(0.2)
        for layer in router.layers:  # a non-trivial input standardization, folded into feat.0 by export()
            layer.mu.copy_(torch.randn(d) * 0.5 + 1.0)
            layer.sigma.copy_(torch.rand(d) + 0.5)
    config = {"pooling": "boundary", "pool_first": 100, "pool_last": 100, "temperature": 1.0, "threshold": 0.5,
              "sa_kind": "streaming", "sink": 128, "window": 512, "n_layers": n_layers, "n_kv_heads": n_kv,
              "head_dim": d, "model": "golden"}
    router.float().export(os.path.join(out, "golden_router.safetensors"), config)
    router.double()
    cases = []
    gen = torch.Generator().manual_seed(99)
    for n in (50, 250):
        # A drift along the rows makes boundary pooling differ from the mean over all rows.
        drift = torch.linspace(-3.0, 3.0, n, dtype=torch.float64).view(n, 1, 1) * torch.randn(1, n_kv, d, generator=gen, dtype=torch.float64)
        keys = torch.randn(n, n_kv, d, generator=gen, dtype=torch.float64) + drift + 1.5
        keys = keys.float().double()  # the C++ side reads these fp32 values
        entry = {"n_tokens": n, "keys": [round(float(x), 7) for x in keys.float().flatten()], "layers": []}
        keys = torch.tensor(entry["keys"], dtype=torch.float64).view(n, n_kv, d)
        with torch.no_grad():
            for layer in range(n_layers):
                logit = float(router.layers[layer](pool_keys(keys, n).double()))
                prob = float(torch.sigmoid(torch.tensor(logit)))
                entry["layers"].append({"logit": logit, "prob": prob, "mode": "SA" if prob > 0.5 else "FA"})
        cases.append(entry)
    with open(os.path.join(out, "golden_cases.json"), "w") as f:
        json.dump({"generator": "tools/router/make_router_golden.py", "cases": cases}, f)


if __name__ == "__main__":
    main()
