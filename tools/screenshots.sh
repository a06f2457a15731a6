#!/usr/bin/env bash
# Renders the README's and docs/app.md's screenshots of the desktop app under Xvfb into docs/screenshots/ (real runs
# on the demo model with the shipped Layer Router). Settings, logs and the runs folder go to a temporary home, so
# the pictures show the default layout whatever the user's own saved state is.
# Usage: tools/screenshots.sh [build dir] [name...]   (names: main attention memory needle comparison; default all;
# needle-routes, not in the default: the grid picture of docs/images/ through the dock's export, ~10 min on 2 cores;
# baselines, not in the default: docs/images/comparison-baselines.png, the router's run and its baselines, ~2 min)
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
shift || true
want="${*:-main attention memory needle comparison}"
model=models/SmolLM2-135M-Instruct.Q4_1.gguf
mkdir -p docs/screenshots
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
export XDG_CONFIG_HOME="$home/config" XDG_DATA_HOME="$home/data"
shot() {  # shot NAME ARGS... (the run, then the window at 1400x900)
  local name=$1
  shift
  rm -rf "$home/data"  # every picture starts with an empty runs folder
  xvfb-run -a -s "-screen 0 1600x1000x24" "$build/app/fluxscope" --model "$model" --quit-after-run \
    --overwrite --screenshot "docs/screenshots/$name.png" "$@"
  python3 tools/png_small.py "docs/screenshots/$name.png"  # 5-6-5 colours, < 300 KB (they are committed)
}
both() {  # both NAME ARGS...: light and dark
  local name=$1
  shift
  shot "$name" "$@"
  shot "$name-dark" --dark "$@"
}
has() { [[ " $want " == *" $1 "* ]]; }
article=resources/prompts/long_article.txt
# SA parameters small enough that a 1K-token needle falls out of the streaming window.
small_sa="$home/small-sa.txt"
echo "fa sink=64 window=256 n_last=64" >"$small_sa"
if has main; then
  # The router decides every layer (probability bars, router time stacked on the prefill bars).
  shot main-window --run --prompt-file "$article" -n 48
  # Dark palette, all-SA with the first four layers forced FA.
  shot main-window-dark --run --dark --prompt-file resources/prompts/short.txt --route sa --override 0-3=FA -n 48
fi
# Issue 15: the attention map (XAttention's recorded selection), the memory panel (SA with layers 0-3 FA: the saving
# against all-FA), the needle grid (fa vs streaming and triangle with small SA windows), a trusted comparison
# (all-FA vs the router over the same prompt, Repeat ×3 each: medians, noise verdicts).
if has attention; then both attention-map --run --prompt-file "$article" --route sa --sa-kind xattn -n 8 \
  --show-dock attention; fi
if has memory; then both memory-panel --run --prompt-file "$article" --route sa --override 0-3=FA -n 32 \
  --show-dock memory; fi
if has needle; then both needle-grid --route-file "$small_sa" --needle-grid 512,1K/0,50,100/fa,sa:streaming,sa:triangle \
  -n 16 --show-dock needle; fi
if has comparison; then both trusted-comparison --run --prompt-file "$article" --route fa --repeat 3 \
  --compare-with-route router -n 8 --show-dock comparison; fi
# Issue 16: the needle grid per route (fa, the router, first-k at the router's SA share on each prompt, all-SA
# streaming) as the Needle grid dock exports it (--needle-grid-export: the dock's own painting, not a screenshot).
if has needle-routes; then
  rm -rf "$home/data"
  xvfb-run -a -s "-screen 0 1600x1000x24" "$build/app/fluxscope" --model "$model" --quit-after-run --overwrite \
    --needle-grid 512,1K,2K,4K/0,50,100/fa,router,first-k:match,sa:streaming -n 16 \
    --needle-grid-export docs/images/needle-grid-routes.png
  python3 tools/png_small.py docs/images/needle-grid-routes.png
fi
# Issue 16 point 3: the router's run of a needle prompt and its baselines (Compare with baselines…, 5 seeds, the
# previous router) in the Comparison dock.
if has baselines; then
  needle_prompt="$home/needle.txt"
  { echo "Read the following text carefully."; echo; head -c 2500 "$article"
    echo " The secret code for the vault in Lisbon is 4721. "; tail -c 1500 "$article"; echo
    echo "Question: what is the secret code for the vault in Lisbon? Answer with the number only."; } >"$needle_prompt"
  rm -rf "$home/data"
  xvfb-run -a -s "-screen 0 1600x1000x24" "$build/app/fluxscope" --model "$model" --quit-after-run --overwrite \
    --run --prompt-file "$needle_prompt" -n 16 --compare-with-baselines 5 --show-dock comparison \
    --screenshot docs/images/comparison-baselines.png
  python3 tools/png_small.py docs/images/comparison-baselines.png
fi
