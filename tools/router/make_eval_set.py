#!/usr/bin/env python3
"""Writes the held-out router evaluation set for `fluxscope-cli sweep --tasks`: a needle-in-a-haystack grid
(context 1K–7.5K tokens x depth 0–100%) plus robust tasks, from the same generators as training (other seed), over
every filler style (router_fillers.py) including the held-out one; each task records its "filler".

  python3 tools/router/make_eval_set.py OUT.jsonl [--seed 7] [--tokenizer HF_DIR] [--per-cell 2] [--robust 20]

One JSON object per line: {"id", "kind": "needle"|"robust", "task", "context_tokens", "depth" (null for robust),
"messages": [{"role": "user", "content"}], "answer"}; a run is correct when its output contains `answer`
(case-insensitive). Schema and rationale: docs/router-training.md.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import router_tasks  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--tokenizer", default="/root/smol-hf",
                    help="HF directory with tokenizer.json (fluxscope-cli convert); sets filler lengths in tokens")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--per-cell", type=int, default=2)
    ap.add_argument("--robust", type=int, default=20)
    ap.add_argument("--contexts", default="1024,2048,4096,7680")
    a = ap.parse_args()
    from transformers import AutoTokenizer
    if not os.path.isfile(os.path.join(a.tokenizer, "tokenizer.json")):
        sys.exit(f"error: no tokenizer.json in {a.tokenizer} (write it with fluxscope-cli convert --to safetensors)")
    tok = AutoTokenizer.from_pretrained(a.tokenizer)
    contexts = tuple(int(c) for c in a.contexts.split(","))
    tasks = router_tasks.needle_grid(tok, a.seed, contexts=contexts, per_cell=a.per_cell, n_robust=a.robust)
    with open(a.out, "w") as f:
        for t in tasks:
            f.write(json.dumps(t) + "\n")
    print(f"wrote {len(tasks)} tasks to {a.out}")


if __name__ == "__main__":
    main()
