// memory.cpp — see memory.h.
#include "util/memory.h"

#include <malloc.h>

#include <climits>

namespace llamapro {

void keep_freed_memory_for_reuse() {
  mallopt(M_MMAP_MAX, 0);              // large blocks from the heap too (glibc still falls back to mmap if it must)
  mallopt(M_TRIM_THRESHOLD, INT_MAX);  // and freed ones kept there
}

}  // namespace llamapro
