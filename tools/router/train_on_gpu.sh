#!/usr/bin/env bash
# Run on the GPU machine from the repo root, after tools/gpu/build.sh built build-gpu/ and assembled the demo GGUF:
# converts the demo model to an HF directory, trains the Layer Router (train_router.py), writes the held-out sweep
# set, and leaves router + log + tasks in $OUT. Usage: tools/router/train_on_gpu.sh [extra train_router.py args]
set -euo pipefail
out=${OUT:-out/router}
mkdir -p "$out"
export LD_LIBRARY_PATH="/opt/fluxdeps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
hf=/root/smol-hf
[ -f "$hf/model.safetensors" ] || build-gpu/app/fluxscope-cli convert -m models/SmolLM2-135M-Instruct.Q4_1.gguf --to safetensors "$hf"
python3 tools/router/train_router.py --model "$hf" --out "$out/SmolLM2-135M-Instruct.router.safetensors" \
  --log "$out/train_log.json" --time-budget-s 420 "$@" 2>&1 | grep -v -E "Loading weights|it/s\]" | tee "$out/train.txt"
python3 tools/router/make_eval_set.py "$out/eval_tasks.jsonl" --tokenizer "$hf"
