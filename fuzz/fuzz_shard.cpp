// fuzz_shard.cpp — libFuzzer target: ShardReader on arbitrary bytes, then every document
// offset, token and mask byte it claims to have. A hostile shard must end in llamapro::Error,
// never in a read outside the file.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "data/shard.h"
#include "fuzz_file_input.h"
#include "util/check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = fuzz_write_input(data, size, ".shard");
  try {
    llamapro::ShardReader r(path);
    const auto& h = r.header();
    for (int64_t d = 0; d <= h.documents; d++) (void)r.document_offset(d);
    std::vector<int32_t> ids(static_cast<size_t>(h.tokens));
    std::vector<uint8_t> mask(static_cast<size_t>(h.tokens));
    r.copy_tokens(0, h.tokens, ids.data());
    r.copy_mask(0, h.tokens, mask.data());
  } catch (const llamapro::Error&) {
  }
  return 0;
}
