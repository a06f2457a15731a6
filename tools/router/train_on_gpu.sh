#!/usr/bin/env bash
# Run on the GPU machine from the repo root, after tools/gpu/build.sh built build-gpu/ and assembled the demo GGUF:
# converts the demo model to an HF directory, prepares the data once (train_router.py --prepare: prompts kept where
# the frozen model answers right under FA, the layer ranking and the best-fixed route files), trains Flux-family Layer
# Routers from it — VARIANTS side by side on the one GPU (a 135M model leaves it mostly idle) —, picks one by the rule
# below on the trainer's own validation split, and writes the held-out sweep set meanwhile. $OUT receives
# prepare.txt, per variant <name>/{router.safetensors, train_log.json, train.txt}, the chosen router as
# SmolLM2-135M-Instruct.router.safetensors, best-fixed/, chosen.txt and eval_tasks.jsonl (data/ holds the shared
# prompts: large, not needed afterwards).
# Usage: tools/router/train_on_gpu.sh [train_router.py args for the preparation and every variant]
# Env: OUT (out/router), TOTAL_S (480: the whole script, conversion included; variants stop in time for it),
#      PREP_S (150: candidates are drawn until this many seconds into the preparation), VARIANTS.
# Pick rule (validation prompts, teacher-forced): needle accuracy ≥ 0.95 × all-FA's and needle SA fraction ≤ 0.40,
# then the highest robust SA fraction (within 0.02: the larger needle margin over the best fixed set at the router's
# needle share); if none qualifies, the highest needle accuracy, then the lower needle SA fraction.
set -euo pipefail
t0=$SECONDS
out=${OUT:-out/router}
mkdir -p "$out"
export LD_LIBRARY_PATH="/opt/fluxdeps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
hf=/root/smol-hf
[ -f "$hf/model.safetensors" ] || build-gpu/app/fluxscope-cli convert -m models/SmolLM2-135M-Instruct.Q4_1.gguf --to safetensors "$hf"
total=${TOTAL_S:-480}
# Round 5: one shared data set (≥ 400 kept training prompts, 64 + 48 validation, seven training fillers, contrast
# families), then two variants with the contrast families and one without as the control.
VARIANTS=${VARIANTS:-"c10:--seed 0 --lambda-init 0.5 --target-needle 0.10|c05:--seed 1 --lambda-init 0.5 --target-needle 0.05|n10:--seed 2 --lambda-init 0.5 --target-needle 0.10 --no-contrast"}
IFS='|' read -ra variants <<< "$VARIANTS"
python3 tools/router/train_router.py --model "$hf" --prepare "$out/data/data.json" --fixed-sets "$out/best-fixed" \
  --data-seed 5 --prepare-budget-s "${PREP_S:-150}" "$@" > "$out/prepare.txt" 2>&1 ||
  { tail -20 "$out/prepare.txt"; exit 1; }
tail -4 "$out/prepare.txt"
python3 tools/router/make_eval_set.py "$out/eval_tasks.jsonl" --tokenizer "$hf" --per-cell 3 --robust 28 \
  > "$out/eval_set.txt" 2>&1 &
eval_pid=$!
budget=$((total - (SECONDS - t0)))
echo "preparation done at $((SECONDS - t0)) s; each variant gets $budget s"
pids=()
for v in "${variants[@]}"; do
  name=${v%%:*} args=${v#*:}
  mkdir -p "$out/$name"
  # shellcheck disable=SC2086
  python3 tools/router/train_router.py --model "$hf" --data "$out/data/data.json" --out "$out/$name/router.safetensors" \
    --log "$out/$name/train_log.json" --model-name SmolLM2-135M-Instruct --steps 800 --time-budget-s "$budget" \
    $args "$@" > "$out/$name/train.txt" 2>&1 &
  pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
wait "$eval_pid" || status=1
cat "$out/eval_set.txt"
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
         "robust_sa": e["robust/hard"]["sa_fraction"], "needle_allsa": e["needle/sa"]["accuracy"],
         "fixed": e.get("needle/fixed", {}).get("accuracy", float("nan")), "k": e.get("fixed_k"),
         "n": e["needle/hard"]["n"], "n_robust": e["robust/hard"]["n"]}
    r["ok"] = r["needle"] >= 0.95 * r["needle_fa"] and r["needle_sa"] <= 0.40
    rows.append(r)
    print(f"{n}: {r['steps']} steps, {r['s']} s | needle ({r['n']}) FA {r['needle_fa']:.2f} all-SA "
          f"{r['needle_allsa']:.2f} router {r['needle']:.2f} at SA {r['needle_sa']:.2f}, best fixed k{r['k']} "
          f"{r['fixed']:.2f} | robust ({r['n_robust']}) router {r['robust']:.2f} at SA {r['robust_sa']:.2f} | "
          f"{'qualifies' if r['ok'] else 'does not qualify'}")
if rows:
    ok = [r for r in rows if r["ok"]]
    if ok:
        top = max(r["robust_sa"] for r in ok)
        best = max((r for r in ok if r["robust_sa"] >= top - 0.02), key=lambda r: r["needle"] - r["fixed"])
    else:
        best = max(rows, key=lambda r: (r["needle"], -r["needle_sa"]))
    print(f"chosen: {best['name']}" + ("" if ok else " (none qualified: highest needle accuracy)"))
    shutil.copy(os.path.join(out, best["name"], "router.safetensors"),
                os.path.join(out, "SmolLM2-135M-Instruct.router.safetensors"))
    with open(os.path.join(out, "chosen.txt"), "w") as f:
        f.write(best["name"] + "\n")
        f.write(json.dumps(best) + "\n")
PY
echo "done in $((SECONDS - t0)) s"
exit $status
