#!/usr/bin/env python3
"""Writes the fuzz seed corpus (tests/fuzz/corpus/<target>/): small valid inputs for every fuzz target, so libFuzzer
starts from files the parsers accept and mutates from there. Needs the `gguf` and `numpy` packages (PyPI), as
tools/golden/make_tiny_gguf.py does. Usage: python3 tests/fuzz/make_seeds.py
"""
import json
import struct
from pathlib import Path

import gguf
import numpy as np

OUT = Path(__file__).resolve().parent / "corpus"
DATA = Path(__file__).resolve().parents[1] / "data"


def put(target, name, data):
    d = OUT / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def gpt2_bytes():
    # GPT-2's byte-to-unicode alphabet, as in byte_unicode.cpp.
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def bpe_vocab():
    alpha = gpt2_bytes()
    letters = [alpha[b] for b in b"Helo wrd123!"]
    tokens = sorted(set(letters))
    merges = [("H", "e"), ("l", "l"), ("He", "ll"), ("Hell", "o"), ("Ġ", "w")]
    for a, b in merges:
        tokens.append(a + b)
    tokens += ["<|im_start|>", "<|im_end|>"]
    types = [1] * (len(tokens) - 2) + [3, 3]
    return tokens, types, [f"{a} {b}" for a, b in merges]


def gguf_bytes(tokenizer):
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "tmp.gguf"
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_block_count(1)
    w.add_embedding_length(8)
    w.add_feed_forward_length(16)
    w.add_head_count(2)
    w.add_head_count_kv(1)
    w.add_context_length(32)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_freq_base(10000.0)
    if tokenizer == "gpt2":
        tokens, types, merges = bpe_vocab()
        w.add_tokenizer_model("gpt2")
        w.add_tokenizer_pre("smollm")
        w.add_token_list(tokens)
        w.add_token_types(types)
        w.add_token_merges(merges)
        w.add_bos_token_id(len(tokens) - 2)
        w.add_eos_token_id(len(tokens) - 1)
    else:
        tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(4)] + ["▁", "▁H", "ello", "w", "o"]
        types = [2, 3, 3] + [6] * 4 + [1] * 5
        scores = [0.0, 0.0, 0.0] + [0.0] * 4 + [-1.0, -2.0, -3.0, -4.0, -5.0]
        w.add_tokenizer_model("llama")
        w.add_token_list(tokens)
        w.add_token_scores(scores)
        w.add_token_types(types)
        w.add_bos_token_id(1)
        w.add_eos_token_id(2)
        w.add_unk_token_id(0)
        w.add_add_bos_token(True)
    w.add_chat_template("{% for m in messages %}{{ m['content'] }}{% endfor %}")
    rng = np.random.default_rng(0)
    w.add_tensor("output_norm.weight", np.ones(8, dtype=np.float32))
    w.add_tensor("blk.0.attn_norm.weight", np.ones(8, dtype=np.float16))
    q = gguf.quants.quantize(rng.standard_normal((2, 32)).astype(np.float32), gguf.GGMLQuantizationType.Q8_0)
    w.add_tensor("blk.0.attn_q.weight", q, raw_shape=q.shape, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
    q4 = gguf.quants.quantize(rng.standard_normal((1, 32)).astype(np.float32), gguf.GGMLQuantizationType.Q4_1)
    w.add_tensor("blk.0.attn_k.weight", q4, raw_shape=q4.shape, raw_dtype=gguf.GGMLQuantizationType.Q4_1)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    data = path.read_bytes()
    path.unlink()
    return data


def safetensors(tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def f32(shape, seed):
    return ("F32", list(shape), np.random.default_rng(seed).standard_normal(shape).astype(np.float32).tobytes())


def main():
    put("gguf_file", "llama_bpe.gguf", gguf_bytes("gpt2"))
    put("gguf_file", "llama_spm.gguf", gguf_bytes("llama"))
    put("gguf_vocab", "llama_bpe.gguf", gguf_bytes("gpt2"))
    put("gguf_vocab", "llama_spm.gguf", gguf_bytes("llama"))

    put("safetensors_file", "mixed.safetensors", safetensors({
        "w": f32((2, 3), 1), "h": ("F16", [4], np.ones(4, np.float16).tobytes()),
        "b": ("BF16", [2], b"\x80\x3f\x00\x40"), "i": ("I32", [1], b"\x07\x00\x00\x00")}, {"format": "pt"}))
    put("safetensors_file", "empty.safetensors", safetensors({}))

    put("safetensors_index", "two_shards.json",
        json.dumps({"metadata": {"total_size": 12}, "weight_map": {"a": "a.safetensors", "b": "sub/b.safetensors"}}))
    put("safetensors_index", "one_shard.json", json.dumps({"weight_map": {"a": "a.safetensors"}}))

    for model in ("tiny_llama", "tiny_qwen3"):
        put("hf_config", f"{model}.json", (DATA / model / "config.json").read_bytes())

    tokens, types, merges = bpe_vocab()
    vocab = {t: i for i, t in enumerate(tokens) if types[i] == 1}
    added = [{"id": i, "content": t, "special": True} for i, t in enumerate(tokens) if types[i] == 3]
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    put("tokenizer_json", "gpt2.json", json.dumps({
        "added_tokens": added, "normalizer": None, "pre_tokenizer": byte_level,
        "model": {"type": "BPE", "vocab": vocab, "merges": merges}}))
    put("tokenizer_json", "smollm.json", json.dumps({
        "added_tokens": added, "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": True}, byte_level]},
        "model": {"type": "BPE", "vocab": vocab, "merges": [m.split(" ") for m in merges]}}))

    d, f = 4, 3  # head_dim, hidden width of the router MLPs
    config = {"pooling": "boundary", "pool_first": 4, "pool_last": 4, "temperature": 1.0, "threshold": 0.5,
              "sa_kind": "streaming", "sink": 4, "window": 16, "n_last": 8, "n_layers": 1, "n_kv_heads": 1,
              "head_dim": d, "model": "fuzz"}
    layer = {}
    for name, (o, i) in {"feat.0": (f, d), "feat.2": (d, f), "head.0": (f, d), "head.2": (d, f), "head.4": (1, d)}.items():
        layer[f"layers.0.{name}.weight"] = f32((o, i), len(layer))
        layer[f"layers.0.{name}.bias"] = f32((o,), len(layer))
    put("router_file", "one_layer.safetensors", safetensors(layer, {"flux_router": json.dumps(config)}))

    put("routing_policy", "router.json", json.dumps({"preset": "router", "overrides": "0-5=FA,12=SA", "threshold": 0.4}))
    put("routing_policy", "first_k.json", json.dumps({"preset": "first-k:4", "sa_kind": "triangle"}))
    put("routing_policy", "every_other.json", json.dumps({"preset": "every-other", "overrides": "29=fa"}))

    plan = {"kind": "streaming", "block": 64, "sink": 4, "window": 256, "n_last": 64, "stride": 8, "threshold": 0.9,
            "decode": "fluxscope"}
    report = {
        "schema_version": 2, "router_description": "", "status": "ok", "started_at": "2026-01-01T00:00:00Z",
        "model": {"name": "m", "path": "/m.gguf", "architecture": "llama"}, "router": None,
        "backend": {"name": "cpu", "device": "cpu"},
        "settings": {"chat": True, "system_prompt": "", "max_new_tokens": 2, "context_length": 64, "temperature": 0.0,
                     "top_k": 40, "top_p": 0.95, "repetition_penalty": 1.0, "repeat_last_n": 64, "seed": 1,
                     "route": "fa", "overrides": "0=SA", "sparse_attention": plan,
                     "dense_attention": dict(plan, kind="full"), "decode_mode": "fluxscope"},
        "prompt_tokens": 3,
        "layers": [{"index": 0, "mode": "SA", "attention": "streaming", "router_fa_prob": 0.7, "router_scored_side": "FA",
                    "router_threshold": 0.5, "router_logits": [0.1, 0.9], "source": "override",
                    "prefill_ms": 1.5, "router_ms": 0.1, "kv_bytes": 1024, "density": 0.5},
                   {"index": 1, "mode": "FA", "attention": "full", "router_fa_prob": None, "router_scored_side": None,
                    "router_threshold": 0.5, "router_logits": [], "source": "default",
                    "prefill_ms": 1.0, "router_ms": 0.0, "kv_bytes": 2048, "density": 1.0}],
        "decode": {"tokens": [{"id": 5, "text": "Hi", "ms": 2.0}, {"id": 6, "text": ",\"x", "ms": 2.5}],
                   "stop_reason": "length"},
        "output_text": "Hi,\"x",
        "summary": {"ttft_ms": 3.0, "prefill_ms": 2.5, "prefill_tokens_per_s": 1, "decode_ms_per_token": 2,
                    "decode_tokens_per_s": 1, "total_ms": 7.0, "sa_fraction": 0.5, "kv_bytes": 3072}}
    put("run_report", "report.json", json.dumps(report))


if __name__ == "__main__":
    main()
