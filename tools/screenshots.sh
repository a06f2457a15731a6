#!/usr/bin/env bash
# Renders the README's screenshots of the desktop app under Xvfb into docs/screenshots/ (real runs on the demo model).
# Usage: tools/screenshots.sh [build dir]
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
model=models/SmolLM2-135M-Instruct.Q4_1.gguf
mkdir -p docs/screenshots
shot() {  # shot NAME ARGS...
  local name=$1
  shift
  xvfb-run -a -s "-screen 0 1600x1000x24" "$build/app/fluxscope" --model "$model" --run --quit-after-run \
    --screenshot "docs/screenshots/$name.png" "$@"
  echo "docs/screenshots/$name.png"
}
shot main-window --prompt-file resources/prompts/short.txt --route sa --override 0-3=FA
