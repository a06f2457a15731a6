#!/usr/bin/env bash
# llama.cpp's CPU build, the peer of bench/cpu/run.sh: built from the vendored source of the llama-cpp-python sdist
# on PyPI, outside this repository (its code never enters it). Idempotent: prints the llama-bench path when done.
#   LLAMA_SRC   an unpacked llama.cpp tree to build instead of the sdist's
#   PEER_DIR    where the sdist is downloaded, unpacked and built (default /work/peer)
#   LLAMA_CPP_PYTHON_VERSION   the sdist version (default 0.3.36)
#   LLAMA_VARIANT   native (default: GGML_NATIVE, in $PEER_DIR/build) or avx2 (AVX2/FMA/F16C/BMI2, no AVX-512: what
#                   most desktops run, in $PEER_DIR/build-avx2)
set -euo pipefail
peer=${PEER_DIR:-/work/peer}
version=${LLAMA_CPP_PYTHON_VERSION:-0.3.36}
variant=${LLAMA_VARIANT:-native}
case $variant in
  native) build=$peer/build isa_flags=(-DGGML_NATIVE=ON) ;;
  avx2) build=$peer/build-avx2 isa_flags=(-DGGML_NATIVE=OFF -DGGML_SSE42=ON -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON
          -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX_VNNI=OFF -DGGML_AVX512=OFF) ;;
  *) echo "LLAMA_VARIANT=$variant: use native or avx2" >&2; exit 1 ;;
esac
bench=$build/bin/llama-bench
mkdir -p "$peer"
if [ ! -x "$bench" ]; then
  src=${LLAMA_SRC:-$peer/llama_cpp_python-$version/vendor/llama.cpp}
  if [ ! -f "$src/CMakeLists.txt" ]; then
    [ -n "${LLAMA_SRC:-}" ] && { echo "LLAMA_SRC=$LLAMA_SRC has no CMakeLists.txt" >&2; exit 1; }
    sdist=$peer/llama_cpp_python-$version.tar.gz
    [ -f "$sdist" ] || pip download --no-binary :all: --no-deps "llama-cpp-python==$version" -d "$peer" >&2
    tar xzf "$sdist" -C "$peer" "llama_cpp_python-$version/vendor/llama.cpp"
  fi
  log=$build.log
  cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "${isa_flags[@]}" -DLLAMA_CURL=OFF \
    -DGGML_CUDA=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF >"$log" 2>&1
  cmake --build "$build" -j "${JOBS:-2}" --target llama-bench >>"$log" 2>&1 || { tail -30 "$log" >&2; exit 1; }
fi
echo "$bench"
