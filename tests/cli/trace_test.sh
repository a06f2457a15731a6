#!/usr/bin/env bash
# `generate --trace` on the demo model (CPU): the file follows the Trace Event Format (traceEvents of ph X/M, ts and
# dur in µs, pid/tid, args), one track per phase, and span by span equals the run's --report: a layer span per
# report layer (name, mode, SA kind, density, KV bytes, its prefill_ms as dur), its router / attention / rest parts
# inside it summing to it, a decode span per token after the first (its ms). Usage: trace_test.sh CLI DEMO_MODEL
set -u
# shellcheck source=tests/cli/test_lib.sh
source "$(dirname "$0")/test_lib.sh"

prompt="Summarize: the quick brown fox jumps over the lazy dog, again and again, until the dog wakes up and leaves."
if ! timeout 300 "$cli" generate -m "$model" --backend cpu -t 1 -n 4 -p "$prompt" --route router \
    --report "$tmp/r.json" --trace "$tmp/t.json" > /dev/null 2> "$tmp/err"; then
  fail "generate --trace: $(cat "$tmp/err")"
fi
python3 - "$tmp/r.json" "$tmp/t.json" <<'PY' || failures=$((failures + 1))
import json, math, sys
report, trace = (json.load(open(p)) for p in sys.argv[1:3])
errors = []
def check(cond, what):
    if not cond:
        errors.append(what)
def close(a, b):
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)
events = trace["traceEvents"]
check(trace.get("displayTimeUnit") == "ms", "displayTimeUnit")
for e in events:
    check(e.get("ph") in ("X", "M"), f"phase {e.get('ph')}")
    check(isinstance(e.get("pid"), int) and isinstance(e.get("tid"), int), f"{e.get('name')}: pid/tid")
    check(isinstance(e.get("name"), str) and isinstance(e.get("args"), dict), f"{e.get('name')}: name/args")
    if e["ph"] == "X":
        check(isinstance(e.get("ts"), (int, float)) and e["ts"] >= 0, f"{e['name']}: ts")
        check(isinstance(e.get("dur"), (int, float)) and e["dur"] >= 0, f"{e['name']}: dur")
threads = {e["tid"]: e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "thread_name"}
check(sorted(threads.values()) == ["decode", "prefill"], f"tracks {threads}")
tid = {v: k for k, v in threads.items()}
spans = [e for e in events if e["ph"] == "X"]
layers = [e for e in spans if e.get("cat") == "layer"]
check(len(layers) == len(report["layers"]) == 30, f"{len(layers)} layer spans, {len(report['layers'])} layers")
end = 0.0
for span, layer in zip(layers, report["layers"]):
    a = span["args"]
    check(span["tid"] == tid["prefill"], "layer span on the prefill track")
    check(span["name"] == f"L{layer['index']} {layer['mode']} {layer['attention']}", f"name {span['name']}")
    check(close(span["dur"], layer["prefill_ms"] * 1000), f"{span['name']}: dur vs prefill_ms")
    check(close(span["ts"], end), f"{span['name']}: starts where the previous layer ended")
    end = span["ts"] + span["dur"]
    for k in ("mode", "attention", "density", "kv_bytes", "router_ms", "attention_ms"):
        check(a[k] == layer[k], f"{span['name']}: args.{k} {a.get(k)} vs {layer[k]}")
    check(a["sa_kind"] == report["settings"]["sparse_attention"]["kind"], f"{span['name']}: sa_kind")
    parts = [e for e in spans if e.get("cat") == "layer_part" and e["args"]["layer"] == layer["index"]]
    names = [p["name"] for p in parts]
    check(names == ["router", f"attention {layer['attention']}", "rest"], f"{span['name']}: parts {names}")
    check(close(sum(p["dur"] for p in parts), span["dur"]), f"{span['name']}: parts sum to the layer")
    for p in parts:
        check(p["ts"] >= span["ts"] - 1e-6 and p["ts"] + p["dur"] <= end + 1e-3, f"{span['name']}: {p['name']} inside")
    att = next(p for p in parts if p["name"].startswith("attention"))
    check(close(att["dur"], min(layer["attention_ms"], layer["prefill_ms"] - min(layer["router_ms"], layer["prefill_ms"])) * 1000),
          f"{span['name']}: attention part")
prefill = [e for e in spans if e["name"] == "prefill"]
check(len(prefill) == 1 and prefill[0]["args"]["sa_fraction"] == report["summary"]["sa_fraction"], "prefill span")
check(prefill and prefill[0]["dur"] >= end - 1e-3, "prefill span covers the layers")
steps = [e for e in spans if e.get("cat") == "decode_step"]
tokens = report["decode"]["tokens"]
check(len(steps) == len(tokens) - 1 == 3, f"{len(steps)} decode spans for {len(tokens)} tokens")
t = prefill[0]["ts"] + prefill[0]["dur"] if prefill else 0
for i, (s, tok) in enumerate(zip(steps, tokens[1:]), start=1):
    check(s["tid"] == tid["decode"] and s["name"] == f"decode {i}", f"step {i}: track/name")
    check(close(s["dur"], tok["ms"] * 1000) and close(s["ts"], t), f"step {i}: ts/dur vs the report")
    check(s["args"]["token"] == tok["id"], f"step {i}: token")
    t = s["ts"] + s["dur"]
if errors:
    print("FAIL trace: " + "; ".join(errors[:10]))
    sys.exit(1)
print(f"ok   trace: {len(spans)} spans match the report span by span")
PY
expect_error "trace not json" "--trace" ".json" -- generate -m "$model" --backend cpu -n 1 -p hi --trace "$tmp/t.txt"
expect_error "trace unwritable" "--trace" "not a writable directory" -- generate -m "$model" --backend cpu -n 1 -p hi \
  --trace "$tmp/no/such/dir/t.json"
finish trace
