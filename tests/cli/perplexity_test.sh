#!/usr/bin/env bash
# `fluxscope-cli perplexity` on the demo model (CPU; the tiny test models have no usable tokenizer): one table line per route, finite perplexity
# > 1, the JSON parses and agrees with itself (perplexity = exp(nll / tokens), bits = nll / tokens / ln 2, second-half
# scoring counts), the SA fraction per route, chunking, first-k:match at a forced router's fraction; and clear errors
# with exit status 1 for a missing file, an empty file, a text under 2 tokens, an unknown route.
# Usage: perplexity_test.sh CLI DEMO_MODEL
set -u
# shellcheck source=tests/cli/test_lib.sh
source "$(dirname "$0")/test_lib.sh"

write_router "$tmp/router.safetensors" 30 "l % 2 == 0"  # even layers SA, odd FA

for i in $(seq 1 12); do printf 'The river %d flows past the old mill and the green fields to the sea. ' "$i"; done > "$tmp/text.txt"
sa="--sink 16 --window 32 --block 16"
if ! "$cli" perplexity -m "$model" --backend cpu -t 2 -f "$tmp/text.txt" --router "$tmp/router.safetensors" $sa \
    --routes fa,router,sa:streaming,first-k:15,first-k:match --chunk 100 --json "$tmp/out.json" --csv "$tmp/out.csv" \
    > "$tmp/table.md" 2> "$tmp/log"; then
  fail "perplexity run: $(tail -3 "$tmp/log")"
fi
python3 - "$tmp/out.json" "$tmp/out.csv" "$tmp/table.md" <<'PY' || failures=$((failures + 1))
import csv, json, math, sys
errors = []
def check(cond, what):
    if not cond: errors.append(what)
doc = json.load(open(sys.argv[1]))
routes = {r["route"]: r for r in doc["routes"]}
check(list(routes) == ["fa", "router", "sa:streaming", "first-k:15", "first-k:match"], f"routes {list(routes)}")
check(doc["chunk"] == 100 and doc["text_tokens"] > 200, f"chunk {doc['chunk']}, text tokens {doc['text_tokens']}")
n_chunks = doc["chunks"]
check(n_chunks == math.ceil(doc["text_tokens"] / 100) or n_chunks == math.ceil(doc["text_tokens"] / 99),
      f"{n_chunks} chunks for {doc['text_tokens']} tokens")
for name, r in routes.items():
    check(math.isfinite(r["perplexity"]) and r["perplexity"] > 1, f"{name}: perplexity {r['perplexity']}")
    mean = r["nll_sum"] / r["tokens_scored"]
    check(abs(r["perplexity"] - math.exp(mean)) < 1e-6 * r["perplexity"], f"{name}: perplexity != exp(nll/n)")
    check(abs(r["bits_per_token"] - mean / math.log(2)) < 1e-9, f"{name}: bits/token")
    # The second half of each chunk: about half the tokens, never more.
    check(0.4 * r["tokens_prefilled"] < r["tokens_scored"] <= 0.5 * r["tokens_prefilled"] + n_chunks,
          f"{name}: {r['tokens_scored']} scored of {r['tokens_prefilled']}")
    check(r["prefill_ms"] > 0 and len(r["chunk_sa_fraction"]) == n_chunks, f"{name}: prefill / chunks")
check(routes["fa"]["sa_fraction"] == 0 and routes["sa:streaming"]["sa_fraction"] == 1, "fa / sa fractions")
check(abs(routes["router"]["sa_fraction"] - 0.5) < 1e-9, f"router SA {routes['router']['sa_fraction']}")
check(abs(routes["first-k:15"]["sa_fraction"] - 0.5) < 1e-9, "first-k:15 on 30 layers: 15 SA")
check(abs(doc["router_sa_fraction"] - 0.5) < 1e-9, "router_sa_fraction")
check(routes["first-k:match"]["spec"].startswith("first-k:15"), f"first-k:match spec {routes['first-k:match']['spec']}")
check(routes["first-k:match"]["sa_layers"] == list(range(15, 30)), f"first-k:match layers {routes['first-k:match']['sa_layers']}")
check(routes["first-k:match"]["nll_sum"] == routes["first-k:15"]["nll_sum"], "first-k:match runs first-k:15")
check(routes["sa:streaming"]["nll_sum"] != routes["fa"]["nll_sum"], "a 32-token window must change the scores")
rows = list(csv.DictReader(open(sys.argv[2])))
check([r["route"] for r in rows] == list(routes), "CSV rows")
table = [l for l in open(sys.argv[3]) if l.startswith("| ") and not l.startswith("| route |")]
check(len(table) == 5, f"{len(table)} table lines, want one per route: {table}")
for e in errors: print("FAIL", e)
sys.exit(1 if errors else 0)
PY

# random:match in perplexity too: S distinct sets, a spread in the JSON.
if "$cli" perplexity -m "$model" --backend cpu -t 2 -f "$tmp/text.txt" --router "$tmp/router.safetensors" $sa \
    --routes router,random:match --random-seeds 3 --max-tokens 150 --json "$tmp/random.json" > /dev/null 2> "$tmp/log"; then
  python3 - "$tmp/random.json" <<'PY' || failures=$((failures + 1))
import json, sys
doc = json.load(open(sys.argv[1]))
seeds = [r for r in doc["routes"] if r["group"] == "random:match"]
ok = len(seeds) == 3 and len({tuple(r["sa_layers"]) for r in seeds}) == 3 and all(len(r["sa_layers"]) == 15 for r in seeds)
ok = ok and doc["text_tokens"] == 150 and doc["groups"]["random:match"]["perplexity"]["n"] == 3
print("ok   random:match" if ok else f"FAIL random:match {[r['sa_layers'] for r in seeds]} {doc.get('groups')}")
sys.exit(0 if ok else 1)
PY
else
  fail "random:match run: $(tail -3 "$tmp/log")"
fi

: > "$tmp/empty.txt"
printf '   \n' > "$tmp/blank.txt"
printf 'a' > "$tmp/one.txt"
run=(perplexity -m "$model" --backend cpu --router none)
expect_error "missing file" "nope.txt" "cannot open" -- "${run[@]}" -f "$tmp/nope.txt" --routes fa
expect_error "empty file" "is empty" -- "${run[@]}" -f "$tmp/empty.txt" --routes fa
expect_error "blank file" "is empty" -- "${run[@]}" -f "$tmp/blank.txt" --routes fa
expect_error "one token" "at least 2" -- "${run[@]}" -f "$tmp/one.txt" --routes fa
expect_error "unknown route" "unknown route 'dense'" -- "${run[@]}" -f "$tmp/text.txt" --routes fa,dense
expect_error "unknown SA kind" "sa:sparse" -- "${run[@]}" -f "$tmp/text.txt" --routes sa:sparse
expect_error "router without a router" "needs a router" -- "${run[@]}" -f "$tmp/text.txt" --routes router
expect_error "match without router" "add 'router'" -- "${run[@]}" -f "$tmp/text.txt" --routes fa,first-k:match
expect_error "chunk over the context" "--chunk" -- "${run[@]}" -f "$tmp/text.txt" --routes fa -c 64 --chunk 100

finish perplexity
