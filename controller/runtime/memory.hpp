// Handing freed heap back to the system. A pass over a large device, or a reload of a large
// manifest set, allocates and frees tens of MB; without this the daemon's RSS stays at the
// largest such moment it ever had (glibc keeps freed memory in its arenas). The netconverge
// binary is linked with jemalloc (NC_JEMALLOC, controller/main.cpp), whose background thread
// does this by itself; these glibc calls then concern glibc's unused arenas only. They matter
// for builds without it (sanitizers, tests).
#pragma once

#include <cstdlib>  // defines __GLIBC__ (features.h) before it is tested

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace nc::runtime {

/// Once at start-up, before worker threads allocate: one malloc arena. Each worker would
/// otherwise get its own (up to 8 per core), each keeping the high-water mark of the largest
/// pass it ran.
inline void UseOneMallocArena() {
#ifdef __GLIBC__
  mallopt(M_ARENA_MAX, 1);
#endif
}

/// Returns free heap pages to the system (after a pass that planned, a manifest reload).
inline void ReleaseFreedMemory() {
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

}  // namespace nc::runtime
