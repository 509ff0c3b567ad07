// fuzz_config.cpp — libFuzzer target: ModelConfig::from_json(parse_json(bytes)) on arbitrary bytes.
//
// Bad input must end in llamapro::Error. An accepted config is also written back (to_json) and
// its derived sizes computed, as every consumer does next.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "model/config.h"
#include "util/check.h"
#include "util/json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    llamapro::json j = llamapro::parse_json(text, "fuzz config.json");
    llamapro::ModelConfig c = llamapro::ModelConfig::from_json(j, "fuzz config.json");
    if (c.hidden_size <= 0 || c.num_hidden_layers <= 0 || c.num_attention_heads <= 0 ||
        c.num_key_value_heads <= 0 || c.head_dim <= 0 || c.vocab_size <= 0 || c.intermediate_size <= 0)
      __builtin_trap();
    volatile int64_t q = c.q_dim(), kv = c.kv_dim();
    (void)q;
    (void)kv;
    llamapro::json back = c.to_json();
    volatile size_t n = back.dump().size();
    (void)n;
  } catch (const llamapro::Error&) {
  }
  return 0;
}
