#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, -fsanitize=fuzzer,address,undefined; FLUX_FUZZ=ON in build-fuzz) and runs each
# for the given number of seconds, starting from the committed seeds (tests/fuzz/corpus/<target>/), then prints the
# executions per target. A crash, leak, UB report, timeout or an allocation over -malloc_limit_mb leaves its input in
# build-fuzz/fuzz-artifacts/<target>/ and makes the script exit 1: fix the parser, then commit the input under
# tests/fuzz/regressions/<target>/ so the replay test (flux_fuzz_replay_tests) keeps checking it.
# Usage: tools/fuzz.sh [seconds per target, default 60] [target ...]   Env: FLUX_FUZZ_BUILD_DIR, FLUX_JOBS.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
seconds="${1:-60}"
shift || true
build_dir="${FLUX_FUZZ_BUILD_DIR:-build-fuzz}"
all=(gguf_file gguf_vocab safetensors_file safetensors_index hf_config tokenizer_json router_file routing_policy run_report
     route_spec chat_template)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")

# -max_len per target (keep in step with fuzz_entries.cpp): model headers need a few KB, route files far less.
declare -A max_len=([gguf_file]=16384 [gguf_vocab]=16384 [safetensors_file]=4096 [safetensors_index]=2048
                    [hf_config]=4096 [tokenizer_json]=8192 [router_file]=8192 [routing_policy]=1024 [run_report]=8192
                    [route_spec]=512 [chat_template]=4096)

# FLUX_WERROR stays off: clang warns about OpenBLAS's C99 _Complex in cblas.h, which gcc (the CI build) accepts.
CC="${CC:-clang}" CXX="${CXX:-clang++}" cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DFLUX_FUZZ=ON -DFLUX_WERROR=OFF -DFLUX_WITH_CUDA=OFF -DFLUX_WITH_UI=OFF >/dev/null
cmake --build "$build_dir" -j "${FLUX_JOBS:-2}" --target $(printf 'fuzz_%s ' "${targets[@]}")

built=$(date +%s)

# Entries that need real file names (safetensors_index writes its input as a model folder's index) use $TMPDIR: on
# tmpfs that is ~10x faster than on disk (6,000 vs 500 exec/s), so prefer /dev/shm where there is one.
if [ -z "${FLUX_FUZZ_TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then FLUX_FUZZ_TMPDIR=/dev/shm; fi
export TMPDIR="${FLUX_FUZZ_TMPDIR:-${TMPDIR:-/tmp}}"
export ASAN_OPTIONS="detect_leaks=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
status=0
summary=()
for t in "${targets[@]}"; do
  work="$build_dir/fuzz-corpus/$t"
  artifacts="$build_dir/fuzz-artifacts/$t"
  mkdir -p "$work" "$artifacts"
  log="$build_dir/fuzz-$t.log"
  echo "== fuzz_$t: ${seconds}s, -max_len=${max_len[$t]}"
  # -malloc_limit_mb: no input of a few KB has a reason to allocate 512 MB; a file that makes us try is a finding.
  rc=0
  "$build_dir/tests/fuzz/fuzz_$t" "$work" "tests/fuzz/corpus/$t" -max_total_time="$seconds" \
    -max_len="${max_len[$t]}" -malloc_limit_mb=512 -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  per_s=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  if [ "$rc" -ne 0 ]; then
    status=1
    echo "!! fuzz_$t found a problem (exit $rc); see $log and $artifacts/"
    grep -m3 -E 'ERROR: |SUMMARY: |runtime error|out-of-memory|malloc\(' "$log" || true
  fi
  summary+=("$(printf '%-18s %12s execs %8s/s  cov %6s  %s' "$t" "${execs:-?}" "${per_s:-?}" "${cov:-?}" \
    "$([ "$rc" -eq 0 ] && echo ok || echo FOUND)")")
done
echo "== fuzz summary (${seconds}s per target)"
printf '%s\n' "${summary[@]}"
echo "fuzz: build $((built - start)) s, fuzzing $(($(date +%s) - built)) s"
exit "$status"
