// fuzz_gguf.cpp — libFuzzer target: the GGUF reader (what `llamapro inspect FILE.gguf` runs) on
// arbitrary bytes.
//
// Bad input must end in llamapro::Error; anything accepted must satisfy the invariants readers
// rely on (every tensor inside the file, aligned, no two overlapping), otherwise the target traps.
#include <cstddef>
#include <cstdint>

#include "export/gguf.h"
#include "util/check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    llamapro::GgufFile f(data, size, "fuzz");
    if (f.data_offset() > size || f.data_offset() % f.alignment() != 0) __builtin_trap();
    for (const auto& t : f.tensors()) {
      if (t.offset % f.alignment() != 0) __builtin_trap();
      if (f.data_offset() + t.offset + t.nbytes() > size) __builtin_trap();
      volatile uint8_t last = t.nbytes() ? f.tensor_data(t)[t.nbytes() - 1] : 0;  // in bounds
      (void)last;
    }
    for (const auto& kv : f.metadata()) {
      volatile size_t n = kv.value.to_string().size();  // what inspect prints
      (void)n;
    }
  } catch (const llamapro::Error&) {
  }
  return 0;
}
