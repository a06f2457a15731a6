# Shared by tests/cli/*_test.sh (sourced after `set -u`; the scripts' arguments are CLI DEMO_MODEL): the two paths, a
# temporary folder removed on exit, a failure counter, the error checks, the last line (finish), and forced router
# files.
cli=$1
model=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL $*"; failures=$((failures + 1)); }

# write_router FILE N_LAYERS EXPR: an Elastic router (SmolLM2 shapes: head_dim 64, 3 KV heads) whose layer l is SA iff
# the Python expression EXPR(l) holds (zero weights; the head bias ±8 decides), written without numpy.
write_router() {
  python3 - "$1" "$2" "$3" <<'PY'
import json, struct, sys
path, L, expr = sys.argv[1], int(sys.argv[2]), sys.argv[3]
d = 64
shapes = {}
for l in range(L):
    for part, idx, shape in (("feat", 0, (4 * d, d)), ("feat", 2, (d, 4 * d)), ("head", 0, (4 * d, d)),
                             ("head", 2, (d, 4 * d)), ("head", 4, (1, d))):
        shapes[f"layers.{l}.{part}.{idx}.weight"] = shape
        shapes[f"layers.{l}.{part}.{idx}.bias"] = (shape[0],)
header, blobs, off = {"__metadata__": {"flux_router": json.dumps({"n_layers": L, "head_dim": d, "n_kv_heads": 3})}}, [], 0
for name in sorted(shapes):
    n = 1
    for s in shapes[name]: n *= s
    data = bytearray(4 * n)
    if name.endswith("head.4.bias"):
        l = int(name.split(".")[1])
        data[0:4] = struct.pack("<f", 8.0 if eval(expr) else -8.0)
    header[name] = {"dtype": "F32", "shape": list(shapes[name]), "data_offsets": [off, off + len(data)]}
    off += len(data)
    blobs.append(bytes(data))
text = json.dumps(header).encode()
text += b" " * (-len(text) % 8)
with open(path, "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
PY
}

# expect_error NAME PHRASE... -- ARGS...: `$cli ARGS` must exit 1 with every PHRASE on stderr (log lines ignored).
expect_error() {  # expect_error NAME PHRASE... -- ARGS...
  local name=$1
  shift
  local phrases=()
  while [ "$1" != "--" ]; do phrases+=("$1"); shift; done
  shift
  local err rc
  err=$("$cli" "$@" 2>&1 >/dev/null)
  rc=$?
  err=$(printf '%s\n' "$err" | grep -v '\] \[\(warning\|info\)\] ')
  [ "$rc" -eq 1 ] || { fail "$name: rc=$rc, $err"; return; }
  for p in "${phrases[@]}"; do [[ "$err" == *"$p"* ]] || { fail "$name: '$p' not in: $err"; return; }; done
  echo "ok   $name: $err"
}

# expect_single_error NAME PHRASE -- ARGS...: the hostile-input form: `$cli ARGS` exits 1 within 60 s with exactly one
# line "error: …PHRASE…" on stderr (log warnings aside): no crash (128+N), no hang, no second line.
expect_single_error() {
  local name=$1 phrase=$2
  shift 3
  local err rc lines
  err=$(timeout 60 "$cli" "$@" 2>&1 >/dev/null)
  rc=$?
  err=$(printf '%s\n' "$err" | grep -v '\] \[warning\] ')
  lines=$(printf '%s\n' "$err" | grep -c .)
  if [ "$rc" -ne 1 ] || [ "$lines" -ne 1 ] || [[ "$err" != error:* ]] || [[ "$err" != *"$phrase"* ]]; then
    fail "$name: rc=$rc lines=$lines stderr: $err"
  else
    echo "ok   $name: $err"
  fi
}

# finish NAME: the summary line, and the exit status (1 when a check failed).
finish() {
  if [ "$failures" -eq 0 ]; then echo "$1: all checks passed"; else echo "$1: $failures failure(s)"; fi
  exit $((failures > 0))
}
