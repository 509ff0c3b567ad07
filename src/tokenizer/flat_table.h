// flat_table.h — an open-addressing hash table keyed by 64-bit integers, for the tokenizer's hot
// lookups (a merge by its token pair, whether two characters may join): linear probing in a
// power-of-two table kept at most half full, so a lookup is a few adjacent loads. The key
// ~0 (all ones) is reserved for empty slots; a value type of FlatSet marks a set.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace llamapro {

struct FlatSet {};

template <typename Value>
class FlatTable64 {
 public:
  // Empties the table and sizes it for `n` keys.
  void reserve(size_t n) {
    uint64_t size = 16;
    while (size < 2 * n + 1) size <<= 1;
    mask_ = size - 1;
    keys_.assign(size, kEmpty);
    values_.assign(size, Value{});
  }
  // Inserts `key`, or gives a key present already its new value (the last one wins).
  void insert_or_assign(uint64_t key, const Value& value = Value{}) {
    for (uint64_t h = mix(key) & mask_;; h = (h + 1) & mask_)
      if (keys_[h] == kEmpty || keys_[h] == key) {
        keys_[h] = key;
        values_[h] = value;
        return;
      }
  }
  const Value* find(uint64_t key) const {
    for (uint64_t h = mix(key) & mask_;; h = (h + 1) & mask_) {
      if (keys_[h] == key) return &values_[h];
      if (keys_[h] == kEmpty) return nullptr;
    }
  }
  bool contains(uint64_t key) const { return find(key) != nullptr; }

 private:
  static constexpr uint64_t kEmpty = ~0ULL;
  static uint64_t mix(uint64_t k) {  // murmur3's finaliser, halved
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return k;
  }
  std::vector<uint64_t> keys_{kEmpty};  // one empty slot: lookups in an unfilled table miss
  std::vector<Value> values_{Value{}};
  uint64_t mask_ = 0;
};

}  // namespace llamapro
