// safetensors.h — the safetensors file format: a validated, memory-mapped reader and a
// streaming writer.
//
// Layout: u64 little-endian N, N bytes of JSON header {name: {dtype, shape, data_offsets:
// [begin, end]}, "__metadata__": {str: str}}, then the data area; offsets are relative to the
// data area. The reader validates everything before handing out a pointer, so a hostile file
// can never make it read outside the mapping.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/dtype.h"
#include "io/mapped_file.h"
#include "util/files.h"

namespace llamapro {

struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // byte range inside the data area

  int64_t numel() const;
  uint64_t nbytes() const { return end - begin; }
  std::string shape_str() const;  // "[64, 512]"
};

struct SafetensorsHeader {
  std::vector<TensorInfo> tensors;  // in data order
  std::map<std::string, std::string> metadata;
  uint64_t data_offset = 0;         // where the data area starts in the file
};

// Parses and validates the header of a safetensors file of file_size bytes whose first bytes
// are `bytes` (at least min(file_size, 8 + N)). Pure function: fuzzed directly.
SafetensorsHeader parse_safetensors_header(const uint8_t* bytes, uint64_t file_size,
                                           const std::string& where);

class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return map_.path(); }
  const std::vector<TensorInfo>& tensors() const { return header_.tensors; }
  const std::map<std::string, std::string>& metadata() const { return header_.metadata; }
  const TensorInfo* find(const std::string& name) const;  // nullptr when absent
  const uint8_t* data(const TensorInfo& t) const { return map_.data() + header_.data_offset + t.begin; }
  uint64_t file_offset(const TensorInfo& t) const { return header_.data_offset + t.begin; }
  const MappedFile& mapping() const { return map_; }

 private:
  MappedFile map_;
  SafetensorsHeader header_;
  std::map<std::string, size_t> index_;
};

struct TensorSpec {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  uint64_t nbytes() const;
};

// The JSON header (with its 8-byte length prefix) for tensors laid out back to back in the
// given order, padded with spaces so that the data area starts 8-byte aligned.
std::string make_safetensors_header(const std::vector<TensorSpec>& specs,
                                    const std::map<std::string, std::string>& metadata);

// Writes one safetensors file streaming: the tensors are declared up front, then their bytes
// are appended in declaration order, in pieces of any size. finish() checks that every byte
// arrived and renames the file into place.
class SafetensorsWriter {
 public:
  SafetensorsWriter(const std::filesystem::path& path, std::vector<TensorSpec> specs,
                    const std::map<std::string, std::string>& metadata = {{"format", "pt"}});
  void append(const void* data, size_t n);
  void append_from_file(int fd, uint64_t offset, uint64_t n);  // kernel-side copy of file bytes
  void finish();
  uint64_t bytes_expected() const { return expected_; }

 private:
  void flush();
  AtomicFile file_;
  uint64_t expected_ = 0, written_ = 0;
  std::vector<uint8_t> buffer_;
};

// Writes a tensor from memory into a single file (tests, small outputs).
void write_safetensors(const std::filesystem::path& path, const std::vector<TensorSpec>& specs,
                       const std::vector<const void*>& data);

}  // namespace llamapro
