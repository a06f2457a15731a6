#!/usr/bin/env bash
# Run on the GPU machine from the repository root, after tools/gpu/build.sh (it builds flux_attention_bench; if the
# binary is missing this script runs build.sh itself): our prefill attention and the torch peers in one call, logs
# and JSON lines under $OUT (or out/attention-bench), a markdown table with ours/peer ratios printed last.
# Env: NS (default 8192,32768,65536,131072), SHAPES (default qwen3-8b,smollm2), XATTN_MAX (largest n for xattn).
set -uo pipefail
logs=${OUT:-out/attention-bench}
mkdir -p "$logs"
export LD_LIBRARY_PATH="/opt/fluxdeps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
bin=build-gpu/bench/attention/flux_attention_bench
if [ ! -x "$bin" ]; then
  FLUX_CMAKE_ARGS="-DFLUX_WITH_CUDA=ON ${FLUX_CMAKE_ARGS:-}" bash tools/gpu/build.sh > "$logs/build.log" 2>&1 ||
    { tail -30 "$logs/build.log"; exit 1; }
fi
ns=${NS:-8192,32768,65536,131072}
shapes=${SHAPES:-qwen3-8b,smollm2}
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader | tee "$logs/device.txt"
start=$SECONDS
timeout 150 "$bin" --shapes "$shapes" --ns "$ns" --xattn-max "${XATTN_MAX:-131072}" > "$logs/flux.jsonl" \
  2> "$logs/flux.err"
echo "flux bench rc=$? in $((SECONDS - start)) s"; tail -3 "$logs/flux.err"
start=$SECONDS
timeout 210 python3 bench/attention/peers.py --shapes "$shapes" --ns "$ns" > "$logs/peers.jsonl" 2> "$logs/peers.err"
echo "peers rc=$? in $((SECONDS - start)) s"; grep -v Warning "$logs/peers.err" | tail -5

python3 - "$logs/flux.jsonl" "$logs/peers.jsonl" <<'PY' | tee "$logs/table.md"
import json, sys
rows = {}
for path in sys.argv[1:]:
    for line in open(path):
        line = line.strip()
        if line.startswith("{"):
            r = json.loads(line)
            rows[(r["impl"], r["shape"], r["mode"], r["n"])] = r
keys = sorted({(s, m, n) for (_, s, m, n) in rows}, key=lambda k: (k[0], k[1], k[2]))
peers = ["sdpa_flash", "sdpa_cudnn", "flex"]
print("| shape | mode | n | ours ms | ours TFLOP/s | density | " + " | ".join(f"{p} ms" for p in peers)
      + " | " + " | ".join(f"{p}/ours" for p in peers) + " |")
print("|" + "---|" * (6 + 2 * len(peers)))
for s, m, n in keys:
    ours = rows.get(("flux", s, m, n))
    cells = [s, m, str(n), f"{ours['ms']:.3f}" if ours else "-", f"{ours['tflops']:.0f}" if ours and m == "fa" else "-",
             f"{ours['density']:.3f}" if ours else "-"]
    ps = [rows.get((p, s, m, n)) for p in peers]
    cells += [f"{p['ms']:.3f}" if p else "-" for p in ps]
    # ratio > 1: we are faster than the peer (peer time / our time)
    cells += [f"{p['ms'] / ours['ms']:.2f}x" if p and ours else "-" for p in ps]
    print("| " + " | ".join(cells) + " |")
PY
