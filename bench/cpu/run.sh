#!/usr/bin/env bash
# The CPU engine next to llama.cpp's CPU build on the demo model: same GGUF file, same thread counts, the machine idle
# and with one core kept busy by `yes`; then all-FA vs all-SA streaming vs the router's prefill on one prompt.
# Prints markdown tables (for bench/RESULTS.md); logs and JSON go to $OUT (default out/bench-cpu).
#   CLI=path/fluxscope-cli (default: the first of build, build-lead, build-h4 that has one)
#   THREADS="1 2"  PROMPTS=512,4096  NGEN=64  REPS=1  SA_PROMPTS=4096,8192  SA_THREADS=2  LOADS="idle busy"
#   (LOADS= skips the side-by-side table, SA_PROMPTS= the route comparison)
#   ISA=avx2   both engines as on a CPU without AVX-512: ours with FLUX_CPU_ISA=avx2 and OpenBLAS's Haswell kernels
#              (OPENBLAS_CORETYPE), llama.cpp's LLAMA_VARIANT=avx2 build (bench/cpu/llama_cpp_cpu.sh)
# llama.cpp comes from bench/cpu/llama_cpp_cpu.sh (built outside the repo on first use). About 10 minutes on 2 quiet
# cores with the defaults; every number depends on what else runs, so the tables name the idle cores seen.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
model=${MODEL:-$root/models/SmolLM2-135M-Instruct.Q4_1.gguf}
out=${OUT:-$root/out/bench-cpu}
threads=${THREADS:-1 2}
prompts=${PROMPTS:-512,4096}
ngen=${NGEN:-64}
reps=${REPS:-1}
sa_prompts=${SA_PROMPTS-4096,8192}
sa_threads=${SA_THREADS:-2}
loads=${LOADS-idle busy}
cli=${CLI:-}
isa=${ISA:-native}
case $isa in
  native) ;;
  avx2) export FLUX_CPU_ISA=avx2 OPENBLAS_CORETYPE=Haswell LLAMA_VARIANT=avx2 ;;
  *) echo "ISA=$isa: use native or avx2" >&2; exit 1 ;;
esac
for b in build build-lead build-h4; do [ -z "$cli" ] && [ -x "$root/$b/app/fluxscope-cli" ] && cli=$root/$b/app/fluxscope-cli; done
[ -x "$cli" ] || { echo "no fluxscope-cli (set CLI=)" >&2; exit 1; }
[ -f "$model" ] || { echo "no model $model" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time missing: apt-get install time" >&2; exit 1; }
llama=$(bash "$root/bench/cpu/llama_cpp_cpu.sh")
mkdir -p "$out"
commit=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- engine app 2>/dev/null || echo "+local changes")
busy_pid=
stop_busy() {
  if [ -n "$busy_pid" ]; then kill "$busy_pid" 2>/dev/null || true; wait "$busy_pid" 2>/dev/null || true; fi
  busy_pid=
}
trap stop_busy EXIT
idle_cores() {  # idle core-equivalents over 0.5 s, from /proc/stat (what the machine had left for us)
  local a b; a=$(grep -E '^cpu ' /proc/stat); sleep 0.5; b=$(grep -E '^cpu ' /proc/stat)
  python3 -c "import sys;a=[int(x) for x in sys.argv[1].split()[1:]];b=[int(x) for x in sys.argv[2].split()[1:]];
d=[y-x for x,y in zip(a,b)];print('%.1f'%((d[3]+d[4])/max(1,sum(d))*$(nproc)))" "$a" "$b"
}
rss_mib() { awk '/Maximum resident set size/ {printf "%.0f", $NF/1024}' "$1"; }

rows=()
for load in $loads; do
  if [ "$load" = busy ]; then yes >/dev/null & busy_pid=$!; sleep 0.5; fi
  for t in $threads; do
    tag=${load}_t$t
    idle=$(idle_cores)
    /usr/bin/time -v -o "$out/ours_$tag.time" "$cli" bench -m "$model" -t "$t" -p "$prompts" -n "$ngen" -r "$reps" \
      --route fa --json "$out/ours_$tag.json" >"$out/ours_$tag.md" 2>"$out/ours_$tag.err"
    /usr/bin/time -v -o "$out/llama_pp_$tag.time" "$llama" -m "$model" -t "$t" -p "$prompts" -n 0 -r "$reps" -o json \
      >"$out/llama_pp_$tag.json" 2>"$out/llama_pp_$tag.err"
    /usr/bin/time -v -o "$out/llama_tg_$tag.time" "$llama" -m "$model" -t "$t" -p 0 -n "$ngen" -d "$prompts" \
      -r "$reps" -o json >"$out/llama_tg_$tag.json" 2>"$out/llama_tg_$tag.err"
    rss_ours=$(rss_mib "$out/ours_$tag.time")
    rss_llama=$(( $(rss_mib "$out/llama_pp_$tag.time") > $(rss_mib "$out/llama_tg_$tag.time") ?
                  $(rss_mib "$out/llama_pp_$tag.time") : $(rss_mib "$out/llama_tg_$tag.time") ))
    rows+=("$(python3 - "$out" "$tag" "$load" "$t" "$idle" "$rss_ours" "$rss_llama" "$prompts" <<'PY'
import json, sys
out, tag, load, t, idle, rss_ours, rss_llama, prompts = sys.argv[1:]
ps = [int(p) for p in prompts.split(',')]
ours = {r['n_prompt']: r for r in json.load(open(f'{out}/ours_{tag}.json'))['rows']}
pp = {r['n_prompt']: r['avg_ts'] for r in json.load(open(f'{out}/llama_pp_{tag}.json'))}
tg = {r['n_depth']: r['avg_ts'] for r in json.load(open(f'{out}/llama_tg_{tag}.json'))}
def cell(a, b): return f'{a:.1f} / {b:.1f} ({a / b:.2f}x)' if b else f'{a:.1f} / -'
cells = [cell(ours[p]['prefill_tok_s'], pp.get(p, 0)) for p in ps]
cells += [cell(ours[p]['decode_tok_s'], tg.get(p, 0)) for p in ps]
cells.append(f'{rss_ours} / {rss_llama} ({int(rss_ours) / int(rss_llama):.2f}x)')
print(f'| {load} | {t} | {idle} | ' + ' | '.join(cells) + ' |')
PY
)")
  done
  stop_busy
done
IFS=, read -ra plist <<<"$prompts"
if [ -n "$loads" ]; then
head="| load | threads | idle cores before |"; sep="|---|---:|---:|"
for p in "${plist[@]}"; do head+=" prefill $p tok/s |"; sep+="---:|"; done
for p in "${plist[@]}"; do head+=" decode after $p tok/s |"; sep+="---:|"; done
head+=" peak RSS MiB |"; sep+="---:|"
echo "## ours / llama.cpp ($(basename "$model"), $isa, route fa, $ngen decode steps, $reps rep(s); tree $commit at start)"
echo "$head"; echo "$sep"; printf '%s\n' "${rows[@]}"
echo
fi
[ -n "$sa_prompts" ] || exit 0
echo "idle: $(idle_cores) cores before the FA/SA/router prefill runs ($sa_threads threads, $isa)"
echo "| route | $(echo "$sa_prompts" | sed 's/,/ | /g') | SA layers | attention ms |"
echo "|---|$(echo "$sa_prompts" | sed 's/[^,]*/---:/g; s/,/|/g')|---:|---:|"
for route in fa "sa sink=128 window=512" router; do
  name=${route%% *}
  "$cli" bench -m "$model" -t "$sa_threads" -p "$sa_prompts" -n 0 -r 1 -w 0 --route "$route" \
    --json "$out/route_$name.json" >"$out/route_$name.md" 2>"$out/route_$name.err"
  python3 - "$out/route_$name.json" "$route" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
rows = d['rows']
ms = ' | '.join(f"{sum(r['prefill_ms']) / len(r['prefill_ms']) / 1000:.1f} s" for r in rows)
sa = ', '.join(f"{r['sa_layers']}/{d['n_layers']}" for r in rows)
att = ', '.join(f"{sum(r['attention_ms']) / len(r['attention_ms']):.0f}" for r in rows)
print(f"| {sys.argv[2]} | {ms} | {sa} | {att} |")
PY
done
