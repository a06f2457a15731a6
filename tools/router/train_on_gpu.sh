#!/usr/bin/env bash
# Run on the GPU machine from the repo root, after tools/gpu/build.sh built build-gpu/ and assembled the demo GGUF:
# converts the demo model to an HF directory, trains Flux-family Layer Routers (train_router.py) — VARIANTS runs side
# by side on the one GPU (a 135M model leaves it mostly idle) —, picks one by the rule below on the trainer's own
# validation split, and writes the held-out sweep set. $OUT receives per variant <name>/{router, log, console,
# best-fixed/}, the chosen router as SmolLM2-135M-Instruct.router.safetensors (+ its best-fixed/ route files) and
# eval_tasks.jsonl. Usage: tools/router/train_on_gpu.sh [train_router.py args for every variant]
# Pick rule (validation prompts, teacher-forced): needle accuracy ≥ 0.95 × all-FA's and needle SA fraction ≤ 0.40,
# then the highest robust SA fraction; if none qualifies, the highest needle accuracy.
set -euo pipefail
out=${OUT:-out/router}
mkdir -p "$out"
export LD_LIBRARY_PATH="/opt/fluxdeps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
hf=/root/smol-hf
[ -f "$hf/model.safetensors" ] || build-gpu/app/fluxscope-cli convert -m models/SmolLM2-135M-Instruct.Q4_1.gguf --to safetensors "$hf"
budget=${BUDGET_S:-400}
# Round 4 (five filler styles, router_fillers.py) shipped l5n15s0, picked as the highest needle accuracy since none
# qualified; round 3 shipped l5n10. Since round 3: multipliers started at 0.5 (the authors' reset_parameters), needle targets
# below the 0.40 bar, since held-out needle prompts came out ~0.15 above the validation split's SA fraction.
VARIANTS=${VARIANTS:-"l5n10:--seed 1 --lambda-init 0.5 --target-needle 0.10|l5n15s0:--seed 0 --lambda-init 0.5 --target-needle 0.15|l25n15:--seed 1 --lambda-init 0.25 --target-needle 0.15"}
IFS='|' read -ra variants <<< "$VARIANTS"
pids=()
for v in "${variants[@]}"; do
  name=${v%%:*} args=${v#*:}
  mkdir -p "$out/$name"
  # shellcheck disable=SC2086
  python3 tools/router/train_router.py --model "$hf" --out "$out/$name/router.safetensors" \
    --log "$out/$name/train_log.json" --model-name SmolLM2-135M-Instruct --steps 800 --time-budget-s "$budget" \
    $args "$@" > "$out/$name/train.txt" 2>&1 &
  pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
python3 tools/router/make_eval_set.py "$out/eval_tasks.jsonl" --tokenizer "$hf" --per-cell 3 --robust 28
python3 - "$out" "${variants[@]}" <<'PY'
import json, os, shutil, sys
out, names = sys.argv[1], [v.split(":", 1)[0] for v in sys.argv[2:]]
rows = []
for n in names:
    path = os.path.join(out, n, "train_log.json")
    if not os.path.exists(path):
        print(f"{n}: no log (see {n}/train.txt)")
        continue
    s = json.load(open(path))
    e = s["eval"]
    r = {"name": n, "steps": s["steps_done"], "s": s["total_seconds"],
         "needle_fa": e["needle/fa"]["accuracy"], "needle": e["needle/hard"]["accuracy"],
         "needle_sa": e["needle/hard"]["sa_fraction"], "robust": e["robust/hard"]["accuracy"],
         "robust_sa": e["robust/hard"]["sa_fraction"], "needle_allsa": e["needle/sa"]["accuracy"]}
    r["ok"] = r["needle"] >= 0.95 * r["needle_fa"] and r["needle_sa"] <= 0.40
    rows.append(r)
    print(f"{n}: {r['steps']} steps, {r['s']} s | needle FA {r['needle_fa']:.2f} all-SA {r['needle_allsa']:.2f} "
          f"router {r['needle']:.2f} at SA {r['needle_sa']:.2f} | robust router {r['robust']:.2f} at SA "
          f"{r['robust_sa']:.2f} | {'qualifies' if r['ok'] else 'does not qualify'}")
if rows:
    ok = [r for r in rows if r["ok"]]
    best = max(ok, key=lambda r: r["robust_sa"]) if ok else max(rows, key=lambda r: r["needle"])
    print(f"chosen: {best['name']}" + ("" if ok else " (none qualified: highest needle accuracy)"))
    shutil.copy(os.path.join(out, best["name"], "router.safetensors"),
                os.path.join(out, "SmolLM2-135M-Instruct.router.safetensors"))
    shutil.copytree(os.path.join(out, best["name"], "best-fixed"), os.path.join(out, "best-fixed"), dirs_exist_ok=True)
    with open(os.path.join(out, "chosen.txt"), "w") as f:
        f.write(best["name"] + "\n")
PY
exit $status
