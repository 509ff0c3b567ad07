// shard.h — the token shard file: a versioned little-endian binary holding the tokens of whole
// documents (uint16 or uint32 by vocab size), their offsets, and an optional loss mask.
//
// Layout (docs/data.md has it byte by byte):
//   header (64 bytes) | document offsets: (documents + 1) x u64 | tokens: n x u16/u32 | mask: n x u8
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace llamapro {

inline constexpr char kShardMagic[8] = {'L', 'P', 'T', 'O', 'K', 'E', 'N', 'S'};
inline constexpr uint32_t kShardVersion = 1;
inline constexpr size_t kShardHeaderBytes = 64;

// Bytes per token for a vocabulary: ids up to 65535 fit uint16.
inline uint32_t token_width_for_vocab(int64_t vocab_size) { return vocab_size <= 65536 ? 2 : 4; }

struct ShardHeader {
  uint32_t version = kShardVersion;
  uint32_t token_bytes = 2;  // 2 = uint16, 4 = uint32
  bool has_mask = false;
  int64_t vocab_size = 0;
  int64_t tokens = 0;
  int64_t documents = 0;
};

// The tokens of whole documents, collected in memory and written as one shard.
class ShardBuilder {
 public:
  ShardBuilder(int64_t vocab_size, bool has_mask);
  // ids must be < vocab_size (checked by the caller); mask is empty or ids.size() long.
  void add_document(const int32_t* ids, size_t n, const uint8_t* mask);
  int64_t tokens() const { return static_cast<int64_t>(offsets_.back()); }
  int64_t documents() const { return static_cast<int64_t>(offsets_.size()) - 1; }
  // Writes the shard atomically and empties the builder.
  void write(const std::filesystem::path& path);

 private:
  int64_t vocab_size_;
  uint32_t width_;
  bool has_mask_;
  std::vector<uint64_t> offsets_{0};
  std::vector<uint8_t> tokens_;  // little-endian, width_ bytes each
  std::vector<uint8_t> mask_;
};

class MappedFile;

// A validated, memory-mapped shard.
class ShardReader {
 public:
  explicit ShardReader(const std::filesystem::path& path);
  ~ShardReader();
  const ShardHeader& header() const { return h_; }
  const std::filesystem::path& path() const;
  int32_t token(int64_t i) const;
  // Copies tokens [begin, begin + n) into out as int32.
  void copy_tokens(int64_t begin, int64_t n, int32_t* out) const;
  // Copies mask [begin, begin + n); all 1 when the shard has no mask.
  void copy_mask(int64_t begin, int64_t n, uint8_t* out) const;
  int64_t document_offset(int64_t d) const;  // d in [0, documents]

 private:
  std::unique_ptr<MappedFile> file_;
  ShardHeader h_;
  const uint8_t* offsets_ = nullptr;
  const uint8_t* tokens_ = nullptr;
  const uint8_t* mask_ = nullptr;
};

}  // namespace llamapro
