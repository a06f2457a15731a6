#!/usr/bin/env python3
"""GGUF copies of the tiny golden models (tests/data/tiny_{llama,qwen3}/), written the way llama.cpp's converter
writes them — including the Q/K row permutation it applies to llama — so the GGUF path is checked against the same HF
logits. Needs the `gguf` and `safetensors` packages (PyPI). Usage: python3 tools/golden/make_tiny_gguf.py [tests/data]
"""
import json
import sys
from pathlib import Path

import gguf
import numpy as np
from safetensors.numpy import load_file

NAMES = {
    "model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
    "lm_head.weight": "output.weight",
}
LAYER_NAMES = {
    "input_layernorm.weight": "attn_norm.weight", "self_attn.q_proj.weight": "attn_q.weight",
    "self_attn.k_proj.weight": "attn_k.weight", "self_attn.v_proj.weight": "attn_v.weight",
    "self_attn.o_proj.weight": "attn_output.weight", "self_attn.q_norm.weight": "attn_q_norm.weight",
    "self_attn.k_norm.weight": "attn_k_norm.weight", "post_attention_layernorm.weight": "ffn_norm.weight",
    "mlp.gate_proj.weight": "ffn_gate.weight", "mlp.up_proj.weight": "ffn_up.weight",
    "mlp.down_proj.weight": "ffn_down.weight",
}


def gguf_name(hf):
    if hf in NAMES:
        return NAMES[hf]
    parts = hf.split(".")
    return f"blk.{parts[2]}." + LAYER_NAMES[".".join(parts[3:])]


def interleave_rows(w, n_head):
    # HF rotates halves of each head; llama.cpp rotates adjacent pairs: store row (h, t, i) at (h, i, t).
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def byte_vocab():
    # GPT-2 byte-to-unicode alphabet: a vocabulary with no merges, so the tests feed token ids directly.
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for _, c in sorted(zip(bs, cs))]


def rope_theta(cfg):
    rp = cfg.get("rope_parameters") or {}
    return rp.get("rope_theta", cfg.get("rope_theta", 10000.0))


def add_model_header(w, cfg, name):
    """The metadata llama.cpp's converter writes for a llama-style model, from an HF config.json dict."""
    w.add_name(name)
    w.add_context_length(cfg["max_position_embeddings"])
    w.add_embedding_length(cfg["hidden_size"])
    w.add_block_count(cfg["num_hidden_layers"])
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_head_count(cfg["num_attention_heads"])
    w.add_head_count_kv(cfg["num_key_value_heads"])
    w.add_key_length(cfg["head_dim"])
    w.add_value_length(cfg["head_dim"])
    w.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
    w.add_rope_freq_base(rope_theta(cfg))
    w.add_vocab_size(cfg["vocab_size"])
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("gpt2")
    w.add_token_list(byte_vocab())


def add_tensors_and_close(w, tensors, cfg, permute_qk):
    """HF tensors under GGUF names (Q/K rows interleaved for llama, as the converter does), then the file."""
    for name, t in sorted(tensors.items()):
        t = t.astype(np.float32)
        if permute_qk and name.endswith("q_proj.weight"):
            t = interleave_rows(t, cfg["num_attention_heads"])
        if permute_qk and name.endswith("k_proj.weight"):
            t = interleave_rows(t, cfg["num_key_value_heads"])
        w.add_tensor(gguf_name(name), t)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "tests/data")
    for arch in ("llama", "qwen3"):
        src = root / f"tiny_{arch}"
        cfg = json.loads((src / "config.json").read_text())
        tensors = load_file(str(src / "model.safetensors"))
        w = gguf.GGUFWriter(str(src / f"tiny_{arch}.gguf"), arch)
        add_model_header(w, cfg, f"tiny-{arch}")
        add_tensors_and_close(w, tensors, cfg, permute_qk=arch == "llama")
        print("wrote", src / f"tiny_{arch}.gguf")


if __name__ == "__main__":
    main()
