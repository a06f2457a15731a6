#!/usr/bin/env python3
"""Peers of flux_attention_bench, timed the same way (CUDA events, warm-up, median): torch SDPA with the flash and
cuDNN backends (causal), FlexAttention (compiled, block 128) causal and with our SA masks (streaming block form with
sink 128 + window 2048 and 1024, triangle = streaming 2048 + dense last 128 queries). Prints the same JSON lines.

FlexAttention is compiled for every shape: torch's dynamo stops recompiling after `recompile_limit` (8) variants and
then runs the function uncompiled — the limit is raised and hitting it is made an error, so a flex row is always a
compiled run. Block masks are built with the compiled mask builder (`_compile=True`), which never materialises the
n x n mask (the eager builder needs n^2 bytes: out of memory at 64K-128K).

Usage: peers.py [--shapes qwen3-8b,smollm2] [--ns 8192,32768,65536,131072] [--device cuda|cpu]
(--device cpu: a smoke test of the script on a machine without a GPU, small --ns; its times mean nothing.)
"""
import argparse
import json
import sys
import time

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

SHAPES = {"qwen3-8b": (32, 8, 128), "smollm2": (9, 3, 64)}
BLOCK = 128


def reps_for(n):
    return 3 if n >= 131072 else (5 if n >= 65536 else 15)


def compile_every_shape():
    """One compiled variant per (shape, n, mask) is what we time: lift dynamo's recompile limit, and fail loudly
    rather than fall back to eager if it is ever hit."""
    cfg = torch._dynamo.config
    for name, value in (("recompile_limit", 4096), ("cache_size_limit", 4096), ("accumulated_recompile_limit", 65536),
                        ("accumulated_cache_size_limit", 65536), ("fail_on_recompile_limit_hit", True),
                        ("fail_on_cache_limit_hit", True)):
        try:
            setattr(cfg, name, value)
        except (AttributeError, KeyError):
            pass  # older / newer torch spell it differently; the ones that exist are set


def time_ms(fn, reps, device="cuda"):
    if device != "cuda":
        fn()
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1e3)
        return sorted(times)[len(times) // 2]
    for _ in range(2):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        e0.record()
        fn()
        e1.record()
        e1.synchronize()
        times.append(e0.elapsed_time(e1))
    return sorted(times)[len(times) // 2]


def sdpa_fn(backend, q, k, v):
    group = q.shape[1] // k.shape[1]
    try:  # native GQA where the backend has it; otherwise expand K/V once, outside the timed call
        with sdpa_kernel(backend):
            F.scaled_dot_product_attention(q[:, :, :256], k[:, :, :256], v[:, :, :256], is_causal=True,
                                           enable_gqa=True)

        def run():
            with sdpa_kernel(backend):
                return F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
    except RuntimeError:
        ke, ve = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)

        def run():
            with sdpa_kernel(backend):
                return F.scaled_dot_product_attention(q, ke, ve, is_causal=True)
    return run


def flex_masks(n):
    def streaming(window):
        sink_blocks, local_blocks = -(-128 // BLOCK), -(-window // BLOCK)

        def mask(b, h, q_idx, kv_idx):
            causal = kv_idx <= q_idx
            near = (q_idx // BLOCK - kv_idx // BLOCK) < local_blocks
            return causal & ((kv_idx // BLOCK < sink_blocks) | near)
        return mask

    def causal(b, h, q_idx, kv_idx):
        return kv_idx <= q_idx

    stream2048 = streaming(2048)

    def triangle(b, h, q_idx, kv_idx):
        return stream2048(b, h, q_idx, kv_idx) | ((q_idx >= n - 128) & (kv_idx <= q_idx))
    return {"fa": causal, "streaming": stream2048, "streaming1024": streaming(1024), "triangle": triangle}


def emit(impl, shape, mode, n, ms, hq, d, device):
    flops = 2.0 * n * n * hq * d
    print(json.dumps({"impl": impl, "shape": shape, "mode": mode, "n": n, "ms": round(ms, 4),
                      "tflops": round(flops / (ms * 1e-3) / 1e12, 1) if mode == "fa" else 0.0,
                      "device": device}), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shapes", default="qwen3-8b,smollm2")
    ap.add_argument("--ns", default="8192,32768,65536,131072")
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    args = ap.parse_args()
    from torch.nn.attention.flex_attention import create_block_mask, flex_attention
    compile_every_shape()
    flex = torch.compile(flex_attention, dynamic=False)
    dev = args.device
    device = torch.cuda.get_device_name() if dev == "cuda" else "cpu"
    torch.manual_seed(0)
    for shape in args.shapes.split(","):
        hq, hkv, d = SHAPES[shape]
        for n in (int(x) for x in args.ns.split(",")):
            q = (torch.rand(1, hq, n, d, device=dev, dtype=torch.bfloat16) * 4 - 2)
            k = (torch.rand(1, hkv, n, d, device=dev, dtype=torch.bfloat16) * 4 - 2)
            v = (torch.rand(1, hkv, n, d, device=dev, dtype=torch.bfloat16) * 2 - 1)
            reps = reps_for(n) if dev == "cuda" else 1
            sdpa = (("sdpa_flash", SDPBackend.FLASH_ATTENTION), ("sdpa_cudnn", SDPBackend.CUDNN_ATTENTION))
            for name, backend in sdpa if dev == "cuda" else ():
                try:
                    emit(name, shape, "fa", n, time_ms(sdpa_fn(backend, q, k, v), reps), hq, d, device)
                except RuntimeError as e:
                    print(f"{name} {shape} n={n}: {e}".splitlines()[0], file=sys.stderr)
            for mode, mask_mod in flex_masks(n).items():
                try:
                    bm = create_block_mask(mask_mod, None, None, n, n, device=dev, BLOCK_SIZE=BLOCK, _compile=True)
                    fn = lambda: flex(q, k, v, block_mask=bm, enable_gqa=True)  # noqa: E731
                    emit("flex", shape, mode, n, time_ms(fn, reps, dev), hq, d, device)
                except Exception as e:  # noqa: BLE001 (a peer failing must not stop the others)
                    print(f"flex {mode} {shape} n={n}: {e}".splitlines()[0], file=sys.stderr)
                if dev == "cuda":
                    torch.cuda.empty_cache()
            del q, k, v
            if dev == "cuda":
                torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
