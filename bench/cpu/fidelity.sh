#!/usr/bin/env bash
# Quantized CPU execution vs the fp32 reference on the demo model, at the size (5 texts x 256 teacher-forced
# positions, 5 prompts x 32 greedy tokens): the disabled gtest, run on purpose. FLUX_CPU_ACT=q8 measures one-level
# Q8 activations instead of the default two-level ones.  Usage: bench/cpu/fidelity.sh [build-dir]
set -euo pipefail
build=${1:-build}
exec "$build/tests/flux_engine_tests" --gtest_also_run_disabled_tests \
  --gtest_filter='QuantizedFidelity.DISABLED_DemoModelQ4_1MatchesTheFp32ReferenceOnFivePrompts'
