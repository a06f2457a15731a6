#!/usr/bin/env python3
"""HF transformers prefill baseline: Qwen3-8B config, random init, bf16, SDPA attention, on the GPU.

Times model(input_ids, use_cache=True, logits_to_keep=1) — the same work as our prefill (every layer, KV kept,
logits of the last position only) — with CUDA events after one warm-up; prints one markdown row per length.
Usage: hf_prefill.py 8192,32768 [repetitions]
"""
import statistics
import sys

import torch
import transformers
from transformers import Qwen3Config, Qwen3ForCausalLM


def build_model():
    cfg = Qwen3Config(vocab_size=151936, hidden_size=4096, intermediate_size=12288, num_hidden_layers=36,
                      num_attention_heads=32, num_key_value_heads=8, head_dim=128, max_position_embeddings=131072,
                      rms_norm_eps=1e-6, tie_word_embeddings=False)
    cfg._attn_implementation = "sdpa"
    torch.manual_seed(0)
    torch.set_default_dtype(torch.bfloat16)
    with torch.device("cuda"):
        model = Qwen3ForCausalLM(cfg)
    torch.set_default_dtype(torch.float32)
    return model.eval()


def prefill(model, ids):
    try:
        return model(ids, use_cache=True, logits_to_keep=1)
    except TypeError:  # older transformers
        return model(ids, use_cache=True, num_logits_to_keep=1)


def main():
    lengths = [int(x) for x in sys.argv[1].split(",")]
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    model = build_model()
    print(f"transformers {transformers.__version__}, torch {torch.__version__}, {torch.cuda.get_device_name()}, "
          f"attention {model.config._attn_implementation}, "
          f"{sum(p.numel() for p in model.parameters()) / 1e9:.2f} B parameters", flush=True)
    print("| n_prompt | HF prefill ms (median) | runs |")
    print("|---:|---:|---:|")
    gen = torch.Generator(device="cuda").manual_seed(1)
    with torch.inference_mode():
        for i, n in enumerate(lengths):
            times = []
            for r in range((1 if i == 0 else 0) + reps):
                ids = torch.randint(0, 151936, (1, n), device="cuda", generator=gen)
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                out = prefill(model, ids)
                end.record()
                torch.cuda.synchronize()
                del out
                if i == 0 and r == 0:
                    continue  # warm-up
                times.append(start.elapsed_time(end))
            print(f"| {n} | {statistics.median(times):.1f} | {len(times)} |", flush=True)
            torch.cuda.empty_cache()
    print(f"HF peak GPU memory: {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB")


if __name__ == "__main__":
    main()
