// fuzz_tokenizer.cpp — libFuzzer target: Tokenizer::from_file on arbitrary tokenizer.json bytes,
// then encode and decode of a fixed text with whatever loaded. Bad input must end in
// llamapro::Error; a loaded tokenizer must not crash on ordinary text.
#include <cstddef>
#include <cstdint>

#include "fuzz_file_input.h"
#include "tokenizer/tokenizer.h"
#include "util/check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = fuzz_write_input(data, size, "-tokenizer.json");
  try {
    llamapro::Tokenizer t = llamapro::Tokenizer::from_file(path);
    auto ids = t.encode("Hello world! <s> héllo\n\t 123 ∑ 🙂", true);
    volatile size_t n = t.decode(ids, false).size();
    (void)n;
  } catch (const llamapro::Error&) {
  }
  return 0;
}
