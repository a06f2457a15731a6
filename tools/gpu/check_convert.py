#!/usr/bin/env python3
"""Checks `fluxscope-cli convert` output with HF transformers/tokenizers (GPU machine): the directory loads, the HF
tokenizer gives our ids, and HF greedy generation matches our CPU engine's text.
Usage: python3 tools/gpu/check_convert.py CLI HF_DIR"""
import subprocess
import sys

import torch
import transformers

cli, hf_dir = sys.argv[1], sys.argv[2]
tok = transformers.AutoTokenizer.from_pretrained(hf_dir)
model = transformers.AutoModelForCausalLM.from_pretrained(hf_dir, dtype=torch.float32).eval()
print("loaded", type(model).__name__, "params", sum(p.numel() for p in model.parameters()))

texts = ["Hello world", "The year 2026 has 365 days.", "  leading spaces\nand\ttabs", "naïve café — 東京 🙂",
         "<|im_start|>user\nHi<|im_end|>\n", "def f(x):\n    return x**2  # square"]
mismatch = 0
for t in texts:
    ours = [int(x) for x in subprocess.check_output([cli, "tokenize", "-p", t]).split()]
    theirs = tok(t, add_special_tokens=False)["input_ids"]
    if ours != theirs:
        mismatch += 1
        print("TOKEN MISMATCH", repr(t), ours, theirs)
print(f"tokenizer: {len(texts) - mismatch}/{len(texts)} strings identical")

question = "What is the capital of France?"
ours = subprocess.check_output([cli, "generate", "--backend", "cpu", "--chat", "-q", "-n", "24", "-p", question],
                               text=True).strip()
msgs = [{"role": "user", "content": question}]
ids = tok.apply_chat_template(msgs, add_generation_prompt=True, return_tensors="pt")
if not isinstance(ids, torch.Tensor):
    ids = ids["input_ids"]
with torch.no_grad():
    out = model.generate(ids, max_new_tokens=24, do_sample=False)
theirs = tok.decode(out[0, ids.shape[1]:], skip_special_tokens=True).strip()
print("ours:  ", repr(ours))
print("theirs:", repr(theirs))
print("greedy text identical:", ours == theirs)
