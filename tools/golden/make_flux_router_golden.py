#!/usr/bin/env python3
"""Golden data for Flux-exact routing: the AUTHORS' own AttentionRouter on tiny random checkpoints in their layout.

Usage (any machine with torch + transformers; we ran it on the GPU machine's CPU):
    python3 tools/golden/make_flux_router_golden.py --flux-repo /path/to/FluxAttention [--out tests/data/flux_router]

--flux-repo is a local clone of github.com/qqtang-code/FluxAttention (Apache-2.0). Nothing of it is committed: the
class AttentionRouter is read from its fluxattn/training/eval/modeling_flash_{qwen,llama}.py at run time (the module
itself imports flash_attn / block_sparse_attn kernels that a CPU machine lacks, so only the class is executed, in a
namespace holding torch, nn, F, Optional and a logger).

Per case it writes <out>/<case>/config.json (PawQwen3ForCausalLM / PawLlamaForCausalLM with the authors' keys),
model.safetensors (the full model, fp32, with model.layers.{L}.self_attn.mask_allocator.* tensors) and golden.json:
for each prompt its token ids and, per layer, the router head's logits and the decision of the authors' code
(softmax: hard_decisions[..., 1], i.e. argmax == 1; sigmoid: logit > 0, the authors' rule without its Gumbel noise).
The layer inputs are the pre-RoPE queries (after q_norm on Qwen3) captured from HF transformers' dense forward:
sink 128 + window 1024 in 128-token blocks covers every prompt here, so streaming and triangle layers compute the
dense function and the hidden states do not depend on the decisions.
"""
import argparse
import ast
import json
import logging
import sys
from pathlib import Path
from typing import Optional

import torch
import torch.nn.functional as F
import transformers
from safetensors.torch import save_file
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_tiny_models  # noqa: E402  (the tiny random Llama / Qwen3 and their weight randomization)

CASES = [
    # name, arch, use_softmax, pool_size, toggle_type
    ("qwen3_softmax_p100", "qwen3", True, 100, "streaming"),
    ("qwen3_sigmoid_p150", "qwen3", False, 150, "triangle"),
    ("llama_softmax_p150", "llama", True, 150, "streaming"),
    ("llama_sigmoid_p100", "llama", False, 100, "triangle"),
]
PROMPT_LENGTHS = [37, 160, 420]  # shorter than 2*pool (overlap counted twice), between, longer


def load_attention_router(repo: Path, arch: str):
    name = "modeling_flash_qwen.py" if arch == "qwen3" else "modeling_flash_llama.py"
    path = repo / "fluxattn" / "training" / "eval" / name
    tree = ast.parse(path.read_text())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "AttentionRouter")
    module = ast.Module(body=[cls], type_ignores=[])
    ns = {"torch": torch, "nn": nn, "F": F, "Optional": Optional, "logger": logging.getLogger("flux")}
    exec(compile(module, str(path), "exec"), ns)
    return ns["AttentionRouter"], str(path)


def build_model(arch):
    return make_tiny_models.tiny_model(arch, max_position_embeddings=2048)


def capture_queries(model, arch, ids):
    """Pre-RoPE queries [T, H, D] of every layer for one prompt."""
    got = {}
    hooks = []
    for i, layer in enumerate(model.model.layers):
        attn = layer.self_attn
        if arch == "qwen3":
            hooks.append(attn.q_norm.register_forward_hook(lambda m, a, out, i=i: got.__setitem__(i, out.detach())))
        else:
            hooks.append(attn.q_proj.register_forward_hook(lambda m, a, out, i=i: got.__setitem__(i, out.detach())))
    with torch.no_grad():
        model(torch.tensor([ids]))
    for h in hooks:
        h.remove()
    H = model.config.num_attention_heads
    D = model.config.head_dim
    return [got[i].reshape(1, len(ids), H, D) for i in range(len(model.model.layers))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--flux-repo", required=True, type=Path)
    ap.add_argument("--out", default="tests/data/flux_router", type=Path)
    args = ap.parse_args()
    torch.manual_seed(20261202)
    for name, arch, use_softmax, pool_size, toggle in CASES:
        AttentionRouter, source = load_attention_router(args.flux_repo, arch)
        model, cfg = build_model(arch)
        routers = []
        for _ in range(cfg.num_hidden_layers):
            r = AttentionRouter(input_dim=cfg.hidden_size, num_key_value_heads=cfg.num_key_value_heads,
                                d_feature=cfg.head_dim, use_softmax=use_softmax, pooling_mode="ctx_q",
                                pool_size=pool_size).eval()
            with torch.no_grad():  # wider than nn.Linear's default so the decisions differ between layers and prompts
                for p in r.parameters():
                    p.mul_(3.0)
            routers.append(r)
        tensors = {k: v.contiguous() for k, v in model.state_dict().items()}
        if cfg.tie_word_embeddings:
            tensors.pop("lm_head.weight", None)
        for i, r in enumerate(routers):
            for k, v in r.state_dict().items():
                tensors[f"model.layers.{i}.self_attn.mask_allocator.{k}"] = v.detach().contiguous()
        d = args.out / name
        d.mkdir(parents=True, exist_ok=True)
        save_file(tensors, str(d / "model.safetensors"), metadata={"format": "pt"})
        config = json.loads(cfg.to_json_string())
        config.update({"architectures": ["PawQwen3ForCausalLM" if arch == "qwen3" else "PawLlamaForCausalLM"],
                       "toggle_type": toggle, "retrieval_mode": "full", "sink_size": 128, "local_window_size": 1024,
                       "triangle_n_last": 128, "pooling_mode": "ctx_q", "pool_size": pool_size,
                       "use_softmax": use_softmax, "block_size": 128})
        (d / "config.json").write_text(json.dumps(config, indent=2))
        gen = torch.Generator().manual_seed(7)
        prompts = []
        for n in PROMPT_LENGTHS:
            ids = torch.randint(3, cfg.vocab_size, (n,), generator=gen).tolist()
            qs = capture_queries(model, arch, ids)
            layers = []
            for i, r in enumerate(routers):
                with torch.no_grad():
                    res = r(qs[i].float(), None)
                logits = res["logits"][0, 0].tolist()  # [2] softmax, [1] sigmoid (expanded over heads)
                fa = bool(res["hard_decisions"][0, 0, 1] > 0.5) if use_softmax else logits[0] > 0.0
                layers.append({"logits": logits, "fa": fa})
            prompts.append({"ids": ids, "layers": layers})
        golden = {"source": source.split("FluxAttention")[-1], "torch": torch.__version__,
                  "transformers": transformers.__version__, "arch": arch, "use_softmax": use_softmax,
                  "pool_size": pool_size, "toggle_type": toggle, "prompts": prompts}
        (d / "golden.json").write_text(json.dumps(golden, indent=1))
        n_fa = sum(l["fa"] for p in prompts for l in p["layers"])
        print(f"{name}: {len(prompts)} prompts x {cfg.num_hidden_layers} layers, {n_fa} FA decisions")


if __name__ == "__main__":
    main()
