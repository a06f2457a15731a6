#include "engine/parallel/nccl_communicator.h"

#include <cstdlib>
#include <cstring>

#include "engine/core/error.h"

#if FLUX_HAVE_NCCL
#include <cuda_runtime.h>
#include <nccl.h>
#endif

namespace flux::engine {

#if FLUX_HAVE_NCCL

namespace {

void check_cuda(cudaError_t e, const char* what) {
  require(e == cudaSuccess, "tensor parallel: {}: {}", what, cudaGetErrorString(e));
}

void check_nccl(ncclResult_t r, const char* what) {
  require(r == ncclSuccess, "tensor parallel: {}: {}", what, ncclGetErrorString(r));
}

static_assert(sizeof(ncclUniqueId) == sizeof(NcclId::bytes), "NcclId must hold an ncclUniqueId");

// Host floats in, host floats out: the data goes through one device buffer of the rank's GPU (grown as needed) and
// the collective runs on the rank's stream; each call returns once the result is back on the host.
class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(const NcclId& id, int rank, int size, int device) : rank_(rank), size_(size), device_(device) {
    require(size >= 1 && rank >= 0 && rank < size, "tensor parallel: rank {} of {} ranks", rank, size);
    ::setenv("NCCL_NVLS_ENABLE", "0", 0);  // NVLink multicast off unless the environment says otherwise
    check_cuda(cudaSetDevice(device_), "cudaSetDevice");
    check_cuda(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
    ncclUniqueId uid;
    std::memcpy(&uid, id.bytes.data(), sizeof uid);
    check_nccl(ncclCommInitRank(&comm_, size_, uid, rank_), "ncclCommInitRank");
  }

  ~NcclCommunicator() override {
    cudaSetDevice(device_);
    if (buffer_ != nullptr) cudaFree(buffer_);
    if (comm_ != nullptr) ncclCommDestroy(comm_);
    if (stream_ != nullptr) cudaStreamDestroy(stream_);
  }

  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void all_reduce_sum(std::span<float> data) override {
    if (data.empty()) return;
    float* d = device_floats(data.size());
    check_cuda(cudaMemcpyAsync(d, data.data(), data.size_bytes(), cudaMemcpyHostToDevice, stream_), "upload");
    check_nccl(ncclAllReduce(d, d, data.size(), ncclFloat32, ncclSum, comm_, stream_), "ncclAllReduce");
    check_cuda(cudaMemcpyAsync(data.data(), d, data.size_bytes(), cudaMemcpyDeviceToHost, stream_), "download");
    check_cuda(cudaStreamSynchronize(stream_), "all-reduce");
  }

  void all_gather(std::span<const float> mine, std::span<float> all) override {
    require(all.size() == mine.size() * static_cast<std::size_t>(size_),
            "tensor parallel: all-gather of {} values into {}", mine.size(), all.size());
    if (mine.empty()) return;
    float* d = device_floats(all.size());
    float* own = d + static_cast<std::size_t>(rank_) * mine.size();  // NCCL's in-place form: send from own slot
    check_cuda(cudaMemcpyAsync(own, mine.data(), mine.size_bytes(), cudaMemcpyHostToDevice, stream_), "upload");
    check_nccl(ncclAllGather(own, d, mine.size(), ncclFloat32, comm_, stream_), "ncclAllGather");
    check_cuda(cudaMemcpyAsync(all.data(), d, all.size_bytes(), cudaMemcpyDeviceToHost, stream_), "download");
    check_cuda(cudaStreamSynchronize(stream_), "all-gather");
  }

 private:
  float* device_floats(std::size_t n) {
    check_cuda(cudaSetDevice(device_), "cudaSetDevice");
    if (n > capacity_) {
      if (buffer_ != nullptr) check_cuda(cudaFree(buffer_), "cudaFree");
      buffer_ = nullptr;
      check_cuda(cudaMalloc(reinterpret_cast<void**>(&buffer_), n * sizeof(float)), "cudaMalloc");
      capacity_ = n;
    }
    return buffer_;
  }

  int rank_, size_, device_;
  cudaStream_t stream_ = nullptr;
  ncclComm_t comm_ = nullptr;
  float* buffer_ = nullptr;
  std::size_t capacity_ = 0;
};

}  // namespace

bool nccl_built() { return true; }

NcclId make_nccl_id() {
  ncclUniqueId uid;
  check_nccl(ncclGetUniqueId(&uid), "ncclGetUniqueId");
  NcclId id;
  std::memcpy(id.bytes.data(), &uid, sizeof uid);
  return id;
}

std::unique_ptr<Communicator> make_nccl_communicator(const NcclId& id, int rank, int size, int device) {
  return std::make_unique<NcclCommunicator>(id, rank, size, device);
}

#else

namespace {

[[noreturn]] void no_nccl() {
  fail("tensor parallel: this build has no NCCL communicator (it needs FLUX_WITH_CUDA=ON and NCCL's nccl.h and "
       "libnccl where CMake finds them)");
}

}  // namespace

bool nccl_built() { return false; }
NcclId make_nccl_id() { no_nccl(); }
std::unique_ptr<Communicator> make_nccl_communicator(const NcclId&, int, int, int) { no_nccl(); }

#endif

}  // namespace flux::engine
