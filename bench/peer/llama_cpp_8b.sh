#!/usr/bin/env bash
# Issue 18's quantized peer: llama.cpp CUDA and FluxScope decoding the same random-weights Qwen3-8B-shape Q4_K GGUF
# (bench/peer/random_gguf.py writes it into /root, not the repository), on the GPU machine after tools/gpu/build.sh.
# llama.cpp is built as in llama_cpp.sh (same /root/llama, reused when that script already built it) from the source
# tarball you carry (LLAMA_TARBALL, default .carry/llama/*.tar.xz). Runs llama-bench -fa 1 at depths 0, 512 and
# 8192, then ours with Q4_K blocks on the device (--weights native) and the bf16 expansion (--weights auto) for
# reference, both with --roofline, and prints one table: t/s, ms/token, our roofline and llama.cpp's time over ours.
# Every step is time-boxed. Env (defaults for the GPU machine; tested on the CPU with the values in brackets):
#   SHAPE (qwen3-8b [tiny])   MODEL_FILE (/root/random-q4_k-SHAPE.gguf)   REGEN=1 rewrites an existing file
#   BACKEND (cuda [cpu])      FLUX_CLI (build-gpu/app/fluxscope-cli)     LLAMA_BENCH (/root/llama/build/bin/...)
#   LLAMA_ARGS (-ngl 99 [-t 2])   P (512)   N (128)   DEPTH (8192)   REPS (3)   OUT (out/peer)
#   T_BUILD (420)  T_GEN (240)  T_BENCH (180) seconds per step. A step already done (llama-bench built, the GGUF
#   written) is skipped, so on a 10-minute device call the llama.cpp build can go first in a call of its own.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
root=$(pwd)
shape=${SHAPE:-qwen3-8b}
model=${MODEL_FILE:-/root/random-q4_k-$shape.gguf}
backend=${BACKEND:-cuda}
cli=${FLUX_CLI:-build-gpu/app/fluxscope-cli}
llama_bench=${LLAMA_BENCH:-/root/llama/build/bin/llama-bench}
read -r -a llama_args <<< "${LLAMA_ARGS:--ngl 99}"
p=${P:-512} n=${N:-128} depth=${DEPTH:-8192} reps=${REPS:-3}
logs=${OUT:-out/peer}/llama_8b
tarball=${LLAMA_TARBALL:-$(ls "$root"/.carry/llama/llama.cpp-*.tar.xz 2>/dev/null | head -1)}
mkdir -p "$logs"
status=0
exec 3>&2  # step's own messages reach the terminal even when a step's stderr goes to a log

step() {  # step NAME SECONDS CMD...: runs CMD under timeout, says how it ended, never stops the script
  local name=$1 secs=$2 start=$SECONDS rc
  shift 2
  timeout -k 10 "$secs" "$@"
  rc=$?
  [ $rc -eq 124 ] && echo "!! $name: timed out after ${secs}s" >&3
  [ $rc -ne 0 ] && [ $rc -ne 124 ] && echo "!! $name: failed (exit $rc)" >&3
  echo "-- $name: $((SECONDS - start)) s, exit $rc" >&3
  [ $rc -eq 0 ] || status=1
  return $rc
}

if [ ! -x "$llama_bench" ]; then
  [ -f "$tarball" ] || { echo "no llama.cpp source tarball (LLAMA_TARBALL) and no $llama_bench" >&2; exit 1; }
  mkdir -p /root/llama
  (cd /root/llama && [ -d ggml ] || tar xJf "$tarball" -C /root/llama --strip-components=1)
  cmake -S /root/llama -B /root/llama/build -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_CUDA=ON \
    -DCMAKE_CUDA_ARCHITECTURES=90 -DLLAMA_CURL=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_TESTS=OFF \
    -DLLAMA_BUILD_EXAMPLES=OFF > "$logs/llama_build.log" 2>&1
  step "llama.cpp CUDA build" "${T_BUILD:-420}" cmake --build /root/llama/build -j "$(nproc)" --target llama-bench \
    >> "$logs/llama_build.log" 2>&1 || { tail -30 "$logs/llama_build.log"; exit 1; }
fi

if [ "${REGEN:-0}" = 1 ] || [ ! -f "$model" ]; then
  step "random GGUF ($shape)" "${T_GEN:-240}" python3 bench/peer/random_gguf.py --shape "$shape" "$model" ||
    { rm -f "$model.part"; exit 1; }
fi
ls -l "$model"

echo "== llama.cpp ($(basename "${tarball:-prebuilt}")): llama-bench ${llama_args[*]} -fa 1 -p $p -n $n -d 0,$p,$depth"
step "llama-bench" "${T_BENCH:-180}" "$llama_bench" -m "$model" "${llama_args[@]}" -fa 1 -p "$p" -n "$n" \
  -d "0,$p,$depth" -r "$reps" -o jsonl > "$logs/llama.jsonl" 2> "$logs/llama.err" ||
  tail -20 "$logs/llama.err"

export LD_LIBRARY_PATH="/opt/fluxdeps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
for weights in native auto; do
  echo "== fluxscope --backend $backend --weights $weights: -p $p,$depth -n $n --roofline (all-FA, no router)"
  step "fluxscope $weights" "${T_BENCH:-180}" "$cli" bench -m "$model" --backend "$backend" --router none --route fa \
    --weights "$weights" -c $((depth + n + 128)) -p "$p,$depth" -n "$n" -r "$reps" --roofline -o jsonl > "$logs/flux_$weights.jsonl" \
    2> "$logs/flux_$weights.err" || tail -20 "$logs/flux_$weights.err"
  grep -i "bandwidth" "$logs/flux_$weights.err" | head -1
done

python3 - "$logs" "$model" "$backend" <<'EOF'
import json, os, sys
logs, model, backend = sys.argv[1:4]

def rows(name):
    path = os.path.join(logs, name)
    out = {}
    if not os.path.exists(path):
        return out
    for line in open(path):
        line = line.strip()
        if not line.startswith("{"):
            continue
        r = json.loads(line)
        key = ("pp", r["n_prompt"], r["n_depth"]) if r["n_gen"] == 0 else ("tg", r["n_gen"], r["n_depth"])
        out[key] = r
    return out

peer, native, bf16 = rows("llama.jsonl"), rows("flux_native.jsonl"), rows("flux_auto.jsonl")
any_row = next(iter(native.values()), None) or next(iter(peer.values()), None)
print(f"\n## {os.path.basename(model)} ({any_row['model_size'] / 1e9:.2f} GB, "
      f"{any_row['model_n_params'] / 1e9:.2f} B params), {backend}" if any_row else "\n## no results")
print("| test | llama.cpp t/s | ours Q4_K t/s | ours bf16 t/s | llama.cpp ms/tok | ours Q4_K ms/tok | Q4_K roofline ms "
      "| Q4_K / roofline | bf16 ms/tok | bf16 roofline ms | llama.cpp time / ours Q4_K |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
fmt = lambda v, spec=".2f", unit="": "-" if v is None else format(v, spec) + unit
for key in sorted(set(peer) | set(native) | set(bf16), key=lambda k: (k[0] != "pp", k[2], k[1])):
    kind, count, depth = key
    l, q, b = peer.get(key), native.get(key), bf16.get(key)
    ts = lambda r: r["avg_ts"] if r else None
    ms = lambda r: 1000.0 / r["avg_ts"] if r and kind == "tg" and r["avg_ts"] > 0 else None
    roof = lambda r: r.get("roofline_ms_per_token") if r else None
    per_tok = ms(l), ms(q), ms(b)
    over = per_tok[1] / roof(q) if per_tok[1] and roof(q) else None
    speedup = ts(q) / ts(l) if ts(q) and ts(l) else None
    name = f"{kind}{count}" + (f" @ d{depth}" if depth else "")
    print(f"| {name} | {fmt(ts(l))} | {fmt(ts(q))} | {fmt(ts(b))} | {fmt(per_tok[0], '.3f')} | "
          f"{fmt(per_tok[1], '.3f')} | {fmt(roof(q), '.3f')} | {fmt(over, '.2f', 'x')} | {fmt(per_tok[2], '.3f')} | "
          f"{fmt(roof(b), '.3f')} | {fmt(speedup, '.2f', 'x')} |")
print("\nllama.cpp: llama-bench -fa 1 (its tg @ dN decodes after an N-token context, pp @ dN prefills on top of one); "
      "ours: fluxscope-cli bench, all-FA, tgN @ dN = N decode steps after the N-token prefill. Roofline = bytes read "
      "per token / the device copy bandwidth measured in the same process.")
EOF
exit $status
