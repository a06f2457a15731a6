#!/usr/bin/env bash
# Perplexity per route on real prose from a package: the licence texts Debian's base-files installs in
# /usr/share/common-licenses (on every Debian 12), concatenated in a fixed order, the first MAX_TOKENS tokens scored
# in chunks of CHUNK (the second half of each chunk: docs/router-training.md, "Baselines and perplexity").
#   bash bench/perplexity/run.sh [ROUTER.safetensors] [extra perplexity args...]
# Without ROUTER the engine uses the router shipped for the model (resources/routers/). Writes
# $OUT/perplexity.{json,csv,md,log} and $OUT/text.txt (+ its sha256 and the file list in text.sources).
# Env: OUT (out/perplexity), BACKEND (auto: CUDA when the build and a GPU have it), ROUTES, MAX_TOKENS (20480),
# CHUNK (2048), MODEL, CLI (build-gpu/app/fluxscope-cli, else build/app/fluxscope-cli).
set -euo pipefail
out=${OUT:-out/perplexity}
model=${MODEL:-models/SmolLM2-135M-Instruct.Q4_1.gguf}
cli=${CLI:-}
if [ -z "$cli" ]; then
  for c in build-gpu/app/fluxscope-cli build/app/fluxscope-cli; do [ -x "$c" ] && { cli=$c; break; }; done
fi
[ -n "$cli" ] && [ -x "$cli" ] || { echo "error: no fluxscope-cli (set CLI=path)" >&2; exit 2; }
router_args=()
if [ $# -ge 1 ] && [[ "$1" != -* ]]; then
  router_args=(--router "$1")
  shift
fi
mkdir -p "$out"
export LD_LIBRARY_PATH="/opt/fluxdeps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

# The texts, longest first; the symlinks (GPL, LGPL, GFDL) are left out so nothing is counted twice.
licenses=/usr/share/common-licenses
: > "$out/text.txt"
: > "$out/text.sources"
for name in GPL-3 GPL-2 LGPL-2.1 MPL-2.0 Apache-2.0 GFDL-1.3 MPL-1.1 LGPL-2 GFDL-1.2 GPL-1 Artistic CC0-1.0 BSD; do
  f=$licenses/$name
  [ -f "$f" ] && [ ! -L "$f" ] || continue
  cat "$f" >> "$out/text.txt"
  printf '\n\n' >> "$out/text.txt"
  echo "$name $(sha256sum < "$f" | cut -c1-16)" >> "$out/text.sources"
done
[ -s "$out/text.txt" ] || { echo "error: no licence texts under $licenses" >&2; exit 2; }
echo "text: $(wc -c < "$out/text.txt") bytes from $(wc -l < "$out/text.sources") files, sha256 $(sha256sum < "$out/text.txt" | cut -c1-16)" >&2

"$cli" perplexity -m "$model" --backend "${BACKEND:-auto}" -f "$out/text.txt" "${router_args[@]}" \
  --routes "${ROUTES:-fa,router,sa:streaming,sa:triangle,sa:xattn,first-k:match}" \
  --max-tokens "${MAX_TOKENS:-20480}" --chunk "${CHUNK:-2048}" "$@" \
  --json "$out/perplexity.json" --csv "$out/perplexity.csv" 2> >(tee "$out/perplexity.log" >&2) | tee "$out/perplexity.md"
python3 - "$out/perplexity.json" "${MAX_TOKENS:-20480}" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
n = doc["text_tokens"]
print(f"{n} text tokens ({doc['chunks']} chunks of {doc['chunk']}), router {doc['router']}, {doc['backend']} {doc['device']}")
if n < min(int(sys.argv[2]), 20000):
    sys.exit(f"error: only {n} tokens of text (the issue asks for >= 20K)")
PY
