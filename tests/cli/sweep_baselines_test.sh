#!/usr/bin/env bash
# `fluxscope-cli sweep` baselines on the demo model (CPU): with a bias-forced router (even layers SA: fraction 0.5),
# first-k:match runs first-k:15, random:match makes S distinct sets of 15 SA layers (the layers that ran SA are those
# sets), --route-file and --named-router add named routes (another forced router runs its own decisions), and the
# JSON's route summary (accuracy mean/std over seeds) and margins agree with the per-task results. Clear errors for
# a matched route without 'router', a name taken by a preset, a router file that does not fit.
# Usage: sweep_baselines_test.sh CLI DEMO_MODEL
set -u
# shellcheck source=tests/cli/test_lib.sh
source "$(dirname "$0")/test_lib.sh"

write_router "$tmp/router.safetensors" 30 "l % 2 == 0"
write_router "$tmp/other.safetensors" 30 "l < 10"
write_router "$tmp/small.safetensors" 12 "l < 3"
echo '{"spec": "fa override=0-4=SA"}' > "$tmp/best.json"

haystack="The grass is green. The sky is blue. The sun is warm."
cat > "$tmp/tasks.jsonl" <<JSONL
{"id": "needle-a", "kind": "needle", "task": "passkey", "context_tokens": 64, "depth": 0.5, "messages": [{"role": "user", "content": "$haystack The capital of France is Paris. $haystack What is the capital of France? Answer with one word."}], "answer": "paris"}
{"id": "needle-b", "kind": "needle", "task": "passkey", "context_tokens": 64, "depth": 0.0, "messages": [{"role": "user", "content": "What is the capital of France? Answer with one word."}], "answer": "zebra-quartz-9"}
{"id": "robust-a", "kind": "robust", "task": "continue", "context_tokens": 32, "depth": null, "messages": [{"role": "user", "content": "Continue the list: red, orange, yellow,"}], "answer": "green"}
JSONL

if ! "$cli" sweep -m "$model" --backend cpu -t 2 --tasks "$tmp/tasks.jsonl" --router "$tmp/router.safetensors" \
    --routes router,fa,first-k:match,random:match --random-seeds 3 --route-file "best=$tmp/best.json" \
    --named-router "other=$tmp/other.safetensors" -n 4 --out "$tmp/out.json" > "$tmp/table.md" 2> "$tmp/log"; then
  fail "sweep run: $(tail -3 "$tmp/log")"
fi
python3 - "$tmp/out.json" "$tmp/table.md" <<'PY' || failures=$((failures + 1))
import json, statistics, sys
doc = json.load(open(sys.argv[1]))
errors = []
def check(cond, what):
    if not cond: errors.append(what)
seeds = ["random:match#1", "random:match#2", "random:match#3"]
want_routes = ["router", "fa", "best", "other", "first-k:match"] + seeds
check(doc["routes"] == want_routes, f"routes {doc['routes']}")
m = doc["match"]
check(m["router_sa_fraction"] == 0.5 and m["sa_layers"] == 15 and m["n_layers"] == 30, f"match {m}")
sets = m["layer_sets"]
check(sets["first-k:match"] == list(range(15, 30)), f"first-k:match set {sets['first-k:match']}")
check(len({tuple(sets[s]) for s in seeds}) == 3, "random sets must differ")
check(all(len(sets[s]) == 15 and len(set(sets[s])) == 15 for s in seeds), "15 distinct SA layers per set")
res = doc["results"]
check(len(res) == 3 * len(want_routes), f"{len(res)} results")
def modes_of(layers): return "".join("S" if l in layers else "F" for l in range(30))
for r in res:
    name = r["route"]
    if name in sets: check(r["modes"] == modes_of(sets[name]), f"{r['id']}/{name}: modes {r['modes']}")
    if name == "router": check(r["modes"] == "SF" * 15, f"router modes {r['modes']}")
    if name == "best": check(r["modes"] == "S" * 5 + "F" * 25, f"best modes {r['modes']}")
    if name == "other":
        check(r["modes"] == "S" * 10 + "F" * 20, f"other modes {r['modes']}")
        check(all(p is not None for p in r["router_fa_probs"]), "other: the named router ran")
    check(r["group"] == ("random:match" if name in seeds else name), f"group of {name}")
acc = {}
for r in res: acc.setdefault((r["route"], r["kind"]), []).append(r["correct"])
mean = lambda v: sum(v) / len(v)
summ = {s["route"]: s for s in doc["route_summary"]}
check(list(summ) == ["router", "fa", "best", "other", "first-k:match", "random:match"], f"route summary {list(summ)}")
rnd = summ["random:match"]
check(rnd["members"] == seeds, "random:match members")
for kind in ("needle", "robust"):
    per_seed = [mean(acc[(s, kind)]) for s in seeds]
    sp = rnd["spread"][kind]
    check(abs(sp["mean"] - mean(per_seed)) < 1e-9 and abs(sp["std"] - statistics.stdev(per_seed)) < 1e-9,
          f"random spread {kind}: {sp} vs {per_seed}")
    check(sp["min"] == min(per_seed) and sp["max"] == max(per_seed) and sp["n"] == 3, f"random min/max {kind}")
    for name in ("fa", "best", "first-k:match"):
        check(abs(summ[name]["accuracy"][kind] - mean(acc[(name, kind)])) < 1e-9, f"{name} accuracy {kind}")
check(abs(rnd["sa_fraction"] - 0.5) < 1e-9 and abs(summ["first-k:match"]["sa_fraction"] - 0.5) < 1e-9, "matched SA")
margins = {(x["baseline"], x["kind"]): x for x in doc["margins"]}
check(set(margins) == {(b, k) for b in ("fa", "best", "other", "first-k:match", "random:match") for k in ("needle", "robust")},
      f"margins {set(margins)}")
for (b, k), x in margins.items():
    if b == "random:match":
        per = [mean(acc[("router", k)]) - mean(acc[(s, k)]) for s in seeds]
        check(abs(x["margin"] - mean(per)) < 1e-9 and abs(x["std"] - statistics.stdev(per)) < 1e-9, f"margin {b} {k}")
    else:
        check(abs(x["margin"] - (mean(acc[("router", k)]) - mean(acc[(b, k)]))) < 1e-9 and "paired_se" in x, f"margin {b} {k}")
table = open(sys.argv[2]).read()
check("| random:match (3 seeds) |" in table and "router − random:match (needle accuracy):" in table, "printed comparison")
for e in errors: print("FAIL", e)
sys.exit(1 if errors else 0)
PY

run=(sweep -m "$model" --backend cpu --tasks "$tmp/tasks.jsonl" -n 2 --router "$tmp/router.safetensors")
expect_error "matched without router" "add 'router'" -- "${run[@]}" --routes fa,random:match
expect_error "name taken by a preset" "taken by a preset" -- "${run[@]}" --routes router --route-file "fa=$tmp/best.json"
expect_error "route file not JSON" "not a .json" -- "${run[@]}" --routes router --route-file "best=$tmp/best.txt"
expect_error "route file missing" "best-nope.json" -- "${run[@]}" --routes router --route-file "best=$tmp/best-nope.json"
expect_error "named router does not fit" "--named-router small=" "layers" -- "${run[@]}" --routes router --named-router "small=$tmp/small.safetensors"
expect_error "no NAME=" "NAME=PATH" -- "${run[@]}" --routes router --named-router "$tmp/other.safetensors"
expect_error "listed twice" "listed twice" -- "${run[@]}" --routes router,fa,fa

finish "sweep baselines"
