"""The Layer Router in PyTorch, bit-for-bit the math of engine/routing/layer_router.cpp (docs/router-format.md).
Both families the engine runs; train_router.py trains either (Flux by default).

Flux (the authors' AttentionRouter): pool the pre-RoPE queries (after q_norm) over the first and the last
`pool_size` prompt tokens concatenated (overlap counted twice on short prompts, as the reference does), mean over
the query heads → p[d]; feat = Linear(d,8d) SiLU Linear(8d,2d), head = Linear(2d,4d) SiLU Linear(4d,d) SiLU
Linear(d,2); softmax index 1 = P(FA), FA iff logit1 > logit0.

Elastic (the predecessor): boundary-pool the pre-RoPE keys per KV head, feat = Linear(d,4d) SiLU Linear(4d,d),
head = Linear(d,4d) SiLU Linear(4d,d) SiLU Linear(d,1), shared across heads; layer logit = mean over KV heads;
σ(logit) = P(SA).
"""
import json

import torch
from torch import nn


class _Standardized(nn.Module):
    """Input standardization used while training (pooled states have large shared offsets that would otherwise
    drown the task signal); folded_state() folds it into feat.0, so the file keeps the engine's exact architecture."""

    def __init__(self, d):
        super().__init__()
        self.register_buffer("mu", torch.zeros(d))
        self.register_buffer("sigma", torch.ones(d))

    def standardize(self, pooled):
        return (pooled - self.mu.to(pooled.dtype)) / self.sigma.to(pooled.dtype)

    def folded_state(self):
        """State dict without mu/sigma: feat.0(x') with x' = (x − mu)/sigma equals W/sigma · x + (b − W·mu/sigma)."""
        sd = {k: v.detach().clone() for k, v in self.state_dict().items() if k not in ("mu", "sigma")}
        w, b = sd["feat.0.weight"].double(), sd["feat.0.bias"].double()
        inv = 1.0 / self.sigma.double()
        sd["feat.0.weight"] = (w * inv[None, :]).to(sd["feat.0.weight"].dtype)
        sd["feat.0.bias"] = (b - w @ (self.mu.double() * inv)).to(sd["feat.0.bias"].dtype)
        return sd


class LayerRouterMLP(_Standardized):
    """Elastic: pooled [..., n_kv_heads, d] → layer logit [...] (σ = P(SA))."""

    def __init__(self, head_dim):
        super().__init__(head_dim)
        d = head_dim
        self.feat = nn.Sequential(nn.Linear(d, 4 * d), nn.SiLU(), nn.Linear(4 * d, d))
        self.head = nn.Sequential(nn.Linear(d, 4 * d), nn.SiLU(), nn.Linear(4 * d, d), nn.SiLU(), nn.Linear(d, 1))

    def forward(self, pooled):
        return self.head(self.feat(self.standardize(pooled))).squeeze(-1).mean(-1)


class FluxLayerRouterMLP(_Standardized):
    """Flux: pooled [..., d] (already averaged over query heads) → logits [..., 2] (softmax index 1 = P(FA))."""

    def __init__(self, head_dim):
        super().__init__(head_dim)
        d = head_dim
        self.feat = nn.Sequential(nn.Linear(d, 8 * d), nn.SiLU(), nn.Linear(8 * d, 2 * d))
        self.head = nn.Sequential(nn.Linear(2 * d, 4 * d), nn.SiLU(), nn.Linear(4 * d, d), nn.SiLU(),
                                  nn.Linear(d, 2))

    def forward(self, pooled):
        return self.head(self.feat(self.standardize(pooled)))


def pooling_rows(n_tokens, first=100, last=100):
    """Row indices the Elastic boundary pooling reads (all rows when the prompt is short), as the engine's
    pooling_rows."""
    if n_tokens <= first + last:
        return torch.arange(n_tokens)
    return torch.cat([torch.arange(first), torch.arange(n_tokens - last, n_tokens)])


def flux_pooling_rows(n_tokens, pool_size):
    """Flux ctx_q rows: the first pool_size and the last pool_size rows concatenated — a row in both halves (a
    prompt shorter than 2·pool_size) is counted twice, as q[:, :P] ++ q[:, -P:] does in the reference."""
    return torch.cat([torch.arange(min(pool_size, n_tokens)), torch.arange(max(0, n_tokens - pool_size), n_tokens)])


def _mean_rows(x, rows):
    x = x.index_select(0, rows.to(x.device))
    return x.mean(0) if x.dtype == torch.float64 else x.float().mean(0)


def pool_keys(keys, n_prompt, first=100, last=100):
    """Elastic: keys [n, n_kv_heads, d] (pre-RoPE) → mean over the boundary rows of the first n_prompt rows."""
    return _mean_rows(keys, pooling_rows(n_prompt, first, last))


def pool_queries(queries, n_prompt, pool_size):
    """Flux: queries [n, n_heads, d] (pre-RoPE, after q_norm) → mean over the ctx_q rows and all heads → [d]."""
    return _mean_rows(queries, flux_pooling_rows(n_prompt, pool_size)).mean(0)


class Router(nn.Module):
    """All layers' routers of one family ("flux" or "elastic")."""

    def __init__(self, n_layers, n_kv_heads, head_dim, family="elastic"):
        super().__init__()
        self.family, self.n_kv_heads, self.head_dim = family, n_kv_heads, head_dim
        mlp = FluxLayerRouterMLP if family == "flux" else LayerRouterMLP
        self.layers = nn.ModuleList(mlp(head_dim) for _ in range(n_layers))

    def export(self, path, config, dtype=torch.float32):
        """Writes our router format: tensors layers.{L}.feat.{0,2}.*, layers.{L}.head.{0,2,4}.* and the config JSON
        in the safetensors metadata under "flux_router" (with "family" for Flux routers). The standardization is
        folded in fp64, then stored as `dtype` (the engine reads any float type; fp16 halves a shipped file)."""
        from safetensors.torch import save_file
        tensors = {}
        for i, layer in enumerate(self.layers):
            for k, v in layer.folded_state().items():
                tensors[f"layers.{i}.{k}"] = v.to(dtype).cpu().contiguous()
        if self.family == "flux":
            config = {"family": "flux", **config}
        save_file(tensors, path, metadata={"flux_router": json.dumps(config)})
