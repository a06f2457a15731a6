#!/usr/bin/env bash
# Run on the GPU machine, from the repository root: build flux_gpu_tests with CUDA and NCCL (the CUDA toolkit's NCCL,
# else the NVIDIA wheel that torch brings: nvidia/nccl) and run the NCCL communicator tests (issue 21,
# docs/tensor-parallel.md). It prints CMake's NCCL line ("kernels: NCCL ... (tensor-parallel communicator on)") and
# the tests' results; NVLink multicast stays off (NCCL_NVLS_ENABLE=0).
set -uo pipefail
root=${FLUX_NCCL_ROOT:-}
if [ -z "$root" ] && [ ! -f /usr/local/cuda/include/nccl.h ]; then
  root=$(python3 -c 'import nvidia.nccl; print(list(nvidia.nccl.__path__)[0])' 2>/dev/null || true)
fi
echo "NCCL root: ${root:-the CUDA toolkit}"
export FLUX_CMAKE_ARGS="-DFLUX_WITH_CUDA=ON ${root:+-DFLUX_NCCL_ROOT=$root} ${FLUX_CMAKE_ARGS:-}"
export FLUX_BUILD_TARGETS=flux_gpu_tests
bash tools/gpu/build.sh > "${OUT:-/tmp}/nccl_build.log" 2>&1
status=$?
grep -E "kernels: NCCL" "${OUT:-/tmp}/nccl_build.log"
if [ $status -ne 0 ]; then
  tail -40 "${OUT:-/tmp}/nccl_build.log"
  exit 1
fi
export LD_LIBRARY_PATH="${root:+$root/lib:}/opt/fluxdeps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export NCCL_NVLS_ENABLE=0
build-gpu/tests/flux_gpu_tests --gtest_filter='NcclCommunicator.*:*NcclTensorParallel*'
