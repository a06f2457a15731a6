#!/usr/bin/env bash
# Renders the README's screenshots of the desktop app under Xvfb into docs/screenshots/ (real runs on the demo model
# with the shipped Layer Router). Settings and logs go to a temporary home, so the pictures show the default layout
# whatever the user's own saved window state is.
# Usage: tools/screenshots.sh [build dir]
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
model=models/SmolLM2-135M-Instruct.Q4_1.gguf
mkdir -p docs/screenshots
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
export XDG_CONFIG_HOME="$home/config" XDG_DATA_HOME="$home/data"
shot() {  # shot NAME ARGS...
  local name=$1
  shift
  xvfb-run -a -s "-screen 0 1600x1000x24" "$build/app/fluxscope" --model "$model" --run --quit-after-run \
    --overwrite --screenshot "docs/screenshots/$name.png" "$@"
  echo "docs/screenshots/$name.png"
}
# The router decides every layer (probability bars, router time stacked on the prefill bars).
shot main-window --prompt-file resources/prompts/long_article.txt -n 48
# Dark palette, all-SA with the first four layers forced FA.
shot main-window-dark --dark --prompt-file resources/prompts/short.txt --route sa --override 0-3=FA -n 48
