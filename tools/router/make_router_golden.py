#!/usr/bin/env python3
"""Golden data for the C++ router (tests/engine/routing/router_golden_test.cpp): the TRAINING code's router modules
(router_model.py, both families) with a fixed seed, and their per-layer logits on fixed pre-RoPE inputs (keys for
Elastic, queries for Flux — the Flux cases include prompts shorter than 2·pool_size, where ctx_q pooling counts the
overlap twice).

  python3 tools/router/make_router_golden.py tests/data/router
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from router_model import Router, pool_keys, pool_queries  # noqa: E402


def flux_golden(out):
    torch.manual_seed(4321)
    n_layers, n_heads, d, pool = 2, 4, 16, 20
    router = Router(n_layers, 2, d, family="flux").double()
    with torch.no_grad():
        router.layers[0].head[4].bias.add_(torch.tensor([0.0, 0.15], dtype=torch.float64))
        router.layers[1].head[4].bias.add_(torch.tensor([0.15, 0.0], dtype=torch.float64))
        for layer in router.layers:
            layer.mu.copy_(torch.randn(d) * 0.3 + 0.5)
            layer.sigma.copy_(torch.rand(d) + 0.5)
    config = {"pooling": "ctx_q", "pool_first": pool, "pool_last": pool, "temperature": 1.0, "threshold": 0.5,
              "sa_kind": "streaming", "sink": 128, "window": 512, "n_layers": n_layers, "n_kv_heads": 2,
              "head_dim": d, "model": "golden"}
    router.float().export(os.path.join(out, "golden_flux_router.safetensors"), config)
    router.double()
    cases = []
    gen = torch.Generator().manual_seed(77)
    for n in (7, 30, 90):  # < pool, between pool and 2·pool (overlap counted twice), > 2·pool
        drift = torch.linspace(-2.0, 2.0, n, dtype=torch.float64).view(n, 1, 1) * torch.randn(1, n_heads, d, generator=gen, dtype=torch.float64)
        q = (torch.randn(n, n_heads, d, generator=gen, dtype=torch.float64) + drift + 0.5).float()
        entry = {"n_tokens": n, "n_heads": n_heads, "queries": [round(float(x), 7) for x in q.flatten()], "layers": []}
        q = torch.tensor(entry["queries"], dtype=torch.float64).view(n, n_heads, d)
        with torch.no_grad():
            for layer in range(n_layers):
                logits = router.layers[layer](pool_queries(q, n, pool))
                p_fa = float(torch.softmax(logits, -1)[1])
                entry["layers"].append({"logits": [float(x) for x in logits], "fa_prob": p_fa,
                                        "mode": "FA" if float(logits[1]) > float(logits[0]) else "SA"})
        cases.append(entry)
    with open(os.path.join(out, "golden_flux_cases.json"), "w") as f:
        json.dump({"generator": "tools/router/make_router_golden.py", "cases": cases}, f)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    flux_golden(out)
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
