#!/usr/bin/env bash
# `generate` on the demo model (CPU) says what sparse attention saved: the summary puts attention time next to prefill
# and a memory line (weights, KV against all-FA); the JSON report (schema 3) carries attention_ms, the memory report
# and the block masks of XAttention layers, none with --no-block-masks. Usage: report_summary_test.sh CLI DEMO_MODEL
set -u
# shellcheck source=tests/cli/test_lib.sh
source "$(dirname "$0")/test_lib.sh"

route="every-other sa=xattn block=16 stride=4"
prompt="Summarize: the quick brown fox jumps over the lazy dog, again and again, until the dog wakes up and leaves."
if ! timeout 300 "$cli" generate -m "$model" --backend cpu -n 2 -p "$prompt" --route "$route" \
    --report "$tmp/r.json" > /dev/null 2> "$tmp/err"; then
  fail "generate with masks: $(cat "$tmp/err")"
fi
grep -q 'prefill [0-9.]* ms ([0-9.]* tok/s; attention [0-9.]* ms of it)' "$tmp/err" || fail "no attention time in: $(cat "$tmp/err")"
grep -q '^memory: weights [0-9.]* MiB | KV [0-9.]* MiB reserved of [0-9.]* MiB all-FA' "$tmp/err" ||
  fail "no memory line in: $(cat "$tmp/err")"
if ! timeout 300 "$cli" generate -m "$model" --backend cpu -n 2 -p "$prompt" --route "$route" --no-block-masks \
    --report "$tmp/off.json" > /dev/null 2> "$tmp/err_off"; then
  fail "generate --no-block-masks: $(cat "$tmp/err_off")"
fi
python3 - "$tmp/r.json" "$tmp/off.json" <<'PY' || failures=$((failures + 1))
import base64, json, sys
on, off = (json.load(open(p)) for p in sys.argv[1:3])
errors = []
def check(cond, what):
    if not cond:
        errors.append(what)
check(on["schema_version"] == 3, "schema_version")
check(on["memory"]["measured"] is True and on["memory"]["weights"] > 0, "memory report")
check(len(on["memory"]["layers"]) == len(on["layers"]), "memory layers")
check(0 < on["summary"]["attention_ms"] <= on["summary"]["prefill_ms"], "summary attention_ms")
for l in on["layers"]:
    check(0 < l["attention_ms"] <= l["prefill_ms"], f"layer {l['index']} attention_ms")
    if l["attention"] != "xattn":
        check("block_mask" not in l, f"layer {l['index']} static kind stores no mask")
        continue
    m = l.get("block_mask")
    check(m is not None, f"layer {l['index']} has no block mask")
    if m is None:
        continue
    n = m["n_q_blocks"]
    counts = base64.b64decode(m["counts"])
    check(len(counts) == n * (n + 1) // 2, f"layer {l['index']} counts size")
    density = sum(counts) / (m["n_heads"] * len(counts))
    check(abs(density - l["density"]) < 1e-9, f"layer {l['index']} density {density} vs {l['density']}")
check(any("block_mask" in l for l in on["layers"]), "some XAttention layer")
check(not any("block_mask" in l for l in off["layers"]), "--no-block-masks still wrote masks")
for e in errors:
    print("FAIL", e)
sys.exit(1 if errors else 0)
PY
finish "report summary"
