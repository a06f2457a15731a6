#!/usr/bin/env python3
"""Golden data for the CPU forward pass: tiny random Llama and Qwen3 models from HF transformers.

Writes, per model, tests/data/tiny_<arch>/ with config.json + model.safetensors (fp32) and golden.json holding the
prompt ids, the fp32 logits of every prompt position and the greedy continuation. Run once on any machine with torch
and transformers (we ran it on the GPU machine, on the CPU device): python3 tools/golden/make_tiny_models.py OUTDIR
"""
import json
import sys
from pathlib import Path

import torch
import transformers

PROMPT = [1, 17, 42, 99, 3, 250, 7, 7, 128, 64, 200, 5, 31, 77, 180, 2, 9, 143, 66, 211]
N_NEW = 12


def common(**extra):
    cfg = dict(vocab_size=256, hidden_size=64, intermediate_size=160, num_hidden_layers=3, num_attention_heads=4,
               num_key_value_heads=2, max_position_embeddings=512, rms_norm_eps=1e-6, rope_theta=10000.0,
               bos_token_id=1, eos_token_id=2, torch_dtype="float32")
    cfg.update(extra)
    return cfg


def randomize(model):
    """Larger-than-default weights so logits differ visibly between positions (default std 0.02 gives near-flat
    logits); norm weights random around 1 so a wrong norm is caught."""
    with torch.no_grad():
        for _, p in model.named_parameters():
            if p.dim() == 1:
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            else:
                p.normal_(0.0, 0.15)
    return model.eval()


def tiny_model(arch, **extra):
    """The tiny random Llama (untied, head_dim 16) or Qwen3 (tied, head_dim 32) of the golden data, and its config."""
    if arch == "llama":
        cfg = transformers.LlamaConfig(**common(tie_word_embeddings=False, head_dim=16, **extra))
        model = transformers.LlamaForCausalLM(cfg)
    else:
        cfg = transformers.Qwen3Config(**common(tie_word_embeddings=True, head_dim=32, **extra))
        model = transformers.Qwen3ForCausalLM(cfg)
    return randomize(model), cfg


def build(arch):
    return tiny_model(arch)[0]


def main():
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "tests/data")
    torch.manual_seed(1234)
    for arch in ("llama", "qwen3"):
        model = build(arch)
        d = out / f"tiny_{arch}"
        model.save_pretrained(d, safe_serialization=True)
        ids = torch.tensor([PROMPT])
        with torch.no_grad():
            logits = model(ids).logits[0].float()
            gen = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=N_NEW, do_sample=False,
                                 eos_token_id=None, pad_token_id=0)[0, len(PROMPT):].tolist()
        golden = {"transformers": transformers.__version__, "torch": torch.__version__, "arch": arch,
                  "prompt": PROMPT, "logits": [[round(float(x), 7) for x in row] for row in logits],
                  "greedy": gen}
        (d / "golden.json").write_text(json.dumps(golden))
        print(arch, "logits", tuple(logits.shape), "greedy", gen)


if __name__ == "__main__":
    main()
