#!/usr/bin/env python3
"""Golden data for RoPE scaling: tiny random Llama models with HF `rope_scaling` (llama3, yarn, linear, dynamic) run
over a prompt longer than the original context, so every scaled frequency matters.

Writes tests/data/rope_scaling/<case>/ with config.json + model.safetensors (fp32) and golden.json (the prompt ids,
the fp32 logits of every prompt position, and the greedy continuation), plus, for llama3, a GGUF copy
(tiny_llama3.gguf) carrying the scaling as llama.cpp's converter does: a `rope_freqs.weight` tensor of per-pair
frequency divisors (convert_hf_to_gguf.py, LlamaModel.generate_extra_tensors) — written with the tiny-GGUF writer
of make_tiny_gguf.py. Needs torch, transformers, safetensors, numpy and gguf (PyPI):
    python3 tools/golden/make_rope_golden.py [tests/data]
"""
import json
import math
import sys
from pathlib import Path

import numpy as np
import torch
import transformers
from safetensors.numpy import load_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_tiny_gguf  # noqa: E402  (reuses its header, name map, Q/K permutation and vocabulary)
import make_tiny_models  # noqa: E402  (weight randomization)

N_PROMPT = 160
N_NEW = 8
ORIGINAL = 64  # original_max_position_embeddings: positions past it are cheap to reach

CASES = {
    "llama3": dict(max_position_embeddings=512, rope_scaling=dict(
        rope_type="llama3", factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0,
        original_max_position_embeddings=ORIGINAL)),
    "yarn": dict(max_position_embeddings=4 * ORIGINAL, rope_scaling=dict(
        rope_type="yarn", factor=4.0, original_max_position_embeddings=ORIGINAL)),
    "linear": dict(max_position_embeddings=512, rope_scaling=dict(rope_type="linear", factor=4.0)),
    # HF's dynamic NTK grows the base once the sequence passes max_position_embeddings.
    "dynamic": dict(max_position_embeddings=ORIGINAL, rope_scaling=dict(rope_type="dynamic", factor=4.0)),
}


def build(case):
    extra = CASES[case]
    cfg = transformers.LlamaConfig(
        vocab_size=256, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, head_dim=16, rms_norm_eps=1e-6, rope_theta=10000.0, bos_token_id=1, eos_token_id=2,
        tie_word_embeddings=False, torch_dtype="float32", max_position_embeddings=extra["max_position_embeddings"],
        rope_scaling=dict(extra["rope_scaling"]))
    return make_tiny_models.randomize(transformers.LlamaForCausalLM(cfg))


def llama3_freq_divisors(cfg):
    # convert_hf_to_gguf.py's rule, with the original context taken from the rope dict (as HF does).
    rp = cfg["rope_parameters"] if "rope_parameters" in cfg else cfg["rope_scaling"]
    base = rp.get("rope_theta", cfg.get("rope_theta", 10000.0))
    dim = cfg["head_dim"]
    freqs = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim))
    factor, low, high = rp["factor"], rp["low_freq_factor"], rp["high_freq_factor"]
    old_len = rp["original_max_position_embeddings"]
    low_wavelen, high_wavelen = old_len / low, old_len / high
    out = []
    for freq in freqs.tolist():
        wavelen = 2 * math.pi / freq
        if wavelen < high_wavelen:
            out.append(1.0)
        elif wavelen > low_wavelen:
            out.append(factor)
        else:
            smooth = (old_len / wavelen - low) / (high - low)
            out.append(1 / ((1 - smooth) / factor + smooth))
    return np.array(out, dtype=np.float32)


def write_gguf(d, case):
    import gguf
    cfg = json.loads((d / "config.json").read_text())
    tensors = load_file(str(d / "model.safetensors"))
    w = gguf.GGUFWriter(str(d / f"tiny_{case}.gguf"), "llama")
    make_tiny_gguf.add_model_header(w, cfg, f"tiny-rope-{case}")
    w.add_rope_dimension_count(cfg["head_dim"])
    w.add_tensor("rope_freqs.weight", llama3_freq_divisors(cfg))
    make_tiny_gguf.add_tensors_and_close(w, tensors, cfg, permute_qk=True)


def main():
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "tests/data") / "rope_scaling"
    torch.manual_seed(4321)
    prompt = torch.randint(3, 256, (N_PROMPT,), generator=torch.Generator().manual_seed(99)).tolist()
    for case in CASES:
        model = build(case)
        d = out / case
        model.save_pretrained(d, safe_serialization=True)
        ids = torch.tensor([prompt])
        with torch.no_grad():
            logits = model(ids).logits[0].float()
            gen = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=N_NEW, do_sample=False,
                                 eos_token_id=None, pad_token_id=0)[0, len(prompt):].tolist()
        golden = {"transformers": transformers.__version__, "torch": torch.__version__, "case": case,
                  "rope_scaling": CASES[case]["rope_scaling"], "prompt": prompt,
                  "logits": [[round(float(x), 5) for x in row] for row in logits], "greedy": gen}
        (d / "golden.json").write_text(json.dumps(golden))
        (d / "generation_config.json").unlink(missing_ok=True)
        if case == "llama3":
            write_gguf(d, case)
        print(case, "logits", tuple(logits.shape), "greedy", gen)


if __name__ == "__main__":
    main()
