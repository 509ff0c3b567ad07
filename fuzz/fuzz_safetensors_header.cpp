// fuzz_safetensors_header.cpp — libFuzzer target: parse_safetensors_header on arbitrary bytes.
//
// The input is a whole file. Bad input must end in llamapro::Error; anything accepted must
// satisfy the invariants readers rely on (every tensor range inside the file, sizes agreeing
// with dtype × shape), otherwise the target traps.
#include <cstddef>
#include <cstdint>
#include <string>

#include "io/safetensors.h"
#include "util/check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    llamapro::SafetensorsHeader h = llamapro::parse_safetensors_header(data, size, "fuzz");
    if (h.data_offset < 8 || h.data_offset > size) __builtin_trap();
    const uint64_t data_size = size - h.data_offset;
    uint64_t previous_end = 0;
    for (const auto& t : h.tensors) {
      if (t.begin > t.end || t.end > data_size) __builtin_trap();
      // What consumers compute from an accepted header (inspect counts parameters this way).
      uint64_t bytes = llamapro::dtype_size(t.dtype) * static_cast<uint64_t>(t.numel());
      if (t.nbytes() != bytes) __builtin_trap();
      if (t.nbytes() > 0 && t.begin < previous_end) __builtin_trap();  // sorted, no overlap
      if (t.nbytes() > 0) previous_end = t.end;
      volatile size_t n = t.shape_str().size();
      (void)n;
      volatile uint8_t first = t.nbytes() ? data[h.data_offset + t.begin] : 0;  // in bounds
      volatile uint8_t last = t.nbytes() ? data[h.data_offset + t.end - 1] : 0;
      (void)first;
      (void)last;
    }
  } catch (const llamapro::Error&) {
  }
  return 0;
}
