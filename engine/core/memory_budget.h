// Size checks before the allocations a user's numbers drive (the KV cache of a long run, random 8B weights): a
// clear "needs N GiB, M GiB available" instead of std::bad_alloc, or the kernel's OOM killer, half-way through.
#pragma once

#include <cstddef>
#include <string_view>

namespace flux::engine {

// What this process may still allocate: the kernel's MemAvailable, lowered to the headroom under RLIMIT_AS when an
// address-space limit is set. SIZE_MAX when neither can be read (the check then never refuses).
std::size_t available_memory_bytes();

// Throws Error "<what> needs N GiB, M GiB available" when bytes exceed available_memory_bytes().
void require_memory(std::size_t bytes, std::string_view what);

}  // namespace flux::engine
