// Another process may truncate a file we have mapped (a download restarted, a converter rewriting its output):
// reading a page past the new end raises SIGBUS, which kills the process — the app with its unsaved state. Mappings
// guarded here survive it: a SIGBUS inside one maps zero pages over the part the file no longer backs and marks the
// mapping damaged, so the thread that touched it (the loader's copy, an OpenMP worker inside a matmul over weights
// kept in place) carries on, and the owner turns damaged() into an Error before anything computed from those pages
// is used (MappedFile::check_unchanged). A SIGBUS outside every guarded mapping keeps its usual effect.
#pragma once

#include <cstddef>

namespace flux::engine {

// Registers [data, data + size) (page-aligned, from mmap of descriptor fd, which stays open while guarded) and
// returns its slot, or -1 when the fixed table is full (the mapping is then unguarded). Installs the handler once.
int guard_mapping(const void* data, std::size_t size, int fd);
void unguard_mapping(int slot);
// Whether a SIGBUS has replaced part of the mapping with zero pages since it was guarded.
bool mapping_damaged(int slot);

}  // namespace flux::engine
