#include "engine/parallel/host_communicator.h"

#include <algorithm>

#include "engine/core/error.h"

namespace flux::engine {

HostCommunicatorGroup::HostCommunicatorGroup(int n) : barrier_(n), posted_(static_cast<std::size_t>(n)) {
  require(n >= 1, "tensor parallel: {} ranks (need at least 1)", n);
  for (int r = 0; r < n; ++r) ranks_.push_back(std::make_unique<HostCommunicator>(*this, r));
}

int HostCommunicator::size() const { return group_.size(); }

// Post, wait for all, read everyone's input, wait again so nobody's buffer changes while another still reads it.
void HostCommunicator::all_reduce_sum(std::span<float> data) {
  group_.posted_[static_cast<std::size_t>(rank_)] = data;
  group_.barrier_.arrive_and_wait();
  std::vector<float> sum(data.size(), 0.0f);
  std::size_t mismatch = data.size();
  for (const std::span<const float> part : group_.posted_) {
    if (part.size() != data.size()) {
      mismatch = part.size();
      continue;
    }
    for (std::size_t i = 0; i < sum.size(); ++i) sum[i] += part[i];
  }
  group_.barrier_.arrive_and_wait();  // every rank leaves the collective, even on a mismatch, so none hangs in it
  require(mismatch == data.size(), "tensor parallel: all-reduce of {} values on one rank, {} on another",
          data.size(), mismatch);
  std::copy(sum.begin(), sum.end(), data.begin());
}

void HostCommunicator::all_gather(std::span<const float> mine, std::span<float> all) {
  const bool fits = all.size() == mine.size() * static_cast<std::size_t>(size());
  group_.posted_[static_cast<std::size_t>(rank_)] = mine;
  group_.barrier_.arrive_and_wait();
  std::size_t mismatch = mine.size();
  for (std::size_t r = 0; r < group_.posted_.size(); ++r) {
    const std::span<const float> part = group_.posted_[r];
    if (part.size() != mine.size()) {
      mismatch = part.size();
      continue;
    }
    if (fits) std::copy(part.begin(), part.end(), all.begin() + static_cast<std::ptrdiff_t>(r * mine.size()));
  }
  group_.barrier_.arrive_and_wait();
  require(fits, "tensor parallel: all-gather of {} values into {}", mine.size(), all.size());
  require(mismatch == mine.size(), "tensor parallel: all-gather of {} values on one rank, {} on another",
          mine.size(), mismatch);
}

}  // namespace flux::engine
