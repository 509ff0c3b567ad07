// memory.h — the process's allocator policy.
#pragma once

namespace llamapro {

// Tensors of the same large sizes are made and freed many times per training step. glibc
// serves each large one with a fresh mmap and returns it to the kernel when freed, so every
// step pays page faults and page zeroing for the same memory again (a third of a small
// model's step on 2 cores). With this, freed memory stays in the heap and is reused; a peak
// is still what the largest step needs. Called once, before any tensor exists.
void keep_freed_memory_for_reuse();

}  // namespace llamapro
