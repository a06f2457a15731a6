#!/usr/bin/env bash
# `bench` output formats on the demo model (CPU; the tiny test models carry no tokenizer, which the engine loads):
# -o json parses and has llama-bench's fields per test (pp16, tg2 @ d16), t/s consistent with samples_ns, one test
# pair per route of a --route list, SA layers per route (fa 0, sa:streaming all); -o jsonl / csv carry the same
# tests; --help shows defaults; bad formats and routes fail with a clear error. Usage: bench_output_test.sh CLI MODEL
set -u
# shellcheck source=tests/cli/test_lib.sh
source "$(dirname "$0")/test_lib.sh"

common=(bench -m "$model" --backend cpu -t 1 -p 16 -n 2 -r 2 -w 0 --route fa,sa:streaming)
for fmt in json jsonl csv md; do
  if ! timeout 300 "$cli" "${common[@]}" -o "$fmt" > "$tmp/out.$fmt" 2> "$tmp/err.$fmt"; then
    fail "bench -o $fmt: $(cat "$tmp/err.$fmt")"
  fi
done
python3 - "$tmp" <<'PY' || failures=$((failures + 1))
import csv, json, math, sys
tmp = sys.argv[1]
errors = []
def check(cond, what):
    if not cond:
        errors.append(what)
rows = json.load(open(f"{tmp}/out.json"))  # stdout is the JSON alone: the header went to stderr
llama_fields = ["model_filename", "model_type", "model_size", "model_n_params", "backends", "n_threads", "n_prompt",
                "n_gen", "n_depth", "test", "avg_ns", "stddev_ns", "avg_ts", "stddev_ts", "samples_ns", "samples_ts"]
ours = ["route", "sa_layers", "sa_fraction", "kv_bytes", "n_layers"]
check(isinstance(rows, list) and len(rows) == 4, f"4 rows (2 routes x pp, tg), got {len(rows)}")
for r in rows:
    for f in llama_fields + ours:
        check(f in r, f"{r.get('test')}: no field {f}")
check([(r["route"], r["test"]) for r in rows] ==
      [("fa", "pp16"), ("fa", "tg2 @ d16"), ("sa:streaming", "pp16"), ("sa:streaming", "tg2 @ d16")],
      f"routes and tests: {[(r.get('route'), r.get('test')) for r in rows]}")
for r in rows:
    pp = r["test"].startswith("pp")
    check((r["n_prompt"], r["n_gen"], r["n_depth"]) == ((16, 0, 0) if pp else (0, 2, 16)), f"{r['test']}: n_*")
    check(r["backends"] == "cpu" and r["n_threads"] == 1, f"{r['test']}: backend/threads")
    check(r["model_filename"].endswith(".gguf") and r["model_size"] > 0 and r["model_n_params"] > 1e8, "model fields")
    check(len(r["samples_ns"]) == 2 and len(r["samples_ts"]) == 2, f"{r['test']}: 2 samples")
    tokens = 16 if pp else 2
    for ns, ts in zip(r["samples_ns"], r["samples_ts"]):
        check(isinstance(ns, int) and ns > 0, "samples_ns are whole ns")
        check(math.isclose(ts, tokens * 1e9 / ns, rel_tol=1e-3), f"{r['test']}: t/s {ts} vs {tokens} tokens in {ns} ns")
    check(math.isclose(r["avg_ts"], sum(r["samples_ts"]) / 2, rel_tol=1e-9), "avg_ts is the mean of samples_ts")
    sd = abs(r["samples_ts"][0] - r["samples_ts"][1]) / math.sqrt(2)
    check(math.isclose(r["stddev_ts"], sd, rel_tol=1e-6, abs_tol=1e-9), f"stddev_ts {r['stddev_ts']} vs {sd}")
    want_sa = 0 if r["route"] == "fa" else r["n_layers"]
    check(r["sa_layers"] == want_sa and math.isclose(r["sa_fraction"], want_sa / r["n_layers"]), f"{r['route']}: SA")
    check(r["kv_bytes"] > 0, "kv_bytes")
    check(("attention_ms" in r) == pp, "attention_ms on pp rows only")
lines = [json.loads(l) for l in open(f"{tmp}/out.jsonl") if l.strip()]
check([(l["route"], l["test"]) for l in lines] == [(r["route"], r["test"]) for r in rows], "jsonl: same tests")
table = list(csv.DictReader(open(f"{tmp}/out.csv")))
check([(t["route"], t["test"]) for t in table] == [(r["route"], r["test"]) for r in rows], "csv: same tests")
check(all(float(t["avg_ts"]) > 0 for t in table), "csv: avg_ts")
md = open(f"{tmp}/out.md").read()
check("| model | size | params | backend | threads | route | test | t/s |" in md, "md: llama-bench columns")
check(md.count("| tg2 @ d16 |") == 2 and md.count("| pp16 |") == 2, "md: one line per test")
if errors:
    print("FAIL bench output: " + "; ".join(errors))
    sys.exit(1)
print("ok   bench -o json/jsonl/csv/md: llama-bench fields, two routes, t/s from the samples")
PY

# "--n-gen INT:NONNEGATIVE=32" or "--n-gen INT:>= 0=32": the validator's wording may change, the default must show.
help=$("$cli" bench --help)
for d in "--n-gen .*=32( |$)" "--output .*=md( |$)" "--prefill-chunk .*=16384( |$)"; do
  grep -Eq -- "$d" <<<"$help" || fail "bench --help shows no default '$d'"
done
"$cli" generate --help | grep -Eq -- "-n,--n-predict .*=128( |$)" || fail "generate --help shows no default -n"
"$cli" sweep --help | grep -Eq -- "-n,--n-predict .*=32( |$)" || fail "sweep --help shows no default -n"
"$cli" bench -m "$model" --backend cpu -t 1 -p 8 -n 0 -r 1 -w 0 --route fa -o jsonl -v --log-file "$tmp/log.txt" \
  > /dev/null 2> "$tmp/err.v" || fail "bench -v --log-file: $(cat "$tmp/err.v")"
grep -q '\[info\] loaded' "$tmp/err.v" || fail "-v: no info line on stderr"
grep -q '\[info\] loaded' "$tmp/log.txt" || fail "--log-file: no info line in the file"

"$cli" bench -o xml > /dev/null 2> "$tmp/err.xml" && fail "bench -o xml accepted"
grep -q "xml" "$tmp/err.xml" || fail "bench -o xml: error names no value: $(cat "$tmp/err.xml")"
expect_error "bench unknown SA kind" "sa:dense" "SA kinds" -- bench -m "$model" --backend cpu --route fa,sa:dense -p 8 -n 0
finish "bench output"
