#!/usr/bin/env bash
# The app's numeric command-line options (issue 20): `-n abc` ran 0 tokens and exited 0, `-n 99999999` became the
# spin box's maximum silently. Now each is refused by name with exit 2 before any model loads. --quit-after-run
# without --run or --needle-grid waited forever (no run ever finished): now a start-up error too. Offscreen.
# Usage: hostile_args_test.sh FLUXSCOPE
set -u
app=$1
failures=0
export QT_QPA_PLATFORM=offscreen
expect_refused() {  # expect_refused PHRASE -- ARGS...
  local phrase=$1
  shift 2
  local err rc
  err=$(timeout 120 "$app" "$@" 2>&1 >/dev/null)
  rc=$?
  if [ "$rc" -ne 2 ] || [[ "$err" != *"$phrase"* ]]; then
    echo "FAIL $*: rc=$rc $err"
    failures=$((failures + 1))
  else echo "ok   $*: $(printf '%s' "$err" | grep error:)"; fi
}
expect_refused "--n-predict abc: not a whole number" -- -n abc --run --quit-after-run
expect_refused "--n-predict 99999999: must lie in " -- -n 99999999 --run --quit-after-run
expect_refused "--ctx 1e300: not a whole number" -- --ctx 1e300 --run --quit-after-run
expect_refused "--threads -5: must lie in " -- --threads -5 --run --quit-after-run
expect_refused "--quit-after-run needs --run or --needle-grid" -- --quit-after-run
expect_refused "--quit-after-run needs --run or --needle-grid" -- --screenshot /tmp/never-written.png --quit-after-run
[ "$failures" -eq 0 ]
