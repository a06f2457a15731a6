#!/usr/bin/env bash
# `fluxscope-cli sweep` on the demo model (CPU): a 3-task JSONL under fa, sa:streaming and router (a bias-forced
# router: even layers SA, odd FA, written here without numpy). Checks the JSON/CSV structure, SA fractions per route,
# answer scoring on crafted cases, and clear errors for a bad line, an unknown route and a prompt over the context.
# Usage: sweep_test.sh CLI DEMO_MODEL
set -u
# shellcheck source=tests/cli/test_lib.sh
source "$(dirname "$0")/test_lib.sh"

write_router "$tmp/router.safetensors" 30 "l % 2 == 0"  # even layers SA, odd FA

haystack="The grass is green. The sky is blue. The sun is warm. The river flows to the sea."
cat > "$tmp/tasks.jsonl" <<JSONL
{"id": "needle-a", "kind": "needle", "task": "passkey", "context_tokens": 64, "depth": 0.5, "messages": [{"role": "user", "content": "$haystack The capital of France is Paris. $haystack What is the capital of France? Answer with one word."}], "answer": " PARIS "}
{"id": "needle-b", "kind": "needle", "task": "passkey", "context_tokens": 64, "depth": 0.0, "messages": [{"role": "user", "content": "What is the capital of France? Answer with one word."}], "answer": "zebra-quartz-9"}

{"id": "robust-a", "kind": "robust", "task": "continue, list", "context_tokens": 32, "depth": null, "messages": [{"role": "user", "content": "Continue the list: red, orange, yellow,"}], "answer": "green"}
JSONL

if ! "$cli" sweep -m "$model" --backend cpu -t 2 --tasks "$tmp/tasks.jsonl" --router "$tmp/router.safetensors" \
    --routes fa,sa:streaming,router -n 12 --out "$tmp/out.json" --csv "$tmp/out.csv" > "$tmp/table.md" 2> "$tmp/log"; then
  fail "sweep run: $(tail -3 "$tmp/log")"
fi
python3 - "$tmp/out.json" "$tmp/out.csv" "$tmp/table.md" <<'PY' || failures=$((failures + 1))
import csv, json, sys
doc = json.load(open(sys.argv[1]))
errors = []
def check(cond, what):
    if not cond: errors.append(what)
for key in ("model", "backend", "router", "routes", "n_predict", "summary", "needle_grid", "results"):
    check(key in doc, f"missing key {key}")
check(doc["routes"] == ["fa", "sa:streaming", "router"], f"routes {doc['routes']}")
check(doc["router"].endswith("router.safetensors"), f"router {doc['router']}")
res = doc["results"]
check(len(res) == 9, f"{len(res)} results, want 3 tasks x 3 routes")
for r in res:
    for key in ("id", "kind", "task", "context_tokens", "depth", "route", "answer", "output", "correct", "sa_fraction",
                "prefill_ms", "decode_ms_per_token", "modes", "router_fa_probs", "prompt_tokens"):
        check(key in r, f"result misses {key}")
    check(len(r["modes"]) == 30 and len(r["router_fa_probs"]) == 30, f"{r['id']}/{r['route']}: per-layer lists")
    check(r["prefill_ms"] > 0, f"{r['id']}/{r['route']}: prefill_ms {r['prefill_ms']}")
    if r["route"] == "fa":
        check(r["sa_fraction"] == 0 and set(r["modes"]) == {"F"}, f"fa: sa_fraction {r['sa_fraction']}")
        check(all(p is None for p in r["router_fa_probs"]), "fa: router_fa_probs must be null")
    if r["route"] == "sa:streaming":
        check(r["sa_fraction"] == 1 and set(r["modes"]) == {"S"}, f"sa:streaming: sa_fraction {r['sa_fraction']}")
    if r["route"] == "router":
        check(r["modes"] == "SF" * 15, f"router: modes {r['modes']}")
        check(abs(r["sa_fraction"] - 0.5) < 1e-9, f"router: sa_fraction {r['sa_fraction']}")
        check(all(p is not None for p in r["router_fa_probs"]), "router: router_fa_probs must be numbers")
by = {(r["id"], r["route"]): r for r in res}
# Scoring: case-insensitive, trimmed containment of the answer in the output.
fa_a = by[("needle-a", "fa")]
check(fa_a["correct"] == ("paris" in fa_a["output"].lower()), f"needle-a scored {fa_a['correct']} for {fa_a['output']!r}")
check(fa_a["correct"], f"needle-a under fa should answer Paris: {fa_a['output']!r}")
check(not by[("needle-b", "fa")]["correct"], "an answer the model cannot produce must score false")
check(by[("needle-b", "fa")]["depth"] == 0.0 and by[("robust-a", "fa")]["depth"] is None, "depth values")
summ = {(s["kind"], s["route"]): s for s in doc["summary"]}
check(set(summ) == {(k, r) for k in ("needle", "robust") for r in ("fa", "sa:streaming", "router")}, f"summary keys {set(summ)}")
for (kind, route), s in summ.items():
    rows = [r for r in res if r["kind"] == kind and r["route"] == route]
    check(s["n"] == len(rows), f"summary n {kind}/{route}")
    check(abs(s["accuracy"] - sum(r["correct"] for r in rows) / len(rows)) < 1e-9, f"summary accuracy {kind}/{route}")
    check(abs(s["sa_fraction"] - sum(r["sa_fraction"] for r in rows) / len(rows)) < 1e-9, f"summary sa {kind}/{route}")
grid = {(g["route"], g["context_tokens"], g["depth"]): g for g in doc["needle_grid"]}
check(set(grid) == {(r, 64, d) for r in ("fa", "sa:streaming", "router") for d in (0.0, 0.5)}, f"grid keys {set(grid)}")
check(grid[("fa", 64, 0.0)]["accuracy"] == 0.0, "grid: the impossible answer at depth 0")
rows = list(csv.DictReader(open(sys.argv[2])))
check(len(rows) == 9, f"{len(rows)} CSV rows")
check(any(r["task"] == "continue, list" for r in rows), "CSV must quote a task with a comma")
table = open(sys.argv[3]).read()
check("| kind | route |" in table and "needle accuracy, route router" in table, "summary table / grid printed")
for e in errors: print("FAIL", e)
sys.exit(1 if errors else 0)
PY

printf '%s\n' "$(head -1 "$tmp/tasks.jsonl")" '{"id": "x", "kind": "needle"' > "$tmp/bad-json.jsonl"
printf '%s\n' '{"id": "x", "kind": "haystack", "messages": [{"role": "user", "content": "hi"}], "answer": "a"}' > "$tmp/bad-kind.jsonl"
printf '%s\n' '{"id": "x", "kind": "robust", "messages": [{"role": "user", "content": "hi"}]}' > "$tmp/no-answer.jsonl"
long=$(printf 'word %.0s' $(seq 1 200))
printf '{"id": "long", "kind": "robust", "messages": [{"role": "user", "content": "%s"}], "answer": "a"}\n' "$long" > "$tmp/long.jsonl"
expect_error "bad JSON line" "line 2" -- sweep -m "$model" --backend cpu --tasks "$tmp/bad-json.jsonl" --routes fa
expect_error "unknown kind" "line 1" "needle or robust" -- sweep -m "$model" --backend cpu --tasks "$tmp/bad-kind.jsonl" --routes fa
expect_error "missing answer" "line 1" "answer" -- sweep -m "$model" --backend cpu --tasks "$tmp/no-answer.jsonl" --routes fa
expect_error "unknown route" "unknown route 'dense'" -- sweep -m "$model" --backend cpu --tasks "$tmp/tasks.jsonl" --routes fa,dense
expect_error "unknown SA kind" "sa:sparse" -- sweep -m "$model" --backend cpu --tasks "$tmp/tasks.jsonl" --routes sa:sparse
expect_error "router route without a router" "needs a router" -- sweep -m "$model" --backend cpu --router none --tasks "$tmp/tasks.jsonl" --routes router
expect_error "prompt over the context" "line 1" "long" "context" -- sweep -m "$model" --backend cpu -c 128 --tasks "$tmp/long.jsonl" --routes fa
expect_error "missing task file" "cannot open" -- sweep -m "$model" --backend cpu --tasks "$tmp/nope.jsonl" --routes fa

finish sweep
