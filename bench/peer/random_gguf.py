#!/usr/bin/env python3
"""Writes a random-weights GGUF of a Qwen3 shape that both llama.cpp and FluxScope load, for decode benchmarks of
quantized weights on the same file (issue 18). No Qwen3 checkpoint or tokenizer is available offline, and decode
time depends only on the shape and the storage types, so the weights are random blocks written directly as bytes.

Every matrix, token_embd and output included, is Q4_K (144 B per 256 weights; no Q6_K mixing, so both engines read
exactly the same blocks): random 4-bit quants and 6-bit scales, each sub-block's min chosen so that its values centre
on zero, and the fp16 super-block scale set so that a matrix's weights have a standard deviation of about
1/sqrt(input width): activations stay finite and logits of order one. Norms are F32 ones. The vocabulary is
byte-level BPE ("gpt2" model, "qwen2" pre-tokenizer): the 256 byte tokens, a few merges, filler tokens up to the
vocabulary size and three control tokens at the end (<|endoftext|>, <|im_start|>, <|im_end|>).

Only numpy is needed (the GGUF container is written here; gguf-py is not on the GPU machine). Tensors are generated
and written in chunks by a thread pool, never the whole file in memory.

  python3 bench/peer/random_gguf.py --shape qwen3-8b /root/qwen3-8b-random-q4_k.gguf
"""
import argparse
import concurrent.futures as cf
import os
import struct
import sys
import time

import numpy as np

SHAPES = {  # hidden, layers, q heads, kv heads, head dim, ffn, vocab, context
    "tiny": dict(hidden=256, layers=2, heads=4, kv_heads=2, head_dim=64, ffn=512, vocab=512, context=4096),
    "mid": dict(hidden=1024, layers=8, heads=8, kv_heads=2, head_dim=128, ffn=3072, vocab=151936, context=32768),
    "qwen3-8b": dict(hidden=4096, layers=36, heads=32, kv_heads=8, head_dim=128, ffn=12288, vocab=151936,
                     context=131072),
}

GGML_F32, GGML_Q4_K = 0, 12
QK_K, Q4_K_BYTES = 256, 144
ALIGN = 32
CHUNK_BLOCKS = 1 << 18  # 36 MiB of blocks per work item

# GGUF metadata value types
U32, I32, F32, BOOL, STRING, ARRAY, U64 = 4, 5, 6, 7, 8, 9, 10


def gguf_string(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def gguf_value(vtype, value):
    if vtype == STRING:
        return gguf_string(value)
    fmt = {U32: "<I", I32: "<i", F32: "<f", BOOL: "<?", U64: "<Q"}[vtype]
    return struct.pack(fmt, value)


def gguf_kv(key, vtype, value, elem_type=None):
    out = gguf_string(key) + struct.pack("<I", vtype)
    if vtype != ARRAY:
        return out + gguf_value(vtype, value)
    out += struct.pack("<IQ", elem_type, len(value))
    if elem_type == STRING:
        return out + b"".join(gguf_string(v) for v in value)
    if elem_type == I32:
        return out + np.asarray(value, dtype="<i4").tobytes()
    raise ValueError("unsupported array type")


def byte_level_alphabet():
    """GPT-2's printable stand-ins for the 256 bytes (the table every byte-level BPE vocabulary uses)."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    chars, extra = {}, 0
    for b in range(256):
        if b in keep:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + extra)
            extra += 1
    return [chars[b] for b in range(256)]


MERGES = [("Ġ", "t"), ("Ġ", "a"), ("h", "e"), ("i", "n"), ("r", "e"), ("o", "n"), ("Ġt", "he"), ("e", "r")]
CONTROL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def vocabulary(n):
    """Tokens, token types (1 normal, 3 control) and merges; every merge's result is a token."""
    tokens = byte_level_alphabet() + [a + b for a, b in MERGES]
    if n < len(tokens) + len(CONTROL):
        sys.exit(f"vocabulary of {n} is too small (needs {len(tokens) + len(CONTROL)})")
    tokens += [f"[filler{i}]" for i in range(n - len(tokens) - len(CONTROL))] + CONTROL
    types = [1] * (n - len(CONTROL)) + [3] * len(CONTROL)
    return tokens, types, [f"{a} {b}" for a, b in MERGES]


def metadata(shape, name, tokens, types, merges):
    a = "qwen3."
    eos = len(tokens) - 3  # <|endoftext|>
    kv = [
        gguf_kv("general.architecture", STRING, "qwen3"),
        gguf_kv("general.name", STRING, name),
        gguf_kv("general.alignment", U32, ALIGN),
        gguf_kv(a + "context_length", U32, shape["context"]),
        gguf_kv(a + "embedding_length", U32, shape["hidden"]),
        gguf_kv(a + "block_count", U32, shape["layers"]),
        gguf_kv(a + "feed_forward_length", U32, shape["ffn"]),
        gguf_kv(a + "attention.head_count", U32, shape["heads"]),
        gguf_kv(a + "attention.head_count_kv", U32, shape["kv_heads"]),
        gguf_kv(a + "attention.key_length", U32, shape["head_dim"]),
        gguf_kv(a + "attention.value_length", U32, shape["head_dim"]),
        gguf_kv(a + "attention.layer_norm_rms_epsilon", F32, 1e-6),
        gguf_kv(a + "rope.freq_base", F32, 1e6),
        gguf_kv("tokenizer.ggml.model", STRING, "gpt2"),
        gguf_kv("tokenizer.ggml.pre", STRING, "qwen2"),
        gguf_kv("tokenizer.ggml.tokens", ARRAY, tokens, STRING),
        gguf_kv("tokenizer.ggml.token_type", ARRAY, types, I32),
        gguf_kv("tokenizer.ggml.merges", ARRAY, merges, STRING),
        gguf_kv("tokenizer.ggml.eos_token_id", U32, eos),
        gguf_kv("tokenizer.ggml.padding_token_id", U32, eos),
        gguf_kv("tokenizer.ggml.add_bos_token", BOOL, False),
    ]
    return kv


def tensor_list(s):
    """(name, GGUF dims with the input width first, type, input width for the weight scale)."""
    h, q, kvw, f = s["hidden"], s["heads"] * s["head_dim"], s["kv_heads"] * s["head_dim"], s["ffn"]
    t = [("token_embd.weight", (h, s["vocab"]), GGML_Q4_K, h), ("output_norm.weight", (h,), GGML_F32, 0),
         ("output.weight", (h, s["vocab"]), GGML_Q4_K, h)]
    for i in range(s["layers"]):
        p = f"blk.{i}."
        t += [(p + "attn_norm.weight", (h,), GGML_F32, 0), (p + "attn_q.weight", (h, q), GGML_Q4_K, h),
              (p + "attn_k.weight", (h, kvw), GGML_Q4_K, h), (p + "attn_v.weight", (h, kvw), GGML_Q4_K, h),
              (p + "attn_q_norm.weight", (s["head_dim"],), GGML_F32, 0),
              (p + "attn_k_norm.weight", (s["head_dim"],), GGML_F32, 0),
              (p + "attn_output.weight", (q, h), GGML_Q4_K, q), (p + "ffn_norm.weight", (h,), GGML_F32, 0),
              (p + "ffn_gate.weight", (h, f), GGML_Q4_K, h), (p + "ffn_up.weight", (h, f), GGML_Q4_K, h),
              (p + "ffn_down.weight", (f, h), GGML_Q4_K, f)]
    for name, dims, ty, _ in t:
        if ty == GGML_Q4_K and dims[0] % QK_K:
            sys.exit(f"{name}: input width {dims[0]} is not a multiple of {QK_K} (Q4_K)")
    return t


def nbytes(dims, ty):
    n = int(np.prod(dims))
    return n * 4 if ty == GGML_F32 else n // QK_K * Q4_K_BYTES


SC_LO, SC_HI = 8, 40  # 6-bit sub-block scales drawn from here: d stays a normal fp16 for widths up to ~20K
SC_RMS = np.sqrt((SC_HI ** 3 - (SC_LO - 1) ** 3) / 3 / (SC_HI - SC_LO + 1))  # rms of a uniform integer in the range
Q_STD = np.sqrt((16 ** 2 - 1) / 12)  # std of a uniform 4-bit quant


def q4_k_blocks(n_blocks, width, seed):
    """n_blocks random Q4_K blocks as a (n, 144) uint8 array. A value is d·sc·q − dmin·m (q < 16, sc, m < 64);
    dmin = 8·d and m = round(sc·15/16) put each sub-block's mean at zero, and d sets the std to 1/sqrt(width)."""
    rng = np.random.default_rng(seed)
    blk = rng.integers(0, np.iinfo(np.uint64).max, size=n_blocks * Q4_K_BYTES // 8, dtype=np.uint64,
                       endpoint=True).view(np.uint8).reshape(n_blocks, Q4_K_BYTES)  # qs (bytes 16..143) stay random
    d = (1.0 / (np.sqrt(width) * SC_RMS * Q_STD)) * rng.uniform(0.8, 1.2, n_blocks).astype(np.float32)
    blk[:, 0:2] = d.astype("<f2").view(np.uint8).reshape(n_blocks, 2)
    blk[:, 2:4] = (8 * d).astype("<f2").view(np.uint8).reshape(n_blocks, 2)
    sc = rng.integers(SC_LO, SC_HI + 1, size=(n_blocks, 8), dtype=np.uint8)
    m = ((sc.astype(np.uint16) * 15 + 8) // 16).astype(np.uint8)
    # ggml's 12-byte packing (get_scale_min_k4): sub-blocks 0-3 in the low 6 bits of bytes 0-3 (scales) and 4-7
    # (mins); 4-7 split into low nibbles in bytes 8-11 and their top 2 bits in the top bits of bytes 0-7.
    blk[:, 4:8] = sc[:, 0:4] | ((sc[:, 4:8] >> 4) << 6)
    blk[:, 8:12] = m[:, 0:4] | ((m[:, 4:8] >> 4) << 6)
    blk[:, 12:16] = (sc[:, 4:8] & 15) | ((m[:, 4:8] & 15) << 4)
    return blk


def tensor_chunks(index, dims, ty, width, seed):
    """Work items (callables returning bytes) that together make one tensor's data, in order."""
    if ty == GGML_F32:
        return [lambda: np.ones(int(np.prod(dims)), dtype="<f4").tobytes()]
    total = int(np.prod(dims)) // QK_K
    return [lambda c=c: q4_k_blocks(min(CHUNK_BLOCKS, total - c * CHUNK_BLOCKS), width, [seed, index, c]).tobytes()
            for c in range((total + CHUNK_BLOCKS - 1) // CHUNK_BLOCKS)]


def pad(n):
    return (ALIGN - n % ALIGN) % ALIGN


def write(path, shape, name, seed, threads):
    tokens, types, merges = vocabulary(shape["vocab"])
    kv = metadata(shape, name, tokens, types, merges)
    tensors = tensor_list(shape)
    infos, offset = [], 0
    for tname, dims, ty, _ in tensors:
        infos.append(gguf_string(tname) + struct.pack("<I", len(dims)) + struct.pack(f"<{len(dims)}Q", *dims) +
                     struct.pack("<IQ", ty, offset))
        offset += nbytes(dims, ty) + pad(nbytes(dims, ty))
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kv)) + b"".join(kv) + b"".join(infos)
    head += b"\0" * pad(len(head))
    items = [item for i, (_, dims, ty, width) in enumerate(tensors)
             for item in tensor_chunks(i, dims, ty, width, seed) + [lambda n=nbytes(dims, ty): b"\0" * pad(n)]]
    tmp = path + ".part"
    with open(tmp, "wb") as out, cf.ThreadPoolExecutor(threads) as pool:
        out.write(head)
        pending = [pool.submit(items[i]) for i in range(min(len(items), 2 * threads))]  # bounded read-ahead
        for i in range(len(items)):
            out.write(pending[i].result())
            pending[i] = None
            if i + 2 * threads < len(items):
                pending.append(pool.submit(items[i + 2 * threads]))
    os.replace(tmp, path)
    return len(head) + offset


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("output", help="the .gguf to write (replaced when complete)")
    ap.add_argument("--shape", choices=sorted(SHAPES), default="tiny")
    ap.add_argument("--layers", type=int, help="override the shape's layer count (quick checks)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    shape = dict(SHAPES[args.shape])
    if args.layers is not None:
        if args.layers < 1:
            sys.exit("--layers must be at least 1")
        shape["layers"] = args.layers
    start = time.time()
    size = write(args.output, shape, f"random-q4_k-{args.shape}", args.seed, max(1, args.threads))
    secs = time.time() - start
    print(f"{args.output}: {size / 1e9:.3f} GB in {secs:.1f} s ({size / 1e9 / max(secs, 1e-9):.2f} GB/s), "
          f"shape {args.shape} {shape}, all matrices Q4_K, seed {args.seed}")


if __name__ == "__main__":
    main()
