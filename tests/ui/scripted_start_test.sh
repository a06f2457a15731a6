#!/usr/bin/env bash
# The scripted start of the desktop app (offscreen): one run with the shipped router writes a report with every
# layer (router probabilities and router time included) and a screenshot of the whole window; existing outputs are
# never replaced without --overwrite; unwritable paths and bad arguments fail before the model loads, naming the path;
# --needle-grid runs a one-cell grid saved in the runs folder.
# Usage: scripted_start_test.sh FLUXSCOPE DEMO_MODEL PROMPT_FILE
set -u
app=$1
model=$2
prompt=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export QT_QPA_PLATFORM=offscreen XDG_CONFIG_HOME="$tmp/config" XDG_DATA_HOME="$tmp/data"
failures=0
fail() { echo "FAIL $*"; failures=$((failures + 1)); }

"$app" --model "$model" --prompt-file "$prompt" -n 4 --run --export-report "$tmp/run.json" \
  --screenshot "$tmp/window.png" --quit-after-run 2>"$tmp/err1"
[ $? -eq 0 ] || fail "scripted run exit status (stderr: $(cat "$tmp/err1"))"
python3 - "$tmp/run.json" "$tmp/window.png" <<'PY' || fail "report or screenshot content"
import json, struct, sys
r = json.load(open(sys.argv[1]))
assert r["status"] == "ok", r["status"]
assert r["settings"]["route"].split()[0] == "router", r["settings"]["route"]
assert r["router"].endswith("SmolLM2-135M-Instruct.router.safetensors"), r["router"]
layers = r["layers"]
assert [l["index"] for l in layers] == list(range(30)), "every layer, in order"
assert all(l["router_fa_prob"] is not None and 0.0 <= l["router_fa_prob"] <= 1.0 for l in layers)
assert all(l["source"] == "router" and l["router_ms"] > 0.0 and l["prefill_ms"] >= l["router_ms"] for l in layers)
assert 1 <= len(r["decode"]["tokens"]) <= 4
png = open(sys.argv[2], "rb").read()
assert png[:8] == b"\x89PNG\r\n\x1a\n", "a PNG"
w, h = struct.unpack(">II", png[16:24])
assert w >= 1000 and h >= 700, (w, h)  # the whole window, not one widget
print("report: 30 layers routed by", r["router"].split("/")[-1], "; screenshot", w, "x", h)
PY

before=$(md5sum "$tmp/run.json")
"$app" --model "$model" --prompt-file "$prompt" -n 2 --run --export-report "$tmp/run.json" --quit-after-run \
  2>"$tmp/err2"
status=$?
[ $status -eq 2 ] || fail "existing report without --overwrite: exit $status, expected 2"
grep -q "already exists" "$tmp/err2" || fail "no 'already exists' message: $(cat "$tmp/err2")"
[ "$(md5sum "$tmp/run.json")" = "$before" ] || fail "the existing report was modified"

"$app" --model "$model" --prompt-file "$prompt" -n 2 --route fa --run --export-report "$tmp/run.json" --overwrite \
  --quit-after-run 2>"$tmp/err3" || fail "--overwrite run: $(cat "$tmp/err3")"
grep -q '"route": "fa' "$tmp/run.json" || fail "--overwrite did not replace the report"

"$app" --model "$model" --run --export-report /nonexistent-dir/x/run.json --quit-after-run 2>"$tmp/err4"
status=$?
[ $status -eq 2 ] || fail "unwritable report path: exit $status, expected 2"
grep -q "/nonexistent-dir/x/run.json" "$tmp/err4" || fail "the error does not name the path: $(cat "$tmp/err4")"

"$app" --model "$model" --backend tpu --run --quit-after-run 2>"$tmp/err5"
[ $? -eq 2 ] || fail "bad --backend accepted"

# The needle grid from the command line: one tiny cell, saved in the runs folder next to the runs; a bad spec is
# refused with exit 2 and a message.
"$app" --model "$model" --needle-grid 200/50/fa -n 2 --show-dock needle --screenshot "$tmp/grid.png" \
  --quit-after-run 2>"$tmp/err6"
[ $? -eq 0 ] || fail "scripted needle grid exit status (stderr: $(cat "$tmp/err6"))"
python3 - "$tmp/data" <<'PY' || fail "needle grid file"
import glob, json, sys
files = glob.glob(sys.argv[1] + "/**/*.needle-grid.json", recursive=True)
assert len(files) == 1, files
g = json.load(open(files[0]))
assert g["kind"] == "fluxscope-needle-grid" and not g["cancelled"], g
assert len(g["cells"]) == 1 and g["cells"][0]["route"] == "fa" and g["cells"][0]["depth"] == 50, g["cells"]
c = g["cells"][0]
assert c["passed"] == (c["answer"].lower() in c["output"].lower()), c
PY
[ -s "$tmp/grid.png" ] || fail "needle grid screenshot"
"$app" --model "$model" --needle-grid 200/fifty/fa --quit-after-run 2>"$tmp/err7"
status=$?
[ $status -eq 2 ] || fail "bad --needle-grid: exit $status, expected 2"
grep -q "fifty" "$tmp/err7" || fail "bad --needle-grid names the item: $(cat "$tmp/err7")"

[ $failures -eq 0 ] && echo "scripted start: all checks passed"
exit $failures
