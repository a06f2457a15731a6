// The collectives a tensor-parallel rank needs (Megatron-style: docs/tensor-parallel.md), on host floats. One
// implementation sums in host memory between threads (host_communicator.h: tests, CPU); an NCCL one belongs to the
// CUDA build. Every rank calls the same collectives in the same order; each returns when all ranks have joined.
#pragma once

#include <span>

namespace flux::engine {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // data ← Σ over ranks of data (the same length on every rank). Every rank receives bit-identical sums.
  virtual void all_reduce_sum(std::span<float> data) = 0;
  // all ← every rank's `mine` concatenated in rank order (all.size() == size() · mine.size()).
  virtual void all_gather(std::span<const float> mine, std::span<float> all) = 0;
};

}  // namespace flux::engine
