#!/usr/bin/env bash
# The one list of FluxScope's build and test dependencies (Debian 12 packages only).
# Real package names only: a virtual one (libqt6charts6-dev) is never "installed", so the check below would fail.
# Used by the README's two commands and by .ci/run. Safe to run again.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates curl unzip python3 python3-pip
  # engine
  libopenblas-openmp-dev libsentencepiece-dev sentencepiece libspdlog-dev libfmt-dev nlohmann-json3-dev
  libicu-dev libcli11-dev
  # tests
  libgtest-dev libgmock-dev
  # fuzzing (tools/fuzz.sh): clang 14 and its libFuzzer/sanitizer runtimes (only Recommended by clang, so named here)
  clang libclang-rt-14-dev
  # ui
  qt6-base-dev qt6-charts-dev qt6-svg-dev libqt6opengl6-dev libgl-dev
  # headless runs and screenshots
  xvfb xauth
)

if [ "${1:-}" = "--print" ]; then printf '%s\n' "${packages[@]}"; exit 0; fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then echo "install-deps: all ${#packages[@]} packages present"; exit 0; fi

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
