// hash.h — FNV-1a, the one small non-cryptographic hash of the project: file fingerprints
// (tokenizer identity) and per-tensor random streams.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace llamapro {

inline constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ULL;

inline uint64_t fnv1a(std::string_view bytes, uint64_t h = kFnvOffset) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

// 16 lowercase hex digits.
inline std::string hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace llamapro
