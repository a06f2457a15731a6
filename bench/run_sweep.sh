#!/usr/bin/env bash
# Moved to bench/sweep/run_sweep.sh (same arguments: TASKS.jsonl [ROUTER.safetensors]).
exec "$(dirname "$0")/sweep/run_sweep.sh" "$@"
