// Tensor-parallel ranks over NCCL, one GPU each (issue 21, docs/tensor-parallel.md): the Communicator's collectives
// on host floats, staged through a device buffer of the rank's GPU (ncclAllReduce / ncclAllGather on its own
// stream). Built with CUDA when NCCL is found (nccl.h and libnccl of the CUDA toolkit); elsewhere every call below is
// an Error saying so. NVLink multicast stays off: make_nccl_communicator sets NCCL_NVLS_ENABLE=0 unless the
// environment already has it (the GPU machine requires it off).
#pragma once

#include <array>
#include <memory>

#include "engine/parallel/communicator.h"

namespace flux::engine {

// What ranks share to find each other: made once (by rank 0 or the launcher) and handed to every rank.
struct NcclId {
  std::array<char, 128> bytes{};  // NCCL_UNIQUE_ID_BYTES
};

// Whether this build has the NCCL communicator.
bool nccl_built();
NcclId make_nccl_id();
// Rank `rank` of `size` on CUDA device `device`; blocks until all `size` ranks have joined (ncclCommInitRank).
std::unique_ptr<Communicator> make_nccl_communicator(const NcclId& id, int rank, int size, int device);

}  // namespace flux::engine
