// Tensor-parallel ranks as threads of one process, exchanging through host memory: the test communicator of the
// sharding (the sharded forward must equal the unsplit one) and a CPU fallback. Sums run in rank order, so every
// rank gets the same bits.
#pragma once

#include <barrier>
#include <memory>
#include <span>
#include <vector>

#include "engine/parallel/communicator.h"

namespace flux::engine {

class HostCommunicatorGroup;

class HostCommunicator final : public Communicator {
 public:
  HostCommunicator(HostCommunicatorGroup& group, int rank) : group_(group), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override;
  void all_reduce_sum(std::span<float> data) override;
  void all_gather(std::span<const float> mine, std::span<float> all) override;

 private:
  HostCommunicatorGroup& group_;
  int rank_;
};

// Owns the shared state of `n` ranks; rank(r) is the communicator thread r uses.
class HostCommunicatorGroup {
 public:
  explicit HostCommunicatorGroup(int n);
  HostCommunicator& rank(int r) { return *ranks_.at(static_cast<std::size_t>(r)); }
  int size() const { return static_cast<int>(ranks_.size()); }

 private:
  friend class HostCommunicator;
  std::barrier<> barrier_;
  std::vector<std::span<const float>> posted_;  // each rank's input of the collective in flight
  std::vector<std::unique_ptr<HostCommunicator>> ranks_;
};

}  // namespace flux::engine
