#!/usr/bin/env bash
# End-to-end benchmark on the GPU machine (after tools/gpu/build.sh): Qwen3-8B shape with random bf16 weights at
# 8K-128K, prefill ms and decode ms/token for all-FA, all-SA streaming (sink 128, window 2048), all-SA triangle
# (sink 128, window 2048, last 128 queries dense), all-SA XAttention (block 128, stride 16, tau 0.9) and a fixed 50/50
# mix (every other layer streaming); decode against the HBM roofline (bytes read per token / 1 GiB D2D copy
# bandwidth, measured in each process); HF transformers prefill at 8K and 32K as the library baseline. Logs go to
# $OUT (7 files), a markdown table to stdout and $OUT/summary.md. Budget: < 9 minutes (each step has a timeout).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-bench/e2e/out}
mkdir -p "$OUT"
deps=/opt/fluxdeps
export LD_LIBRARY_PATH="$deps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
CLI=${CLI:-build-gpu/app/fluxscope-cli}
[ -x "$CLI" ] || CLI=$(find build-gpu -name fluxscope-cli -type f -perm -u+x | head -1)
[ -x "$CLI" ] || { echo "fluxscope-cli not found: run tools/gpu/build.sh first" >&2; exit 1; }
LENGTHS=${LENGTHS:-8192,32768,65536,131072}
# XAttention scores and selects on the GPU and prefills each layer unchunked (its lists need the whole prompt).
XATTN_LENGTHS=${XATTN_LENGTHS:-$LENGTHS}
NGEN=${NGEN:-32}
START=$SECONDS
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv,noheader | tee "$OUT/device.txt"

# One process per configuration: weights are generated once, the first length warms up (untimed), then one timed
# run per length. -c leaves room for 128K prompt tokens plus the decode steps.
common=(bench --random-weights qwen3-8b --backend cuda --router none -c 131328 -n "$NGEN" -r 1 --warmup 1 --roofline
        --sink 128 --window 2048 --n-last 128 --block 128 --prefill-chunk 16384)
run_cfg() {  # name timeout_s lengths args...
  local name=$1 limit=$2 lengths=$3
  shift 3
  if (( SECONDS - START > 480 - limit / 2 )); then
    echo "skipped: out of time budget" > "$OUT/e2e_$name.log"
    return
  fi
  echo "== $name (lengths $lengths)" >&2
  timeout "$limit" "$CLI" "${common[@]}" -p "$lengths" "$@" > "$OUT/e2e_$name.log" 2>&1
  local rc=$?
  [ $rc -eq 0 ] || echo "exit status $rc (124 = timeout)" >> "$OUT/e2e_$name.log"
}
run_cfg fa 150 "$LENGTHS" --route fa
run_cfg streaming 70 "$LENGTHS" --route sa --sa-kind streaming
run_cfg triangle 70 "$LENGTHS" --route sa --sa-kind triangle
run_cfg mix 100 "$LENGTHS" --route every-other --sa-kind streaming
run_cfg xattn 150 "$XATTN_LENGTHS" --route sa --sa-kind xattn

if (( SECONDS - START < 420 )); then
  echo "== HF transformers" >&2
  timeout $(( 520 - (SECONDS - START) )) python3 bench/e2e/hf_prefill.py 8192,32768 3 > "$OUT/hf.log" 2>&1 ||
    echo "exit status $? (124 = timeout)" >> "$OUT/hf.log"
else
  echo "skipped: out of time budget" > "$OUT/hf.log"
fi

python3 - "$OUT" <<'PY' | tee "$OUT/summary.md"
import re, sys, pathlib
out = pathlib.Path(sys.argv[1])
row = re.compile(r"^\| (\d+) \| (\d+) \| ([\d.]+) ± [\d.]+ \| [\d.]+ \| ([\d.]+) ± [\d.]+ \| [\d.]+ \| ([\d.]+) \| ([\d.]+) \| ([\d.]+)x \|")
print("device:", (out / "device.txt").read_text().strip())
bw = None
results = {}
for name in ["fa", "streaming", "triangle", "mix", "xattn"]:
    log = out / f"e2e_{name}.log"
    text = log.read_text(errors="replace") if log.exists() else ""
    m = re.search(r"copy bandwidth .*: (\d+) GB/s", text)
    bw = bw or (m and m.group(1))
    for line in text.splitlines():
        if (m := row.match(line)):
            n, _, pre, dec, peak, roof, ratio = m.groups()
            results[(name, int(n))] = (float(pre), float(dec), float(peak), float(roof), float(ratio))
    if "exit status" in text or "skipped" in text or "error" in text.lower():
        tail = [l for l in text.splitlines() if l.strip()][-1:] or ["(empty log)"]
        print(f"note: {name}: {tail[0]}")
hf = {}
hf_text = (out / "hf.log").read_text(errors="replace") if (out / "hf.log").exists() else ""
for line in hf_text.splitlines():
    if (m := re.match(r"^\| (\d+) \| ([\d.]+) \| \d+ \|", line)):
        hf[int(m.group(1))] = float(m.group(2))
print(f"\nQwen3-8B shape, random bf16 weights; SA = sink 128 + window 2048 (triangle: + last 128 rows dense); "
      f"mix = every other layer streaming; prefill chunk 16384; device copy bandwidth {bw} GB/s (read + write)\n")
print("| route | n_prompt | prefill ms | speedup vs FA | decode ms/token | roofline ms | decode / roofline | "
      "decode speedup vs FA | peak GiB | HF prefill ms |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for (name, n), (pre, dec, peak, roof, ratio) in sorted(results.items(), key=lambda kv: (kv[0][1], kv[0][0])):
    fa = results.get(("fa", n))
    sp = f"{fa[0] / pre:.2f}x" if fa else ""
    dsp = f"{fa[1] / dec:.2f}x" if fa else ""
    h = f"{hf[n]:.1f}" if name == "fa" and n in hf else ""
    print(f"| {name} | {n} | {pre:.1f} | {sp} | {dec:.2f} | {roof:.2f} | {ratio:.2f}x | {dsp} | {peak:.1f} | {h} |")
for n, ms in sorted(hf.items()):
    if ("fa", n) in results:
        print(f"\nHF transformers (sdpa) / ours all-FA prefill at {n}: {ms / results[('fa', n)][0]:.2f}x")
PY
echo "total $((SECONDS - START)) s" | tee -a "$OUT/summary.md"
