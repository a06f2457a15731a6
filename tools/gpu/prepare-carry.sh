#!/usr/bin/env bash
# Run here (not on the GPU machine): fills the git-ignored .carry/ with what the GPU machine lacks — Debian's ICU 72
# (headers + runtime; the GPU machine has only ICU 74 runtime libraries) and the demo GGUF split into four ~24 MB
# parts, since one device call carries at most 64 MiB with the repository: send .carry/deps with the first call
# (tools/gpu/build.sh unpacks it), then parts on consecutive calls into /root/parts while the machine is warm.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p .carry/deps .carry/parts
(cd .carry/deps && [ -n "$(ls libicu72_*.deb 2>/dev/null)" ] || apt-get download libicu-dev libicu72)
bash tools/fetch-demo-model.sh
rm -f .carry/parts/smol.part.*
split -n 4 -d models/SmolLM2-135M-Instruct.Q4_1.gguf .carry/parts/smol.part.
ls -la .carry/deps .carry/parts
