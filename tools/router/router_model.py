"""The Layer Router in PyTorch, bit-for-bit the math of engine/routing/layer_router.cpp (docs/router-format.md).

Per layer: boundary-pool the pre-RoPE keys per KV head, feat = Linear(d,4d) SiLU Linear(4d,d),
head = Linear(d,4d) SiLU Linear(4d,d) SiLU Linear(d,1), shared across heads; layer logit = mean over KV heads.
"""
import json

import torch
from torch import nn


class LayerRouterMLP(nn.Module):
    def __init__(self, head_dim):
        super().__init__()
        d = head_dim
        self.feat = nn.Sequential(nn.Linear(d, 4 * d), nn.SiLU(), nn.Linear(4 * d, d))
        self.head = nn.Sequential(nn.Linear(d, 4 * d), nn.SiLU(), nn.Linear(4 * d, d), nn.SiLU(), nn.Linear(d, 1))
        # Input standardization used while training (pooled keys have large shared offsets that would otherwise
        # drown the task signal); export() folds it into feat.0, so the file keeps the engine's exact architecture.
        self.register_buffer("mu", torch.zeros(d))
        self.register_buffer("sigma", torch.ones(d))

    def forward(self, pooled):  # pooled [..., n_kv_heads, d] → layer logit [...]
        x = (pooled - self.mu.to(pooled.dtype)) / self.sigma.to(pooled.dtype)
        return self.head(self.feat(x)).squeeze(-1).mean(-1)

    def folded_state(self):
        """State dict without mu/sigma: feat.0(x') with x' = (x − mu)/sigma equals W/sigma · x + (b − W·mu/sigma)."""
        sd = {k: v.detach().clone() for k, v in self.state_dict().items() if k not in ("mu", "sigma")}
        w, b = sd["feat.0.weight"].double(), sd["feat.0.bias"].double()
        inv = 1.0 / self.sigma.double()
        sd["feat.0.weight"] = (w * inv[None, :]).to(sd["feat.0.weight"].dtype)
        sd["feat.0.bias"] = (b - w @ (self.mu.double() * inv)).to(sd["feat.0.bias"].dtype)
        return sd


def pooling_rows(n_tokens, first=100, last=100):
    """Row indices the boundary pooling reads (all rows when the prompt is short), as the engine's pooling_rows."""
    if n_tokens <= first + last:
        return torch.arange(n_tokens)
    return torch.cat([torch.arange(first), torch.arange(n_tokens - last, n_tokens)])


def pool_keys(keys, n_prompt, first=100, last=100):
    """keys [n, n_kv_heads, d] (pre-RoPE) → mean over the boundary rows of the first n_prompt rows, fp32."""
    rows = pooling_rows(n_prompt, first, last).to(keys.device)
    return keys.index_select(0, rows).float().mean(0) if keys.dtype != torch.float64 else keys.index_select(0, rows).mean(0)


class Router(nn.Module):
    def __init__(self, n_layers, n_kv_heads, head_dim):
        super().__init__()
        self.n_kv_heads, self.head_dim = n_kv_heads, head_dim
        self.layers = nn.ModuleList(LayerRouterMLP(head_dim) for _ in range(n_layers))

    def export(self, path, config):
        """Writes our router format: tensors layers.{L}.feat.{0,2}.*, layers.{L}.head.{0,2,4}.* and the config JSON
        in the safetensors metadata under "flux_router"."""
        from safetensors.torch import save_file
        tensors = {}
        for i, layer in enumerate(self.layers):
            for k, v in layer.folded_state().items():
                tensors[f"layers.{i}.{k}"] = v.float().cpu().contiguous()
        save_file(tensors, path, metadata={"flux_router": json.dumps(config)})
