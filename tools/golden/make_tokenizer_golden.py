#!/usr/bin/env python3
"""Writes the tokenizer golden data of tests/engine/tokenizer from the reference implementation (HF `tokenizers`).

  python3 tools/golden/make_tokenizer_golden.py [models/SmolLM2-135M-Instruct.Q4_1.gguf]

Outputs (commit them):
  tests/data/tokenizer/smollm2_golden.json      strings and their ids under SmolLM2's tokenizer, built here from the
                                                GGUF vocabulary with HF's definition of the smollm pre-tokenizer
  tests/data/tokenizer/pretokenizer_splits.json HF pre-tokenizer splits for gpt2 / smollm / llama-bpe / qwen2
Offline only: the C++ tests never run Python.
"""
import json
import sys
from pathlib import Path

from gguf import GGUFReader
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models
from tokenizers import pre_tokenizers as pt

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "data" / "tokenizer"

LLAMA3 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+"
          r"|\s+(?!\S)|\s+")
QWEN2 = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+"
         r"|\s+(?!\S)|\s+")


def byte_level(use_regex):
    return pt.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=use_regex)


PRE_TOKENIZERS = {
    "gpt2": byte_level(True),
    "smollm": pt.Sequence([pt.Digits(individual_digits=True), byte_level(True)]),
    "llama-bpe": pt.Sequence([pt.Split(Regex(LLAMA3), "isolated"), byte_level(False)]),
    "qwen2": pt.Sequence([pt.Split(Regex(QWEN2), "isolated"), byte_level(False)]),
}

SPLIT_STRINGS = [
    "Hello world", "I'm   here, aren't you?", "12345 apples cost $3.50", "x=1234567;y=89",
    "line1\n\n  line2\r\n\tend  ", "DON'T STOP'S We'LL", "café naïve Ünïcödé", "日本語のテキスト 中文",
    "emoji 🤗👍🏽 ok!!", "   leading and trailing   ", "tabs\t\tand\u000bvtab\u0085nel\u00a0nbsp", "٣٤٥ Ⅻ ½",
    "a\n", "  ", "mixed123abc", "'s'S 'll", "a  \n  b", "x\u3000y\u2028z",
]

GOLDEN_STRINGS = [
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "12345",
    "Pi is 3.14159265358979 and e is 2.71828.",
    "multiple    spaces   here",
    "  leading spaces",
    "trailing spaces   ",
    "line one\nline two\n\nline four\r\nend",
    "\ttabbed\tcolumns\t",
    "def add(a, b):\n    return a + b\n",
    "for (int i = 0; i < n; ++i) { sum += x[i]; }",
    '{"key": [1, 2, 3], "nested": {"a": null}}',
    "I'm sure you'll see they've gone, haven't they? It's HIS.",
    "café, naïve, Ünïcödé, résumé",
    "日本語のテキストと中文字符",
    "Привет, мир! Γειά σου κόσμε",
    "مرحبا بالعالم",
    "emoji: 🤗 👍🏽 🎉🎉 ❤️",
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
    "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n",
    "<|endoftext|>text after end<|endoftext|>",
    "not special: <|im_start but close <|im_end|",
    "https://huggingface.co/HuggingFaceTB/SmolLM2-135M-Instruct?x=1&y=2",
    "user@example.com #hashtag @mention $100 50% ~tilde",
    "a" * 40,
    "1,000,000.00 and 0x1F3A 1e-5",
    "Mixed CASE wOrDs AND ALLCAPS",
    "\u00a0non-breaking\u00a0space and zero\u200bwidth",
    "",
    " ",
    "\n\n\n",
    "Ünïcödé ½ Ⅻ ٣٤٥ digits",
]


def compact_json(obj):
    """One line per list element of each top-level key: small diffs, still readable."""
    lines = ["{"]
    items = list(obj.items())
    for k, (key, value) in enumerate(items):
        end = "," if k + 1 < len(items) else ""
        if isinstance(value, list):
            body = ",\n  ".join(json.dumps(v, ensure_ascii=False) for v in value)
            lines.append(f" {json.dumps(key)}: [\n  {body}\n ]{end}")
        elif isinstance(value, dict):
            body = ",\n  ".join(f"{json.dumps(kk)}: {json.dumps(vv, ensure_ascii=False)}" for kk, vv in value.items())
            lines.append(f" {json.dumps(key)}: {{\n  {body}\n }}{end}")
        else:
            lines.append(f" {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}{end}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def field(reader, key):
    f = reader.fields[key]
    return f.contents()


def smollm2_tokenizer(gguf_path):
    r = GGUFReader(str(gguf_path))
    assert field(r, "tokenizer.ggml.model") == "gpt2" and field(r, "tokenizer.ggml.pre") == "smollm"
    tokens = field(r, "tokenizer.ggml.tokens")
    types = field(r, "tokenizer.ggml.token_type")
    merges = [tuple(m.split(" ", 1)) for m in field(r, "tokenizer.ggml.merges")]
    vocab = {t: i for i, t in enumerate(tokens)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False, byte_fallback=False))
    tok.pre_tokenizer = PRE_TOKENIZERS["smollm"]
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(tokens[i], special=True, normalized=False)
                            for i in range(len(tokens)) if types[i] == 3])
    return tok


def main():
    gguf_path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf"
    OUT.mkdir(parents=True, exist_ok=True)
    tok = smollm2_tokenizer(gguf_path)
    cases = []
    for s in GOLDEN_STRINGS:
        ids = tok.encode(s, add_special_tokens=False).ids
        assert tok.decode(ids, skip_special_tokens=False) == s, s
        cases.append({"text": s, "ids": ids})
    golden = {"source": "HF tokenizers " + __import__("tokenizers").__version__ + " on " + gguf_path.name,
              "vocab_size": tok.get_vocab_size(), "cases": cases}
    (OUT / "smollm2_golden.json").write_text(compact_json(golden), encoding="utf-8")

    def unmap(piece):
        table = {}
        bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), 256))
        n = 0
        for b in range(256):
            table[chr(b) if b in bs else chr(256 + n)] = b
            if b not in bs:
                n += 1
        return bytes(table[c] for c in piece).decode("utf-8")

    splits = {pre: [[unmap(p) for p, _ in p_tok.pre_tokenize_str(s)] for s in SPLIT_STRINGS]
              for pre, p_tok in PRE_TOKENIZERS.items()}
    (OUT / "pretokenizer_splits.json").write_text(compact_json({"strings": SPLIT_STRINGS, "splits": splits}),
                                                  encoding="utf-8")
    print(f"wrote {len(cases)} golden cases and {len(SPLIT_STRINGS)} split cases to {OUT}")


if __name__ == "__main__":
    main()
