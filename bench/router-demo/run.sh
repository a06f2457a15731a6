#!/usr/bin/env bash
# issue 4's demonstration: the default (shipped) router on a needle-retrieval prompt and on a summarization prompt,
# `fluxscope-cli generate --report`, then each layer's mode (F/S) and router probability side by side.
# Usage: bench/router-demo/run.sh [fluxscope-cli] [--backend cpu|cuda]   Writes needle.json / summarize.json here.
set -euo pipefail
cd "$(dirname "$0")"
cli=${1:-../../build/app/fluxscope-cli}
shift || true
model=../../models/SmolLM2-135M-Instruct.Q4_1.gguf
for p in needle summarize; do
  echo "== $p: $("$cli" generate -m "$model" --chat --temp 0 -n 24 -q -f "$p.txt" --report "$p.json" --overwrite "$@" 2>/dev/null |
    tr '\n' ' ')"
done
python3 - <<'PY'
import json
for p in ("needle", "summarize"):
    r = json.load(open(p + ".json"))
    layers = r["layers"]
    modes = "".join("S" if l["mode"] == "SA" else "F" for l in layers)
    sa = sum(m == "S" for m in modes) / len(modes)
    print(f"{p:10s} n_prompt {r['prompt_tokens']:5d}  SA {sa:.2f}  modes {modes}")
    print(f"{'':10s} probs " + " ".join(f"{l['router_prob']:.2f}" for l in layers))
    print(f"{'':10s} output {r['output_text'][:70]!r}")
PY
