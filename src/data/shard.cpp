// shard.cpp — writing and validating token shards (see shard.h for the layout).
#include "data/shard.h"

#include <cstring>

#include "io/mapped_file.h"
#include "util/check.h"
#include "util/files.h"

namespace llamapro {

namespace {

// The format is little-endian on disk; these keep it so on any host.
void put_u32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
void put_u64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint32_t get_u32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t(p[i]) << (8 * i);
  return v;
}
uint64_t get_u64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t(p[i]) << (8 * i);
  return v;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Writing

ShardBuilder::ShardBuilder(int64_t vocab_size, bool has_mask)
    : vocab_size_(vocab_size), width_(token_width_for_vocab(vocab_size)), has_mask_(has_mask) {}

void ShardBuilder::add_document(const int32_t* ids, size_t n, const uint8_t* mask) {
  size_t at = tokens_.size();
  tokens_.resize(at + n * width_);
  uint8_t* p = tokens_.data() + at;
  if (width_ == 2) {
    for (size_t i = 0; i < n; ++i, p += 2) {
      uint32_t v = static_cast<uint32_t>(ids[i]);
      p[0] = static_cast<uint8_t>(v);
      p[1] = static_cast<uint8_t>(v >> 8);
    }
  } else {
    for (size_t i = 0; i < n; ++i, p += 4) put_u32(p, static_cast<uint32_t>(ids[i]));
  }
  if (has_mask_) {
    if (mask) mask_.insert(mask_.end(), mask, mask + n);
    else mask_.insert(mask_.end(), n, uint8_t{1});
  }
  offsets_.push_back(offsets_.back() + n);
}

void ShardBuilder::write(const std::filesystem::path& path) {
  uint8_t header[kShardHeaderBytes] = {};
  std::memcpy(header, kShardMagic, 8);
  put_u32(header + 8, kShardVersion);
  put_u32(header + 12, width_);
  put_u32(header + 16, has_mask_ ? 1u : 0u);  // flags: bit 0 = loss mask present
  put_u32(header + 20, 0);                    // reserved
  put_u64(header + 24, static_cast<uint64_t>(vocab_size_));
  put_u64(header + 32, offsets_.back());
  put_u64(header + 40, offsets_.size() - 1);
  // bytes 48..63 reserved, zero
  std::vector<uint8_t> offsets(offsets_.size() * 8);
  for (size_t i = 0; i < offsets_.size(); ++i) put_u64(offsets.data() + 8 * i, offsets_[i]);

  AtomicFile f(path);
  f.write(header, sizeof header);
  f.write(offsets.data(), offsets.size());
  f.write(tokens_.data(), tokens_.size());
  if (has_mask_) f.write(mask_.data(), mask_.size());
  f.commit();
  offsets_.assign(1, 0);
  tokens_.clear();
  mask_.clear();
}

// ---------------------------------------------------------------------------------------------
// Reading

ShardReader::ShardReader(const std::filesystem::path& path) : file_(std::make_unique<MappedFile>(path)) {
  const std::string where = path.string();
  const uint8_t* p = file_->data();
  const uint64_t size = file_->size();
  LP_CHECK(size >= kShardHeaderBytes, where, ": truncated token shard (", size, " bytes, the header alone is ",
           kShardHeaderBytes, ")");
  LP_CHECK(std::memcmp(p, kShardMagic, 8) == 0, where, ": not a llamapro token shard (bad magic)");
  h_.version = get_u32(p + 8);
  LP_CHECK(h_.version == kShardVersion, where, ": token shard version ", h_.version, " is not supported (expected ",
           kShardVersion, ")");
  h_.token_bytes = get_u32(p + 12);
  LP_CHECK(h_.token_bytes == 2 || h_.token_bytes == 4, where, ": bad token width ", h_.token_bytes,
           " (expected 2 or 4)");
  uint32_t flags = get_u32(p + 16);
  LP_CHECK((flags & ~1u) == 0, where, ": unknown flags ", flags);
  h_.has_mask = flags & 1u;
  uint64_t vocab = get_u64(p + 24), tokens = get_u64(p + 32), docs = get_u64(p + 40);
  LP_CHECK(vocab > 0 && vocab <= (1ull << 31), where, ": bad vocab size ", vocab);
  LP_CHECK(h_.token_bytes == token_width_for_vocab(static_cast<int64_t>(vocab)), where, ": token width ",
           h_.token_bytes, " does not match vocab size ", vocab);
  // Bounds before arithmetic, so that the size formula cannot overflow.
  LP_CHECK(tokens < (1ull << 48) && docs < (1ull << 48), where, ": implausible counts in header");
  h_.vocab_size = static_cast<int64_t>(vocab);
  h_.tokens = static_cast<int64_t>(tokens);
  h_.documents = static_cast<int64_t>(docs);
  uint64_t expected = kShardHeaderBytes + 8 * (docs + 1) + tokens * h_.token_bytes + (h_.has_mask ? tokens : 0);
  LP_CHECK(size == expected, where, ": ", size < expected ? "truncated" : "oversized", " token shard: ", size,
           " bytes, the header promises ", expected);
  offsets_ = p + kShardHeaderBytes;
  tokens_ = offsets_ + 8 * (docs + 1);
  mask_ = h_.has_mask ? tokens_ + tokens * h_.token_bytes : nullptr;
  uint64_t prev = get_u64(offsets_);
  LP_CHECK(prev == 0, where, ": first document offset must be 0");
  for (uint64_t d = 1; d <= docs; ++d) {
    uint64_t o = get_u64(offsets_ + 8 * d);
    LP_CHECK(o >= prev && o <= tokens, where, ": document offset ", d, " is out of order or range");
    prev = o;
  }
  LP_CHECK(prev == tokens, where, ": last document offset ", prev, " != token count ", tokens);
}

ShardReader::~ShardReader() = default;

const std::filesystem::path& ShardReader::path() const { return file_->path(); }

int32_t ShardReader::token(int64_t i) const {
  const uint8_t* p = tokens_ + static_cast<size_t>(i) * h_.token_bytes;
  return h_.token_bytes == 2 ? static_cast<int32_t>(p[0] | (p[1] << 8)) : static_cast<int32_t>(get_u32(p));
}

void ShardReader::copy_tokens(int64_t begin, int64_t n, int32_t* out) const {
  LP_CHECK(begin >= 0 && n >= 0 && begin + n <= h_.tokens, "token range out of shard");
  const uint8_t* p = tokens_ + static_cast<size_t>(begin) * h_.token_bytes;
  if (h_.token_bytes == 2) {
    for (int64_t i = 0; i < n; ++i, p += 2) out[i] = static_cast<int32_t>(p[0] | (p[1] << 8));
  } else {
    for (int64_t i = 0; i < n; ++i, p += 4) out[i] = static_cast<int32_t>(get_u32(p));
  }
}

void ShardReader::copy_mask(int64_t begin, int64_t n, uint8_t* out) const {
  LP_CHECK(begin >= 0 && n >= 0 && begin + n <= h_.tokens, "mask range out of shard");
  if (n == 0) return;  // out may be null then
  if (mask_) std::memcpy(out, mask_ + begin, static_cast<size_t>(n));
  else std::memset(out, 1, static_cast<size_t>(n));
}

int64_t ShardReader::document_offset(int64_t d) const {
  LP_CHECK(d >= 0 && d <= h_.documents, "document index out of shard");
  return static_cast<int64_t>(get_u64(offsets_ + 8 * static_cast<size_t>(d)));
}

}  // namespace llamapro
